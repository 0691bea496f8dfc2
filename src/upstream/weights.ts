import type { Pickable } from './balancer.js';

/**
 * Weighted sampling over an immutable list: cumulative weights computed once per list (cached
 * by identity), then a binary search per draw. Equal weights take a shortcut (one multiply).
 */
interface Cumulative {
  cum: Float64Array;
  total: number;
  uniform: boolean;
}

export class WeightedSampler<T extends Pickable> {
  private last: readonly T[] | undefined;
  private lastCum: Cumulative | undefined;
  private readonly cache = new WeakMap<readonly T[], Cumulative>();

  /** Position in `list` drawn with probability weight / total weight, from r uniform in [0, 1). */
  index(list: readonly T[], r: number): number {
    const c = list === this.last ? this.lastCum! : this.prepare(list);
    if (c.uniform) return Math.min(list.length - 1, Math.floor(r * list.length));
    const x = r * c.total;
    let lo = 0, hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c.cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private prepare(list: readonly T[]): Cumulative {
    let c = this.cache.get(list);
    if (c === undefined) {
      const cum = new Float64Array(list.length);
      let total = 0;
      let uniform = true;
      for (let i = 0; i < list.length; i++) {
        total += list[i]!.weight;
        cum[i] = total;
        if (list[i]!.weight !== list[0]!.weight) uniform = false;
      }
      c = { cum, total, uniform };
      this.cache.set(list, c);
    }
    this.last = list;
    this.lastCum = c;
    return c;
  }
}

/**
 * 32-bit hash of a string: FNV-1a over its UTF-16 code units, finished with murmur3's fmix32 so
 * that similar keys (tenant-1, tenant-2) land far apart. Not cryptographic: a client that picks
 * its own key can pick its target anyway.
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
