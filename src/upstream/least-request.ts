import { without, type Balancer, type Pickable } from './balancer.js';
import { WeightedSampler } from './weights.js';

/**
 * Least outstanding requests with the power of two choices (Envoy's least_request, Mitzenmacher):
 * draw two targets, weighted, and take the one with fewer requests in flight per unit of weight.
 * Two random choices avoid the herd that "the least loaded of all" causes when every gateway
 * replica sees the same idle target, and cost O(log n) instead of O(n).
 *
 * Weights are respected twice: in the draw, and in the comparison (outstanding / weight). When
 * both are equally loaded (an idle backend) the first draw wins, so idle traffic splits exactly
 * by weight.
 */
export class LeastRequest<T extends Pickable> implements Balancer<T> {
  readonly kind = 'least-request' as const;
  private readonly sampler = new WeightedSampler<T>();

  constructor(private readonly random: () => number) {}

  pick(targets: readonly T[], _key?: string, exclude?: ReadonlySet<T>): T | undefined {
    const list = without(targets, exclude);
    if (list.length <= 1) return list[0];
    const a = list[this.sampler.index(list, this.random())]!;
    const b = list[this.sampler.index(list, this.random())]!;
    return b.outstanding * a.weight < a.outstanding * b.weight ? b : a;
  }
}
