/**
 * The one path normalizer. Routing, every policy and forwarding see its output.
 *
 * - percent-decodes unreserved characters only (ALPHA DIGIT - . _ ~) and upper-cases the hex of
 *   the rest, so `/%6Frders` and `/orders` are the same path;
 * - refuses encoded `/`, `\` or NUL, a raw `\`, control characters, malformed escapes;
 * - collapses `//`;
 * - removes dot-segments (RFC 3986 §5.2.4) and refuses a path that would climb above the root;
 * - reports `;` path parameters so the API can refuse them (the default).
 *
 * Decoding happens before dot-segment removal, so `%2e%2e` is treated as `..`.
 */

export type NormalizeResult =
  | { ok: true; path: string; query: string; hasSemicolon: boolean }
  | { ok: false; code: 'path-invalid' | 'request-target-invalid'; detail: string };

const HEX = '0123456789ABCDEF';

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

const bad = (code: 'path-invalid' | 'request-target-invalid', detail: string): NormalizeResult => ({ ok: false, code, detail });

/**
 * Normalize an origin-form request target (`/path?query`). Absolute-form targets are handled by
 * the caller (see `originForm`).
 */
export function normalizeTarget(target: string): NormalizeResult {
  if (target.length === 0 || target.charCodeAt(0) !== 47 /* / */) {
    return bad('request-target-invalid', 'The request target must be an absolute path starting with "/".');
  }
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  if (query.indexOf('#') !== -1) return bad('request-target-invalid', 'A fragment (#) is not allowed in a request target.');

  // Fast path: nothing to decode, no dot-segments, no empty segments, nothing suspicious.
  let needsWork = false;
  let hasSemicolon = false;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 37 /* % */ || c === 46 /* . */ || (c === 47 && i > 0 && rawPath.charCodeAt(i - 1) === 47)) needsWork = true;
    else if (c === 92 /* \ */) return bad('path-invalid', 'A backslash is not allowed in the path.');
    else if (c < 0x21 || c === 0x7f || c === 35 /* # */) return bad('path-invalid', 'The path contains a character that must be percent-encoded.');
    else if (c === 59 /* ; */) hasSemicolon = true;
    else if (c > 0x7e) return bad('path-invalid', 'The path contains a non-ASCII byte; percent-encode it.');
  }
  if (!needsWork) return { ok: true, path: rawPath, query, hasSemicolon };

  // Decode unreserved escapes, normalize the others, refuse dangerous ones.
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c !== 37) { decoded += rawPath[i]; continue; }
    const h = hexVal(rawPath.charCodeAt(i + 1));
    const l = hexVal(rawPath.charCodeAt(i + 2));
    if (h < 0 || l < 0) return bad('path-invalid', 'The path contains a malformed percent-escape.');
    const byte = h * 16 + l;
    if (byte === 0x2f || byte === 0x5c || byte === 0) {
      return bad('path-invalid', 'The path contains an encoded "/", "\\" or NUL, which is ambiguous.');
    }
    if (byte < 0x20 || byte === 0x7f) return bad('path-invalid', 'The path contains an encoded control character.');
    if (isUnreserved(byte)) decoded += String.fromCharCode(byte);
    else {
      if (byte === 0x3b) hasSemicolon = true; // an encoded ';' is still a parameter delimiter to many servers
      decoded += '%' + HEX[h] + HEX[l];
    }
    i += 2;
  }

  // Split into segments, drop empty ones (collapses //), resolve dot-segments.
  const trailingSlash = decoded.length > 1 && decoded.endsWith('/');
  const out: string[] = [];
  const segs = decoded.split('/');
  let lastWasDot = false;
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    lastWasDot = false;
    if (s === '' ) continue;
    if (s === '.') { lastWasDot = true; continue; }
    if (s === '..') {
      if (out.length === 0) return bad('path-invalid', 'The path climbs above the root with "..".');
      out.pop();
      lastWasDot = true;
      continue;
    }
    out.push(s);
  }
  let path = '/' + out.join('/');
  if ((trailingSlash || lastWasDot) && path !== '/') path += '/';
  return { ok: true, path, query, hasSemicolon };
}

/**
 * Turn an absolute-form target (`http://host/x`) into origin form when its authority is the
 * request's Host; anything else is refused: never routed by the embedded host.
 */
export function originForm(target: string, host: string | undefined): string | undefined {
  if (target.charCodeAt(0) === 47) return target;
  const m = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
  if (!m || host === undefined) return undefined;
  if (m[1]!.toLowerCase() !== host.toLowerCase()) return undefined;
  const rest = m[2]!;
  return rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? '/' + rest : rest;
}
