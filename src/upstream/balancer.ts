/**
 * Balancers: one interface, four algorithms, each in its own file.
 *
 *   const b = createBalancer('round-robin');
 *   const t = b.pick(set.select(), key);            // undefined: no healthy target
 *   const retryTo = b.pick(set.select(), key, tried); // never one of `tried`
 *
 * A balancer sees only the list it is given (the target set's healthy view of one priority
 * level); health, ejection and priorities are decided before. Lists are treated as immutable:
 * per-list state (cumulative weights, the Maglev table) is cached by the list's identity, and
 * per-target state (smooth round robin's current weights) by `Target.index`.
 */
import { SmoothRoundRobin } from './round-robin.js';
import { LeastRequest } from './least-request.js';
import { WeightedRandom } from './random.js';
import { Maglev } from './maglev.js';

/** What a balancer needs of a target (`Target` has it; tests use plain objects). */
export interface Pickable {
  /** stable identity (the URL): consistent hashing hashes it */
  readonly id: string;
  /** stable small integer, unique within the set */
  readonly index: number;
  /** relative share, > 0 */
  readonly weight: number;
  /** requests in flight to it (least-request) */
  readonly outstanding: number;
}

export type BalancerKind = 'round-robin' | 'least-request' | 'random' | 'consistent-hash';
export const BALANCER_KINDS: readonly BalancerKind[] = ['round-robin', 'least-request', 'random', 'consistent-hash'];

export interface Balancer<T extends Pickable = Pickable> {
  readonly kind: BalancerKind;
  /**
   * A target of `targets` (undefined when the list is empty or every target is in `exclude`).
   * `key` matters to consistent hashing only; without one it picks at random (weighted).
   * `exclude` is for retries: the targets already tried.
   */
  pick(targets: readonly T[], key?: string, exclude?: ReadonlySet<T>): T | undefined;
}

export interface BalancerOptions {
  /** uniform in [0, 1) (tests inject a seeded one) */
  random?: () => number;
  /** consistent-hash: Maglev lookup table size, a prime (default 65537, as Envoy) */
  tableSize?: number;
}

export function createBalancer<T extends Pickable>(kind: BalancerKind, opts: BalancerOptions = {}): Balancer<T> {
  const random = opts.random ?? Math.random;
  switch (kind) {
    case 'round-robin': return new SmoothRoundRobin<T>();
    case 'least-request': return new LeastRequest<T>(random);
    case 'random': return new WeightedRandom<T>(random);
    case 'consistent-hash': return new Maglev<T>(opts.tableSize, random);
  }
}

/** The targets of `targets` not in `exclude` (the retry path only: it allocates). */
export function without<T>(targets: readonly T[], exclude: ReadonlySet<T> | undefined): readonly T[] {
  if (exclude === undefined || exclude.size === 0) return targets;
  return targets.filter((t) => !exclude.has(t));
}
