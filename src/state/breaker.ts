/**
 * Circuit breaker for a remote store: after `threshold` consecutive failures the circuit opens
 * and calls fail at once (no waiting on a dead store). After `cooldownMs` one probe call is let
 * through (half-open); its success closes the circuit, its failure re-opens it. The connection
 * itself reports up/down (`down()` opens at once, `up()` closes), so recovery needs no traffic.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  /** closed = calls flow */
  private closed = true;

  constructor(
    private readonly threshold = 3,
    private readonly cooldownMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly onChange: (open: boolean) => void = () => {},
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** May a call go out now? In half-open state only one probe at a time. */
  allow(): boolean {
    if (this.closed) return true;
    if (this.probing || this.now() < this.openUntil) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (!this.closed) {
      this.closed = true;
      this.onChange(false);
    }
  }

  failure(): void {
    this.probing = false;
    if (!this.closed) {
      this.openUntil = this.now() + this.cooldownMs;
      return;
    }
    if (++this.failures >= this.threshold) this.open();
  }

  /** The connection went away: open now. */
  down(): void {
    this.probing = false;
    this.openUntil = this.now() + this.cooldownMs;
    if (this.closed) this.open();
  }

  /** The connection is (back) up: close now. */
  up(): void {
    this.success();
  }

  private open(): void {
    this.closed = false;
    this.openUntil = this.now() + this.cooldownMs;
    this.onChange(true);
  }
}
