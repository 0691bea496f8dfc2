import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from '../../src/state/memory.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1024 * 1024;

function settle() {
  for (let i = 0; i < 4; i++) gc();
}

describe('memory store bounds', () => {
  it('forgets a key once its window has passed', () => {
    let t = 1_000_000;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) s.slidingHit(`k${i}`, 5, 1000, 1);
    s.quotaHit('q', { calls: 5, bytes: undefined, periodMs: 60_000, anchorMs: 0 }, 1);
    assert.equal(s.keys, 101);
    t += 999;
    s.sweep();
    assert.equal(s.keys, 101, 'nothing has expired yet');
    t += 1;
    s.sweep();
    assert.equal(s.keys, 1, 'the rate-limit windows passed; the quota period has not');
    t += 60_000;
    s.sweep();
    assert.equal(s.keys, 0);
  });

  it('keeps a key alive while it is being used', () => {
    let t = 0;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 0 });
    for (let i = 0; i < 10; i++) { s.slidingHit('busy', 100, 1000, 1); t += 500; s.sweep(); }
    assert.equal(s.keys, 1);
    assert.equal(s.slidingHit('busy', 100, 1000, 1).used, 2, 'only the last window counts');
  });

  it('caps the number of keys, evicting the oldest and counting evictions', () => {
    let evicted = 0;
    const t = 0;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 0, maxKeys: 1000, evictions: { inc: () => { evicted++; } } });
    for (let i = 0; i < 5000; i++) s.slidingHit(`flood-${i}`, 10, 60_000, 1);
    assert.equal(s.keys, 1000);
    assert.equal(evicted, 4000);
    // the most recent keys are the ones kept
    assert.equal(s.slidingHit('flood-4999', 1, 60_000, 1).allowed, false);
    assert.equal(s.slidingHit('flood-0', 1, 60_000, 1).allowed, true);
  });

  it('sweeps on its timer without any traffic', async () => {
    let t = 0;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 10 });
    for (let i = 0; i < 50; i++) s.slidingHit(`k${i}`, 1, 1000, 1);
    t = 5000;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(s.keys, 0);
    await s.close();
  });

  it('holds at most max-keys of 1,000,000 distinct keys (a spoofed-IP flood) and returns to its baseline memory once their windows pass', () => {
    let t = 1_000_000;
    let evicted = 0;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 0, evictions: { inc: () => { evicted++; } } }); // default max-keys
    settle();
    const before = process.memoryUsage();
    for (let i = 0; i < 1_000_000; i++) {
      s.slidingHit(`rl:abcdefghijkl:=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 100, 60_000, 1);
      if ((i & 1023) === 0) t += 1;
    }
    assert.equal(s.keys, s.maxKeys, 'the flood filled the store up to max-keys and no further');
    assert.equal(evicted, 1_000_000 - s.maxKeys);
    settle();
    const peak = process.memoryUsage();
    t += 61_000;
    s.sweep();
    assert.equal(s.keys, 0);
    settle();
    const after = process.memoryUsage();
    const growth = (peak.heapUsed - before.heapUsed) / MB;
    const left = (after.heapUsed - before.heapUsed) / MB;
    console.log(`1M keys: heap +${growth.toFixed(0)} MB at peak, +${left.toFixed(1)} MB after the windows passed; ` +
      `rss ${(before.rss / MB).toFixed(0)} → ${(peak.rss / MB).toFixed(0)} → ${(after.rss / MB).toFixed(0)} MB`);
    assert.ok(growth > 50, 'the flood did take memory while live');
    assert.ok(left < 16, `heap returned to within 16 MB of its baseline (left: ${left.toFixed(1)} MB)`);
    assert.ok(growth < 300, `the cap bounds the heap while the flood is live (+${growth.toFixed(0)} MB)`);
    // RSS is logged, not asserted: whether freed heap pages go back to the OS is the runtime's
    // policy, not the store's. Node 20 returned them here (rss 53 → 280 → 95 MB); Node 24 keeps
    // them committed (62 → 498 → 459 MB) while the heap is back at its baseline.
  });

  it('keeps memory bounded by max-keys however many distinct keys arrive', () => {
    const t = 0;
    const s = new MemoryStore({ now: () => t, sweepIntervalMs: 0, maxKeys: 50_000 });
    for (let i = 0; i < 50_000; i++) s.slidingHit(`warm-${i}`, 10, 60_000, 1);
    settle();
    const warm = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200_000; i++) s.slidingHit(`flood-${i}`, 10, 60_000, 1);
    settle();
    const flooded = process.memoryUsage().heapUsed;
    assert.equal(s.keys, 50_000);
    assert.ok((flooded - warm) / MB < 8, `heap stayed flat under 4x the cap (grew ${((flooded - warm) / MB).toFixed(1)} MB)`);
  });
});
