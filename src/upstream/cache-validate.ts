import { header, type HeaderMap } from './cache-semantics.js';

/**
 * Vary and validation (RFC 9111 §4.1, §4.3; RFC 9110 §13): the secondary cache key built from the
 * request fields a response varies on, the client's conditional request answered from a stored
 * response (304), the conditional request the cache sends to revalidate, and the stored headers
 * refreshed by the backend's 304.
 */

export type StoredHeaders = Record<string, string | string[]>;

/** The fields a response varies on: lower-case, sorted, deduplicated; '*' when it varies on everything. */
export function varyFields(resHeaders: HeaderMap): readonly string[] | '*' {
  const raw = header(resHeaders, 'vary');
  if (raw === undefined) return [];
  const fields = new Set<string>();
  for (const f of raw.split(',')) {
    const name = f.trim().toLowerCase();
    if (name === '*') return '*';
    if (name !== '') fields.add(name);
  }
  return [...fields].sort();
}

/**
 * The secondary key for a request: each varied field's value, normalized (whitespace around list
 * members and repeated spaces removed), so `gzip,br` and `gzip, br` share an entry. An absent
 * field and an empty one differ.
 */
export function secondaryKey(fields: readonly string[], reqHeaders: HeaderMap): string {
  let key = '';
  for (const name of fields) {
    const v = header(reqHeaders, name);
    key += `${name}${v === undefined ? '\u0001' : ':' + v.split(',').map((s) => s.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return key;
}

/** Entity tags of an If-None-Match / If-Match list ('*' alone: any). */
function etagList(v: string): string[] | '*' {
  if (v.trim() === '*') return '*';
  return v.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** If-None-Match uses the weak comparison (RFC 9110 §8.8.3.2): W/"a" matches "a". */
export function etagMatches(ifNoneMatch: string, etag: string | undefined): boolean {
  const list = etagList(ifNoneMatch);
  if (list === '*') return true;
  if (etag === undefined) return false;
  const mine = opaque(etag.trim());
  return list.some((t) => opaque(t) === mine);
}

/**
 * Should the client get 304 for this stored response (RFC 9110 §13.2.2)? If-None-Match decides
 * when present; otherwise If-Modified-Since against Last-Modified. GET and HEAD only.
 */
export function notModified(req: { method: string; headers: HeaderMap }, stored: HeaderMap): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const inm = header(req.headers, 'if-none-match');
  if (inm !== undefined) return etagMatches(inm, header(stored, 'etag'));
  const ims = header(req.headers, 'if-modified-since');
  const lm = header(stored, 'last-modified');
  if (ims === undefined || lm === undefined) return false;
  const since = Date.parse(ims), modified = Date.parse(lm);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** The fields of a 304 answered from a stored response (RFC 9110 §15.4.5), plus Last-Modified. */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified'];

export function notModifiedHeaders(stored: StoredHeaders): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name of NOT_MODIFIED_FIELDS) if (stored[name] !== undefined) out[name] = stored[name]!;
  return out;
}

/** Headers that make the revalidation request conditional on the stored response's validators. */
export function revalidationHeaders(stored: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  const etag = header(stored, 'etag');
  const lm = header(stored, 'last-modified');
  if (etag !== undefined) out['if-none-match'] = etag;
  if (lm !== undefined) out['if-modified-since'] = lm;
  return out;
}

/** Fields a 304 never changes in the stored response (RFC 9111 §3.2), and hop-by-hop ones. */
const NOT_UPDATED = new Set(['content-length', 'content-range', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'age', 'set-cookie']);

/** The stored headers updated from the backend's 304 (RFC 9111 §3.2, §4.3.4). */
export function freshenHeaders(stored: StoredHeaders, fromNotModified: HeaderMap): StoredHeaders {
  const out: StoredHeaders = { ...stored };
  for (const name of Object.keys(fromNotModified)) {
    const v = fromNotModified[name];
    if (v === undefined || NOT_UPDATED.has(name)) continue;
    out[name] = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : [...v];
  }
  return out;
}

/** The 304 from the backend is about the stored response only if its validator matches (§4.3.4). */
export function notModifiedMatches(stored: HeaderMap, fromNotModified: HeaderMap): boolean {
  const newTag = header(fromNotModified, 'etag');
  const oldTag = header(stored, 'etag');
  if (newTag !== undefined) return oldTag !== undefined && opaque(newTag.trim()) === opaque(oldTag.trim());
  const newLm = header(fromNotModified, 'last-modified');
  if (newLm !== undefined) return newLm === header(stored, 'last-modified');
  return true;
}
