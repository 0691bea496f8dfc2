/** Pieces shared by the authentication/authorization policies. */

/** an HTTP header name (RFC 9110 token) */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

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

/** occurrences of a header (lower-case name) in rawHeaders */
export function countHeader(raw: string[], lower: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === lower.length && k.toLowerCase() === lower) n++;
  }
  return n;
}

export function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
}

/** every value of cookie `name` in a Cookie header (several Cookie headers arrive joined by "; ") */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
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

export function stripCookie(up: Record<string, string | string[]>, name: string): void {
  const v = up.cookie;
  if (v === undefined) return;
  const joined = Array.isArray(v) ? v.join('; ') : v;
  const kept = joined.split(';').filter((part) => {
    const eq = part.indexOf('=');
    return eq === -1 ? part.trim() !== '' : part.slice(0, eq).trim() !== name;
  }).map((p) => p.trim());
  if (kept.length === 0) delete up.cookie;
  else up.cookie = kept.join('; ');
}
