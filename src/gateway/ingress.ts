import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { normalizeTarget, originForm } from './normalize.js';
import type { Reply } from './reply.js';
import { problem } from './problems.js';
import { normalizeIp, resolveClientIp } from '../net/ip.js';
import type { Runtime } from './runtime.js';

/**
 * What the gateway establishes about a request before anything else: its id, who sent it (the
 * socket's address, or the client behind a trusted proxy), and that it is unambiguous (framing,
 * Host, target), with the normalized path that routing and every policy see.
 */

const REQUEST_ID = /^[A-Za-z0-9._:@+=-]{1,128}$/;

export function requestHost(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined);
}

export function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const c = host.indexOf(':');
  return c === -1 ? host : host.slice(0, c);
}

/** The request id: the client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The caller: the socket's address, unless the socket is a trusted proxy (then X-Forwarded-For). */
export function peerOf(req: IncomingMessage, rt: Runtime): { peerIp: string; trustedPeer: boolean; clientIp: string } {
  const peerIp = normalizeIp(req.socket.remoteAddress ?? '');
  const trustedPeer = rt.trustedProxies.size > 0 && rt.trustedProxies.has(peerIp);
  const clientIp = trustedPeer ? resolveClientIp(peerIp, req.headers['x-forwarded-for'], rt.trustedProxies) : peerIp;
  return { peerIp, trustedPeer, clientIp };
}

export type Checked = { ok: true; path: string; query: string; hasSemicolon: boolean } | { ok: false; reply: Reply };

/** Refuse ambiguous requests; normalize the target. */
export function checkRequest(req: IncomingMessage, rt: Runtime): Checked {
  // HTTP/0.9 (a request line without a version) has no headers: no Host, no framing to check
  if (req.httpVersionMajor === 0) {
    return { ok: false, reply: problem('http-version-not-supported', 'Use HTTP/1.1 or HTTP/2.', { headers: { connection: 'close' } }) };
  }
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
    return { ok: false, reply: problem('host-missing', 'An HTTP/1.1 request needs a Host header.') };
  }
  // Node accepts `Transfer-Encoding: gzip, chunked` and the like; we forward only plain chunked
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') {
    return { ok: false, reply: problem('request-ambiguous', 'Only "Transfer-Encoding: chunked" is accepted.') };
  }
  const raw = req.rawHeaders;
  const refuseUnderscores = rt.gateway['headers-with-underscores'] === 'reject';
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 4 && n.toLowerCase() === 'host' && ++hosts > 1) {
      return { ok: false, reply: problem('request-ambiguous', 'The request has more than one Host header.') };
    }
    if (refuseUnderscores && n.indexOf('_') !== -1) {
      return { ok: false, reply: problem('header-name-invalid', `Header names with underscores are not accepted (${n.slice(0, 64)}); use hyphens.`) };
    }
  }
  const url = req.url ?? '';
  if (url.length > rt.gateway.limits['max-url-length']) {
    return { ok: false, reply: problem('url-too-long', `The request target is longer than ${rt.gateway.limits['max-url-length']} bytes.`) };
  }
  const target = originForm(url, requestHost(req));
  if (target === undefined) return { ok: false, reply: problem('request-target-invalid', 'The request target must be a path (or an absolute URL naming this host).') };
  const n = normalizeTarget(target);
  if (!n.ok) return { ok: false, reply: problem(n.code, n.detail) };
  return n;
}

/**
 * Whether a body follows the headers: Content-Length or chunked framing in HTTP/1.1; in HTTP/2, a
 * HEADERS frame without END_STREAM (a body needs no Content-Length there).
 */
export function requestHasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  if (req.httpVersionMajor === 2) return (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  return req.headers['transfer-encoding'] !== undefined;
}
