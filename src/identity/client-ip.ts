import type { IncomingMessage } from 'node:http';
import { normalizeIp } from '../net/ip.js';

/**
 * The client address of each request, as the server resolved it when the request came in (the
 * socket's address, or the nearest untrusted X-Forwarded-For hop behind a trusted proxy: see
 * `resolveClientIp` in src/net/ip.ts). Kept beside the request, never on it.
 */
const addresses = new WeakMap<IncomingMessage, string>();

export function setClientIp(req: IncomingMessage, ip: string): void {
  addresses.set(req, ip);
}

/** the client's address: as resolved by the server, else the socket's */
export function clientIp(req: IncomingMessage): string {
  return addresses.get(req) ?? normalizeIp(req.socket.remoteAddress ?? '');
}
