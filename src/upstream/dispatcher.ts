import { DecoratorHandler, Dispatcher, type Agent } from 'undici';
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
}

/** Every target of the backend is unhealthy or ejected. */
export class NoHealthyTarget extends Error {
  readonly code = 'UPSTREAM_NO_HEALTHY_TARGET';
  constructor() { super('no healthy target'); }
}

export type OutcomeReport = (target: Target, failed: boolean, status: number | undefined, ms: number) => void;

type Forwarding = Required<Pick<Dispatcher.DispatchHandler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>>;
type HeaderMap = Record<string, string | string[] | undefined>;

/** Forwards every callback to the caller's handler, and reports the outcome once. */
class Outcome implements Dispatcher.DispatchHandler {
  private readonly inner: Forwarding;
  private status: number | undefined = undefined;
  private reported = false;
  private readonly start = performance.now();

  constructor(handler: Dispatcher.DispatchHandler, private readonly target: Target, private readonly report: OutcomeReport) {
    // any handler style → the controller API
    this.inner = new DecoratorHandler(handler) as unknown as Forwarding;
  }
  onRequestStart(c: Dispatcher.DispatchController, ctx: unknown) { this.inner.onRequestStart(c, ctx); }
  onRequestUpgrade(c: Dispatcher.DispatchController, s: number, h: HeaderMap, socket: Duplex) { this.once(false); this.inner.onRequestUpgrade(c, s, h, socket); }
  onResponseStart(c: Dispatcher.DispatchController, status: number, h: HeaderMap, msg?: string) {
    this.status = status;
    this.inner.onResponseStart(c, status, h, msg);
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer) { this.inner.onResponseData(c, chunk); }
  onResponseEnd(c: Dispatcher.DispatchController, trailers: HeaderMap) { this.once(this.status !== undefined && this.status >= 500); this.inner.onResponseEnd(c, trailers); }
  onResponseError(c: Dispatcher.DispatchController, err: Error) { this.once(true); this.inner.onResponseError(c, err); }
  private once(failed: boolean) {
    if (this.reported) return;
    this.reported = true;
    this.target.outstanding--;
    this.report(this.target, failed, this.status, performance.now() - this.start);
  }
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
    const base = target.url.pathname;
    const path = base === '/' ? opts.path : base.replace(/\/$/, '') + opts.path;
    const headers = opts.keepHost ? opts.headers : { ...(opts.headers as Record<string, string>), host: target.url.host };
    return this.agent.dispatch({ ...opts, origin: target.origin, path, headers }, new Outcome(handler, target, (t, failed, status, ms) => {
      if (this.outlier) {
        if (failed) this.outlier.failure(t);
        else this.outlier.success(t);
      }
      this.report(t, failed, status, ms);
    }));
  }

  override close(): Promise<void> {
    return this.agent.close();
  }

  override destroy(): Promise<void> {
    return this.agent.destroy();
  }
}
