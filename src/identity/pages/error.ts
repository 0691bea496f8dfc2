import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DatabaseBusy } from '../db.js';
import type { OidcContext } from '../provider/oidc.js';
import { FormError, send } from './kit.js';
import { esc, layout, type PageContext } from './layout.js';
import { raw, type MessageKey } from '../i18n/index.js';

/** what a protocol error tells the user (catalog keys), by its OAuth error code (the log has the library's detail) */
const PROTOCOL_ERRORS: Record<string, { title: MessageKey; message: MessageKey }> = {
  invalid_redirect_uri: { title: 'error.misconfigured-title', message: 'error.redirect-uri' },
  invalid_client: { title: 'error.unknown-client-title', message: 'error.unknown-client' },
  unauthorized_client: { title: 'error.misconfigured-title', message: 'error.unauthorized-client' },
  invalid_scope: { title: 'error.misconfigured-title', message: 'error.scope' },
  invalid_target: { title: 'error.misconfigured-title', message: 'error.scope' },
  unsupported_response_type: { title: 'error.misconfigured-title', message: 'error.response-type' },
  session_expired: { title: 'interaction.expired-title', message: 'interaction.expired' },
  access_denied: { title: 'error.denied-title', message: 'error.denied' },
  invalid_request: { title: 'error.invalid-request-title', message: 'error.invalid-request' },
  server_error: { title: 'error.title', message: 'error.server' },
  temporarily_unavailable: { title: 'error.busy-title', message: 'error.busy' },
};
const UNKNOWN_ERROR = { title: 'error.title', message: 'error.unknown' } as const;

/** a link out of an error page */
export interface WayBack { href: string; text: string }

/**
 * The error page: what happened in plain words, a way back, and (small, for support) the error
 * code and the request id. Never a library's message, a stack or an internal address.
 */
export function errorPage(ctx: PageContext, o: { title?: string; message: string; code?: string; back?: WayBack; requestId?: string }): string {
  const title = o.title ?? ctx.text('error.title');
  const support = [
    o.code ? ctx.t('error.code', { code: raw(`<code>${esc(o.code)}</code>`) }) : '',
    o.requestId ? ctx.t('error.request-id', { id: raw(`<code>${esc(o.requestId)}</code>`) }) : '',
  ].filter(Boolean).join(' · ');
  return layout(ctx, title, `<h1>${esc(title)}</h1>
<div class="alert error" role="alert">${esc(o.message)}</div>
${o.back ? `<nav class="links" aria-label="${ctx.t('nav.next')}"><a href="${esc(o.back.href)}">${esc(o.back.text)}</a></nav>` : ''}
${support ? `<footer>${support}</footer>` : ''}`);
}

/** the id that ties an error page to its log line: the gateway's X-Request-Id, else a fresh one */
export function requestIdOf(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[\w.:-]{1,64}$/.test(h) ? h : randomBytes(8).toString('hex');
}

/** the friendly text of an oidc-provider error, in the page's language: its code, and an expired sign-in told apart from other invalid requests */
function protocolError(page: PageContext, code: string, err: unknown): { code: string; title: string; message: string } {
  const key = (err as Error | undefined)?.name === 'SessionNotFound' ? 'session_expired' : code;
  const f = Object.hasOwn(PROTOCOL_ERRORS, key) ? PROTOCOL_ERRORS[key]! : UNKNOWN_ERROR;
  return { code: key, title: page.text(f.title), message: page.text(f.message) };
}

/**
 * oidc-provider's `renderError`: its errors on the branded error page in plain words, with a link
 * back to the client's home page (`client_uri`) when the client is known, else to the account
 * console. The library's description goes to the log with the request id the page shows.
 */
export function renderError(page: PageContext, logger?: Logger) {
  return async (ctx: OidcContext & { req: IncomingMessage; path?: string }, out: { error: string; error_description?: string }, err?: unknown) => {
    const f = protocolError(page, out.error, err);
    const requestId = requestIdOf(ctx.req);
    logger?.info({ error: out.error, detail: out.error_description, requestId, path: ctx.path }, 'error page shown');
    const client = ctx.oidc?.client as { clientUri?: string; clientName?: string } | undefined;
    const back = client?.clientUri && /^https?:/.test(client.clientUri)
      ? { href: client.clientUri, text: page.text('error.back-to', { client: client.clientName ?? page.text('error.an-application') }) }
      : accountLink(page);
    ctx.type = 'html';
    ctx.body = errorPage(page, { ...f, back, requestId });
  };
}

/** where an error page of the hosted pages leads: the account console */
export const accountLink = (page: PageContext): WayBack => ({ href: `${page.base}/account`, text: page.text('common.to-account') });

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
    const requestId = res.req ? requestIdOf(res.req) : undefined;
    o.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path, requestId }, 'hosted page failed');
    send(res, 500, errorPage(o.page, { title: o.page.text('error.title'), message: o.page.text('error.server'), code: 'server-error', back: accountLink(o.page), requestId }));
  }
}
