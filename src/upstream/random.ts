import { without, type Balancer, type Pickable } from './balancer.js';
import { WeightedSampler } from './weights.js';

/** Random, weighted: each target with probability weight / total weight. */
export class WeightedRandom<T extends Pickable> implements Balancer<T> {
  readonly kind = 'random' as const;
  private readonly sampler = new WeightedSampler<T>();

  constructor(private readonly random: () => number) {}

  pick(targets: readonly T[], _key?: string, exclude?: ReadonlySet<T>): T | undefined {
    const list = without(targets, exclude);
    if (list.length <= 1) return list[0];
    return list[this.sampler.index(list, this.random())];
  }
}
