/**
 * Counter stores for rate limits and quotas. `memory` is the embedded default; `redis://` and
 * `redis-cluster://` share counters between gateway processes. The throttling policies define
 * the operations they need here.
 */
export interface CounterStore {
  readonly kind: string;
  /** resolves once the store can answer (or has given up trying and falls back per policy) */
  ready(): boolean;
  close(): Promise<void>;
}
