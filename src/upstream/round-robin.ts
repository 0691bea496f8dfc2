import type { Balancer, Pickable } from './balancer.js';

/**
 * Smooth weighted round robin (nginx's `ngx_http_upstream_get_peer`): every pick adds each
 * target's weight to its current weight, takes the target with the highest current weight and
 * subtracts the total from it. Weights 5, 1, 1 give a a b a c a a: the heavy target's turns are
 * spread out instead of bunched, and over any total-weight picks each target gets exactly its
 * weight.
 *
 * The sequence repeats every total-weight picks, so it is computed once per healthy list (lists
 * are immutable; a health change makes a new one) and a pick is one array read: O(1) however many
 * targets. Lists whose schedule would be costly to build (targets × total weight > 4M) and retries
 * (`exclude`, skipped as nginx skips the peers a request already tried) run the algorithm itself.
 */

const MAX_BUILD = 4_000_000;

interface Schedule {
  /** positions in the list, one period of the sequence */
  order: Int32Array;
  cursor: number;
}

export class SmoothRoundRobin<T extends Pickable> implements Balancer<T> {
  readonly kind = 'round-robin' as const;
  /** current weight per Target.index, for the direct algorithm */
  private current = new Float64Array(8);
  private last: readonly T[] | undefined;
  private lastSchedule: Schedule | null = null;
  private readonly schedules = new WeakMap<readonly T[], Schedule | null>();

  pick(targets: readonly T[], _key?: string, exclude?: ReadonlySet<T>): T | undefined {
    if (exclude !== undefined && exclude.size > 0) return this.direct(targets, exclude);
    if (targets.length <= 1) return targets[0];
    const s = targets === this.last ? this.lastSchedule : this.scheduleFor(targets);
    if (s === null) return this.direct(targets, undefined);
    const t = targets[s.order[s.cursor]!]!;
    s.cursor = s.cursor + 1 === s.order.length ? 0 : s.cursor + 1;
    return t;
  }

  private direct(targets: readonly T[], exclude: ReadonlySet<T> | undefined): T | undefined {
    let best: T | undefined;
    let bestCurrent = -Infinity;
    let total = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (exclude !== undefined && exclude.has(t)) continue;
      if (t.index >= this.current.length) this.grow(t.index);
      const c = (this.current[t.index]! += t.weight);
      total += t.weight;
      if (c > bestCurrent) {
        best = t;
        bestCurrent = c;
      }
    }
    if (best !== undefined) this.current[best.index]! -= total;
    return best;
  }

  private scheduleFor(targets: readonly T[]): Schedule | null {
    let s = this.schedules.get(targets);
    if (s === undefined) {
      s = buildSchedule(targets);
      this.schedules.set(targets, s);
    }
    this.last = targets;
    this.lastSchedule = s;
    return s;
  }

  private grow(index: number): void {
    const next = new Float64Array(Math.max(index + 1, this.current.length * 2));
    next.set(this.current);
    this.current = next;
  }
}

/** One period of the smooth sequence (null when too costly to build). */
function buildSchedule(targets: readonly Pickable[]): Schedule | null {
  let total = 0;
  for (const t of targets) total += t.weight;
  if (total * targets.length > MAX_BUILD) return null;
  const current = new Float64Array(targets.length);
  const order = new Int32Array(total);
  for (let k = 0; k < total; k++) {
    let best = 0;
    for (let i = 0; i < targets.length; i++) {
      current[i]! += targets[i]!.weight;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    order[k] = best;
  }
  return { order, cursor: 0 };
}
