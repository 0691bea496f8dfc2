import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { type Headers, type Reply } from './reply.js';
import { problem } from './problems.js';
import type { CompiledBackend } from './runtime.js';
import type { Admitted } from '../upstream/admission.js';
import { withoutCookies } from '../net/cookies.js';
import { connectionListed, GATEWAY_OWNED, HOP_BY_HOP, HOP_BY_HOP_RESPONSE, PROXY_ONLY, REQUEST_HEADER_RULES } from '../net/headers.js';

/**
 * Forwarding to a backend with undici: keep-alive pool per backend, bodies streamed both ways
 * with backpressure, hop-by-hop headers removed, one retry for idempotent body-less requests whose
 * connection failed before anything was sent.
 */

/** Per-API forwarding choices, compiled with the config. */
export interface ForwardRules {
  /** drop request headers whose name has an underscore */
  dropUnderscores: boolean;
  /** forward the identity provider's `gh-idp-*` cookies (only to the API that publishes it) */
  identityCookies: boolean;
}

/** Cookies the identity provider sets; other APIs never receive them. */
const IDENTITY_COOKIE_PREFIX = 'gh-idp-';
const isIdentityCookie = (name: string) => name.startsWith(IDENTITY_COOKIE_PREFIX);

/**
 * The request headers for the backend: the client's, minus hop-by-hop headers (and every header
 * named in Connection), minus the ones the gateway sets, minus proxy-only headers unless the peer
 * is a trusted proxy, plus forwarding headers.
 */
export function upstreamRequestHeaders(ex: Exchange, trustedPeer: boolean, peerIp: string, rules: ForwardRules): Headers {
  const inHeaders: IncomingHttpHeaders = ex.req.headers;
  const listed = connectionListed(inHeaders.connection);
  const refused = trustedPeer ? HOP_BY_HOP | GATEWAY_OWNED : HOP_BY_HOP | GATEWAY_OWNED | PROXY_ONLY;
  const out: Headers = {};
  for (const name in inHeaders) {
    const rule = REQUEST_HEADER_RULES.get(name);
    if ((rule !== undefined && (rule & refused) !== 0) || (listed !== undefined && listed.has(name)) || name.charCodeAt(0) === 58 /* HTTP/2 pseudo-header */) continue;
    if (rules.dropUnderscores && name.indexOf('_') !== -1) continue;
    const v = inHeaders[name];
    if (v !== undefined) out[name] = v;
  }
  const cookie = out.cookie;
  if (!rules.identityCookies && typeof cookie === 'string' && cookie.includes(IDENTITY_COOKIE_PREFIX)) {
    const rest = withoutCookies(cookie, isIdentityCookie);
    if (rest === undefined) delete out.cookie;
    else out.cookie = rest;
  }
  // X-Forwarded-*: appended to only when the peer is a trusted proxy; otherwise ours alone.
  const xff = inHeaders['x-forwarded-for'];
  const host = inHeaders.host ?? (inHeaders[':authority'] as string | undefined) ?? '';
  const proto = ex.protocol;
  if (trustedPeer && xff) {
    out['x-forwarded-for'] = `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peerIp}`;
    out['x-forwarded-proto'] = (inHeaders['x-forwarded-proto'] as string | undefined) ?? proto;
    out['x-forwarded-host'] = (inHeaders['x-forwarded-host'] as string | undefined) ?? host;
  } else {
    out['x-forwarded-for'] = peerIp;
    out['x-forwarded-proto'] = proto;
    out['x-forwarded-host'] = host;
  }
  const fwdFor = peerIp.includes(':') ? `"[${peerIp}]"` : peerIp;
  const ours = `for=${fwdFor};proto=${proto}${host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `;host=${host}` : ''}`;
  const prior = inHeaders.forwarded;
  out.forwarded = trustedPeer && prior ? `${prior}, ${ours}` : ours;
  out['x-request-id'] = ex.requestId;
  return out;
}

/** Response headers for the client: the backend's minus hop-by-hop ones. */
export function downstreamResponseHeaders(h: IncomingHttpHeaders): Headers {
  const listed = connectionListed(h.connection);
  const out: Headers = {};
  for (const name in h) {
    if (HOP_BY_HOP_RESPONSE.has(name) || (listed !== undefined && listed.has(name))) continue;
    const v = h[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CONNECTION_FAILED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'UND_ERR_CLOSED']);

/** Send the request to the backend. Resolves with the response, or a Reply for a failure. */
export async function forward(ex: Exchange, backend: CompiledBackend, hasBody: boolean): Promise<UpstreamResponse | Reply> {
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
      const r = await backend.pool.request(opts);
      return { status: r.statusCode, headers: downstreamResponseHeaders(r.headers as IncomingHttpHeaders), body: r.body };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { code?: string };
      if (attempt === 0 && !hasBody && backend.config.retry && IDEMPOTENT.has(ex.method) && CONNECTION_FAILED.has(e.code ?? '') && !ex.signal.aborted) {
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

function classify(e: NodeJS.ErrnoException & { code?: string; cause?: unknown }, ex: Exchange): Reply {
  // the request body failed (too large, too slow, the client went away): that is what to say
  const f = ex.body?.failure;
  if (f !== undefined) return problem(f.code, f.detail);
  if (ex.signal.aborted) return problem('client-closed-request', 'The client closed the connection.');
  switch (e.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return problem('backend-timeout', 'The backend did not answer in time.');
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return problem('backend-unreachable', 'The backend could not be reached.');
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return problem('body-length-mismatch', 'The request body does not match its Content-Length.');
    default:
      if (typeof e.code === 'string' && (e.code.startsWith('ERR_TLS') || e.code.includes('CERT') || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')) {
        return problem('backend-tls-failed', 'The TLS handshake with the backend failed.');
      }
      return problem('backend-connection-failed', 'The connection to the backend failed.');
  }
}
