import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { parseDuration } from '../config/units.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { CounterStore } from './types.js';

export type { CounterStore } from './types.js';

/**
 * Create the counter store named by `gateway.store`:
 *
 * | URL | store |
 * |---|---|
 * | `memory` or `memory?max-keys=1000000` | in-process, bounded (default 500,000 keys) |
 * | `redis://[user:pass@]host:port[/db]` (`rediss://` for TLS) | one Redis server |
 * | `redis-cluster://host1:port,host2:port` | Redis Cluster (seed nodes) |
 *
 * Query parameters of the Redis kinds: `prefix` (prepended to every key, default `gatehouse:`;
 * give each deployment or test run its own), `timeout` (a call fails after this long without
 * any reply from the store, default `50ms`), `max-wait` (the longest a call waits on a store
 * that answers but is behind, default 20 × timeout and at least `1s`).
 *
 * Throws an Error with a message fit for a config error when the URL is not usable.
 */
export function createStore(url: string, opts: { logger: Logger; metrics: Metrics }): CounterStore {
  const q = url.indexOf('?');
  const base = q === -1 ? url : url.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const scheme = /^([a-z-]+):\/\//.exec(base)?.[1] ?? base;

  if (scheme === 'memory') {
    if (base !== 'memory') throw new Error(`store "${redact(url)}": use "memory" or "memory?max-keys=N"`);
    onlyParams(url, params, ['max-keys']);
    const maxKeys = params.has('max-keys') ? Number(params.get('max-keys')) : undefined;
    if (maxKeys !== undefined && !(Number.isInteger(maxKeys) && maxKeys >= 1)) {
      throw new Error(`store "${url}": max-keys must be a positive integer`);
    }
    const metrics = opts.metrics;
    return new MemoryStore({
      maxKeys,
      evictions: metrics.counter('gatehouse_store_evictions_total', 'Keys evicted from the memory counter store because it reached max-keys'),
      keysGauge: metrics.gauge('gatehouse_store_keys', 'Live keys in the memory counter store (updated on sweep)'),
    });
  }

  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'redis-cluster') {
    throw new Error(`store "${redact(url)}" is not supported; use memory, redis://host:port[/db] or redis-cluster://host1:port,host2:port`);
  }
  onlyParams(url, params, ['prefix', 'timeout', 'max-wait']);
  const prefix = params.get('prefix') ?? 'gatehouse:';
  if (!/^[A-Za-z0-9_:.-]*$/.test(prefix) || prefix.length > 64) {
    throw new Error(`store "${redact(url)}": prefix may only contain letters, digits, _ : . - (64 at most)`);
  }
  const timeoutS = params.has('timeout') ? parseDuration(params.get('timeout')!) : 0.05;
  if (timeoutS === undefined || timeoutS <= 0 || timeoutS > 10) {
    throw new Error(`store "${redact(url)}": timeout must be a duration between 1ms and 10s, e.g. 50ms`);
  }

  const maxWaitS = params.has('max-wait') ? parseDuration(params.get('max-wait')!) : undefined;
  if (maxWaitS !== undefined && !(maxWaitS >= timeoutS && maxWaitS <= 60)) {
    throw new Error(`store "${redact(url)}": max-wait must be a duration between the timeout and 60s`);
  }
  const rest = base.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const auth = at === -1 ? '' : rest.slice(0, at);
  const afterAuth = at === -1 ? rest : rest.slice(at + 1);
  const slash = afterAuth.indexOf('/');
  const hosts = slash === -1 ? afterAuth : afterAuth.slice(0, slash);
  const path = slash === -1 ? '' : afterAuth.slice(slash + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const c = auth.indexOf(':');
    username = decodeURIComponent(c === -1 ? auth : auth.slice(0, c)) || undefined;
    password = c === -1 ? undefined : decodeURIComponent(auth.slice(c + 1));
  }
  const nodes = hosts.split(',').map((h) => parseHostPort(h, url));
  if (nodes.length === 0 || hosts === '') throw new Error(`store "${redact(url)}": no host`);
  let db: number | undefined;
  if (scheme === 'redis-cluster') {
    if (path !== '') throw new Error(`store "${redact(url)}": Redis Cluster has no databases; use a prefix instead`);
  } else {
    if (nodes.length > 1) throw new Error(`store "${redact(url)}": one host for redis://; use redis-cluster:// for a cluster`);
    if (path !== '') {
      db = Number(path);
      if (!Number.isInteger(db) || db < 0) throw new Error(`store "${redact(url)}": the database must be a number, e.g. redis://127.0.0.1:6379/2`);
    }
  }
  return new RedisStore({
    kind: scheme === 'redis-cluster' ? 'redis-cluster' : 'redis',
    nodes, db, username, password,
    tls: scheme === 'rediss',
    prefix,
    timeoutMs: Math.max(1, Math.round(timeoutS * 1000)),
    maxWaitMs: maxWaitS === undefined ? undefined : Math.round(maxWaitS * 1000),
    logger: opts.logger,
    metrics: opts.metrics,
  });
}

function parseHostPort(h: string, url: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) throw new Error(`store "${redact(url)}": "${h}" is not host:port`);
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`store "${redact(url)}": port ${port} is out of range`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function onlyParams(url: string, params: URLSearchParams, allowed: string[]): void {
  for (const k of params.keys()) {
    if (!allowed.includes(k)) throw new Error(`store "${redact(url)}": unknown parameter "${k}" (known: ${allowed.join(', ')})`);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
