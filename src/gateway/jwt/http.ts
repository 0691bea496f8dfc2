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
