import { Dispatcher, type Agent } from 'undici';
import type { Duplex } from 'node:stream';
import type { Balancer } from './balancer.js';
import type { OutlierDetector } from './outlier.js';
import type { Target, TargetSet } from './targets.js';

/**
 * A backend with several targets (or health checks) as one undici Dispatcher: each request goes
 * to a healthy target that the balancer picks, with the target's base path and Host; requests in
 * flight are counted per target (least-request reads them) and every outcome is reported
 * (outlier detection ejects a target that keeps failing; metrics count per target).
 *
 * What the caller may say per request, as extra dispatch options:
 * - `hashKey`: the consistent-hash key (the rendered `hash-key` template);
 * - `tried`: targets already tried by this request's retries (not picked again while others remain).
 */
export interface BalancedDispatchOptions extends Dispatcher.DispatchOptions {
  hashKey?: string;
  tried?: Set<Target>;
  /** keep the client's Host (preserve-host) instead of the target's */
  keepHost?: boolean;
  /** @internal the request's path before a target's base path was prepended */
  ownPath?: string;
}

/** Every target of the backend is unhealthy or ejected. */
export class NoHealthyTarget extends Error {
  readonly code = 'UPSTREAM_NO_HEALTHY_TARGET';
  constructor() { super('no healthy target'); }
}

export type OutcomeReport = (target: Target, failed: boolean, status: number | undefined, ms: number) => void;

/** Forwards every callback to the caller's handler (undici's request/upgrade handlers), and reports the outcome once. */
class Outcome {
  private status: number | undefined = undefined;
  private reported = false;
  private readonly start = performance.now();

  constructor(private readonly inner: LegacyHandler, private readonly target: Target, private readonly report: OutcomeReport) {}

  onConnect(abort: (err?: Error) => void, context?: unknown): void { this.inner.onConnect?.(abort, context); }
  onHeaders(status: number, raw: Buffer[], resume: () => void, message?: string): boolean {
    this.status = status;
    return this.inner.onHeaders!(status, raw, resume, message);
  }
  onData(chunk: Buffer): boolean { return this.inner.onData!(chunk); }
  onComplete(trailers: string[] | null): void { this.once(this.status !== undefined && this.status >= 500); this.inner.onComplete!(trailers); }
  onError(err: Error): void { this.once(true); this.inner.onError!(err); }
  onUpgrade(status: number, raw: Buffer[] | string[] | null, socket: Duplex): void { this.once(false); this.inner.onUpgrade!(status, raw, socket); }
  onBodySent(chunk: unknown): void { this.inner.onBodySent?.(chunk); }
  onResponseStarted(): void { this.inner.onResponseStarted?.(); }

  private once(failed: boolean): void {
    if (this.reported) return;
    this.reported = true;
    this.target.outstanding--;
    this.report(this.target, failed, this.status, performance.now() - this.start);
  }
}

/** The callbacks of undici's own handlers (request, upgrade): the older, direct style. */
interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void, context?: unknown): void;
  onHeaders?(status: number, raw: Buffer[], resume: () => void, message?: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
  onUpgrade?(status: number, raw: Buffer[] | string[] | null, socket: Duplex): void;
  onBodySent?(chunk: unknown): void;
  onResponseStarted?(): void;
}

export class BalancedDispatcher extends Dispatcher {
  constructor(
    private readonly set: TargetSet,
    private readonly balancer: Balancer<Target>,
    private readonly agent: Agent,
    private readonly report: OutcomeReport,
    private readonly outlier?: OutlierDetector,
  ) {
    super();
  }

  override dispatch(opts: BalancedDispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const tried = opts.tried;
    const target = this.balancer.pick(this.set.select(), opts.hashKey, tried);
    if (target === undefined) throw new NoHealthyTarget();
    tried?.add(target);
    target.outstanding++;
    // the request's own path, kept across retries (each try goes to its target's base path)
    const own = (opts.ownPath ??= opts.path);
    const base = target.url.pathname;
    opts.path = base === '/' ? own : base.replace(/\/$/, '') + own;
    opts.origin = target.origin;
    if (!opts.keepHost) (opts.headers as Record<string, string>).host = target.url.host;
    const outcome = new Outcome(handler as unknown as LegacyHandler, target, this.onOutcome);
    return this.agent.dispatch(opts, outcome as unknown as Dispatcher.DispatchHandler);
  }

  private readonly onOutcome: OutcomeReport = (t, failed, status, ms) => {
    if (this.outlier) {
      if (failed) this.outlier.failure(t);
      else this.outlier.success(t);
    }
    this.report(t, failed, status, ms);
  };

  override close(): Promise<void> {
    return this.agent.close();
  }

  override destroy(): Promise<void> {
    return this.agent.destroy();
  }
}
