import { csrfField, esc, layout, type PageContext } from './layout.js';
import { raw } from '../i18n/index.js';

/** The consent page of a third-party client (the consent step, steps/consent.ts, decides when it shows). */
export function consentPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; clientName: string; scopes: string[]; apis: string[] }): string {
  const items = [...o.scopes.map((s) => `<li>${esc(s)}</li>`), ...o.apis.map((a) => `<li>${ctx.t('consent.api', { api: a })}</li>`)].join('');
  return layout(ctx, ctx.text('consent.title'), `<h1>${ctx.t('consent.heading')}</h1>
<p class="lead">${ctx.t('consent.asks', { client: raw(`<strong>${esc(o.clientName)}</strong>`) })}</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${esc(o.action)}">${csrfField(o.csrf)}<button type="submit">${ctx.t('consent.allow')}</button></form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('consent.deny')}</button></form>`);
}
