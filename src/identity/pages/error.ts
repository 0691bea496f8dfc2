import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DatabaseBusy } from '../db.js';
import type { OidcContext } from '../provider/oidc.js';
import { FormError, send } from './kit.js';
import { esc, layout, type PageContext } from './layout.js';
import { raw } from '../i18n/index.js';

export function errorPage(ctx: PageContext, o: { title?: string; message: string; code?: string }): string {
  const title = o.title ?? ctx.text('error.title');
  return layout(ctx, title, `<h1>${esc(title)}</h1>
<div class="alert error" role="alert">${esc(o.message)}</div>
${o.code ? `<footer>${ctx.t('error.code', { code: raw(`<code>${esc(o.code)}</code>`) })}</footer>` : ''}`);
}

/** oidc-provider's `renderError`: its errors on the branded error page, with the OAuth error code. */
export function renderError(page: PageContext) {
  return async (ctx: OidcContext, out: { error: string; error_description?: string }) => {
    ctx.type = 'html';
    ctx.body = errorPage(page, { message: out.error_description || page.text('error.request'), code: out.error });
  };
}

/**
 * The answer of a hosted page that failed: a database locked by another process is 503 with
 * Retry-After, a refused form its status with the reason, anything else 500 (logged, never shown).
 * A response already under way is cut off.
 */
export function pageFailed(o: { page: PageContext; logger: Logger }, res: ServerResponse, path: string, err: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (err instanceof DatabaseBusy) {
    o.logger.warn({ path }, 'hosted page refused: the database is locked by another process');
    res.setHeader('retry-after', String(err.retryAfter));
    send(res, 503, errorPage(o.page, { title: o.page.text('error.busy-title'), message: o.page.text('error.busy'), code: 'busy' }));
  } else if (err instanceof FormError) {
    // the rest of a body too large was not read: this connection cannot carry another request
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, errorPage(o.page, { title: o.page.text('error.refused-title'), message: o.page.text(err.key, err.vars), code: err.status === 403 ? 'csrf' : 'bad-form' }));
  } else {
    o.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path }, 'hosted page failed');
    send(res, 500, errorPage(o.page, { message: o.page.text('error.server'), code: 'server-error' }));
  }
}
