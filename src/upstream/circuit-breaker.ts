import { Admission, type Cancellable } from './admission.js';
import { UpstreamConfigError } from './targets.js';

/**
 * A backend's circuit breaker, as Envoy's: counters with limits, not a state machine. Requests
 * in flight (dispatched to the backend's targets) are bounded by `maxRequests` and, over HTTP/1.1
 * where a connection carries one request at a time, by `maxConnections`; requests beyond that
 * wait in a FIFO queue of at most `maxPending` for at most `pendingTimeoutMs` (the Admission
 * queue). Over a limit the answer is immediate: a refusal with its reason, which the gateway
 * answers with 503 `upstream-overloaded`; never a queue that grows without bound.
 *
 *   const r = breaker.acquire(signal);
 *   const admitted = typeof r === 'string' ? r : await r;     // fast path: no promise
 *   if (admitted !== 'ok') return overloaded(admitted);
 *   try { ... dispatch ... } finally { breaker.release(); }   // exactly once per 'ok'
 *
 * The undici pool behind the backend is sized to match (`connections: maxConnections` per
 * target origin), so idle keep-alive connections are bounded there and busy ones here.
 */

export type BreakerRefusal = 'max-connections' | 'max-requests' | 'max-pending' | 'pending-timeout' | 'aborted';

export interface BreakerLimits {
  maxConnections: number;
  maxRequests: number;
  maxPending: number;
  pendingTimeoutMs: number;
  /** HTTP/2 to the backend: requests share connections, so maxRequests alone bounds requests in flight */
  multiplexed?: boolean;
}

export interface BreakerStats {
  active: number;
  pending: number;
  refused: Record<BreakerRefusal, number>;
}

export class BackendBreaker {
  private readonly admission: Admission;
  /** the limit that bounds requests in flight */
  private readonly bound: 'max-connections' | 'max-requests';
  private readonly refused: Record<BreakerRefusal, number> = { 'max-connections': 0, 'max-requests': 0, 'max-pending': 0, 'pending-timeout': 0, aborted: 0 };
  private readonly settle = (r: 'ok' | 'queue-timeout' | 'aborted' | 'queue-full'): 'ok' | BreakerRefusal => (r === 'ok' ? 'ok' : this.refuse(r));

  constructor(readonly limits: BreakerLimits) {
    for (const k of ['maxConnections', 'maxRequests'] as const) {
      if (!Number.isInteger(limits[k]) || limits[k] < 1) throw new UpstreamConfigError(`${k === 'maxConnections' ? 'max-connections' : 'max-requests'} must be a positive integer`);
    }
    if (!Number.isInteger(limits.maxPending) || limits.maxPending < 0) throw new UpstreamConfigError('max-pending must be an integer ≥ 0');
    if (!(limits.pendingTimeoutMs > 0)) throw new UpstreamConfigError('the pending timeout must be positive');
    const slots = limits.multiplexed ? limits.maxRequests : Math.min(limits.maxConnections, limits.maxRequests);
    this.bound = !limits.multiplexed && limits.maxConnections <= limits.maxRequests ? 'max-connections' : 'max-requests';
    this.admission = new Admission(slots, limits.maxPending, limits.pendingTimeoutMs);
  }

  /** A slot for one request: 'ok' at once when one is free, a refusal at once when the queue is full, else a bounded wait. */
  acquire(signal?: Cancellable): 'ok' | BreakerRefusal | Promise<'ok' | BreakerRefusal> {
    const r = this.admission.acquire(signal);
    if (r === 'ok') return 'ok';
    if (r === 'queue-full') return this.refuse(r);
    return r.then(this.settle);
  }

  /** Give the slot back: exactly once per 'ok'. */
  release(): void {
    this.admission.release();
  }

  get active(): number {
    return this.admission.active;
  }

  get pending(): number {
    return this.admission.pending;
  }

  stats(): BreakerStats {
    return { active: this.active, pending: this.pending, refused: { ...this.refused } };
  }

  private refuse(r: 'queue-full' | 'queue-timeout' | 'aborted'): BreakerRefusal {
    const reason: BreakerRefusal = r === 'queue-timeout' ? 'pending-timeout' : r === 'aborted' ? 'aborted' : this.limits.maxPending === 0 ? this.bound : 'max-pending';
    this.refused[reason]++;
    return reason;
  }
}
