/**
 * HTTP caching semantics for a shared cache (RFC 9111), as pure functions of headers and times:
 * may this request use the cache, may this response be stored and for how long, how old is a
 * stored response and may it be served to this request. No I/O; `http-cache.ts` composes these
 * with a store.
 *
 * Choices beyond the RFC, all on the side of not serving one client's response to another:
 * - a request with Authorization neither uses nor fills the cache unless the cache key partitions
 *   by caller (`perCaller`, the policy's opt-in); then `private` responses to it are storable too;
 * - responses with Set-Cookie are not stored (unless `storeSetCookie`);
 * - qualified `private="f"` and `no-cache="f"` are treated as their unqualified forms;
 * - stale responses are never served (max-stale is ignored; stale entries are only revalidated);
 * - 206 is not stored (no range handling).
 */

export type HeaderValue = string | readonly string[] | number | undefined;
/** Header fields by lower-case name (node's IncomingHttpHeaders fits). */
export type HeaderMap = Readonly<Record<string, HeaderValue>>;

export interface CacheOptions {
  /** the cache key includes the caller: requests with Authorization may use the cache, and `private` responses to them may be stored */
  perCaller?: boolean;
  /** lifetime of responses without explicit freshness (the policy's `duration`), seconds; default: 10 % of the time since Last-Modified */
  defaultTtlSec?: number;
  /** no lifetime longer than this, seconds */
  maxTtlSec?: number;
  /** store responses that set cookies (default false) */
  storeSetCookie?: boolean;
}

export type NotCacheable =
  | 'method' | 'authorization' | 'request-no-store'
  | 'status' | 'no-store' | 'private' | 'vary-star' | 'set-cookie' | 'no-freshness';

export type Directives = ReadonlyMap<string, string | true>;

/** One string for a header (list fields joined with ", "). */
export function header(h: HeaderMap, name: string): string | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : v.join(', ');
}

/**
 * Cache-Control (RFC 9111 §5.2) → directives by lower-case name, quoted values unquoted (commas
 * inside quotes kept). The first of a repeated directive wins; a malformed one is skipped.
 */
export function parseCacheControl(value: string | undefined): Directives {
  const out = new Map<string, string | true>();
  if (value === undefined) return out;
  const n = value.length;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j < n && value[j] !== ',' && value[j] !== '=') j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let v: string | true = true;
    if (value[j] === '=') {
      j++;
      while (value[j] === ' ' || value[j] === '\t') j++;
      if (value[j] === '"') {
        let s = '';
        for (j++; j < n && value[j] !== '"'; j++) {
          if (value[j] === '\\' && j + 1 < n) j++;
          s += value[j];
        }
        v = s;
      }
      let k = j;
      while (k < n && value[k] !== ',') k++;
      if (typeof v !== 'string') v = value.slice(j, k).trim();
      j = k;
    }
    if (TOKEN.test(name) && !out.has(name)) out.set(name, v);
    i = j + 1;
  }
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** delta-seconds (§1.2.2); an invalid value counts as 0 (stale), as §4.2.1 asks. */
function deltaSeconds(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) return 0;
  return Math.min(Number(v), 2 ** 31);
}

function httpDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** Statuses cacheable by default (RFC 9110 §15.1), less 206. */
const HEURISTIC_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Can this request be answered from the cache at all? undefined: yes, else why not. */
export function requestCacheable(req: { method: string; headers: HeaderMap }, opts: CacheOptions = {}): NotCacheable | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'method';
  if (req.headers.authorization !== undefined && !opts.perCaller) return 'authorization';
  return undefined;
}

export type Storability = { ok: true; lifetimeSec: number } | { ok: false; reason: NotCacheable };

