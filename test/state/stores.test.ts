import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryStore } from '../../src/state/memory.js';
import { RedisStore } from '../../src/state/redis.js';
import type { CounterStore, QuotaLimits } from '../../src/state/types.js';
import { Metrics } from '../../src/observability/metrics.js';
import { requireRedis, runPrefix } from './redis-servers.js';

/**
 * The same algorithm tests run against the memory store and against the Redis scripts (with
 * the scripts' test clock override), so both stores implement one behaviour.
 */

class FakeClock {
  t = Date.UTC(2026, 0, 1, 12, 0, 0);
  now = () => this.t;
  advance(ms: number) { this.t += ms; }
}

/** deterministic PRNG (mulberry32) */
function rng(seed: number) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Subject { name: string; make(clock: FakeClock): CounterStore; skip?: () => string | false }

const redisSkip = await requireRedis();
const stores: CounterStore[] = [];
const prefix = runPrefix('stores');
let n = 0;

const subjects: Subject[] = [
  { name: 'memory store', make: (c) => new MemoryStore({ now: c.now, sweepIntervalMs: 0 }) },
  {
    name: 'redis store',
    skip: () => redisSkip,
    make: (c) => {
      const s = new RedisStore({
        kind: 'redis', nodes: [{ host: '127.0.0.1', port: 6379 }], prefix: `${prefix}${n++}:`, timeoutMs: 2000,
        logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }), clock: c.now,
      });
      stores.push(s);
      return s;
    },
  },
];

after(async () => { for (const s of stores) await s.close(); });

