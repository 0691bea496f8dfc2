import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DatabaseBusy } from '../db.js';
import type { OidcContext } from '../provider/oidc.js';
import { FormError, send } from './kit.js';
import { esc, layout, type PageContext } from './layout.js';

export function errorPage(ctx: PageContext, o: { title?: string; message: string; code?: string }): string {
  return layout(ctx, o.title ?? 'Something went wrong', `<h1>${esc(o.title ?? 'Something went wrong')}</h1>
<div class="alert error" role="alert">${esc(o.message)}</div>
${o.code ? `<footer>Error code: <code>${esc(o.code)}</code></footer>` : ''}`);
}

/** oidc-provider's `renderError`: its errors on the branded error page, with the OAuth error code. */
export function renderError(page: PageContext) {
  return async (ctx: OidcContext, out: { error: string; error_description?: string }) => {
    ctx.type = 'html';
    ctx.body = errorPage(page, { message: out.error_description || 'The request could not be completed.', code: out.error });
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
    send(res, 503, errorPage(o.page, { title: 'Try again in a moment', message: 'We are busy right now. Try again in a moment.', code: 'busy' }));
  } else if (err instanceof FormError) {
    // the rest of a body too large was not read: this connection cannot carry another request
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, errorPage(o.page, { title: 'Request refused', message: err.message, code: err.status === 403 ? 'csrf' : 'bad-form' }));
  } else {
    o.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path }, 'hosted page failed');
    send(res, 500, errorPage(o.page, { message: 'Something went wrong on our side. Try again in a moment.', code: 'server-error' }));
  }
}