/** May a shared cache store this response to this request (§3), and how long is it fresh? */
export function storability(req: { method: string; headers: HeaderMap }, res: { status: number; headers: HeaderMap }, opts: CacheOptions = {}): Storability {
  if (req.method !== 'GET') return { ok: false, reason: 'method' };
  const authorized = req.headers.authorization !== undefined;
  if (authorized && !opts.perCaller) return { ok: false, reason: 'authorization' };
  if (parseCacheControl(header(req.headers, 'cache-control')).has('no-store')) return { ok: false, reason: 'request-no-store' };
  const cc = parseCacheControl(header(res.headers, 'cache-control'));
  if (res.status < 200 || res.status === 206 || res.status === 304 || res.status > 599) return { ok: false, reason: 'status' };
  if (cc.has('no-store')) return { ok: false, reason: 'no-store' };
  if (cc.has('private') && !(opts.perCaller && authorized)) return { ok: false, reason: 'private' };
  if ((header(res.headers, 'vary') ?? '').split(',').some((f) => f.trim() === '*')) return { ok: false, reason: 'vary-star' };
  if (res.headers['set-cookie'] !== undefined && !opts.storeSetCookie) return { ok: false, reason: 'set-cookie' };
  const explicit = cc.has('s-maxage') || cc.has('max-age') || res.headers.expires !== undefined || cc.has('public');
  if (!explicit && !HEURISTIC_STATUS.has(res.status)) return { ok: false, reason: 'status' };
  const lifetimeSec = freshnessLifetime(res, opts, cc);
  if (lifetimeSec <= 0 && !hasValidator(res.headers)) return { ok: false, reason: 'no-freshness' };
  return { ok: true, lifetimeSec };
}

export function hasValidator(h: HeaderMap): boolean {
  return h.etag !== undefined || h['last-modified'] !== undefined;
}

/** Freshness lifetime in seconds (§4.2.1, shared cache): s-maxage, max-age, Expires − Date, then the default or a heuristic. `no-cache`: 0. */
export function freshnessLifetime(res: { status: number; headers: HeaderMap }, opts: CacheOptions = {}, cc = parseCacheControl(header(res.headers, 'cache-control'))): number {
  const cap = (s: number) => Math.max(0, Math.min(s, opts.maxTtlSec ?? Infinity));
  if (cc.has('no-cache')) return 0;
  const explicit = deltaSeconds(cc.get('s-maxage')) ?? deltaSeconds(cc.get('max-age'));
  if (explicit !== undefined) return cap(explicit);
  const expiresRaw = header(res.headers, 'expires');
  if (expiresRaw !== undefined) {
    const expires = httpDate(expiresRaw);
    const date = httpDate(header(res.headers, 'date'));
    if (expires === undefined || date === undefined) return 0; // invalid Expires (e.g. "0"): already expired
    return cap(Math.floor((expires - date) / 1000));
  }
  if (opts.defaultTtlSec !== undefined) return cap(opts.defaultTtlSec);
  const lastModified = httpDate(header(res.headers, 'last-modified'));
  const date = httpDate(header(res.headers, 'date'));
  if (lastModified !== undefined && date !== undefined && date > lastModified) return cap(Math.min(Math.floor((date - lastModified) / 10_000), 86_400));
  return 0;
}

/**
 * The response's age when it arrived (§4.2.3 corrected_initial_age), seconds: the larger of its
 * apparent age (now − Date) and its Age header plus the time the request took.
 */
export function initialAge(resHeaders: HeaderMap, requestTime: number, responseTime: number): number {
  const date = httpDate(header(resHeaders, 'date'));
  const apparent = date === undefined ? 0 : Math.max(0, (responseTime - date) / 1000);
  const ageHeader = header(resHeaders, 'age');
  const age = ageHeader !== undefined && /^\d+$/.test(ageHeader.trim()) ? Number(ageHeader.trim()) : 0;
  const corrected = age + Math.max(0, responseTime - requestTime) / 1000;
  return Math.max(apparent, corrected);
}

/** current_age (§4.2.3), seconds. */
export function currentAge(meta: { initialAgeSec: number; responseTime: number }, now: number): number {
  return meta.initialAgeSec + Math.max(0, now - meta.responseTime) / 1000;
}

/**
 * May a stored response be served to this request without revalidation (§4.2, §5.2.1)? Honours
 * the request's no-cache (and Pragma: no-cache), max-age and min-fresh.
 */
export function freshFor(meta: { initialAgeSec: number; responseTime: number; lifetimeSec: number }, reqHeaders: HeaderMap, now: number): { fresh: boolean; ageSec: number } {
  const ageSec = currentAge(meta, now);
  const ccRaw = header(reqHeaders, 'cache-control');
  const cc = parseCacheControl(ccRaw);
  let fresh = meta.lifetimeSec > ageSec;
  if (cc.has('no-cache') || (ccRaw === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(header(reqHeaders, 'pragma') ?? ''))) fresh = false;
  const maxAge = deltaSeconds(cc.get('max-age'));
  if (maxAge !== undefined && ageSec > maxAge) fresh = false;
  const minFresh = deltaSeconds(cc.get('min-fresh'));
  if (minFresh !== undefined && meta.lifetimeSec - ageSec < minFresh) fresh = false;
  return { fresh, ageSec: Math.floor(ageSec) };
}
