import type { OidcContext } from '../provider/oidc.js';
import { esc, layout, messagePage, type PageContext } from './layout.js';

/** oidc-provider's logout confirmation; `form` is its own form (with its xsrf field), kept hidden-free. */
export function logoutPage(ctx: PageContext, form: string): string {
  return layout(ctx, 'Sign out', `<h1>Sign out?</h1>
<p class="lead">Do you want to sign out of ${esc(ctx.branding.name)}?</p>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`);
}

/** RP-initiated logout's pages, for oidc-provider's `features.rpInitiatedLogout`: the confirmation and the signed-out page. */
export function logoutPages(page: PageContext) {
  return {
    logoutSource: async (ctx: OidcContext, form: string) => { ctx.type = 'html'; ctx.body = logoutPage(page, form); },
    postLogoutSuccessSource: async (ctx: OidcContext) => { ctx.type = 'html'; ctx.body = messagePage(page, 'Signed out', 'You have been signed out.'); },
  };
}
