import type { Exchange } from '../../exchange.js';
import type { Headers, Reply } from '../../reply.js';
import type { PolicyContext } from '../../policy.js';
import type { Template } from '../../template.js';
import type { CacheValue } from '../../../upstream/cache-store.js';
import type { HttpCache } from '../../../upstream/http-cache.js';
import { notModifiedHeaders, secondaryKey, varyFields } from '../../../upstream/cache-validate.js';

/**
 * What cache-lookup and cache-store share: the cache key, the state a lookup leaves for the
 * store of the same request, the coalesced result handed to waiting requests, and the answer made
 * from a stored response.
 */

/** A coalesced miss's result: the stored response and the secondary key (Vary) it was stored under. */
export interface Flight {
  value: CacheValue;
  fields: readonly string[];
  secondary: string;
}

/** What cache-lookup leaves for cache-store when the request goes to the backend. */
export interface CacheTurn {
  readonly cache: HttpCache;
  readonly primaryKey: string;
  /** epoch ms when the request went to the backend (RFC 9111 request_time) */
  readonly requestTime: number;
  readonly downstream: Downstream | undefined;
  /** the stale entry being revalidated (the request carries its validators) */
  readonly stale: { key: string; value: CacheValue } | undefined;
  /** set when this request leads a coalesced miss: hand the result (or undefined) to the waiters */
  settle: ((f: Flight | undefined) => void) | undefined;
  /** the response is being stored: storing settles the waiters, not the end of the response */
  saving: boolean;
}

const turns = new WeakMap<Exchange, CacheTurn>();

export function leaveTurn(ex: Exchange, turn: CacheTurn): void {
  turns.set(ex, turn);
}

/** The lookup's state for this request, once (a second cache-store finds nothing). */
export function takeTurn(ex: Exchange): CacheTurn | undefined {
  const t = turns.get(ex);
  if (t !== undefined) turns.delete(ex);
  return t;
}

/** The flight of a stored response: its Vary fields and this request's values of them. */
export function flightOf(value: CacheValue, reqHeaders: Exchange['req']['headers']): Flight {
  const v = varyFields(value.meta.headers);
  const fields = v === '*' ? [] : v;
  return { value, fields, secondary: fields.length === 0 ? '' : secondaryKey(fields, reqHeaders) };
}

/** May a waiting request be answered with the flight's response (same values of the Vary fields)? */
export function flightFits(f: Flight, reqHeaders: Exchange['req']['headers']): boolean {
  return f.fields.length === 0 || secondaryKey(f.fields, reqHeaders) === f.secondary;
}

/**
 * The Cache-Control sent to the client for a cached response (`downstream-caching-type`), from the
 * response's lifetime, age and own Cache-Control, and whether the request carried Authorization.
 */
export type Downstream = (lifetimeSec: number, ageSec: number, cacheControl: unknown, authorized: boolean) => string;

export function compileDownstream(type: 'none' | 'private' | 'public' | undefined, mustRevalidate: boolean): Downstream | undefined {
  if (type === undefined) return undefined;
  if (type === 'none') return () => 'no-store';
  const tail = mustRevalidate ? ', must-revalidate' : '';
  return (lifetimeSec, ageSec, cacheControl, authorized) => {
    // a response stored per caller (or marked private) is never made public downstream
    const scope = type === 'public' && !authorized && !/(^|[\s,])private\b/i.test(String(cacheControl ?? '')) ? 'public' : 'private';
    return `${scope}, max-age=${Math.max(0, Math.floor(lifetimeSec - ageSec))}${tail}`;
  };
}

/**
 * The answer from a stored response: 304 when the client's conditional request matches it, else
 * the stored status, headers and body; Age always. (Headers every response gets, the request id
 * among them, are added when it is sent.)
 */
export function answerFrom(ex: Exchange, value: CacheValue, ageSec: number, notModified: boolean, downstream: Downstream | undefined, code: string): Reply {
  const headers: Headers = notModified ? notModifiedHeaders(value.meta.headers) : { ...value.meta.headers };
  headers.age = String(ageSec);
  if (downstream !== undefined) headers['cache-control'] = downstream(value.meta.lifetimeSec, ageSec, value.meta.headers['cache-control'], ex.req.headers.authorization !== undefined);
  const empty = notModified || (value.body.length === 0 && (value.meta.status === 204 || value.meta.status === 304));
  return { status: notModified ? 304 : value.meta.status, headers, body: empty ? undefined : value.body, code };
}

export interface KeyConfig {
  'vary-by-header': readonly string[];
  'vary-by-query-parameter'?: readonly string[] | undefined;
  'allow-private-response-caching': boolean;
  'vary-by-caller'?: string | undefined;
}

/**
 * The primary cache key: a JSON array of the method class (GET and HEAD share entries), the API,
 * the host, the normalized path, the query (all parameters, sorted by name, or only those of
 * `vary-by-query-parameter`), the `vary-by-header` values and the caller. JSON keeps every part
 * apart, so no value can be crafted to look like another split (`a=1&b` vs `a=1%26b`, a header
 * value holding a separator). The caller part is null for anonymous requests, else the rendered
 * `vary-by-caller` or the Authorization value; when the caller cannot be told (the template
 * renders nothing) there is no key and the request bypasses the cache.
 */
export function compileCacheKey(cfg: KeyConfig, ctx: Pick<PolicyContext, 'api' | 'compileTemplate'>): (ex: Exchange) => string | undefined {
  const api = ctx.api?.name ?? '';
  const headers = [...new Set(cfg['vary-by-header'].map((h) => h.toLowerCase()))].sort();
  const only = cfg['vary-by-query-parameter'] === undefined ? undefined : [...new Set(cfg['vary-by-query-parameter'])].sort();
  const perCaller = cfg['allow-private-response-caching'];
  const caller: Template | undefined = cfg['vary-by-caller'] === undefined ? undefined : ctx.compileTemplate(cfg['vary-by-caller'], ['vary-by-caller']);
  return (ex) => {
    const h = ex.req.headers;
    let who: string | null = null;
    if (perCaller) {
      if (caller !== undefined) {
        const v = caller.render(ex);
        if (v === undefined) return undefined;
        who = v;
      } else if (h.authorization !== undefined) who = h.authorization;
    }
    const host = (h.host ?? (h[':authority'] as string | undefined) ?? '').toLowerCase();
    const parts: unknown[] = ['GET', api, host, ex.path, only === undefined ? sortedQuery(ex.query) : selectedQuery(ex.query, only)];
    for (const name of headers) {
      const v = h[name];
      parts.push(v === undefined ? null : Array.isArray(v) ? v.join(', ') : v);
    }
    parts.push(who);
    return JSON.stringify(parts);
  };
}

/** Every parameter, raw, sorted by name (stable: repeated names keep their order). */
function sortedQuery(q: string): string | string[] {
  if (q === '') return '';
  if (!q.includes('&')) return q;
  const pairs = q.split('&').filter((p) => p !== '');
  return pairs.map((p, i) => [nameOf(p), i, p] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])).map((x) => x[2]);
}

/** Only the listed parameters (names compared decoded, so `%61=1` is `a=1`), each with its values in order. */
function selectedQuery(q: string, only: readonly string[]): Array<string[] | null> {
  const out: Array<string[] | null> = only.map(() => null);
  if (q === '') return out;
  for (const p of q.split('&')) {
    if (p === '') continue;
    const i = only.indexOf(decode(nameOf(p)));
    if (i !== -1) (out[i] ??= []).push(p);
  }
  return out;
}

function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  return eq === -1 ? pair : pair.slice(0, eq);
}

function decode(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
