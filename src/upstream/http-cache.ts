import { freshFor, freshnessLifetime, hasValidator, header, initialAge, parseCacheControl, requestCacheable, storability, type CacheOptions, type HeaderMap, type NotCacheable } from './cache-semantics.js';
import { freshenHeaders, notModified, notModifiedMatches, revalidationHeaders, secondaryKey, varyFields, type StoredHeaders } from './cache-validate.js';
import type { CacheStore, CacheValue } from './cache-store.js';

/**
 * A shared HTTP cache over a store: the flow the `cache-lookup` / `cache-store` policies run.
 *
 *   const l = await cache.lookup(key, req);          // key: the policy's primary key (method-less URL, vary-by-*, caller)
 *   hit    → answer l.value (304 when l.notModified), Age: l.ageSec
 *   stale  → send the request with l.conditional; 304 → cache.revalidated(l.key, l.value, res304, times); else like a miss
 *   miss   → send the request; cache.save(key, req, res, times) with the buffered response
 *   bypass → send the request; never stored (l.reason says why)
 *
 * Vary: the entry at the primary key of a response that varies is a marker listing the fields;
 * the response itself lives at `primary + secondaryKey(fields, request)`. Two reads on a Vary hit.
 */

export interface HttpCacheOptions extends CacheOptions {
  /** how long a stale entry that has validators is kept for revalidation, seconds (default 3600) */
  keepStaleSec?: number;
  now?: () => number;
}

export type Lookup =
  | { kind: 'bypass'; reason: NotCacheable }
  | { kind: 'miss' }
  | { kind: 'hit'; key: string; value: CacheValue; ageSec: number; notModified: boolean }
  | { kind: 'stale'; key: string; value: CacheValue; conditional: Record<string, string> };

export interface Exchange {
  method: string;
  headers: HeaderMap;
}

export interface Times {
  requestTime: number;
  responseTime: number;
}

export type Saved = { stored: true; key: string; value: CacheValue } | { stored: false; reason: NotCacheable };

/** Not stored with a response: hop-by-hop fields, and Age (recomputed when served). */
const NOT_STORED = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'age', 'proxy-authenticate']);

export class HttpCache {
  private readonly now: () => number;
  private readonly keepStaleMs: number;

  constructor(readonly store: CacheStore, readonly opts: HttpCacheOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.keepStaleMs = (opts.keepStaleSec ?? 3600) * 1000;
  }

  async lookup(primaryKey: string, req: Exchange): Promise<Lookup> {
    const refused = requestCacheable(req, this.opts);
    if (refused !== undefined) return { kind: 'bypass', reason: refused };
    let key = primaryKey;
    let value = await this.store.get(key);
    if (value?.meta.vary !== undefined) {
      key = primaryKey + '\n' + secondaryKey(value.meta.vary, req.headers);
      value = await this.store.get(key);
    }
    if (value === undefined) return { kind: 'miss' };
    const { fresh, ageSec } = freshFor(value.meta, req.headers, this.now());
    if (fresh) return { kind: 'hit', key, value, ageSec, notModified: notModified(req, value.meta.headers) };
    if (hasValidator(value.meta.headers)) return { kind: 'stale', key, value, conditional: revalidationHeaders(value.meta.headers) };
    return { kind: 'miss' };
  }

  /** Store a full response (its body buffered) if RFC 9111 and the options allow. */
  async save(primaryKey: string, req: Exchange, res: { status: number; headers: HeaderMap; body: Buffer }, times: Times): Promise<Saved> {
    const s = storability(req, res, this.opts);
    if (!s.ok) return { stored: false, reason: s.reason };
    const fields = varyFields(res.headers);
    if (fields === '*') return { stored: false, reason: 'vary-star' };
    const headers = storedHeaders(res.headers);
    const value: CacheValue = {
      meta: { status: res.status, headers, ...times, initialAgeSec: initialAge(res.headers, times.requestTime, times.responseTime), lifetimeSec: s.lifetimeSec },
      body: res.body,
    };
    if (value.meta.initialAgeSec >= s.lifetimeSec && !hasValidator(headers)) return { stored: false, reason: 'no-freshness' };
    const ttlMs = this.ttlMs(value);
    let key = primaryKey;
    if (fields.length > 0) {
      const marker: CacheValue = { meta: { status: 0, headers: {}, requestTime: times.requestTime, responseTime: times.responseTime, initialAgeSec: 0, lifetimeSec: 0, vary: [...fields] }, body: Buffer.alloc(0) };
      await this.store.set(primaryKey, marker, ttlMs);
      key = primaryKey + '\n' + secondaryKey(fields, req.headers);
    }
    await this.store.set(key, value, ttlMs);
    return { stored: true, key, value };
  }

  /**
   * The backend answered 304 to the revalidation of `value` (found stale at `key`): the stored
   * response with refreshed headers and age, stored again. undefined when the 304 is about another
   * representation (validators differ): then the caller fetches without conditions.
   */
  async revalidated(key: string, value: CacheValue, res304: { headers: HeaderMap }, times: Times): Promise<CacheValue | undefined> {
    if (!notModifiedMatches(value.meta.headers, res304.headers)) return undefined;
    const headers = freshenHeaders(value.meta.headers, res304.headers);
    const cc = parseCacheControl(header(headers, 'cache-control'));
    const lifetimeSec = freshnessLifetime({ status: value.meta.status, headers }, this.opts, cc);
    const fresh: CacheValue = { meta: { ...value.meta, headers, ...times, initialAgeSec: initialAge(res304.headers, times.requestTime, times.responseTime), lifetimeSec }, body: value.body };
    if (cc.has('no-store')) await this.store.delete(key);
    else await this.store.set(key, fresh, this.ttlMs(fresh));
    return fresh;
  }

  /** The headers to answer a hit with: the stored ones and Age. */
  responseHeaders(value: CacheValue, ageSec: number): StoredHeaders {
    return { ...value.meta.headers, age: String(ageSec) };
  }

  private ttlMs(v: CacheValue): number {
    return Math.max(1000, v.meta.lifetimeSec * 1000 - v.meta.initialAgeSec * 1000 + (hasValidator(v.meta.headers) ? this.keepStaleMs : 0));
  }
}

function storedHeaders(h: HeaderMap): StoredHeaders {
  const listed = new Set(String(h.connection ?? '').split(',').map((s) => s.trim().toLowerCase()));
  const out: StoredHeaders = {};
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v === undefined || NOT_STORED.has(name) || listed.has(name)) continue;
    out[name] = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : [...v];
  }
  return out;
}
