import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer, BALANCER_KINDS } from '../../src/upstream/balancer.js';
import { Maglev } from '../../src/upstream/maglev.js';
import { TargetSet } from '../../src/upstream/targets.js';
import { fakes, seeded, tally, type FakeTarget } from './helpers.js';

const share = (m: Map<string, number>, id: string, n: number) => (m.get(id) ?? 0) / n;

describe('balancers: the common contract', () => {
  for (const kind of BALANCER_KINDS) {
    it(`${kind}: never picks an excluded target, undefined when all are excluded or the list is empty`, () => {
      const b = createBalancer(kind, { random: seeded(1), tableSize: 1009 });
      const ts = fakes([1, 2, 3]);
      assert.equal(b.pick([]), undefined);
      for (let i = 0; i < 300; i++) {
        const t = b.pick(ts, `key-${i}`, new Set([ts[0]!, ts[2]!]));
        assert.equal(t, ts[1]);
      }
      assert.equal(b.pick(ts, 'k', new Set(ts)), undefined);
      assert.equal(b.pick([ts[0]!], 'k', new Set([ts[0]!])), undefined);
      assert.equal(b.pick([ts[0]!], 'k'), ts[0]);
    });

    it(`${kind}: picks from real Target lists of a TargetSet`, () => {
      const set = new TargetSet([{ url: 'http://a:1', weight: 3 }, { url: 'http://b:1' }]);
      const b = createBalancer(kind, { random: seeded(2), tableSize: 1009 });
      const seen = tally(400, (i) => b.pick(set.select(), `k${i}`));
      assert.deepEqual([...seen.keys()].sort(), ['http://a:1', 'http://b:1']);
    });
  }
});

describe('smooth weighted round robin', () => {
  it('interleaves weights 5, 1, 1 as nginx does: a a b a c a a', () => {
    const ts = fakes([5, 1, 1]);
    const b = createBalancer('round-robin');
    const names = new Map(ts.map((t, i) => [t, 'abc'[i]!]));
    const seq = Array.from({ length: 14 }, () => names.get(b.pick(ts) as never)).join('');
    assert.equal(seq, 'aabacaa'.repeat(2));
    // the precomputed schedule and the algorithm itself (the retry path, with exclusions) agree
    const direct = createBalancer('round-robin');
    const elsewhere = new Set(fakes([1], 'http://192.0.2.'));
    assert.equal(Array.from({ length: 14 }, () => names.get(direct.pick(ts, undefined, elsewhere as never) as never)).join(''), 'aabacaa'.repeat(2));
  });

  it('rotates large weight totals by the algorithm itself, with the same shares', () => {
    const ts = fakes(Array.from({ length: 300 }, (_, i) => 1 + (i % 100) * 10)); // 300 × ~150k: no schedule
    const b = createBalancer('round-robin');
    const total = ts.reduce((n, t) => n + t.weight, 0);
    const m = tally(total, () => b.pick(ts));
    assert.ok(ts.every((t) => m.get(t.id) === t.weight));
  });

  it('gives each target exactly its weight over every cycle, and rotates equal weights in order', () => {
    const ts = fakes([3, 2, 1, 4]);
    const b = createBalancer('round-robin');
    const m = tally(1000, () => b.pick(ts));
    assert.deepEqual(ts.map((t) => m.get(t.id)), [300, 200, 100, 400]);
    const eq = fakes([1, 1, 1]);
    const seq = Array.from({ length: 6 }, () => b.pick(eq)!.index);
    assert.deepEqual(seq, [0, 1, 2, 0, 1, 2]);
  });

  it('shares fairly while a target is out and gives a returning target its share, not a catch-up burst', () => {
    const ts = fakes([1, 1, 1]);
    const b = createBalancer('round-robin');
    const two = [ts[0]!, ts[2]!];
    const phases = [tally(300, () => b.pick(ts)), tally(300, () => b.pick(two)), tally(300, () => b.pick(ts))];
    assert.deepEqual(phases.map((m) => m.get(ts[1]!.id) ?? 0), [100, 0, 100]);
    for (const m of phases) assert.ok(Math.abs(m.get(ts[0]!.id)! - m.get(ts[2]!.id)!) <= 1, `a ${m.get(ts[0]!.id)} vs c ${m.get(ts[2]!.id)}`);
    const window = Array.from({ length: 6 }, () => b.pick(ts)!.index);
    assert.deepEqual(window.slice().sort(), [0, 0, 1, 1, 2, 2], 'every window of one cycle per target');
  });
});

