import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { HttpCache, type Exchange } from '../../src/upstream/http-cache.js';
import { MemoryCacheStore, type CacheValue } from '../../src/upstream/cache-store.js';
import { Coalescer } from '../../src/upstream/coalescer.js';
import type { HeaderMap } from '../../src/upstream/cache-semantics.js';
import { manualClock } from './helpers.js';

function setup(opts: ConstructorParameters<typeof HttpCache>[1] = {}) {
  const clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
  const store = new MemoryCacheStore({ maxBytes: 1_000_000, now: clock.now });
  const cache = new HttpCache(store, { now: clock.now, ...opts });
  const times = () => ({ requestTime: clock.now(), responseTime: clock.now() });
  const date = () => new Date(clock.now()).toUTCString();
  return { clock, store, cache, times, date };
}
const get = (headers: HeaderMap = {}): Exchange => ({ method: 'GET', headers });
const body = Buffer.from('{"ok":true}');

describe('HTTP cache flow', () => {
  it('misses, stores, hits with Age, and turns stale after the lifetime', async () => {
    const { clock, cache, times, date } = setup();
    assert.deepEqual(await cache.lookup('/a', get()), { kind: 'miss' });
    const saved = await cache.save('/a', get(), { status: 200, headers: { 'cache-control': 'max-age=60', date: date(), etag: '"1"', connection: 'keep-alive', 'keep-alive': 'timeout=5' }, body }, times());
    assert.deepEqual(saved.stored && { stored: saved.stored, key: saved.key }, { stored: true, key: '/a' });
    clock.advance(10_000);
    const hit = await cache.lookup('/a', get());
    assert.equal(hit.kind, 'hit');
    if (hit.kind !== 'hit') return;
    assert.equal(hit.ageSec, 10);
    assert.ok(hit.value.body.equals(body));
    assert.equal(hit.notModified, false);
    const headers = cache.responseHeaders(hit.value, hit.ageSec);
    assert.equal(headers.age, '10');
    assert.equal(headers.connection, undefined, 'hop-by-hop fields are not stored');
    assert.equal(headers['keep-alive'], undefined);
    clock.advance(50_000);
    const stale = await cache.lookup('/a', get());
    assert.deepEqual(stale.kind === 'stale' && stale.conditional, { 'if-none-match': '"1"' });
  });

  it("answers a client's conditional request from the cache with 304", async () => {
    const { cache, times, date } = setup();
    await cache.save('/a', get(), { status: 200, headers: { 'cache-control': 'max-age=60', date: date(), etag: '"1"' }, body }, times());
    const l = await cache.lookup('/a', get({ 'if-none-match': 'W/"1"' }));
    assert.equal(l.kind === 'hit' && l.notModified, true);
    const other = await cache.lookup('/a', get({ 'if-none-match': '"2"' }));
    assert.equal(other.kind === 'hit' && other.notModified, false);
  });

  it('keeps one entry per Vary variant and serves each request its own', async () => {
    const { cache, times, date } = setup();
    for (const lang of ['de', 'fr']) {
      await cache.save('/v', get({ 'accept-language': lang }), { status: 200, headers: { 'cache-control': 'max-age=60', date: date(), vary: 'Accept-Language' }, body: Buffer.from(lang) }, times());
    }
    for (const lang of ['de', 'fr']) {
      const l = await cache.lookup('/v', get({ 'accept-language': lang }));
      assert.equal(l.kind === 'hit' && l.value.body.toString(), lang);
    }
    assert.deepEqual(await cache.lookup('/v', get({ 'accept-language': 'it' })), { kind: 'miss' });
    assert.deepEqual(await cache.lookup('/v', get()), { kind: 'miss' });
  });

  it('refreshes a stale entry from a 304 and refetches when the 304 is about another representation', async () => {
    const { clock, cache, times, date } = setup();
    await cache.save('/r', get(), { status: 200, headers: { 'cache-control': 'max-age=10', date: date(), etag: '"1"', 'content-type': 'application/json' }, body }, times());
    clock.advance(20_000);
    const l = await cache.lookup('/r', get());
    assert.equal(l.kind, 'stale');
    if (l.kind !== 'stale') return;
    assert.equal(await cache.revalidated(l.key, l.value, { headers: { etag: '"2"' } }, times()), undefined);
    const fresh = await cache.revalidated(l.key, l.value, { headers: { etag: '"1"', 'cache-control': 'max-age=30', date: date() } }, times());
    assert.equal(fresh?.meta.lifetimeSec, 30);
    assert.equal(fresh?.meta.headers['content-type'], 'application/json');
    clock.advance(5_000);
    const hit = await cache.lookup('/r', get());
    assert.equal(hit.kind === 'hit' && hit.ageSec, 5, 'fresh again, the age counted from the revalidation');
  });

  it('never serves or stores a request with Authorization unless the key is per caller', async () => {
    const { cache, times, date } = setup();
    const authed = get({ authorization: 'Bearer t' });
    assert.deepEqual(await cache.lookup('/p', authed), { kind: 'bypass', reason: 'authorization' });
    assert.deepEqual(await cache.save('/p', authed, { status: 200, headers: { 'cache-control': 'public, max-age=60', date: date() }, body }, times()), { stored: false, reason: 'authorization' });
    await cache.save('/p', get(), { status: 200, headers: { 'cache-control': 'max-age=60', date: date() }, body }, times());
    assert.equal((await cache.lookup('/p', authed)).kind, 'bypass', 'not even an anonymous entry');
    const perCaller = setup({ perCaller: true });
    const saved = await perCaller.cache.save('/p|caller=alice', authed, { status: 200, headers: { 'cache-control': 'private, max-age=60', date: perCaller.date() }, body }, perCaller.times());
    assert.equal(saved.stored, true);
    assert.equal((await perCaller.cache.lookup('/p|caller=alice', authed)).kind, 'hit');
  });

  it('does not store what arrives already expired without a validator', async () => {
    const { cache, times, date } = setup();
    const r = await cache.save('/o', get(), { status: 200, headers: { 'cache-control': 'max-age=60', age: '100', date: date() }, body }, times());
    assert.deepEqual(r, { stored: false, reason: 'no-freshness' });
  });
});

