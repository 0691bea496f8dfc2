import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { Redis } from 'ioredis';
import { createStore } from '../../src/state/index.js';
import type { CounterStore } from '../../src/state/types.js';
import { Metrics } from '../../src/observability/metrics.js';
import { hasRedisServerBinary, requireRedis, runPrefix, startRedis, type PrivateRedis } from './redis-servers.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/** resolves with the call's result, or fails the test if the call takes longer than `ms` */
function noHang<T>(p: T | Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([
    Promise.resolve(p),
    new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`store call hung for more than ${ms} ms`)), ms).unref()),
  ]);
}

describe('createStore URLs', () => {
  const m = () => new Metrics({ defaultMetrics: false });
  it('creates a bounded memory store with a configurable cap', async () => {
    const s = createStore('memory?max-keys=10', { logger, metrics: m() });
    assert.equal(s.kind, 'memory');
    for (let i = 0; i < 20; i++) s.slidingHit(`k${i}`, 1, 1000, 1);
    assert.equal((s as unknown as { keys: number }).keys, 10);
    await s.close();
  });

  it('refuses unknown kinds, parameters and malformed values with a message naming the URL', () => {
    const bad = [
      'memcached://x', 'memory?max=3', 'memory?max-keys=0', 'redis://h:1?timeout=forever', 'redis://h:1?prefix=a b',
      'redis://a:1,b:2', 'redis://h:99999', 'redis://h:1/x', 'redis-cluster://a:1,b:2/3', 'redis://h:1?db=2',
    ];
    for (const url of bad) assert.throws(() => createStore(url, { logger, metrics: m() }), /store/, url);
  });

  it('never puts the password of a store URL into an error message', () => {
    assert.throws(() => createStore('redis://user:s3cret@h:1?bogus=1', { logger, metrics: m() }), (e: Error) => !e.message.includes('s3cret'));
  });
});

const sharedSkip = await requireRedis();

describe('redis store on the shared Redis', { skip: sharedSkip }, () => {
  let store: CounterStore;
  let raw: Redis;
  const prefix = runPrefix('redis');
  before(async () => {
    store = createStore(`redis://127.0.0.1:6379/0?prefix=${prefix}&timeout=1s`, { logger, metrics: new Metrics({ defaultMetrics: false }) });
    raw = new Redis(6379, '127.0.0.1');
    await until(() => store.ready(), 'the store is connected');
  });
  after(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
    await store.close();
  });

  it('keeps the keys of one counter under one hash tag and the prefix', async () => {
    await store.slidingHit('rl:ns:=user-1', 5, 60_000, 1);
    await store.quotaHit('q:ns:=user-1', { calls: 5, bytes: undefined, periodMs: 60_000, anchorMs: 0 }, 1);
    const keys = (await raw.keys(`${prefix}*`)).sort();
    assert.deepEqual(keys, [`${prefix}{q:ns:=user-1}:q`, `${prefix}{rl:ns:=user-1}:l`, `${prefix}{rl:ns:=user-1}:s`]);
    for (const k of keys) assert.ok((await raw.pttl(k)) > 0, `${k} expires`);
  });

  it('times windows with the Redis clock: a rejected call is admitted after the wait it was given', async () => {
    const a = await store.slidingHit('rl:ns:=clock', 1, 1000, 1);
    assert.equal(a!.allowed, true);
    const b = await store.slidingHit('rl:ns:=clock', 1, 1000, 1);
    assert.equal(b!.allowed, false);
    assert.ok(b!.waitMs > 0 && b!.waitMs <= 1000);
    await sleep(b!.waitMs + 5);
    assert.equal((await store.slidingHit('rl:ns:=clock', 1, 1000, 1))!.allowed, true);
  });

  it('sets the lifetime of a lifetime quota to forever', async () => {
    await store.quotaHit('q:ns:=life', { calls: 5, bytes: undefined, periodMs: 0, anchorMs: 0 }, 1);
    assert.equal(await raw.pttl(`${prefix}{q:ns:=life}:q`), -1);
  });
});

const privateSkip = hasRedisServerBinary() ? false : 'redis-server is not installed: fault tests SKIPPED';
if (privateSkip) {
  if (process.env.CI === 'true') throw new Error('redis-server is required when CI=true');
  console.error(`\n!!!!! ${privateSkip} !!!!!\n`);
}

describe('redis store faults (a private redis-server)', { skip: privateSkip }, () => {
  let redis: PrivateRedis;
  let store: CounterStore;
  let metrics: Metrics;
  const errors = async (reason: string) => {
    const m = await metrics.registry.getSingleMetric('gatehouse_store_errors_total')!.get();
    return m.values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
  };
  before(async () => {
    redis = await startRedis();
    metrics = new Metrics({ defaultMetrics: false });
    store = createStore(`${redis.url}?prefix=faults:&timeout=50ms`, { logger, metrics });
    await until(() => store.ready(), 'the store is connected');
  });
  after(async () => {
    await store.close();
    await redis.stop();
    rmSync(redis.dir, { recursive: true, force: true });
  });

  it('answers null within the timeout when Redis stops answering, then stops waiting on it (circuit open)', async () => {
    assert.ok(await store.slidingHit('k', 10, 60_000, 1));
    redis.freeze();
    try {
      for (let i = 0; i < 3; i++) assert.equal(await noHang(store.slidingHit('k', 10, 60_000, 1)), null);
      assert.equal(await errors('timeout'), 3);
      assert.equal(store.ready(), false, 'the circuit is open');
      const results = await noHang(Promise.all(Array.from({ length: 100 }, () => store.slidingHit('k', 10, 60_000, 1))), 500);
      assert.ok(results.every((r) => r === null));
      assert.ok((await errors('circuit-open')) >= 99, 'calls fail fast while the circuit is open');
    } finally {
      redis.thaw();
    }
    await until(async () => (await store.slidingHit('k', 10, 60_000, 1)) !== null, 'the store answers again after Redis resumes');
    assert.equal(store.ready(), true);
  });

  it('answers null at once while Redis is down and recovers by itself when it is back', async () => {
    await redis.stop();
    await until(() => !store.ready(), 'the store notices the connection is gone');
    for (let i = 0; i < 20; i++) assert.equal(await noHang(store.slidingHit('down', 10, 60_000, 1), 500), null);
    await redis.restart();
    await until(() => store.ready(), 'the store reconnects without traffic');
    const d = await store.slidingHit('down', 1, 60_000, 1);
    assert.equal(d!.allowed, true);
    assert.equal((await store.slidingHit('down', 1, 60_000, 1))!.allowed, false, 'limits are enforced again');
  });
});