for (const subject of subjects) {
  describe(subject.name, { skip: subject.skip?.() }, () => {
    let clock: FakeClock;
    let store: CounterStore;
    before(async () => {
      clock = new FakeClock();
      store = subject.make(clock);
      // let a Redis connection become ready
      for (let i = 0; i < 100 && !store.ready(); i++) await new Promise((r) => setTimeout(r, 20));
    });
    const hit = async (key: string, limit: number, period: number, w = 1) => {
      const d = await store.slidingHit(key, limit, period, w);
      assert.ok(d, 'store answered');
      return d;
    };

    describe('sliding window (rate-limit-by-key)', () => {
      it('admits exactly `calls` in a burst and rejects the next one', async () => {
        for (let i = 0; i < 5; i++) assert.equal((await hit('burst', 5, 10_000)).allowed, true, `call ${i + 1}`);
        const d = await hit('burst', 5, 10_000);
        assert.equal(d.allowed, false);
        assert.equal(d.used, 5);
      });

      it('counts a unit until exactly renewal-period has passed, then frees it', async () => {
        const start = clock.t;
        await hit('edge', 1, 1000);
        clock.advance(999);
        assert.equal((await hit('edge', 1, 1000)).allowed, false, 'still inside the window 1 ms before it ends');
        clock.t = start + 1000;
        assert.equal((await hit('edge', 1, 1000)).allowed, true, 'admitted when the window has passed');
      });

      it('gives a Retry-After after which the call is admitted, and not earlier', async () => {
        const r = rng(7);
        for (let i = 0; i < 4; i++) { await hit('retry', 4, 60_000); clock.advance(Math.floor(r() * 5000)); }
        const d = await hit('retry', 4, 60_000);
        assert.equal(d.allowed, false);
        assert.ok(d.waitMs > 0 && d.waitMs <= 60_000);
        const base = clock.t;
        clock.t = base + d.waitMs - 1;
        assert.equal((await hit('retry', 4, 60_000)).allowed, false, 'rejected 1 ms before waitMs');
        clock.t = base + Math.ceil(d.waitMs / 1000) * 1000; // what a client waiting Retry-After seconds sees
        assert.equal((await hit('retry', 4, 60_000)).allowed, true, 'admitted after Retry-After');
      });

      it('never admits more than `calls` in any window of renewal-period (random arrivals)', async () => {
        const r = rng(42);
        const limit = 7;
        const period = 5000;
        const admitted: number[] = [];
        for (let i = 0; i < 400; i++) {
          clock.advance(Math.floor(r() * 400));
          const burst = r() < 0.2 ? 1 + Math.floor(r() * 6) : 1;
          const ds = await Promise.all(Array.from({ length: burst }, () => store.slidingHit('random', limit, period, 1)));
          for (const d of ds) if (d!.allowed) admitted.push(clock.t);
        }
        assert.ok(admitted.length > limit * 10, 'the test exercised many windows');
        for (let i = 0; i < admitted.length; i++) {
          let inWindow = 0;
          for (let j = i; j < admitted.length && admitted[j]! < admitted[i]! + period; j++) inWindow++;
          assert.ok(inWindow <= limit, `${inWindow} admitted in the window starting at ${admitted[i]}`);
        }
      });

      it('weights calls by increment-count and reports the wait for enough units', async () => {
        assert.equal((await hit('weights', 10, 10_000, 4)).allowed, true);
        clock.advance(1000);
        assert.equal((await hit('weights', 10, 10_000, 4)).allowed, true);
        clock.advance(1000);
        const d = await hit('weights', 10, 10_000, 4);
        assert.equal(d.allowed, false);
        assert.equal(d.used, 8);
        assert.equal(d.waitMs, 8000, 'the first 4 units leave the window in 8 s');
        assert.equal((await hit('weights', 10, 10_000, 2)).allowed, true, 'a lighter call still fits');
      });

      it('never admits a call heavier than the limit', async () => {
        const d = await hit('too-heavy', 3, 1000, 4);
        assert.equal(d.allowed, false);
        assert.equal(d.waitMs, Infinity);
      });

      it('refunds the units of a call that does not count', async () => {
        const a = await hit('refund', 2, 10_000);
        await hit('refund', 2, 10_000);
        assert.equal((await hit('refund', 2, 10_000)).allowed, false);
        await store.slidingRefund('refund', 10_000, a.token);
        assert.equal((await hit('refund', 2, 10_000)).allowed, true);
        await store.slidingRefund('refund', 10_000, a.token); // twice: no double refund
        assert.equal((await hit('refund', 2, 10_000)).allowed, false);
      });

      it('admits exactly `calls` out of many concurrent calls', async () => {
        const ds = await Promise.all(Array.from({ length: 300 }, () => store.slidingHit('concurrent', 100, 60_000, 1)));
        assert.equal(ds.filter((d) => d!.allowed).length, 100);
      });

      it('keeps counters of different keys apart', async () => {
        assert.equal((await hit('a', 1, 10_000)).allowed, true);
        assert.equal((await hit('b', 1, 10_000)).allowed, true);
        assert.equal((await hit('a', 1, 10_000)).allowed, false);
      });
    });

    describe('fixed periods (quota-by-key)', () => {
      const q = (over: Partial<QuotaLimits>): QuotaLimits => ({ calls: 3, bytes: undefined, periodMs: 3_600_000, anchorMs: 0, ...over });
      const quota = async (key: string, l: QuotaLimits) => {
        const d = await store.quotaHit(key, l, 1);
        assert.ok(d, 'store answered');
        return d;
      };

      it('admits `calls` per period and renews at the period boundary aligned to first-period-start', async () => {
        const anchor = Date.UTC(2026, 0, 1, 0, 30, 0); // periods start at :30
        const l = q({ anchorMs: anchor });
        clock.t = Date.UTC(2026, 0, 1, 12, 10, 0); // 12:10, the period 11:30-12:30
        for (let i = 0; i < 3; i++) assert.equal((await quota('p', l)).allowed, true);
        const d = await quota('p', l);
        assert.equal(d.allowed, false);
        assert.equal(d.resetMs, 20 * 60_000, 'renews at 12:30');
        clock.t = Date.UTC(2026, 0, 1, 12, 30, 0) - 1;
        assert.equal((await quota('p', l)).allowed, false);
        clock.t = Date.UTC(2026, 0, 1, 12, 30, 0);
        assert.equal((await quota('p', l)).allowed, true, 'a new period at 12:30');
      });

      it('never renews a lifetime quota', async () => {
        const l = q({ calls: 2, periodMs: 0 });
        await quota('life', l);
        await quota('life', l);
        clock.advance(400 * 86_400_000);
        const d = await quota('life', l);
        assert.equal(d.allowed, false);
        assert.equal(d.resetMs, Infinity);
      });

      it('counts bandwidth after the response and rejects once it is used up', async () => {
        const l = q({ calls: undefined, bytes: 10 * 1024 });
        const a = await quota('bw', l);
        assert.equal(a.allowed, true);
        await store.quotaAdd('bw', l, a.period, 0, 6 * 1024);
        const b = await quota('bw', l);
        assert.equal(b.allowed, true, '6 KB of 10 KB used');
        await store.quotaAdd('bw', l, b.period, 0, 5 * 1024);
        const c = await quota('bw', l);
        assert.equal(c.allowed, false);
        assert.equal(c.bytes, 11 * 1024);
      });

      it('refunds a call and ignores usage reported for a period that has ended', async () => {
        const l = q({ calls: 1, periodMs: 60_000 });
        const a = await quota('rf', l);
        assert.equal((await quota('rf', l)).allowed, false);
        await store.quotaAdd('rf', l, a.period, -1, 0);
        const b = await quota('rf', l);
        assert.equal(b.allowed, true);
        clock.advance(60_000);
        const c = await quota('rf', l);
        assert.equal(c.allowed, true, 'new period');
        await store.quotaAdd('rf', l, b.period, -1, 0); // late refund of the old period
        assert.equal((await quota('rf', l)).allowed, false, 'the late refund did not touch the new period');
      });

      it('admits exactly `calls` out of many concurrent calls', async () => {
        const l = q({ calls: 50 });
        const ds = await Promise.all(Array.from({ length: 200 }, () => store.quotaHit('qc', l, 1)));
        assert.equal(ds.filter((d) => d!.allowed).length, 50);
      });
    });
  });
}