describe('least outstanding requests (power of two choices)', () => {
  it('splits idle traffic exactly by weight', () => {
    const ts = fakes([3, 1]);
    const b = createBalancer('least-request', { random: seeded(7) });
    const n = 20_000;
    const m = tally(n, () => b.pick(ts));
    assert.ok(Math.abs(share(m, ts[0]!.id, n) - 0.75) < 0.02, `weight 3 of 4: ${share(m, ts[0]!.id, n)}`);
  });

  it('avoids the busy target: it is chosen only when both draws hit it', () => {
    const ts = fakes([1, 1, 1, 1]);
    ts[0]!.outstanding = 50;
    const b = createBalancer('least-request', { random: seeded(9) });
    const n = 16_000;
    const m = tally(n, () => b.pick(ts));
    assert.ok(Math.abs(share(m, ts[0]!.id, n) - 1 / 16) < 0.01, `busy target share ${share(m, ts[0]!.id, n)} ≈ 1/16`);
  });

  it('compares load per unit of weight (10 in flight on weight 10 beats 2 on weight 1)', () => {
    const ts = fakes([10, 1]);
    ts[0]!.outstanding = 10;
    ts[1]!.outstanding = 2;
    const b = createBalancer('least-request', { random: seeded(3) });
    const m = tally(2000, () => b.pick(ts));
    assert.ok((m.get(ts[1]!.id) ?? 0) < 2000 / 11 / 2, `the small target is taken only when drawn twice: ${m.get(ts[1]!.id)}`);
  });

  it('evens out in-flight requests under a simulated load where one target is slow', () => {
    const ts = fakes([1, 1, 1]);
    const b = createBalancer<FakeTarget>('least-request', { random: seeded(11) });
    const inflight: Array<{ t: (typeof ts)[number]; until: number }> = [];
    const served = new Map<string, number>();
    for (let step = 0; step < 6000; step++) {
      for (let i = inflight.length - 1; i >= 0; i--) if (inflight[i]!.until <= step) { inflight[i]!.t.outstanding--; inflight.splice(i, 1); }
      const t = b.pick(ts)!;
      t.outstanding++;
      served.set(t.id, (served.get(t.id) ?? 0) + 1);
      inflight.push({ t, until: step + (t.index === 0 ? 40 : 4) }); // target 0 is ten times slower
    }
    const slow = served.get(ts[0]!.id)!;
    assert.ok(slow < 6000 / 3 / 2, `the slow target serves far less than its third: ${slow}`);
  });
});

describe('random (weighted)', () => {
  it('picks in proportion to weight', () => {
    const ts = fakes([1, 2, 7]);
    const b = createBalancer('random', { random: seeded(5) });
    const n = 30_000;
    const m = tally(n, () => b.pick(ts));
    ts.forEach((t) => assert.ok(Math.abs(share(m, t.id, n) - t.weight / 10) < 0.015, `${t.id}: ${share(m, t.id, n)}`));
  });
});

describe('consistent hashing (Maglev)', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `tenant-${i}`);

  it('maps a key to the same target every time, in a fresh balancer too (as another replica would)', () => {
    const ts = fakes([1, 1, 1, 1, 1]);
    const one = createBalancer('consistent-hash'), two = createBalancer('consistent-hash');
    for (const k of keys.slice(0, 500)) {
      const t = one.pick(ts, k);
      assert.equal(one.pick(ts, k), t);
      assert.equal(two.pick(fakes([1, 1, 1, 1, 1]), k)!.id, t!.id);
    }
  });

  it('spreads keys evenly, and by weight', () => {
    const ts = fakes([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const b = createBalancer('consistent-hash');
    const m = tally(keys.length, (i) => b.pick(ts, keys[i]));
    for (const t of ts) assert.ok(Math.abs(share(m, t.id, keys.length) - 0.1) < 0.015, `${t.id}: ${share(m, t.id, keys.length)}`);
    const w = fakes([2, 1, 1]);
    const mw = tally(keys.length, (i) => b.pick(w, keys[i]));
    assert.ok(Math.abs(share(mw, w[0]!.id, keys.length) - 0.5) < 0.03, `weight 2 of 4: ${share(mw, w[0]!.id, keys.length)}`);
  });

  it('moves only about 1/N of the keys when a target leaves, and none of the keys of the targets that stay', () => {
    for (const n of [5, 10, 20]) {
      const ts = fakes(Array.from({ length: n }, () => 1));
      const b = createBalancer('consistent-hash');
      const before = keys.map((k) => b.pick(ts, k)!);
      const leaving = ts[3]!;
      const staying = ts.filter((t) => t !== leaving);
      const after = keys.map((k) => b.pick(staying, k)!);
      let moved = 0, movedFromStaying = 0;
      keys.forEach((_, i) => {
        if (before[i] !== after[i]) {
          moved++;
          if (before[i] !== leaving) movedFromStaying++;
        }
      });
      const fraction = moved / keys.length;
      assert.ok(fraction < 1 / n + 0.02, `${n} targets: ${(fraction * 100).toFixed(1)} % of keys moved (1/N = ${(100 / n).toFixed(1)} %)`);
      assert.ok(movedFromStaying / keys.length < 0.02, `${n} targets: ${movedFromStaying} keys of staying targets moved`);
      // and back: the original table again
      assert.ok(keys.every((k, i) => b.pick(ts, k) === before[i]), 'the target returns: every key maps as before');
    }
  });

  it('walks to the next slots for a retry, consistently per key', () => {
    const ts = fakes([1, 1, 1, 1]);
    const b = createBalancer('consistent-hash');
    for (const k of keys.slice(0, 200)) {
      const first = b.pick(ts, k)!;
      const retry = b.pick(ts, k, new Set([first]));
      assert.ok(retry && retry !== first);
      assert.equal(b.pick(ts, k, new Set([first])), retry);
    }
  });

  it('spreads keyless requests at random', () => {
    const ts = fakes([1, 1]);
    const m = tally(2000, () => createBalancer('consistent-hash', { random: seeded(4) }).pick(ts));
    assert.equal(m.size, 1, 'a fresh seeded balancer draws the same');
    const b = createBalancer('consistent-hash', { random: seeded(4) });
    assert.equal(tally(2000, () => b.pick(ts)).size, 2);
  });

  it('refuses a table size that is not a prime', () => {
    assert.throws(() => new Maglev(65536), /prime/);
    assert.throws(() => new Maglev(3), /prime/);
    assert.doesNotThrow(() => new Maglev(1009));
  });
});
