import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange } from './exchange.js';
import type { Headers } from './reply.js';
import { IDENTITY_COOKIE_PREFIX, withoutCookies } from '../net/cookies.js';
import { connectionListed, GATEWAY_OWNED, HOP_BY_HOP, HOP_BY_HOP_RESPONSE, PROXY_ONLY, REQUEST_HEADER_RULES } from '../net/headers.js';

/**
 * The headers that cross the gateway: what of the client's request reaches the backend (never
 * hop-by-hop headers, the ones the gateway sets, proxy-only headers from untrusted peers, or the
 * identity provider's cookies for other APIs), and what of the backend's response reaches the client.
 */

/** Per-API forwarding choices, compiled with the config. */
export interface ForwardRules {
  /** drop request headers whose name has an underscore */
  dropUnderscores: boolean;
  /** forward the identity provider's `gh-idp-*` cookies (only to the API that publishes it) */
  identityCookies: boolean;
  /** a request header never forwarded (the API's subscription-key header, lower-case) */
  dropHeader?: string;
}

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
    if (name === rules.dropHeader) continue;
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
