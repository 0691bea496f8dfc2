import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Metrics } from '../../src/observability/metrics.js';
import { createBlobStore } from '../../src/state/blob.js';
import { freePort, requireRedis, runPrefix, SHARED_REDIS } from './redis-servers.js';

const skip = await requireRedis();
const logger = pino({ level: 'silent' });

describe('Redis blob store (response cache)', { skip }, () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const store = createBlobStore(`${SHARED_REDIS}?prefix=${runPrefix('blob')}`, { logger, metrics, maxValueBytes: 1024 });
  after(() => store.close());

  it('keeps a value for its TTL and forgets it after', async () => {
    const until = Date.now() + 5000;
    // the connection is made in the background: a call before it is a miss, never an error
    while (Date.now() < until) {
      await store.set('probe', Buffer.from('x'), 10_000);
      if ((await store.get('probe')) !== undefined) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await store.set('k', Buffer.from([0, 1, 2, 255]), 10_000);
    assert.deepEqual(await store.get('k'), Buffer.from([0, 1, 2, 255]));
    await store.set('short', Buffer.from('s'), 30);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await store.get('short'), undefined);
    await store.delete('k');
    assert.equal(await store.get('k'), undefined);
  });

  it('does not keep values larger than its bound', async () => {
    await store.set('big', Buffer.alloc(2048), 10_000);
    assert.equal(await store.get('big'), undefined);
  });

  it('answers a miss, never an error, when Redis is unreachable, and counts it', async () => {
    const down = createBlobStore(`redis://127.0.0.1:${await freePort()}?timeout=20ms`, { logger, metrics, maxValueBytes: 1024 });
    try {
      await down.set('k', Buffer.from('v'), 1000);
      assert.equal(await down.get('k'), undefined);
      const m = await metrics.registry.getSingleMetric('gatehouse_cache_store_errors_total')!.get();
      assert.ok(m.values.reduce((n, v) => n + v.value, 0) >= 2);
    } finally {
      await down.close();
    }
  });

  it('refuses URLs it cannot use', () => {
    assert.throws(() => createBlobStore('memcached://x', { logger, metrics, maxValueBytes: 1 }), /not supported/);
    assert.throws(() => createBlobStore('redis://a:1,b:2', { logger, metrics, maxValueBytes: 1 }), /one host/);
    assert.throws(() => createBlobStore('redis://a:1?bogus=1', { logger, metrics, maxValueBytes: 1 }), /unknown parameter/);
  });
});
