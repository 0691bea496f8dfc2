import { ConfigError } from '../../config/errors.js';
import type { Claims, Exchange } from '../exchange.js';
import type { Headers } from '../reply.js';
import { claimValue, encodeClaimHeader } from './claims.js';
import { isForbiddenForwardHeader, stripCookie, stripQueryParam } from './http.js';
import type { TokenPlace } from './extract.js';

/**
 * What validate-jwt sends the backend besides the request: claims in headers (`forward-claims`),
 * and the token itself unless `forward-token` is false. A forwarded header is always set or
 * removed, never left as the client sent it, so a client cannot forge one.
 */

/** Backend header values derived from one token's claims: [name, value], undefined value = remove. */
export type ClaimHeaders = Array<[string, string | undefined]>;

export interface ClaimForwarding {
  /** the header values for these claims (computed once per token: cached with it) */
  headersFor(claims: Claims): ClaimHeaders;
  /** their size in bytes, for the token cache's budget */
  sizeOf(headers: ClaimHeaders): number;
}

/**
 * Compile `forward-claims` (claim → header name). A header that carries the token, or that the
 * gateway or HTTP owns, cannot carry a claim (a ConfigError at `forward-claims.<claim>`).
 */
export function claimForwarding(forwardClaims: Readonly<Record<string, string>>, tokenHeader: string | undefined): ClaimForwarding {
  const forward: Array<[string, string]> = [];
  for (const [claim, name] of Object.entries(forwardClaims)) {
    const lower = name.toLowerCase();
    if (isForbiddenForwardHeader(lower)) throw new ConfigError(`${name} cannot carry a claim`, ['forward-claims', claim]);
    if (lower === tokenHeader) throw new ConfigError(`${name} is the header the token comes from`, ['forward-claims', claim]);
    forward.push([claim, lower]);
  }
  return {
    headersFor: (claims) => forward.map(([claim, name]) => [name, encodeClaimHeader(claimValue(claims, claim))]),
    sizeOf(headers) {
      let bytes = 0;
      for (const h of headers) bytes += h[0].length + (h[1]?.length ?? 0);
      return bytes;
    },
  };
}

/** Set (or remove) the claim headers on the request to the backend. */
export function applyClaimHeaders(up: Headers, headers: ClaimHeaders): void {
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[1] === undefined) delete up[h[0]];
    else up[h[0]] = h[1];
  }
}

/** `forward-token: false`: how the token is removed from what reaches the backend. */
export function tokenRemover(place: TokenPlace): (ex: Exchange) => void {
  const { header, cookie, query } = place;
  if (header !== undefined) return (ex) => { delete ex.upstreamHeaders[header]; };
  if (cookie !== undefined) return (ex) => stripCookie(ex.upstreamHeaders, cookie);
  return (ex) => { ex.backendQuery = stripQueryParam(ex.backendQuery ?? ex.query, query!); };
}
