import { csrfField, esc, layout, type PageContext } from './layout.js';

/** the page's text (one place, for the message catalogs) */
const TEXT = {
  title: 'Allow access',
  heading: 'Allow access?',
  asks: (client: string) => `<strong>${esc(client)}</strong> would like to:`,
  allow: 'Allow',
  deny: 'Deny',
  denyHint: 'If you deny, you go back to the application without sharing anything.',
  /** a scope without a description: its name, and the API that defines it */
  unnamed: (scope: string, api?: string) => (api ? `Use ${scope} at ${api}` : `Use ${scope}`),
};

/** what the OpenID scopes let a client do, in words for the user (`identity.scopes` overrides) */
export const BUILT_IN_SCOPES: Readonly<Record<string, string>> = {
  openid: 'Know who you are (your account identifier)',
  profile: 'See your name and basic profile',
  email: 'See your email address',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Keep access while you are not using it',
};

/** the description of `scope`: configured (`identity.scopes`), built in, or its name (and API) */
export function describeScope(configured: Readonly<Record<string, { description: string }>>, scope: string, api?: string): string {
  if (Object.hasOwn(configured, scope)) return configured[scope]!.description;
  if (!api && Object.hasOwn(BUILT_IN_SCOPES, scope)) return BUILT_IN_SCOPES[scope]!;
  return TEXT.unnamed(scope, api);
}

/**
 * The consent page of a third-party client (the consent step, steps/consent.ts, decides when it
 * shows): what the client asks for, in words (`items`), Allow, and Deny (access_denied to the client).
 */
export function consentPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; clientName: string; items: string[] }): string {
  const items = [...new Set(o.items)].map((s) => `<li>${esc(s)}</li>`).join('');
  return layout(ctx, TEXT.title, `<h1>${esc(TEXT.heading)}</h1>
<p class="lead">${TEXT.asks(o.clientName)}</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${esc(o.action)}">${csrfField(o.csrf)}<button type="submit">${esc(TEXT.allow)}</button></form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${esc(TEXT.deny)}</button></form>
<p class="hint">${esc(TEXT.denyHint)}</p>`);
}
