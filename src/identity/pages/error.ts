import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DatabaseBusy } from '../db.js';
import type { OidcContext } from '../provider/oidc.js';
import { FormError, send } from './kit.js';
import { esc, layout, type PageContext } from './layout.js';

/** the error pages' text (one place, for the message catalogs) */
const TEXT = {
  title: 'Something went wrong',
  code: 'Error code',
  requestId: 'Request ID',
  toAccount: 'Go to your account',
  backTo: (client: string) => `Back to ${client}`,
  anApplication: 'the application',
};

/** what a protocol error tells the user, by its OAuth error code (the log has the library's detail) */
const PROTOCOL_ERRORS: Record<string, { title: string; message: string }> = {
  invalid_redirect_uri: { title: 'This application is not set up correctly', message: 'The application that sent you here asked us to send you back to an address it has not registered, so we cannot. Contact the application\'s support.' },
  invalid_client: { title: 'Unknown application', message: 'We do not know the application that sent you here. Check the link you followed, or contact the application\'s support.' },
  unauthorized_client: { title: 'This application is not set up correctly', message: 'The application asked for something it is not allowed to ask for. Contact the application\'s support.' },
  invalid_scope: { title: 'This application is not set up correctly', message: 'The application asked for access it is not allowed to have. Contact the application\'s support.' },
  invalid_target: { title: 'This application is not set up correctly', message: 'The application asked for access it is not allowed to have. Contact the application\'s support.' },
  unsupported_response_type: { title: 'This application is not set up correctly', message: 'The application asked to sign you in in a way we do not support. Contact the application\'s support.' },
  session_expired: { title: 'Sign-in took too long', message: 'Sign-in took too long, or was already finished in another tab. Go back to the application and start again.' },
  access_denied: { title: 'Access denied', message: 'Access was not allowed. Go back to the application to try again.' },
  invalid_request: { title: 'The request is not valid', message: 'The application sent you here with an incomplete or invalid request. Go back to the application and try again.' },
  server_error: { title: TEXT.title, message: 'Something went wrong on our side. Try again in a moment.' },
  temporarily_unavailable: { title: 'Try again in a moment', message: 'We are busy right now. Try again in a moment.' },
};
const UNKNOWN_ERROR = { title: TEXT.title, message: 'We could not complete this request. Go back to the application and try again.' };

/** a link out of an error page */
export interface WayBack { href: string; text: string }

/**
 * The error page: what happened in plain words, a way back, and (small, for support) the error
 * code and the request id. Never a library's message, a stack or an internal address.
 */
export function errorPage(ctx: PageContext, o: { title?: string; message: string; code?: string; back?: WayBack; requestId?: string }): string {
  const title = o.title ?? TEXT.title;
  const support = [o.code ? `${esc(TEXT.code)}: <code>${esc(o.code)}</code>` : '', o.requestId ? `${esc(TEXT.requestId)}: <code>${esc(o.requestId)}</code>` : ''].filter(Boolean).join(' · ');
  return layout(ctx, title, `<h1>${esc(title)}</h1>
<div class="alert error" role="alert">${esc(o.message)}</div>
${o.back ? `<nav class="links" aria-label="Next"><a href="${esc(o.back.href)}">${esc(o.back.text)}</a></nav>` : ''}
${support ? `<footer>${support}</footer>` : ''}`);
}

/** the id that ties an error page to its log line: the gateway's X-Request-Id, else a fresh one */
export function requestIdOf(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[\w.:-]{1,64}$/.test(h) ? h : randomBytes(8).toString('hex');
}

/** the friendly text of an oidc-provider error: its code, and an expired sign-in told apart from other invalid requests */
function protocolError(code: string, err: unknown): { code: string; title: string; message: string } {
  const key = (err as Error | undefined)?.name === 'SessionNotFound' ? 'session_expired' : code;
  const f = Object.hasOwn(PROTOCOL_ERRORS, key) ? PROTOCOL_ERRORS[key]! : UNKNOWN_ERROR;
  return { code: key, ...f };
}

/**
 * oidc-provider's `renderError`: its errors on the branded error page in plain words, with a link
 * back to the client's home page (`client_uri`) when the client is known, else to the account
 * console. The library's description goes to the log with the request id the page shows.
 */
export function renderError(page: PageContext, logger?: Logger) {
  return async (ctx: OidcContext & { req: IncomingMessage; path?: string }, out: { error: string; error_description?: string }, err?: unknown) => {
    const f = protocolError(out.error, err);
    const requestId = requestIdOf(ctx.req);
    logger?.info({ error: out.error, detail: out.error_description, requestId, path: ctx.path }, 'error page shown');
    const client = ctx.oidc?.client as { clientUri?: string; clientName?: string } | undefined;
    const back = client?.clientUri && /^https?:/.test(client.clientUri)
      ? { href: client.clientUri, text: TEXT.backTo(client.clientName ?? TEXT.anApplication) }
      : { href: `${page.base}/account`, text: TEXT.toAccount };
    ctx.type = 'html';
    ctx.body = errorPage(page, { title: f.title, message: f.message, code: f.code, back, requestId });
  };
}

/** where an error page of the hosted pages leads: the account console */
export const accountLink = (page: PageContext): WayBack => ({ href: `${page.base}/account`, text: TEXT.toAccount });

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
    send(res, 503, errorPage(o.page, { ...PROTOCOL_ERRORS.temporarily_unavailable!, code: 'busy' }));
  } else if (err instanceof FormError) {
    // the rest of a body too large was not read: this connection cannot carry another request
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, errorPage(o.page, { title: 'Request refused', message: err.message, code: err.status === 403 ? 'csrf' : 'bad-form' }));
  } else {
    const requestId = res.req ? requestIdOf(res.req) : undefined;
    o.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path, requestId }, 'hosted page failed');
    send(res, 500, errorPage(o.page, { ...PROTOCOL_ERRORS.server_error!, code: 'server-error', back: accountLink(o.page), requestId }));
  }
}
