import { Agent, request, type Dispatcher } from 'undici';
import { UpstreamConfigError, type Target, type TargetSet } from './targets.js';
import { classifyError } from './retry.js';

/**
 * Active health checking: an HTTP GET to every target's `path`, one probe per target at a time,
 * every `interval` (+ up to `jitter`, so that probes of many targets and many gateway replicas
 * spread out). A target becomes unhealthy after `unhealthy` consecutive failed probes and healthy
 * again after `healthy` consecutive good ones; the first probe of a target decides at once in
 * either direction (a target that is down when the gateway starts gets no traffic after its
 * first probe; as Envoy does for new hosts). A good probe answers a status in `expect`
 * (default 200-399) within `timeout`; anything else (another status, refused or reset
 * connection, timeout) is a failure.
 *
 * The next probe of a target is scheduled only when the previous one has finished, so probes
 * never overlap, however slow the target. Probes use their own connections (`Connection: close`),
 * never the traffic pool: a probe also tests that the target accepts connections. `stop()`
 * clears every timer, aborts probes in flight and waits for them: nothing is left running.
 */

export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

export interface ActiveHealthOptions {
  /** absolute path (and query) probed on each target's origin, e.g. /healthz */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** consecutive good probes that make an unhealthy target healthy */
  healthyThreshold: number;
  /** consecutive failed probes that make a healthy target unhealthy */
  unhealthyThreshold: number;
  /** statuses that count as healthy (default 200-399) */
  expect?: readonly StatusRange[];
  /** up to this much is added to every interval at random (default 10 % of the interval) */
  jitterMs?: number;
  /** Host header (default: the target's host) */
  host?: string;
}

export type ProbeOutcome = 'ok' | 'unexpected-status' | 'timeout' | 'connection-failure' | 'error';

export interface ProbeResult {
  target: Target;
  outcome: ProbeOutcome;
  /** the response status, when there was a response */
  status: number | undefined;
  /** the target's active health after this probe */
  healthy: boolean;
  /** this probe changed it */
  changed: boolean;
}

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HealthCheckDeps {
  /** default: an Agent of the checker's own, destroyed by stop(); pass one with the backend's TLS settings for https targets */
  dispatcher?: Dispatcher;
  random?: () => number;
  /** schedules the probes (tests inject one to see the delays); probe timeouts use real timers */
  scheduler?: Scheduler;
  /** every probe's result (metrics, logs; also how an ejected target can be let back early) */
  onResult?: (r: ProbeResult) => void;
}

interface TargetState {
  readonly target: Target;
  successes: number;
  failures: number;
  probed: boolean;
  timer: unknown;
  running: Promise<void> | undefined;
  abort: AbortController | undefined;
}

const MAX_PROBE_BODY = 64 * 1024;