describe('HTTP cache with a real backend: hits, revalidation and coalescing', () => {
  let calls = 0, conditional = 0;
  const server = createServer((req, res) => {
    calls++;
    if (req.headers['if-none-match'] === '"v1"') {
      conditional++;
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=100' }).end();
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain', etag: '"v1"', 'cache-control': 'max-age=1', date: new Date().toUTCString() }).end('hello'), 30);
  });
  after(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));

  it('makes one backend call for 20 concurrent misses, serves hits, then revalidates with a conditional request', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clock = manualClock(Date.now());
    const cache = new HttpCache(new MemoryCacheStore({ maxBytes: 1_000_000, now: clock.now }), { now: clock.now });
    const coalescer = new Coalescer<CacheValue | { status: number; body: Buffer }>({ maxWaiters: 100, waitTimeoutMs: 10_000 });
    // the cache-lookup → backend → cache-store path of a gateway, in a few lines
    async function fetchCached(path: string): Promise<{ status: number; body: string; from: string }> {
      const l = await cache.lookup(path, get());
      if (l.kind === 'hit') return { status: 200, body: l.value.body.toString(), from: 'cache' };
      const r = await coalescer.run(path, async () => {
        const t0 = clock.now();
        const res = await request(origin + path, { headers: l.kind === 'stale' ? l.conditional : {} });
        const buf = Buffer.from(await res.body.arrayBuffer());
        const times = { requestTime: t0, responseTime: clock.now() };
        if (res.statusCode === 304 && l.kind === 'stale') return (await cache.revalidated(l.key, l.value, { headers: res.headers }, times))!;
        await cache.save(path, get(), { status: res.statusCode, headers: res.headers, body: buf }, times);
        return { status: res.statusCode, body: buf };
      });
      assert.equal(r.kind, 'value');
      const v = (r as { value: CacheValue | { status: number; body: Buffer } }).value;
      return { status: 'meta' in v ? v.meta.status : v.status, body: v.body.toString(), from: 'backend' };
    }
    const first = await Promise.all(Array.from({ length: 20 }, () => fetchCached('/doc')));
    assert.ok(first.every((r) => r.status === 200 && r.body === 'hello'));
    assert.equal(calls, 1, '20 concurrent misses, one backend call');
    const hits = await Promise.all(Array.from({ length: 10 }, () => fetchCached('/doc')));
    assert.ok(hits.every((r) => r.from === 'cache' && r.body === 'hello'));
    assert.equal(calls, 1);
    clock.advance(2000); // stale now
    const again = await Promise.all(Array.from({ length: 5 }, () => fetchCached('/doc')));
    assert.ok(again.every((r) => r.body === 'hello'));
    assert.deepEqual([calls, conditional], [2, 1], 'one conditional request, answered 304');
    assert.equal((await fetchCached('/doc')).from, 'cache', 'fresh again after the 304');
  });
});
