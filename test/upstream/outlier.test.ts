import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutlierDetector, type OutlierEvent } from '../../src/upstream/outlier.js';
import { TargetSet, UpstreamConfigError } from '../../src/upstream/targets.js';
import { manualClock } from './helpers.js';

function setup(n: number, opts: ConstructorParameters<typeof OutlierDetector>[1] = {}) {
  const clock = manualClock();
  const set = new TargetSet(Array.from({ length: n }, (_, i) => ({ url: `http://10.0.0.${i + 1}:80` })), { now: clock.now });
  const events: OutlierEvent[] = [];
  const det = new OutlierDetector(set, { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectedPercent: 50, ...opts }, (e) => events.push(e));
  return { clock, set, det, events, t: set.all };
}

describe('outlier detection', () => {
  it('ejects after the consecutive-failure threshold, at once, and lets the target back after the ejection time', () => {
    const { clock, set, det, t, events } = setup(4);
    det.failure(t[0]!);
    det.failure(t[0]!);
    det.success(t[0]!); // a success breaks the run
    det.failure(t[0]!);
    det.failure(t[0]!);
    assert.equal(set.select().length, 4, 'two in a row: still in');
    det.failure(t[0]!);
    assert.equal(set.select().length, 3, 'third in a row: ejected at once');
    assert.ok(!set.select().includes(t[0]!));
    assert.deepEqual(events.map((e) => e.kind === 'ejected' && [e.durationMs, e.ejections]), [[10_000, 1]]);
    clock.advance(9_999);
    assert.equal(set.select().length, 3);
    clock.advance(1);
    assert.equal(set.select().length, 4, 'back after 10 s');
  });

  it('ejects for longer each time a target keeps failing, up to the maximum', () => {
    const { clock, set, det, t, events } = setup(2, { maxEjectionMs: 35_000 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) det.failure(t[1]!);
      const e = events.at(-1)!;
      assert.equal(e.kind, 'ejected');
      clock.set(set.all[1]!.ejectedUntil); // fails again right after it returns
      set.select();
    }
    assert.deepEqual(events.map((e) => e.kind === 'ejected' && e.durationMs), [10_000, 20_000, 30_000, 35_000, 35_000]);
  });

  it('forgives one ejection per decay period of good behaviour', () => {
    const { clock, det, t, events } = setup(2);
    for (let i = 0; i < 3; i++) det.failure(t[0]!);
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) det.failure(t[0]!);
    assert.equal(det.ejections(t[0]!), 2);
    clock.advance(20_000 + 2 * 10_000); // returned, then two decay periods without trouble
    for (let i = 0; i < 3; i++) det.failure(t[0]!);
    assert.deepEqual(events.map((e) => e.kind === 'ejected' && e.durationMs), [10_000, 20_000, 10_000]);
  });

  it('never ejects more than max-ejected of the targets (rounded down)', () => {
    const { set, det, t, events } = setup(4);
    for (const target of t) for (let i = 0; i < 3; i++) det.failure(target);
    assert.equal(set.ejected, 2, '50 % of 4');
    assert.deepEqual(events.map((e) => e.kind), ['ejected', 'ejected', 'not-ejected', 'not-ejected']);
    assert.equal(set.select().length, 2);
  });

  it('never ejects the only target of a backend, nor one of two with 10 %', () => {
    const one = setup(1, { maxEjectedPercent: 50 });
    for (let i = 0; i < 10; i++) one.det.failure(one.t[0]!);
    assert.equal(one.set.select().length, 1);
    const two = setup(2, { maxEjectedPercent: 10 });
    for (let i = 0; i < 10; i++) two.det.failure(two.t[0]!);
    assert.equal(two.set.ejected, 0);
    const all = setup(2, { maxEjectedPercent: 100 });
    for (const target of all.t) for (let i = 0; i < 3; i++) all.det.failure(target);
    assert.equal(all.set.select().length, 0, '100 % allows all: the caller answers 503');
  });

  it('ignores failures reported by requests that were in flight to an ejected target, and restarts the count on return', () => {
    const { clock, set, det, t } = setup(2);
    for (let i = 0; i < 3; i++) det.failure(t[0]!);
    for (let i = 0; i < 10; i++) det.failure(t[0]!);
    assert.equal(det.ejections(t[0]!), 1);
    clock.advance(10_000);
    set.select();
    det.failure(t[0]!);
    det.failure(t[0]!);
    assert.equal(t[0]!.ejected, false, 'a fresh count after the return');
  });

  it('lets a target back early on request (a good active probe)', () => {
    const { set, det, t } = setup(2);
    for (let i = 0; i < 3; i++) det.failure(t[0]!);
    det.uneject(t[0]!);
    assert.equal(set.select().length, 2);
    assert.equal(set.ejected, 0);
  });

  it('refuses unusable options', () => {
    const set = new TargetSet([{ url: 'http://a' }]);
    for (const bad of [{ consecutiveFailures: 0 }, { baseEjectionMs: 0 }, { maxEjectedPercent: 101 }, { decayMs: -1 }]) {
      assert.throws(() => new OutlierDetector(set, bad), UpstreamConfigError, JSON.stringify(bad));
    }
  });
});
