/**
 * Counter stores for rate limits and quotas. `memory` is the embedded default; `redis://` and
 * `redis-cluster://` share counters between gateway processes.
 *
 * Every operation is one atomic decision: the memory store answers synchronously, the Redis
 * stores answer with a Promise (one round trip, one Lua script). A store never throws and never
 * rejects: when it cannot answer (Redis down, timeout, circuit open) it returns `null`, and the
 * policy applies its `on-store-error`.
 */
export interface CounterStore {
  readonly kind: 'memory' | 'redis' | 'redis-cluster';
  /** true while the store can answer (memory: always; Redis: connected and circuit closed) */
  ready(): boolean;
  /** true once the store has been ready at least once (memory: always) */
  started(): boolean;
  close(): Promise<void>;

  /**
   * Sliding-window log (rate-limit-by-key): admit `weight` units under `key` when the units
   * admitted in the last `periodMs` plus `weight` stay within `limit`.
   */
  slidingHit(key: string, limit: number, periodMs: number, weight: number): MaybeAsync<SlidingDecision | null>;
  /** Take back the units admitted by `slidingHit` (the refund of a request that does not count). */
  slidingRefund(key: string, periodMs: number, token: string): MaybeAsync<void>;

  /**
   * Fixed-period quota (quota-by-key): admit when the calls so far plus `addCalls` stay within
   * `limits.calls`, and the bytes so far are below `limits.bytes`. The period is the one that
   * contains the store's `now`; `periodMs` 0 is a lifetime quota.
   */
  quotaHit(key: string, limits: QuotaLimits, addCalls: number): MaybeAsync<QuotaDecision | null>;
  /** Add (or with negative calls, refund) usage to the period `period` returned by quotaHit. */
  quotaAdd(key: string, limits: QuotaLimits, period: number, calls: number, bytes: number): MaybeAsync<void>;
}

export type MaybeAsync<T> = T | Promise<T>;

export interface SlidingDecision {
  allowed: boolean;
  /** units counted in the window after this decision */
  used: number;
  /**
   * allowed: ms until the oldest counted unit leaves the window (RateLimit `t`);
   * rejected: ms until enough units leave the window for this request to be admitted
   * (Infinity when `weight` exceeds `limit`: it never will be)
   */
  waitMs: number;
  /** identifies the admitted units for slidingRefund ('' when rejected or weight 0) */
  token: string;
}

export interface QuotaLimits {
  /** max calls per period (undefined: not limited) */
  calls: number | undefined;
  /** max bytes per period (undefined: not limited) */
  bytes: number | undefined;
  /** period length in ms; 0 = lifetime (never renews) */
  periodMs: number;
  /** epoch ms that periods are aligned to (`first-period-start`) */
  anchorMs: number;
}

export interface QuotaDecision {
  allowed: boolean;
  /** calls counted in this period after this decision */
  calls: number;
  /** bytes counted in this period */
  bytes: number;
  /** ms until the period renews (Infinity for a lifetime quota) */
  resetMs: number;
  /** the period index, passed back to quotaAdd */
  period: number;
}

/** Period index that contains `now` (0 for lifetime quotas). */
export function periodIndex(now: number, l: QuotaLimits): number {
  return l.periodMs === 0 ? 0 : Math.floor((now - l.anchorMs) / l.periodMs);
}

/** ms from `now` until period `p` ends (Infinity for lifetime quotas). */
export function periodEnd(p: number, l: QuotaLimits): number {
  return l.periodMs === 0 ? Infinity : l.anchorMs + (p + 1) * l.periodMs;
}