const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class ActiveHealthChecker {
  private readonly opts: Required<Omit<ActiveHealthOptions, 'host'>> & { host: string | undefined };
  private readonly states: TargetState[];
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: Agent | undefined;
  private readonly random: () => number;
  private readonly scheduler: Scheduler;
  private readonly onResult: ((r: ProbeResult) => void) | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly set: TargetSet, options: ActiveHealthOptions, deps: HealthCheckDeps = {}) {
    this.opts = validate(options);
    this.states = set.all.map((target) => ({ target, successes: 0, failures: 0, probed: false, timer: undefined, running: undefined, abort: undefined }));
    this.ownDispatcher = deps.dispatcher ? undefined : new Agent({ pipelining: 0 });
    this.dispatcher = deps.dispatcher ?? this.ownDispatcher!;
    this.random = deps.random ?? Math.random;
    this.scheduler = deps.scheduler ?? realScheduler;
    this.onResult = deps.onResult;
  }

  /** Start probing: each target's first probe within `jitter`, then every interval (+ jitter). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const s of this.states) this.schedule(s, this.random() * this.opts.jitterMs);
  }

  /** Probes running now (at most one per target). */
  get inFlight(): number {
    return this.states.reduce((n, s) => n + (s.running ? 1 : 0), 0);
  }

  /** Stop: no timer left, probes in flight aborted and awaited, the probe connections closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.states) {
      if (s.timer !== undefined) this.scheduler.clearTimeout(s.timer);
      s.timer = undefined;
      s.abort?.abort();
    }
    await Promise.allSettled(this.states.map((s) => s.running));
    await this.ownDispatcher?.destroy();
  }

  private schedule(s: TargetState, delayMs: number): void {
    s.timer = this.scheduler.setTimeout(() => {
      s.timer = undefined;
      if (this.stopped) return;
      s.running = this.probe(s)
        .then(([outcome, status]) => this.record(s, outcome, status))
        .finally(() => {
          s.running = undefined;
          if (!this.stopped) this.schedule(s, this.opts.intervalMs + this.random() * this.opts.jitterMs);
        });
    }, delayMs);
  }

  private async probe(s: TargetState): Promise<[ProbeOutcome, number | undefined]> {
    const ac = new AbortController();
    s.abort = ac;
    const timer = setTimeout(() => ac.abort(), this.opts.timeoutMs);
    try {
      const headers: Record<string, string> = { 'user-agent': 'gatehouse-health-check' };
      if (this.opts.host !== undefined) headers.host = this.opts.host;
      const res = await request(s.target.origin + this.opts.path, {
        dispatcher: this.dispatcher, method: 'GET', headers, signal: ac.signal, reset: true,
        headersTimeout: this.opts.timeoutMs, bodyTimeout: this.opts.timeoutMs,
      });
      await res.body.dump({ limit: MAX_PROBE_BODY });
      const ok = this.opts.expect.some((r) => res.statusCode >= r.from && res.statusCode <= r.to);
      return [ok ? 'ok' : 'unexpected-status', res.statusCode];
    } catch (err) {
      if (ac.signal.aborted) return ['timeout', undefined];
      return [classifyProbeError(err), undefined];
    } finally {
      clearTimeout(timer);
      s.abort = undefined;
    }
  }

  private record(s: TargetState, outcome: ProbeOutcome, status: number | undefined): void {
    if (this.stopped) return; // aborted by stop(): not a verdict on the target
    const t = s.target;
    const first = !s.probed;
    s.probed = true;
    let changed = false;
    if (outcome === 'ok') {
      s.failures = 0;
      s.successes++;
      if (!t.activeHealthy && (first || s.successes >= this.opts.healthyThreshold)) changed = this.set.setActiveHealth(t, true);
    } else {
      s.successes = 0;
      s.failures++;
      if (t.activeHealthy && (first || s.failures >= this.opts.unhealthyThreshold)) changed = this.set.setActiveHealth(t, false);
    }
    try {
      this.onResult?.({ target: t, outcome, status, healthy: t.activeHealthy, changed });
    } catch {
      // an observer's failure is not the target's
    }
  }
}

function classifyProbeError(err: unknown): ProbeOutcome {
  const kind = classifyError(err);
  return kind === 'connect-failure' || kind === 'reset' ? 'connection-failure' : kind === 'timeout' ? 'timeout' : 'error';
}

/** `["200-399", 204, "404"]` → ranges; throws on anything else (config time). */
export function parseStatusRanges(spec: readonly (string | number)[]): StatusRange[] {
  if (spec.length === 0) throw new UpstreamConfigError('expect needs at least one status or range');
  return spec.map((item) => {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(String(item));
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2] ?? m[1]) : NaN;
    if (!(from >= 100 && to <= 599 && from <= to)) throw new UpstreamConfigError(`"${item}" is not a status or a range of statuses such as 200-399`);
    return { from, to };
  });
}

function validate(o: ActiveHealthOptions): ActiveHealthChecker['opts'] {
  if (!o.path.startsWith('/') || o.path.startsWith('//') || /[\s#]/.test(o.path)) throw new UpstreamConfigError(`health check path "${o.path}" must be an absolute path`);
  for (const [name, v] of [['interval', o.intervalMs], ['timeout', o.timeoutMs]] as const) {
    if (!(v >= 1 && v <= 3_600_000)) throw new UpstreamConfigError(`health check ${name} must be between 1 ms and 1 h`);
  }
  for (const [name, v] of [['healthy', o.healthyThreshold], ['unhealthy', o.unhealthyThreshold]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 100) throw new UpstreamConfigError(`health check ${name} threshold must be an integer 1..100`);
  }
  const jitterMs = o.jitterMs ?? o.intervalMs / 10;
  if (!(jitterMs >= 0 && jitterMs <= 3_600_000)) throw new UpstreamConfigError('health check jitter must be between 0 and 1 h');
  return { ...o, expect: o.expect ?? [{ from: 200, to: 399 }], jitterMs, host: o.host };
}
