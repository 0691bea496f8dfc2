import { without, type Balancer, type Pickable } from './balancer.js';
import { WeightedSampler, hash32 } from './weights.js';

/**
 * Consistent hashing with a Maglev lookup table (Eisenbud et al., NSDI 2016; Envoy's maglev_lb):
 * each target fills the table's slots in the order of its own permutation (offset and skip from
 * two hashes of its id), weighted as Envoy does (a target with half the maximum weight gets a turn
 * every second round). A key maps to `table[hash(key) % M]`: one hash and one array read.
 *
 * Minimal disruption: when a target leaves, its slots are refilled by the others and almost every
 * other slot keeps its target, so about 1/N of the keys move (tested). Targets are identified by
 * their id (the URL), so every gateway replica builds the same table.
 *
 * With `exclude` (a retry) the walk continues to the next slots until a target not excluded, which
 * keeps the retry target consistent per key too. Without a key, a weighted random pick.
 */
export class Maglev<T extends Pickable> implements Balancer<T> {
  readonly kind = 'consistent-hash' as const;
  private readonly size: number;
  private readonly sampler = new WeightedSampler<T>();
  private last: readonly T[] | undefined;
  private lastTable: Int32Array | undefined;
  private readonly tables = new WeakMap<readonly T[], Int32Array>();

  constructor(tableSize = 65537, private readonly random: () => number = Math.random) {
    if (!isPrime(tableSize) || tableSize < 7 || tableSize > 5_000_011) throw new RangeError('the Maglev table size must be a prime between 7 and 5000011');
    this.size = tableSize;
  }

  pick(targets: readonly T[], key?: string, exclude?: ReadonlySet<T>): T | undefined {
    if (targets.length === 0) return undefined;
    if (key === undefined) {
      const list = without(targets, exclude);
      return list.length <= 1 ? list[0] : list[this.sampler.index(list, this.random())];
    }
    const table = targets === this.last ? this.lastTable! : this.tableFor(targets);
    let slot = hash32(key) % this.size;
    if (exclude === undefined || exclude.size === 0) return targets[table[slot]!];
    if (targets.every((t) => exclude.has(t))) return undefined;
    for (;;) {
      const t = targets[table[slot]!]!;
      if (!exclude.has(t)) return t;
      slot = slot + 1 === this.size ? 0 : slot + 1;
    }
  }

  private tableFor(targets: readonly T[]): Int32Array {
    let table = this.tables.get(targets);
    if (table === undefined) {
      table = buildTable(targets, this.size);
      this.tables.set(targets, table);
    }
    this.last = targets;
    this.lastTable = table;
    return table;
  }
}

/** The Maglev table: slot → position in `targets`. */
export function buildTable(targets: readonly Pickable[], size: number): Int32Array {
  const n = targets.length;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    offset[i] = hash32(targets[i]!.id, 0x9e3779b9) % size;
    skip[i] = (hash32(targets[i]!.id, 0x7f4a7c15) % (size - 1)) + 1;
    maxWeight = Math.max(maxWeight, targets[i]!.weight);
  }
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      // a target of weight w takes a turn in w/max of the rounds
      credit[i]! += targets[i]!.weight;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      let c = (offset[i]! + skip[i]! * next[i]!) % size;
      while (table[c] !== -1) {
        next[i]!++;
        c = (offset[i]! + skip[i]! * next[i]!) % size;
      }
      table[c] = i;
      next[i]!++;
      filled++;
    }
  }
  return table;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
