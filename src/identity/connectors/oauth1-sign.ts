import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * OAuth 1.0a request signing (RFC 5849 §3.4): the signature base string and HMAC-SHA1, with
 * node:crypto. Shared by the OAuth 1.0a connector (client side) and checked against the RFC's
 * own examples (test/identity/oauth1.test.ts).
 */

/** RFC 5849 §3.6: percent-encode everything but ALPHA, DIGIT, `-`, `.`, `_`, `~` (UTF-8 first) */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** RFC 5849 §3.4.1.2: scheme and host lower-case, default port left out, path; no query or fragment */
export function baseStringUri(url: URL): string {
  return `${url.protocol.toLowerCase()}//${url.host.toLowerCase()}${url.pathname}`;
}

/**
 * RFC 5849 §3.4.1: `METHOD&uri&params`. `params` are the protocol and body parameters (decoded);
 * the URL's query is added here. `oauth_signature` and `realm` are never part of it.
 */
export function signatureBaseString(method: string, url: URL, params: Iterable<readonly [string, string]>): string {
  const pairs = [...url.searchParams, ...params]
    .filter(([k]) => k !== 'oauth_signature' && k !== 'realm')
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const normalized = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${percentEncode(baseStringUri(url))}&${percentEncode(normalized)}`;
}

/** RFC 5849 §3.4.2: HMAC-SHA1 keyed by `consumer-secret&token-secret` (each percent-encoded), base64 */
export function hmacSha1(baseString: string, consumerSecret: string, tokenSecret = ''): string {
  return createHmac('sha1', `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`).update(baseString).digest('base64');
}

/** compare two signatures (or tokens) in constant time */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SigningKeys {
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
}

/**
 * The `Authorization: OAuth …` header of a request (RFC 5849 §3.5.1) signed with HMAC-SHA1: a
 * fresh nonce and the current timestamp, plus `extra` protocol parameters (`oauth_callback`,
 * `oauth_verifier`). `body` are form parameters sent in the body (signed too).
 */
export function authorizationHeader(method: string, url: URL, keys: SigningKeys, extra: Record<string, string> = {}, body: Record<string, string> = {}, now = Date.now()): string {
  const oauth: Record<string, string> = {
    oauth_consumer_key: keys.consumerKey,
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_version: '1.0',
    ...(keys.token ? { oauth_token: keys.token } : {}),
    ...extra,
  };
  const base = signatureBaseString(method, url, [...Object.entries(oauth), ...Object.entries(body)]);
  oauth.oauth_signature = hmacSha1(base, keys.consumerSecret, keys.tokenSecret);
  return `OAuth ${Object.entries(oauth).map(([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`).join(', ')}`;
}

/** the parameters of an `Authorization: OAuth …` header (RFC 5849 §3.5.1), decoded; undefined when it is not one */
export function parseAuthorizationHeader(header: string | undefined): Map<string, string> | undefined {
  const m = /^OAuth\s+(.*)$/is.exec(header ?? '');
  if (!m) return undefined;
  const out = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const kv = /^\s*([^=\s]+)="([^"]*)"\s*$/.exec(part);
    if (!kv) return undefined;
    try {
      const k = decodeURIComponent(kv[1]!);
      if (out.has(k)) return undefined; // a parameter given twice is no valid header
      out.set(k, decodeURIComponent(kv[2]!));
    } catch { return undefined; }
  }
  return out;
}
