import type { OidcContext } from '../provider/oidc.js';
import { layout, messagePage, type PageContext } from './layout.js';

/** oidc-provider's logout confirmation; `form` is its own form (with its xsrf field), kept hidden-free. */
export function logoutPage(ctx: PageContext, form: string): string {
  return layout(ctx, ctx.text('logout.title'), `<h1>${ctx.t('logout.heading')}</h1>
<p class="lead">${ctx.t('logout.lead', { name: ctx.branding.name })}</p>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">${ctx.t('logout.yes')}</button>
<button type="submit" form="op.logoutForm" class="secondary">${ctx.t('logout.no')}</button>`);
}

/** RP-initiated logout's pages, for oidc-provider's `features.rpInitiatedLogout`: the confirmation and the signed-out page. */
export function logoutPages(page: PageContext) {
  return {
    logoutSource: async (ctx: OidcContext, form: string) => { ctx.type = 'html'; ctx.body = logoutPage(page, form); },
    postLogoutSuccessSource: async (ctx: OidcContext) => { ctx.type = 'html'; ctx.body = messagePage(page, page.text('logout.done-title'), page.text('logout.done')); },
  };
}
