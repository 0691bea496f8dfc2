import { failureKind } from './failure.js';
import { UpstreamConfigError } from './targets.js';
import type { RetryBudget } from './retry-budget.js';

/**
 * Retries, decided per request by a small state machine:
 *
 *   const retry = policy.begin({ method, body: 'replayable', deadline });
 *   for (;;) {
 *     const target = balancer.pick(set.select(), key, retry.tried);   // a different target
 *     if (!target) break;
 *     retry.tried.add(target);
 *     ... send with a per-try timeout of retry.tryTimeoutMs() ...
 *     const d = failed ? retry.onError(classifyError(err, timedOut), requestSent)
 *                      : retry.onResponse(status, headers['retry-after']);
 *     if (!d.retry) break;                // d.reason says why (logs, metrics)
 *     await sleep(d.delayMs);             // backoff, or the backend's Retry-After
 *   }
 *
 * What may be retried (`on`): connect-failure (nothing reached the target), reset (the connection
 * broke), timeout (the per-try timeout), gateway-error (502, 503, 504), 5xx, or listed statuses.
 *
 * Whether it is safe: a request that never reached the target (a connect failure, or a reset
 * before the first byte was written) may be retried whatever its method; otherwise only
 * idempotent methods (RFC 9110 §9.2.2). Either way the body must be replayable: none, or
 * buffered; a streamed body has been consumed (undici destroys it when the request fails).
 *
 * Bounds: at most `maxRetries`; none once the request's deadline (the route's timeout) would
 * pass; none beyond the backend's retry budget; a Retry-After longer than `retryAfterMaxMs` means
 * "not now": the response goes to the client as it is, rather than holding the request.
 */

export type RetryOn = 'connect-failure' | 'reset' | 'timeout' | 'gateway-error' | '5xx' | number;
export type FailureKind = 'connect-failure' | 'reset' | 'timeout' | 'other';
export type BodyKind = 'none' | 'replayable' | 'stream';

export type NoRetry = 'not-retryable' | 'unsafe' | 'attempts-exhausted' | 'deadline' | 'budget-exhausted' | 'retry-after-too-long';
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: NoRetry };

