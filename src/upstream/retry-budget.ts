import { UpstreamConfigError } from './targets.js';

/**
 * A retry budget (Finagle's RetryBudget; Envoy's retry_budget has the same intent): retries may
 * add at most `percent` % to the requests of the last `window`, plus a small reserve of
 * `minPerSecond` retries per second so that a backend with little traffic can still retry.
 * During an outage every request fails, and without a budget each one would be retried
 * `attempts` times, multiplying the load on a backend that is already failing; with one, the
 * backend sees at most (1 + percent/100) × the offered load, plus the reserve.
 *
 * Counted in ten buckets over the window, so the cost per call is constant.
 */

export interface RetryBudgetOptions {
  /** retries allowed as a share of original requests, in percent (e.g. 20) */
  percent: number;
  /** retries per second always allowed (default 10, Finagle's default) */
  minPerSecond?: number;
  /** how far back requests and retries are counted (default 10 s) */
  windowMs?: number;
  now?: () => number;
}

const BUCKETS = 10;

export class RetryBudget {
  private readonly ratio: number;
  private readonly reserve: number;
  private readonly bucketMs: number;
  private readonly now: () => number;
  private readonly deposits = new Float64Array(BUCKETS);
  private readonly withdrawals = new Float64Array(BUCKETS);
  private bucket = 0;
  private bucketStart: number;

  constructor(opts: RetryBudgetOptions) {
    const windowMs = opts.windowMs ?? 10_000;
    const minPerSecond = opts.minPerSecond ?? 10;
    if (!(opts.percent >= 0 && opts.percent <= 1000)) throw new UpstreamConfigError('retry budget must be between 0 % and 1000 %');
    if (!(minPerSecond >= 0) || !(windowMs >= 1000 && windowMs <= 600_000)) throw new UpstreamConfigError('retry budget reserve must be ≥ 0 and its window 1 s..10 min');
    this.ratio = opts.percent / 100;
    this.reserve = (minPerSecond * windowMs) / 1000;
    this.bucketMs = windowMs / BUCKETS;
    this.now = opts.now ?? Date.now;
    this.bucketStart = this.now();
  }

  /** An original request (not a retry) was sent: it earns `percent` % of a retry. */
  deposit(): void {
    this.advance();
    this.deposits[this.bucket]!++;
  }

  /** May a retry go now? Counts it when it may. */
  tryWithdraw(): boolean {
    this.advance();
    if (this.balance() < 1) return false;
    this.withdrawals[this.bucket]!++;
    return true;
  }

  /** Retries available now. */
  balance(): number {
    this.advance();
    let d = 0, w = 0;
    for (let i = 0; i < BUCKETS; i++) {
      d += this.deposits[i]!;
      w += this.withdrawals[i]!;
    }
    return d * this.ratio + this.reserve - w;
  }

  private advance(): void {
    const steps = Math.floor((this.now() - this.bucketStart) / this.bucketMs);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.deposits[this.bucket] = 0;
      this.withdrawals[this.bucket] = 0;
    }
    this.bucketStart += steps * this.bucketMs;
  }
}
