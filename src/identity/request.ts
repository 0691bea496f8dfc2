import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import { compileAddressMatcher, resolveClientIp, type AddressMatcher } from '../net/ip.js';
import { setClientIp } from './client-ip.js';
import { DatabaseBusy } from './db.js';
import { PAGE_CSP } from './pages/layout.js';

/**
 * Request hygiene of the identity listener, before anything reads the request: forwarded
 * headers, the client address, the security headers, the mount path, and the answer of a
 * request that failed.
 */

/** `identity.trusted-proxies` compiled once, with the shared address matcher of src/net/ip.ts */
export function compileTrustedProxies(list: readonly string[]): AddressMatcher {
  try {
    return compileAddressMatcher(list);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new Error(`identity.trusted-proxies: ${list[Number(e.path[0])]} is not an address or CIDR range`, { cause: e });
  }
}

const FORWARDED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip'];

/**
 * The client is the socket's address unless the socket is a trusted proxy (then the nearest
 * untrusted X-Forwarded-For hop): that address is kept beside the request (client-ip.ts) and is
 * the only forwarded header oidc-provider sees. Every other forwarded header is removed, and every
 * URL the provider generates comes from the issuer, never from the request's Host.
 */
export function admit(req: IncomingMessage, res: ServerResponse, issuer: URL, trusted: AddressMatcher): void {
  const h = req.headers;
  const ip = resolveClientIp(req.socket.remoteAddress ?? '', h['x-forwarded-for'], trusted);
  setClientIp(req, ip);
  for (const name of FORWARDED) delete h[name];
  h.host = issuer.host;
  h['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  h['x-forwarded-for'] = ip;

  res.setHeader('content-security-policy', PAGE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
}

const json = (res: ServerResponse, status: number, body: Record<string, string>) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

/** The path below the mount path `base` and the query (`?...` or ''), or undefined when the request is outside it (answered 404). */
export function mounted(req: IncomingMessage, res: ServerResponse, base: string): { path: string; query: string } | undefined {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path !== base && !path.startsWith(base + '/')) {
    json(res, 404, { error: 'not_found', error_description: `the identity provider is at ${base || '/'}` });
    return undefined;
  }
  return { path: path.slice(base.length) || '/', query: q === -1 ? '' : url.slice(q) };
}

/**
 * A request that failed: 503 with Retry-After while another process holds the database locked,
 * else 500; OAuth error JSON, never a stack trace. A response already under way is cut off.
 */
export function failed(logger: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  if (err instanceof DatabaseBusy) {
    logger.warn({ path: req.url }, 'identity request refused: the database is locked by another process');
    if (!res.headersSent) {
      res.setHeader('retry-after', String(err.retryAfter));
      json(res, 503, { error: err.error, error_description: err.error_description });
    } else res.destroy();
    return;
  }
  logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'identity request failed');
  if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: 'internal error' });
  else res.destroy();
}
