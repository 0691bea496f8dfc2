import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import { createStore } from '../../state/index.js';
import { createBlobStore } from '../../state/blob.js';
import { MemoryCacheStore, RemoteCacheStore, type CacheStore } from '../../upstream/cache-store.js';
import { compileTemplate } from '../template.js';
import type { CachingType, PolicyContext } from '../policy.js';
import type { Runtime } from '../runtime.js';
import type { StandInKeys } from '../jwt/source.js';

/** What differs from one policy to the next; the factory adds what all share. */
export type PolicyPlace = Pick<PolicyContext, 'location' | 'section' | 'api' | 'operation' | 'claimsAvailable'>;

/**
 * The load-time context every policy factory gets: where it sits, the runtime's backends, store,
 * readiness and close hooks, template compilation, and instances shared per config (one JWKS
 * cache per discovery URL, say).
 */
export function policyContexts(rt: Runtime, deps: { logger: Logger; metrics: Metrics; standInKeys?: StandInKeys }): (place: PolicyPlace) => PolicyContext {
  const { logger, metrics } = deps;
  const shared = new Map<string, unknown>();
  const gateway = {
    trustedProxies: rt.gateway['trusted-proxies'],
    maxBodyBuffer: rt.gateway.limits['max-body-buffer'],
    workers: rt.gateway.workers === 'auto' ? availableParallelism() : rt.gateway.workers,
    store: rt.gateway.store,
  };
  const store = () => {
    if (!rt.storeRef || rt.storeRef.url !== rt.gateway.store) {
      rt.storeRef = { url: rt.gateway.store, store: createStore(rt.gateway.store, { logger, metrics }) };
    }
    return rt.storeRef.store;
  };
  const cacheCfg = rt.gateway.cache;
  let memoryCache: CacheStore | undefined;
  let externalCache: CacheStore | undefined;
  const cacheStore = (type: CachingType): CacheStore => {
    if (type === 'external' && cacheCfg.external === undefined) {
      throw new ConfigError('caching-type external needs a shared cache: set gateway.cache.external (redis://host:port), or use prefer-external or internal', ['caching-type']);
    }
    if (type !== 'internal' && cacheCfg.external !== undefined) {
      if (externalCache === undefined) {
        try {
          externalCache = new RemoteCacheStore(createBlobStore(cacheCfg.external, { logger, metrics, maxValueBytes: cacheCfg['max-entry-size'] + 64 * 1024 }));
        } catch (err) {
          throw new ConfigError(`gateway.cache.external: ${(err as Error).message}`, ['caching-type']);
        }
        const store = externalCache;
        rt.addCloser(() => store.close());
      }
      return externalCache;
    }
    if (memoryCache === undefined) {
      memoryCache = new MemoryCacheStore({ maxBytes: cacheCfg['max-size'], maxEntryBytes: cacheCfg['max-entry-size'] + 64 * 1024 });
      const store = memoryCache;
      rt.addCloser(() => store.close());
    }
    return memoryCache;
  };
  return (place) => ({
    ...place,
    cacheStore,
    maxCacheEntry: cacheCfg['max-entry-size'],
    configDir: rt.loaded.dir,
    logger: logger.child({ policy: place.location }),
    metrics,
    gateway,
    store,
    backend: (name) => rt.backends.get(name),
    compileTemplate: (src, path = [], encode) => {
      try {
        return compileTemplate(src, { claimsAvailable: place.claimsAvailable, encode });
      } catch (err) {
        if (err instanceof ConfigError) throw new ConfigError(err.message, path);
        throw err;
      }
    },
    readiness: (name, check) => rt.addReadiness(name, check),
    onClose: (fn) => rt.addCloser(fn),
    onStart: (fn) => rt.addStarter(fn),
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
    ...(deps.standInKeys ? { standInKeys: deps.standInKeys } : {}),
  });
}
