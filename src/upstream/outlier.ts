import { UpstreamConfigError, type Target, type TargetSet } from './targets.js';

/**
 * Passive health (outlier detection, as Envoy's consecutive_5xx): live traffic reports each
 * target's results; `consecutiveFailures` failures in a row eject the target, at once, for
 * `baseEjection × n` where n counts its ejections (so a target that keeps failing stays out
 * longer each time, up to `maxEjection`); one ejection is forgiven per `decay` without one. The
 * target returns when its time is up (the target set reads its clock lazily: no timer).
 *
 * At most `maxEjectedPercent` of the backend's targets are ejected at once, rounded down: with
 * 50 % of 2 targets one may be ejected, and a backend of one target is never ejected (as nginx
 * ignores max_fails for a single server): failing fast with 503 would not help it.
 *
 * What counts as a failure is the caller's choice: connect failures, resets, timeouts and 5xx
 * responses (the gateway's problem answers for the backend, not the client's 4xx).
 */

export interface OutlierOptions {
  /** failures in a row that eject a target (default 5) */
  consecutiveFailures?: number;
  /** first ejection's length (default 30 s) */
  baseEjectionMs?: number;
  /** the longest ejection (default max(300 s, base)) */
  maxEjectionMs?: number;
  /** the most targets ejected at once, in percent of the backend's targets (default 10) */
  maxEjectedPercent?: number;
  /** one past ejection is forgiven per this much time without ejection (default: base ejection) */
  decayMs?: number;
}

export type OutlierEvent =
  | { kind: 'ejected'; target: Target; durationMs: number; ejections: number }
  | { kind: 'not-ejected'; target: Target; reason: 'max-ejected' };

interface State {
  consecutive: number;
  /** ejections counted for the next duration (decays) */
  ejections: number;
  /** when the last ejection ended (or was due to end) */
  lastEnd: number;
}

export class OutlierDetector {
  private readonly threshold: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxEjected: number;
  private readonly decayMs: number;
  private readonly states: State[];

  constructor(private readonly set: TargetSet, opts: OutlierOptions = {}, private readonly onEvent?: (e: OutlierEvent) => void) {
    this.threshold = opts.consecutiveFailures ?? 5;
    this.baseMs = opts.baseEjectionMs ?? 30_000;
    this.maxMs = Math.max(opts.maxEjectionMs ?? 300_000, this.baseMs);
    const pct = opts.maxEjectedPercent ?? 10;
    this.decayMs = opts.decayMs ?? this.baseMs;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) throw new UpstreamConfigError('consecutive-failures must be a positive integer');
    if (!(this.baseMs > 0) || !(this.decayMs > 0)) throw new UpstreamConfigError('ejection times must be positive');
    if (!(pct >= 0 && pct <= 100)) throw new UpstreamConfigError('max-ejected must be between 0 % and 100 %');
    this.maxEjected = Math.floor((set.all.length * pct) / 100 + 1e-9);
    this.states = set.all.map(() => ({ consecutive: 0, ejections: 0, lastEnd: 0 }));
    set.onHealthChange((t, healthy, cause) => {
      if (cause === 'passive' && healthy) this.states[t.index]!.consecutive = 0;
    });
  }

  /** A good result from `t` (a response the backend meant). */
  success(t: Target): void {
    this.states[t.index]!.consecutive = 0;
  }

  /** A failed result from `t`; may eject it. Results from an ejected target (requests in flight when it was ejected) are ignored. */
  failure(t: Target): void {
    this.set.refresh();
    if (t.ejected) return;
    const s = this.states[t.index]!;
    if (++s.consecutive < this.threshold) return;
    s.consecutive = 0;
    if (this.set.ejected + 1 > this.maxEjected) {
      this.onEvent?.({ kind: 'not-ejected', target: t, reason: 'max-ejected' });
      return;
    }
    const now = this.set.now();
    if (s.ejections > 0 && s.lastEnd > 0) s.ejections = Math.max(0, s.ejections - Math.floor(Math.max(0, now - s.lastEnd) / this.decayMs));
    s.ejections++;
    const durationMs = Math.min(this.baseMs * s.ejections, this.maxMs);
    s.lastEnd = now + durationMs;
    this.set.eject(t, now + durationMs);
    this.onEvent?.({ kind: 'ejected', target: t, durationMs, ejections: s.ejections });
  }

  /** Let `t` back before its time (e.g. an active probe just succeeded, as Envoy does by default). */
  uneject(t: Target): void {
    if (!t.ejected) return;
    this.states[t.index]!.lastEnd = this.set.now();
    this.set.uneject(t);
  }

  /** Ejections that count toward `t`'s next ejection length. */
  ejections(t: Target): number {
    return this.states[t.index]!.ejections;
  }
}
