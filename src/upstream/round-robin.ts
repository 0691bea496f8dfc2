import type { Balancer, Pickable } from './balancer.js';

/**
 * Smooth weighted round robin (nginx's `ngx_http_upstream_get_peer`): every pick adds each
 * target's weight to its current weight, takes the target with the highest current weight and
 * subtracts the total from it. Weights 5, 1, 1 give a a b a c a a: the heavy target's turns are
 * spread out instead of bunched, and over any total-weight picks each target gets exactly its
 * weight. Excluded targets are skipped as nginx skips the peers a request already tried.
 */
export class SmoothRoundRobin<T extends Pickable> implements Balancer<T> {
  readonly kind = 'round-robin' as const;
  /** current weight per Target.index */
  private current = new Float64Array(8);

  pick(targets: readonly T[], _key?: string, exclude?: ReadonlySet<T>): T | undefined {
    if (targets.length === 1) return exclude?.has(targets[0]!) ? undefined : targets[0];
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

  private grow(index: number): void {
    const next = new Float64Array(Math.max(index + 1, this.current.length * 2));
    next.set(this.current);
    this.current = next;
  }
}
