import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { problem, type Headers, type Reply } from './reply.js';
import type { CompiledBackend } from './runtime.js';

/**
 * Forwarding to a backend with undici: keep-alive pool per backend, bodies streamed both ways
 * with backpressure, hop-by-hop headers removed, one retry for idempotent body-less requests whose
 * connection failed before anything was sent.
 */

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus ones we own. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings',
]);
/** Request headers the gateway sets itself (or answers, in the case of `expect`). */
const GATEWAY_OWNED = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'x-forwarded-client-cert']);

function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  let set: Set<string> | undefined;
  for (const t of v.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (set ??= new Set()).add(name);
  }
  return set;
}

/**
 * The request headers for the backend: the client's, minus hop-by-hop headers (and every header
 * named in Connection), minus the ones the gateway sets, plus forwarding headers.
 */
export function upstreamRequestHeaders(ex: Exchange, trustedPeer: boolean, peerIp: string): Headers {
  const inHeaders: IncomingHttpHeaders = ex.req.headers;
  const listed = connectionListed(inHeaders.connection);
  const out: Headers = {};
  for (const name in inHeaders) {
    if (HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || (listed !== undefined && listed.has(name)) || name.charCodeAt(0) === 58 /* HTTP/2 pseudo-header */) continue;
    const v = inHeaders[name];
    if (v !== undefined) out[name] = v;
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
    if (HOP_BY_HOP.has(name) || (listed !== undefined && listed.has(name))) continue;
    const v = h[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Counts a streamed request body and fails it past `limit` (chunked uploads). */
export class BodyLimit extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(private readonly limit: number) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.exceeded = true;
      cb(new BodyTooLarge());
      return;
    }
    cb(null, chunk);
  }
}

export class BodyTooLarge extends Error {
  readonly code = 'body-too-large';
  constructor() { super('request body too large'); }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CONNECTION_FAILED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'UND_ERR_CLOSED']);

/** Send the request to the backend. Resolves with the response, or a Reply for a failure. */
export async function forward(ex: Exchange, backend: CompiledBackend, hasBody: boolean): Promise<UpstreamResponse | Reply> {
  const query = ex.backendQuery ?? ex.query;
  const path = backend.basePath + (ex.backendPath === '' && backend.basePath === '' ? '/' : ex.backendPath) + (query === '' ? '' : '?' + query);
  const headers = ex.upstreamHeaders;
  if (!backend.config['preserve-host']) headers.host = backend.host;
  else {
    const h = ex.req.headers.host ?? (ex.req.headers[':authority'] as string | undefined);
    if (h) headers.host = h;
  }
  let body: Readable | Buffer | string | null = hasBody ? ex.requestBody : null;
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

/** Map a backend error to a problem that says what failed and never where the backend is. */
export function backendFailure(e: NodeJS.ErrnoException & { code?: string; cause?: unknown }, ex: Exchange): Reply {
  const r = classify(e, ex);
  // for the log only (never rendered): what the connection said
  (r as Reply & { cause?: string }).cause = `${e.code ?? e.name}: ${e.message}`.slice(0, 300);
  return r;
}

function classify(e: NodeJS.ErrnoException & { code?: string; cause?: unknown }, ex: Exchange): Reply {
  const cause = e.cause as { code?: string } | undefined;
  if (e instanceof BodyTooLarge || e.code === 'body-too-large' || cause?.code === 'body-too-large') {
    return problem(413, 'body-too-large', 'The request body is larger than this API accepts.');
  }
  if (ex.signal.aborted) return problem(499, 'client-closed-request', 'The client closed the connection.', { title: 'Client Closed Request' });
  switch (e.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return problem(504, 'backend-timeout', 'The backend did not answer in time.');
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return problem(502, 'backend-unreachable', 'The backend could not be reached.');
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return problem(400, 'body-length-mismatch', 'The request body does not match its Content-Length.');
    default:
      if (typeof e.code === 'string' && (e.code.startsWith('ERR_TLS') || e.code.includes('CERT') || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')) {
        return problem(502, 'backend-tls-failed', 'The TLS handshake with the backend failed.');
      }
      return problem(502, 'backend-connection-failed', 'The connection to the backend failed.');
  }
}
