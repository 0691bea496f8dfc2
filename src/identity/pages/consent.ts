import { csrfField, esc, layout, type PageContext } from './layout.js';
import { raw, type MessageKey } from '../i18n/index.js';

/** what the OpenID scopes let a client do, in words for the user: their catalog keys (`identity.scopes` overrides) */
const BUILT_IN_SCOPES: Readonly<Record<string, MessageKey>> = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  address: 'scope.address',
  phone: 'scope.phone',
  offline_access: 'scope.offline_access',
};

/** the description of `scope` (plain text): configured (`identity.scopes`, as written), built in (the page's language), or its name (and API) */
export function describeScope(ctx: PageContext, configured: Readonly<Record<string, { description: string }>>, scope: string, api?: string): string {
  if (Object.hasOwn(configured, scope)) return configured[scope]!.description;
  if (!api && Object.hasOwn(BUILT_IN_SCOPES, scope)) return ctx.text(BUILT_IN_SCOPES[scope]!);
  return api ? ctx.text('consent.use-scope-at', { scope, api }) : ctx.text('consent.use-scope', { scope });
}

/**
 * The consent page of a third-party client (the consent step, steps/consent.ts, decides when it
 * shows): what the client asks for, in words (`items`), Allow, and Deny (access_denied to the client).
 */
export function consentPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; clientName: string; items: string[] }): string {
  const items = [...new Set(o.items)].map((s) => `<li>${esc(s)}</li>`).join('');
  return layout(ctx, ctx.text('consent.title'), `<h1>${ctx.t('consent.heading')}</h1>
<p class="lead">${ctx.t('consent.asks', { client: raw(`<strong>${esc(o.clientName)}</strong>`) })}</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${esc(o.action)}">${csrfField(o.csrf)}<button type="submit">${ctx.t('consent.allow')}</button></form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('consent.deny')}</button></form>
<p class="hint">${ctx.t('consent.deny-hint')}</p>`);
}