export interface RetryOptions {
  /** retries after the first try */
  maxRetries: number;
  on: readonly RetryOn[];
  /** each try's own timeout (default: none, only the request's deadline) */
  perTryTimeoutMs?: number;
  /** the longest Retry-After honoured by waiting (default 1 s) */
  retryAfterMaxMs?: number;
  /** exponential backoff with full jitter: random × min(max, base × 2^retry) (defaults 25 ms, 250 ms, as Envoy) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** What kind of failure an undici error is, as retries see it. `timedOut`: our per-try timer aborted the request. */
export function classifyError(err: unknown, timedOut = false): 'connect-failure' | 'reset' | 'timeout' | 'other' {
  if (timedOut) return 'timeout';
  const kind = failureKind(err);
  return kind === 'tls' || kind === 'length-mismatch' || kind === 'no-healthy-target' ? 'other' : kind;
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date → ms from `now`; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class RetryPolicy {
  readonly maxRetries: number;
  readonly perTryTimeoutMs: number;
  readonly retryAfterMaxMs: number;
  private readonly on: ReadonlySet<RetryOn>;
  private readonly backoffBase: number;
  private readonly backoffMax: number;

  constructor(opts: RetryOptions, readonly budget?: RetryBudget, readonly random: () => number = Math.random) {
    if (!Number.isInteger(opts.maxRetries) || opts.maxRetries < 0 || opts.maxRetries > 10) throw new UpstreamConfigError('retries must be an integer 0..10');
    for (const o of opts.on) {
      const ok = typeof o === 'number' ? Number.isInteger(o) && o >= 400 && o <= 599 : ['connect-failure', 'reset', 'timeout', 'gateway-error', '5xx'].includes(o);
      if (!ok) throw new UpstreamConfigError(`"${o}" is not a retry condition: use connect-failure, reset, timeout, gateway-error, 5xx or a status 400..599`);
    }
    this.maxRetries = opts.maxRetries;
    this.on = new Set(opts.on);
    this.perTryTimeoutMs = opts.perTryTimeoutMs ?? Infinity;
    this.retryAfterMaxMs = opts.retryAfterMaxMs ?? 1000;
    this.backoffBase = opts.backoffBaseMs ?? 25;
    this.backoffMax = Math.max(opts.backoffMaxMs ?? this.backoffBase * 10, this.backoffBase);
    if (!(this.perTryTimeoutMs > 0) || !(this.retryAfterMaxMs >= 0) || !(this.backoffBase >= 0)) throw new UpstreamConfigError('retry times must be positive');
  }

  /** The retry state of one request; counts it toward the budget. `deadline`: epoch ms the whole request must end by. */
  begin<T = unknown>(req: { method: string; body: BodyKind; deadline?: number }): RetryState<T> {
    this.budget?.deposit();
    return new RetryState<T>(this, req.method.toUpperCase(), req.body, req.deadline ?? Infinity);
  }

  /** Is this status one to retry? */
  retriesStatus(status: number): boolean {
    if (this.on.has(status)) return true;
    if (status >= 500 && status <= 599 && this.on.has('5xx')) return true;
    return (status === 502 || status === 503 || status === 504) && this.on.has('gateway-error');
  }

  retriesFailure(kind: FailureKind): boolean {
    return kind !== 'other' && this.on.has(kind);
  }

  backoff(retry: number): number {
    return this.random() * Math.min(this.backoffMax, this.backoffBase * 2 ** retry);
  }
}

export class RetryState<T = unknown> {
  /** targets tried so far: pass as the balancer's `exclude` */
  readonly tried = new Set<T>();
  /** retries granted so far */
  retries = 0;

  constructor(private readonly policy: RetryPolicy, readonly method: string, readonly body: BodyKind, readonly deadline: number) {}

  /** The timeout for the next try: the per-try timeout, cut to the time left before the deadline (≤ 0: none left). */
  tryTimeoutMs(now = Date.now()): number {
    return Math.min(this.policy.perTryTimeoutMs, this.deadline - now);
  }

  /** After a try failed without a response. `requestSent`: some of the request was written. */
  onError(kind: FailureKind, requestSent: boolean, now = Date.now()): RetryDecision {
    if (!this.policy.retriesFailure(kind)) return { retry: false, reason: 'not-retryable' };
    if (this.body === 'stream') return { retry: false, reason: 'unsafe' };
    const neverReached = kind === 'connect-failure' || !requestSent;
    if (!neverReached && !IDEMPOTENT.has(this.method)) return { retry: false, reason: 'unsafe' };
    return this.grant(this.policy.backoff(this.retries), now);
  }

  /** After a try answered `status` (the caller discards its body when the decision is to retry). */
  onResponse(status: number, retryAfter?: string, now = Date.now()): RetryDecision {
    if (!this.policy.retriesStatus(status)) return { retry: false, reason: 'not-retryable' };
    if (this.body === 'stream' || !IDEMPOTENT.has(this.method)) return { retry: false, reason: 'unsafe' };
    const after = parseRetryAfter(retryAfter, now);
    if (after !== undefined && after > this.policy.retryAfterMaxMs) return { retry: false, reason: 'retry-after-too-long' };
    return this.grant(after ?? this.policy.backoff(this.retries), now);
  }

  private grant(delayMs: number, now: number): RetryDecision {
    if (this.retries >= this.policy.maxRetries) return { retry: false, reason: 'attempts-exhausted' };
    if (now + delayMs >= this.deadline) return { retry: false, reason: 'deadline' };
    if (this.policy.budget !== undefined && !this.policy.budget.tryWithdraw()) return { retry: false, reason: 'budget-exhausted' };
    this.retries++;
    return { retry: true, delayMs };
  }
}
