import type { Logger } from 'pino';
import { ConfigInvalid } from '../config/errors.js';
import { openDb, type Db } from '../identity/db.js';
import { SubscriptionCache } from '../identity/subscriptions/cache.js';
import { redisNotifier } from '../identity/subscriptions/redis-notify.js';
import type { Metrics } from '../observability/metrics.js';
import type { LoadedGatehouseConfig } from './config.js';

/**
 * Where this file keeps subscriptions: `subscriptions.database`, else `identity.database`.
 * undefined when the file uses no subscriptions (no products, no API that takes keys, no
 * `subscriptions` section). A file that uses them without a database is refused, located.
 */
export function subscriptionsDatabase(loaded: LoadedGatehouseConfig): string | undefined {
  const cfg = loaded.config;
  const used = (cfg.products?.length ?? 0) > 0 || cfg.apis.some((a) => a.subscription !== undefined) || cfg.subscriptions !== undefined;
  if (!used) return undefined;
  const url = cfg.subscriptions?.database ?? cfg.identity?.database;
  if (url === undefined) {
    throw new ConfigInvalid([loaded.locate(cfg.products ? ['products'] : [], 'subscriptions are kept in the identity database: set `subscriptions.database` (sqlite:./data/identity.db or postgres://...), or add an `identity` section')]);
  }
  return url;
}

/** Open the subscriptions database (migrations included), with the identity section's busy timeout. */
export function openSubscriptionsDb(loaded: LoadedGatehouseConfig, url: string): Promise<Db> {
  const busy = loaded.config.identity?.['database-busy-timeout'] ?? 3;
  return openDb(url, loaded.dir, { busyTimeoutMs: busy * 1000 });
}

/** The gateway process's subscriptions cache, started (it loads in the background), or undefined. */
export function startSubscriptionCache(loaded: LoadedGatehouseConfig, deps: { logger: Logger; metrics: Metrics }): SubscriptionCache | undefined {
  const url = subscriptionsDatabase(loaded);
  if (url === undefined) return undefined;
  const s = loaded.config.subscriptions;
  const cache = new SubscriptionCache({
    open: () => openSubscriptionsDb(loaded, url),
    url,
    pollMs: (s?.['poll-interval'] ?? 0.25) * 1000,
    timeoutMs: (s?.['query-timeout'] ?? 2) * 1000,
    logger: deps.logger.child({ component: 'subscriptions' }),
    metrics: deps.metrics,
    notifier: redisNotifier(loaded.config.gateway?.store, deps.logger.child({ component: 'subscriptions' })),
  });
  cache.start();
  return cache;
}
