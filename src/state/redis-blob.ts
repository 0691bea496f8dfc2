import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { CircuitBreaker } from './breaker.js';
import type { BlobStore } from './blob.js';
import { onlyParams, parseRedisAddress, redact, redisPrefixAndTimeout, type StoreUrl } from './url.js';

const LOG_EVERY_MS = 10_000;

export interface RedisBlobOptions {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** prepended to every key */
  prefix: string;
  /** a call that has no answer after this long fails (a miss, or a value not kept) */
  timeoutMs: number;
  /** larger values are neither written nor read */
  maxValueBytes: number;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Cached responses in one Redis server: `GET` and `SET key value PX ttl`, each bounded by a
 * timeout (ioredis `commandTimeout`), no offline queue (a call while disconnected fails at once),
 * and a circuit breaker that stops calling a Redis that keeps failing. The cache fails open: a
 * failed read is a miss and the request goes to the backend.
 */
export class RedisBlobStore implements BlobStore {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly breaker: CircuitBreaker;
  private readonly errors;
  private lastLog = 0;
  private suppressed = 0;
  private closing = false;

  constructor(private readonly opts: RedisBlobOptions) {
    this.errors = opts.metrics.counter('gatehouse_cache_store_errors_total', 'Response-cache store calls that failed (the request went to the backend, or the response was not kept), by store and reason', ['store', 'reason']);
    this.breaker = new CircuitBreaker(3, 1000);
    this.client = new Redis({
      host: opts.host, port: opts.port, db: opts.db, username: opts.username, password: opts.password,
      tls: opts.tls ? {} : undefined,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: opts.timeoutMs,
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
    });
    this.client.on('ready', () => this.breaker.up());
    this.client.on('close', () => { if (!this.closing) this.breaker.down(); });
    // connection errors surface as failed calls (counted, logged); this keeps ioredis quiet
    this.client.on('error', () => {});
  }

  async get(key: string): Promise<Buffer | undefined> {
    const v = await this.call('get', () => this.client.getBuffer(this.opts.prefix + key));
    return v === null || v === undefined || v.length > this.opts.maxValueBytes ? undefined : v;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    if (value.length > this.opts.maxValueBytes || !(ttlMs >= 1)) return;
    await this.call('set', () => this.client.set(this.opts.prefix + key, value, 'PX', Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', () => this.client.del(this.opts.prefix + key));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.client.disconnect();
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (!this.breaker.allow()) return this.fail(op, 'circuit-open');
    try {
      const v = await fn();
      this.breaker.success();
      return v;
    } catch (err) {
      this.breaker.failure();
      return this.fail(op, /timed? ?out/i.test((err as Error).message) ? 'timeout' : 'error', err);
    }
  }

  private fail(op: string, reason: string, err?: unknown): undefined {
    this.errors.inc({ store: this.kind, reason });
    const t = Date.now();
    if (t - this.lastLog >= LOG_EVERY_MS) {
      this.opts.logger.warn({ store: this.kind, op, reason, suppressed: this.suppressed, err: err instanceof Error ? err.message : undefined },
        'cache store call failed; requests go to the backend');
      this.lastLog = t;
      this.suppressed = 0;
    } else this.suppressed++;
    return undefined;
  }
}

/** `redis://[user:pass@]host:port[/db]` or `rediss://`; parameters `prefix` (default `gatehouse:cache:`) and `timeout` (default `100ms`). */
export function createRedisBlobStore(u: StoreUrl, opts: { logger: Logger; metrics: Metrics; maxValueBytes: number }): RedisBlobStore {
  const { url, scheme, params } = u;
  onlyParams(url, params, ['prefix', 'timeout']);
  const { prefix, timeoutS } = redisPrefixAndTimeout(url, params, 'cache store', { prefix: 'gatehouse:cache:', timeout: '100ms', timeoutS: 0.1 });
  const { nodes, path, username, password } = parseRedisAddress(u, 'cache store');
  if (nodes.length !== 1) throw new Error(`cache store "${redact(url)}": one host, e.g. redis://127.0.0.1:6379`);
  const { host, port } = nodes[0]!;
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new Error(`cache store "${redact(url)}": the database must be a number, e.g. redis://127.0.0.1:6379/2`);
  return new RedisBlobStore({
    host, port, db, username, password, tls: scheme === 'rediss', prefix,
    timeoutMs: Math.max(1, Math.round(timeoutS * 1000)), maxValueBytes: opts.maxValueBytes, logger: opts.logger, metrics: opts.metrics,
  });
}
