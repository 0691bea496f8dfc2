import { csrfField, esc, layout, type PageContext } from './layout.js';

/** The consent page of a third-party client (the consent step, steps/consent.ts, decides when it shows). */
export function consentPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; clientName: string; scopes: string[]; apis: string[] }): string {
  const items = [...o.scopes.map((s) => `<li>${esc(s)}</li>`), ...o.apis.map((a) => `<li>access to ${esc(a)}</li>`)].join('');
  return layout(ctx, 'Allow access', `<h1>Allow access?</h1>
<p class="lead"><strong>${esc(o.clientName)}</strong> asks for:</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${esc(o.action)}">${csrfField(o.csrf)}<button type="submit">Allow</button></form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Deny</button></form>`);
}
