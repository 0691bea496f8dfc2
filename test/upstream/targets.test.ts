import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TargetSet, UpstreamConfigError, type Target } from '../../src/upstream/targets.js';
import { manualClock } from './helpers.js';

const ids = (ts: readonly Target[]) => ts.map((t) => t.id);

function drPair() {
  const clock = manualClock();
  const set = new TargetSet([
    { url: 'http://10.0.0.1:8080', weight: 2 },
    { url: 'http://10.0.0.2:8080', priority: 0 },
    { url: 'http://dr.example:8080', priority: 1 },
  ], { now: clock.now });
  const [a, b, dr] = set.all as [Target, Target, Target];
  return { set, a, b, dr, clock };
}

describe('target set: priorities and health', () => {
  it('sends everything to priority 0 while one of its targets is healthy, fails over when none is, and comes back', () => {
    const { set, a, b } = drPair();
    assert.deepEqual(ids(set.select()), ['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    set.setActiveHealth(a, false);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.2:8080'], 'one priority-0 target left: no failover');
    set.setActiveHealth(b, false);
    assert.deepEqual(ids(set.select()), ['http://dr.example:8080'], 'every priority-0 target down: the DR level');
    set.setActiveHealth(b, true);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.2:8080'], 'back as soon as one recovers');
    for (let i = 0; i < 100; i++) assert.equal(set.select(i / 100)[0]!.priority, 0, 'strict failover ignores the draw');
  });

  it('answers an empty view when no target of any level is healthy (no panic routing)', () => {
    const { set, a, b, dr } = drPair();
    for (const t of [a, b, dr]) set.setActiveHealth(t, false);
    assert.equal(set.select().length, 0);
    assert.equal(set.levels().length, 0);
  });

  it('ends an ejection when its time has passed, read lazily from the clock', () => {
    const { set, a, clock } = drPair();
    const changes: string[] = [];
    set.onHealthChange((t, healthy, cause) => changes.push(`${t.id} ${healthy} ${cause}`));
    set.eject(a, clock.now() + 30_000);
    assert.equal(set.ejected, 1);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.2:8080']);
    clock.advance(29_999);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.2:8080'], 'still ejected 1 ms before the end');
    clock.advance(1);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    assert.equal(set.ejected, 0);
    assert.deepEqual(changes, ['http://10.0.0.1:8080 false passive', 'http://10.0.0.1:8080 true passive']);
  });

  it('keeps a re-ejected target out until the later end, and an actively unhealthy target out after its ejection ends', () => {
    const { set, a, b, clock } = drPair();
    set.eject(a, clock.now() + 1000);
    set.eject(a, clock.now() + 5000);
    clock.advance(1000);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.2:8080']);
    set.setActiveHealth(b, false);
    set.eject(b, clock.now() + 10);
    clock.advance(4000);
    assert.deepEqual(ids(set.select()), ['http://10.0.0.1:8080'], 'a returns; b ejection ended but its probe still fails');
    assert.equal(b.ejected, false);
    assert.equal(b.healthy, false);
  });

  it('replaces the healthy list on a change and keeps it otherwise (balancers cache by identity)', () => {
    const { set, a } = drPair();
    const first = set.select();
    assert.equal(set.select(), first);
    assert.ok(Object.isFrozen(first));
    set.setActiveHealth(a, true); // no change
    assert.equal(set.select(), first);
    set.setActiveHealth(a, false);
    assert.notEqual(set.select(), first);
    assert.equal(first.length, 2, 'the old list is not mutated');
  });

  it('spills load gradually with an overprovisioning factor, as Envoy does with 1.4', () => {
    const set = new TargetSet([
      { url: 'http://p0-a' }, { url: 'http://p0-b' }, { url: 'http://p0-c' },
      { url: 'http://p1-a', priority: 1 },
    ], { overprovisioning: 1.4 });
    assert.deepEqual(set.levels().map((l) => l.load), [1], 'all healthy: priority 0 takes all');
    set.setActiveHealth(set.all[0]!, false);
    const [l0, l1] = set.levels();
    assert.ok(Math.abs(l0!.load - (1.4 * 2) / 3) < 1e-9, `2 of 3 healthy × 1.4 = 93.3 % on priority 0, got ${l0!.load}`);
    assert.ok(Math.abs(l1!.load - (1 - (1.4 * 2) / 3)) < 1e-9);
    assert.equal(set.select(0.9)[0]!.priority, 0);
    assert.equal(set.select(0.95)[0]!.priority, 1);
    set.setActiveHealth(set.all[1]!, false);
    set.setActiveHealth(set.all[3]!, false);
    assert.deepEqual(set.levels().map((l) => l.priority), [0], 'the only healthy level takes the whole load (normalized)');
    assert.equal(set.levels()[0]!.load, 1);
  });

  it('normalizes when the levels together are less than fully healthy', () => {
    const set = new TargetSet([
      { url: 'http://a' }, { url: 'http://b' }, { url: 'http://c' }, { url: 'http://d', priority: 1 }, { url: 'http://e', priority: 1 }, { url: 'http://f', priority: 1 },
    ], { overprovisioning: 1.4 });
    for (const i of [0, 1, 3, 4]) set.setActiveHealth(set.all[i]!, false);
    const loads = set.levels().map((l) => l.load);
    assert.equal(loads.length, 2);
    assert.ok(Math.abs(loads[0]! - 0.5) < 1e-9 && Math.abs(loads[1]! - 0.5) < 1e-9, `equal health, equal load: ${loads}`);
  });

  it('reports every target with health, ejection and in-flight count', () => {
    const { set, a, clock } = drPair();
    a.outstanding = 3;
    set.eject(a, clock.now() + 500);
    const snap = set.snapshot();
    assert.deepEqual(snap[0], { url: 'http://10.0.0.1:8080', priority: 0, weight: 2, healthy: false, activeHealthy: true, ejected: true, ejectedUntil: clock.now() + 500, outstanding: 3 });
    assert.equal(snap[2]!.priority, 1);
  });

  it('refuses unusable target lists at construction', () => {
    const bad: Array<[unknown[], RegExp]> = [
      [[], /at least one target/],
      [[{ url: 'http://a' }, { url: 'http://a/' }], /listed twice/],
      [[{ url: 'ftp://a' }], /only http/],
      [[{ url: 'not a url' }], /not a URL/],
      [[{ url: 'http://u:p@a' }], /no credentials/],
      [[{ url: 'http://a', weight: 0 }], /weight/],
      [[{ url: 'http://a', weight: 1.5 }], /weight/],
      [[{ url: 'http://a', priority: -1 }], /priority/],
    ];
    for (const [specs, re] of bad) assert.throws(() => new TargetSet(specs as never), (e: Error) => e instanceof UpstreamConfigError && re.test(e.message), JSON.stringify(specs));
    assert.throws(() => new TargetSet([{ url: 'http://a' }], { overprovisioning: 0.5 }), /overprovisioning/);
  });

  it('keeps a base path in the id and the origin for dispatch', () => {
    const set = new TargetSet([{ url: 'http://127.0.0.1:4000/auth/' }]);
    assert.equal(set.all[0]!.id, 'http://127.0.0.1:4000/auth');
    assert.equal(set.all[0]!.origin, 'http://127.0.0.1:4000');
  });
});
