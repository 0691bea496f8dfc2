import { withoutCookies } from '../../net/cookies.js';

/** Pieces shared by the authentication/authorization policies. */

/** a quoted-string body for WWW-Authenticate: no quotes, backslashes or bytes outside printable ASCII */
function quoted(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, "'");
}

/** RFC 6750 §3 challenge: `Bearer realm="...", error="...", error_description="..."` */
export function bearerChallenge(realm: string, error: string, description: string): string {
  return `Bearer realm="${quoted(realm)}", error="${error}", error_description="${quoted(description)}"`;
}

/** RFC 9449 §7.1 challenge: `DPoP realm="...", algs="...", error="...", error_description="..."` */
export function dpopChallenge(realm: string, algs: string, error: string, description: string): string {
  return `DPoP realm="${quoted(realm)}", algs="${quoted(algs)}", error="${error}", error_description="${quoted(description)}"`;
}

const FORBIDDEN = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'expect', 'content-type', 'content-encoding', 'cookie', 'authorization',
]);

/** headers a policy may never set from client-controlled data */
export function isForbiddenForwardHeader(lower: string): boolean {
  return FORBIDDEN.has(lower) || lower.startsWith(':');
}

export function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
}

/** the raw query without every parameter whose (decoded) name is `name`; other parameters keep their encoding */
export function stripQueryParam(query: string, name: string): string {
  if (query === '') return query;
  return query.split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    const raw = (eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' ');
    let decoded = raw;
    try { decoded = decodeURIComponent(raw); } catch { /* keep raw */ }
    return decoded !== name;
  }).join('&');
}

/** Remove cookie `name` from the headers for the backend. */
export function stripCookie(up: Record<string, string | string[]>, name: string): void {
  const v = up.cookie;
  if (v === undefined) return;
  const rest = withoutCookies(v, (n) => n === name);
  if (rest === undefined) delete up.cookie;
  else up.cookie = rest;
}
