import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';
import type { Reply } from './reply.js';
import { problem } from './problems.js';
import type { Backend } from '../upstream/backend.js';
import type { Admitted } from '../upstream/admission.js';
import { downstreamResponseHeaders } from './headers.js';
import { connectionFailedEarly, failureKind } from '../upstream/failure.js';

/**
 * Forwarding to a backend through its Dispatcher: a bounded wait for a slot, bodies streamed both
 * ways with backpressure, one retry for idempotent body-less requests whose connection failed
 * before anything was sent, and failures turned into problems that never say where the backend is.
 */

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Send the request to the backend. Resolves with the response, or a Reply for a failure. */
export async function forward(ex: Exchange, backend: Backend, hasBody: boolean): Promise<UpstreamResponse | Reply> {
  // a slot among the backend's connections, or a bounded wait for one
  const slot = backend.admission.acquire(ex.signal);
  const admitted: Admitted = typeof slot === 'string' ? slot : await slot;
  if (admitted !== 'ok') return notAdmitted(admitted);
  ex.onDone(() => backend.admission.release());
  const query = ex.backendQuery ?? ex.query;
  const path = backend.basePath + (ex.backendPath === '' && backend.basePath === '' ? '/' : ex.backendPath) + (query === '' ? '' : '?' + query);
  const headers = ex.upstreamHeaders;
  if (!backend.config['preserve-host']) headers.host = backend.host;
  else {
    const h = ex.req.headers.host ?? (ex.req.headers[':authority'] as string | undefined);
    if (h) headers.host = h;
  }
  const body: Readable | Buffer | string | null = hasBody ? ex.requestBody : null;
  if (Buffer.isBuffer(body) || typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
  const opts = { path, method: ex.method as 'GET', headers: headers as Record<string, string>, body, signal: ex.signal };
  let attempt = 0;
  for (;;) {
    try {
      const r = await backend.dispatcher.request(opts);
      return { status: r.statusCode, headers: downstreamResponseHeaders(r.headers as IncomingHttpHeaders), body: r.body };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { code?: string };
      if (attempt === 0 && !hasBody && backend.config.retry && IDEMPOTENT.has(ex.method) && connectionFailedEarly(e) && !ex.signal.aborted) {
        attempt++;
        continue;
      }
      return backendFailure(e, ex);
    }
  }
}

function notAdmitted(r: Exclude<Admitted, 'ok'>): Reply {
  if (r === 'aborted') return problem('client-closed-request', 'The client closed the connection.');
  const r503 = problem('upstream-overloaded', r === 'queue-full'
    ? 'The backend is at capacity and its queue is full; retry later.'
    : 'The backend is at capacity and no connection became free in time; retry later.', { headers: { 'retry-after': '1' } });
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
    default: return problem('backend-connection-failed', 'The connection to the backend failed.');
  }
}
