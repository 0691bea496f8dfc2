/**
 * Cookie headers, read and filtered without decoding more than needed. Several Cookie headers
 * arrive joined by "; " (HTTP/1.1 and HTTP/2 alike).
 */

/**
 * Every cookie the identity provider sets starts with this (`gh-idp-session`, `gh-idp-csrf`, ...):
 * the gateway recognises them and keeps them from every API but the provider's.
 */
export const IDENTITY_COOKIE_PREFIX = 'gh-idp-';

/** every value of cookie `name` in a Cookie header */
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

/** name → value (the first of a name wins; values percent-decoded where they decode) */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (name in out) continue;
    const raw = part.slice(i + 1).trim();
    try { out[name] = decodeURIComponent(raw); } catch { out[name] = raw; }
  }
  return out;
}

/** The Cookie header without the cookies whose name `drop` says; undefined when none is left. */
export function withoutCookies(header: string | string[], drop: (name: string) => boolean): string | undefined {
  const joined = Array.isArray(header) ? header.join('; ') : header;
  const kept: string[] = [];
  for (const part of joined.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (!drop(eq === -1 ? p : p.slice(0, eq).trim())) kept.push(p);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}
