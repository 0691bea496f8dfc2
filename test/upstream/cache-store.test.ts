import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCacheStore, decodeValue, encodeValue, type CacheValue } from '../../src/upstream/cache-store.js';
import { UpstreamConfigError } from '../../src/upstream/targets.js';
import { manualClock } from './helpers.js';

const value = (bytes: number, tag = 'x'): CacheValue => ({
  meta: { status: 200, headers: { 'content-type': 'text/plain', etag: `"${tag}"` }, requestTime: 1, responseTime: 2, initialAgeSec: 0, lifetimeSec: 60 },
  body: Buffer.alloc(bytes, tag),
});

describe('memory cache store', () => {
  it('stays within its byte bound, evicting the least recently used first', () => {
    const probe = new MemoryCacheStore({ maxBytes: 1_000_000 });
    probe.set('k0', value(2000), 60_000);
    const entry = probe.bytes;
    assert.ok(entry > 2000, 'headers, key and overhead count too');
    const store = new MemoryCacheStore({ maxBytes: 4 * entry, maxEntryBytes: entry });
    for (let i = 0; i < 4; i++) store.set(`k${i}`, value(2000, String(i)), 60_000);
    assert.deepEqual([store.size, store.bytes], [4, 4 * entry], 'exactly full');
    assert.ok(store.get('k0'), 'k0 read: now the most recently used');
    store.set('k4', value(2000, '4'), 60_000);
    assert.deepEqual([store.size, store.bytes], [4, 4 * entry]);
    assert.equal(store.get('k1'), undefined, 'k1, the least recently used, was evicted');
    assert.deepEqual(['k0', 'k2', 'k3', 'k4'].map((k) => store.get(k)?.body[0]), [...'0234'].map((c) => c.charCodeAt(0)));
    for (let i = 0; i < 100; i++) store.set(`many${i}`, value(1000 + i), 60_000);
    assert.ok(store.bytes <= 4 * entry, `bounded under churn: ${store.bytes}`);
  });

  it('does not store an entry larger than the per-entry bound, and drops the old value of its key', () => {
    const store = new MemoryCacheStore({ maxBytes: 100_000, maxEntryBytes: 1000 });
    store.set('k', value(100), 60_000);
    store.set('k', value(5000), 60_000);
    assert.equal(store.get('k'), undefined);
    assert.equal(store.bytes, 0);
  });

  it('expires entries by TTL, read from its clock', () => {
    const clock = manualClock();
    const store = new MemoryCacheStore({ maxBytes: 100_000, now: clock.now });
    store.set('k', value(10), 1000);
    clock.advance(999);
    assert.ok(store.get('k'));
    clock.advance(1);
    assert.equal(store.get('k'), undefined);
    assert.equal(store.bytes, 0);
    store.set('z', value(10), 0);
    assert.equal(store.size, 0, 'a TTL of 0 stores nothing');
  });

  it('keeps the byte count exact through replace, delete and close', async () => {
    const store = new MemoryCacheStore({ maxBytes: 100_000 });
    store.set('a', value(100), 60_000);
    const one = store.bytes;
    store.set('a', value(100), 60_000);
    assert.equal(store.bytes, one);
    store.set('b', value(300), 60_000);
    store.delete('a');
    store.delete('missing');
    store.delete('b');
    assert.equal(store.bytes, 0);
    store.set('c', value(1), 60_000);
    await store.close();
    assert.deepEqual([store.bytes, store.size], [0, 0]);
    assert.throws(() => new MemoryCacheStore({ maxBytes: 10 }), UpstreamConfigError);
  });

  it('encodes a value as one buffer and decodes it back; anything else is a miss', () => {
    const v = value(50, 'q');
    v.meta.vary = ['accept'];
    const back = decodeValue(encodeValue(v))!;
    assert.deepEqual(back.meta, v.meta);
    assert.ok(back.body.equals(v.body));
    for (const junk of [Buffer.alloc(0), Buffer.from([0, 0, 0, 99, 1]), Buffer.from('\u0000\u0000\u0000\u0002{}'), Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')])]) {
      assert.equal(decodeValue(junk), undefined);
    }
  });
});
