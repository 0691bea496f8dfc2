import type { Pickable } from '../../src/upstream/balancer.js';

/** A seeded uniform [0, 1) generator (mulberry32), so distributions are reproducible. */
export function seeded(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fake target for balancer tests. */
export interface FakeTarget extends Pickable {
  outstanding: number;
}

export function fakes(weights: number[], prefix = 'http://10.0.0.'): FakeTarget[] {
  return weights.map((weight, index) => ({ id: `${prefix}${index + 1}:8080`, index, weight, outstanding: 0 }));
}

/** Count picks per target id. */
export function tally<T extends { id: string }>(n: number, pick: (i: number) => T | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = pick(i);
    const k = t?.id ?? 'none';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Wait until `cond` holds, polling; fails after `timeoutMs` (a bound, not a timing assertion). */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A clock tests move by hand. */
export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; }, set: (ms: number) => { t = ms; } };
}
