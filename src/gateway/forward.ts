import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';
import type { Reply } from './reply.js';
import { problem } from './problems.js';
import type { Backend } from '../upstream/backend.js';
import type { BreakerRefusal } from '../upstream/circuit-breaker.js';
import type { BalancedDispatchOptions } from '../upstream/dispatcher.js';
import { classifyError, type BodyKind } from '../upstream/retry.js';
import { downstreamResponseHeaders } from './headers.js';
import { discard } from './respond.js';
import { failureKind } from '../upstream/failure.js';
import { backendTried } from './trace.js';
import { DirectResponse } from './direct.js';

/**
 * Forwarding to a backend through its Dispatcher: a slot from its circuit breaker (or a bounded
 * wait, or 503 at once), bodies streamed both ways with backpressure, retries the backend's policy
 * allows (each to another target, within the budget and the response timeout; the body must be
 * replayable), and failures turned into problems that never say where the backend is.
 */

/** What a retry decision needs to know about the body: none, in memory (replayable), or a stream. */
function bodyKind(body: Readable | Buffer | string | null): BodyKind {
  return body === null ? 'none' : Buffer.isBuffer(body) || typeof body === 'string' ? 'replayable' : 'stream';
}

/** The request target and headers the backend gets (Host set as `preserve-host` says). */
export function backendRequest(ex: Exchange, backend: Backend): { path: string; headers: Exchange['upstreamHeaders'] } {
  const query = ex.backendQuery ?? ex.query;
  const path = backend.basePath + (ex.backendPath === '' && backend.basePath === '' ? '/' : ex.backendPath) + (query === '' ? '' : '?' + query);
  const headers = ex.upstreamHeaders;
  if (ex.backendHost !== undefined) headers.host = ex.backendHost;
  else if (!backend.config['preserve-host']) headers.host = backend.host;
  else {
    const h = ex.req.headers.host ?? (ex.req.headers[':authority'] as string | undefined);
    if (h) headers.host = h;
  }
  return { path, headers };
}

/**
 * The backend call (`forward`, or in `gatehouse test` a canned answer): the response, or a Reply for
 * a failure. `direct`: nothing after the forward stage reads or replaces the body, so it may be a
 * DirectResponse (written straight to the client by `send`).
 */
export type BackendCall = (ex: Exchange, backend: Backend, hasBody: boolean, hashKey?: string, direct?: boolean) => Promise<UpstreamResponse | Reply>;

/**
 * Send the request to the backend. Resolves with the response, or a Reply for a failure. With
 * `direct`, through undici's `dispatch` (direct.ts); otherwise through `request()`, whose Readable
 * body outbound policies, the cache and compression read.
 */
export async function forward(ex: Exchange, backend: Backend, hasBody: boolean, hashKey?: string, direct = false): Promise<UpstreamResponse | Reply> {
  const slot = backend.breaker.acquire(ex.signal);
  const admitted = typeof slot === 'string' ? slot : await slot;
  if (admitted !== 'ok') return refused(admitted);
  ex.onDone(() => backend.breaker.release());
  const { path, headers } = backendRequest(ex, backend);
  const preserveHost = backend.config['preserve-host'];
  const body: Readable | Buffer | string | null = hasBody ? ex.requestBody : null;
  if (Buffer.isBuffer(body) || typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
  const opts: BalancedDispatchOptions & { signal: Exchange['signal'] } = { path, method: ex.method as 'GET', headers: headers as Record<string, string>, body, signal: ex.signal };
  if (ex.backendTimeoutMs !== undefined) { opts.headersTimeout = ex.backendTimeoutMs; opts.bodyTimeout = ex.backendTimeoutMs; }
  // every request counts toward a configured retry budget; the short form decides only on a failure
  let retry = backend.retriesConfigured ? backend.retry.begin({ method: ex.method, body: bodyKind(body), deadline: Date.now() + backend.settings.responseMs }) : undefined;
  if (backend.balanced) {
    opts.keepHost = preserveHost || ex.backendHost !== undefined;
    if (hashKey !== undefined) opts.hashKey = hashKey;
  }
  const span = ex.backendSpan;
  for (let tries = 1; ; tries++) {
    if (retry !== undefined && backend.balanced) opts.tried = retry.tried as Set<never>;
    const perTry = retry?.tryTimeoutMs();
    if (perTry !== undefined && Number.isFinite(perTry)) opts.headersTimeout = Math.max(1, Math.min(perTry, ex.backendTimeoutMs ?? perTry));
    let decision;
    try {
      const r = direct ? await DirectResponse.dispatch(backend.dispatcher, opts, ex.signal) : await backend.dispatcher.request(opts);
      if (span !== undefined) backendTried(span, (opts.origin as string | undefined) ?? backend.origin, tries, r.statusCode);
      decision = retry?.onResponse(r.statusCode, r.headers['retry-after'] as string | undefined);
      if (decision === undefined || !decision.retry) return { status: r.statusCode, headers: direct ? r.headers as Record<string, string | string[]> : downstreamResponseHeaders(r.headers as IncomingHttpHeaders), body: r.body };
      discard(r.body);
    } catch (err) {
      if (span !== undefined) backendTried(span, (opts.origin as string | undefined) ?? backend.origin, tries, undefined);
      if (ex.signal.aborted) return backendFailure(err as Error, ex);
      retry ??= backend.retry.begin({ method: ex.method, body: bodyKind(body), deadline: Date.now() + backend.settings.responseMs });
      decision = retry.onError(classifyError(err, (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT' && opts.headersTimeout !== undefined), true);
      if (!decision.retry) return backendFailure(err as Error, ex);
    }
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    if (ex.signal.aborted) return problem('client-closed-request', 'The client closed the connection.');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function refused(r: BreakerRefusal): Reply {
  if (r === 'aborted') return problem('client-closed-request', 'The client closed the connection.');
  const r503 = problem('upstream-overloaded', r === 'pending-timeout'
    ? 'The backend is at capacity and no connection became free in time; retry later.'
    : 'The backend is at capacity and its queue is full; retry later.', { headers: { 'retry-after': '1' } });
  (r503 as Reply & { cause?: string }).cause = r;
  return r503;
}

/** Map a backend error to a problem that says what failed and never where the backend is. */
export function backendFailure(e: NodeJS.ErrnoException & { code?: string; cause?: unknown }, ex: Exchange): Reply {
  const r = classify(e, ex);
  // for the log only (never rendered): what the connection said
  (r as Reply & { cause?: string }).cause = `${e.code ?? e.name}: ${e.message}`.slice(0, 300);
  return r;
}

function classify(e: unknown, ex: Exchange): Reply {
  // the request body failed (too large, too slow, the client went away): that is what to say
  const f = ex.body?.failure;
  if (f !== undefined) return problem(f.code, f.detail);
  if (ex.signal.aborted) return problem('client-closed-request', 'The client closed the connection.');
  switch (failureKind(e)) {
    case 'timeout': return problem('backend-timeout', 'The backend did not answer in time.');
    case 'connect-failure': return problem('backend-unreachable', 'The backend could not be reached.');
    case 'length-mismatch': return problem('body-length-mismatch', 'The request body does not match its Content-Length.');
    case 'tls': return problem('backend-tls-failed', 'The TLS handshake with the backend failed.');
    case 'no-healthy-target': return problem('no-healthy-upstream', 'No target of the backend is healthy; retry later.', { headers: { 'retry-after': '5' } });
    default: return problem('backend-connection-failed', 'The connection to the backend failed.');
  }
}
