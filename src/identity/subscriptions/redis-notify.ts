import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseRedisAddress, parseStoreUrl, redact } from '../../state/url.js';

/**
 * Subscription changes over Redis pub/sub, when the gateways' counter store (`gateway.store`) is a
 * Redis: the management API publishes on `<prefix>subscriptions` after each write, and every
 * gateway process subscribed to it reads the database at once. It only hurries the gateways: a
 * lost message (Redis down, a reconnect) is covered by polling, and PostgreSQL's NOTIFY when the
 * database is PostgreSQL.
 */

export interface SubscriptionNotifier {
  /** tell every subscribed gateway process (best effort, never throws) */
  publish(): void;
  /** call `onMessage` on each change published by any process */
  subscribe(onMessage: () => void): void;
  close(): Promise<void>;
}

/** The notifier of a `gateway.store` URL, or undefined when it is not a Redis. */
export function redisNotifier(storeUrl: string | undefined, logger: Logger): SubscriptionNotifier | undefined {
  if (storeUrl === undefined) return undefined;
  const u = parseStoreUrl(storeUrl);
  if (!['redis', 'rediss', 'redis-cluster'].includes(u.scheme)) return undefined;
  let address: ReturnType<typeof parseRedisAddress>;
  try {
    address = parseRedisAddress(u, 'store');
  } catch {
    return undefined; // the counter store reports a bad URL, located in the file
  }
  const { nodes, path, username, password } = address;
  const channel = `${u.params.get('prefix') ?? 'gatehouse:'}subscriptions`;
  const common = { username, password, tls: u.scheme === 'rediss' ? {} : undefined, connectTimeout: 1000, maxRetriesPerRequest: 0, lazyConnect: false };
  const retryStrategy = (times: number) => Math.min(100 * times, 2000);
  const connect = (): Redis | Cluster => {
    const c = u.scheme === 'redis-cluster'
      ? new Cluster(nodes, { clusterRetryStrategy: retryStrategy, redisOptions: common })
      : new Redis({ ...common, host: nodes[0]!.host, port: nodes[0]!.port, db: path === '' ? 0 : Number(path) || 0, retryStrategy });
    // errors are reconnected from; polling covers the gap
    c.on('error', (err: Error) => logger.debug({ err: err.message, store: redact(storeUrl) }, 'subscription notifications: Redis error'));
    return c;
  };
  let pub: Redis | Cluster | undefined;
  let sub: Redis | Cluster | undefined;
  return {
    publish() {
      pub ??= connect();
      pub.publish(channel, '1').catch((err: Error) => logger.debug({ err: err.message }, 'subscription change not published; gateways will see it at their next poll'));
    },
    subscribe(onMessage) {
      const c = (sub ??= connect());
      c.on('message', (ch: string) => { if (ch === channel) onMessage(); });
      // on every (re)connection, also when the first attempt failed; subscribing twice is harmless
      const join = () => void c.subscribe(channel).catch((err: Error) => logger.warn({ err: err.message }, 'subscription notifications: could not subscribe; polling until the next reconnection'));
      c.on('ready', join);
    },
    async close() {
      await Promise.all([pub, sub].map((c) => c?.quit().catch(() => c.disconnect())));
    },
  };
}
