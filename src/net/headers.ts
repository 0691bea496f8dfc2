/**
 * HTTP header-name rules shared by the gateway and the identity provider: which names are valid,
 * which describe one connection, which a gateway sets itself, which only a proxy may send.
 */

/** an HTTP header name (RFC 9110 token) */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** occurrences of a header (lower-case name) in rawHeaders */
export function countHeader(raw: string[], lower: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === lower.length && k.toLowerCase() === lower) n++;
  }
  return n;
}

/**
 * What the gateway does with a request header on its way to the backend, by lower-case name:
 * hop-by-hop headers (RFC 9110 §7.6.1) and the ones the gateway sets itself are never forwarded;
 * client-IP and URL headers that only a proxy may set are forwarded from trusted proxies only.
 */
export const HOP_BY_HOP = 1;
export const GATEWAY_OWNED = 2;
export const PROXY_ONLY = 4;
export const REQUEST_HEADER_RULES = new Map<string, number>([
  ...['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']
    .map((n) => [n, HOP_BY_HOP] as [string, number]),
  // `expect` is answered by the gateway (100-continue after the inbound policies)
  ...['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'x-forwarded-client-cert']
    .map((n) => [n, GATEWAY_OWNED] as [string, number]),
  // a backend (or a framework behind it) may believe these as the client's address or URL
  ...['x-real-ip', 'true-client-ip', 'x-client-ip', 'client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
    'x-original-forwarded-for', 'x-forwarded', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-ssl',
    'x-forwarded-scheme', 'x-scheme', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host', 'x-remote-ip', 'x-remote-addr',
    'x-originating-ip', 'x-proxyuser-ip'].map((n) => [n, PROXY_ONLY] as [string, number]),
]);
export const HOP_BY_HOP_RESPONSE = new Set([...REQUEST_HEADER_RULES].filter(([, r]) => r === HOP_BY_HOP).map(([n]) => n));

/**
 * End-to-end headers the request was validated with: a client cannot make the gateway drop them
 * by naming them in `Connection` (the backend would then see a request other than the one the
 * policies checked).
 */
const NOT_CONNECTION_OPTIONS = new Set(['authorization', 'content-type', 'content-length', 'content-encoding', 'cookie', 'host', 'x-request-id']);

export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // the usual values name nothing to drop: no split, no set
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  let set: Set<string> | undefined;
  for (const t of v.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive' && !NOT_CONNECTION_OPTIONS.has(name)) (set ??= new Set()).add(name);
  }
  return set;
}
