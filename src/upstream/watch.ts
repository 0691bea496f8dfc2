import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { OutlierEvent } from './outlier.js';
import type { HealthCause, Target } from './targets.js';

interface Counter { inc(): void }
interface Observer { observe(v: number): void }
interface PerTarget { success: Counter; failure: Counter; duration: Observer }

/**
 * What a backend's targets do, for operators: metrics per target (requests by result, latency,
 * health) and a log line per health change and ejection.
 *
 * | metric | labels |
 * |---|---|
 * | `gatehouse_upstream_requests_total` | backend, target, result (`success`, `failure`: connect failure, reset, timeout or 5xx) |
 * | `gatehouse_upstream_duration_seconds` | backend, target: to the end of the backend's response |
 * | `gatehouse_upstream_target_healthy` | backend, target: 1 or 0 |
 * | `gatehouse_upstream_health_changes_total` | backend, target, state (`healthy`, `unhealthy`), cause (`active`, `passive`) |
 */
export class TargetWatch {
  private readonly perTarget = new Map<Target, PerTarget>();

  constructor(private readonly backend: string, private readonly deps: { logger: Logger; metrics: Metrics }) {}

  private series(t: Target): PerTarget {
    let s = this.perTarget.get(t);
    if (s === undefined) {
      const m = this.deps.metrics;
      const requests = m.counter('gatehouse_upstream_requests_total', 'Requests to backend targets by result (failure: connect failure, reset, timeout or 5xx)', ['backend', 'target', 'result']);
      const duration = m.histogram('gatehouse_upstream_duration_seconds', 'Time to the end of a backend target\'s response', ['backend', 'target'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
      s = { success: requests.labels(this.backend, t.id, 'success'), failure: requests.labels(this.backend, t.id, 'failure'), duration: duration.labels(this.backend, t.id) };
      this.perTarget.set(t, s);
      m.gauge('gatehouse_upstream_target_healthy', 'A backend target is healthy (1) or not (0)', ['backend', 'target']).labels(this.backend, t.id).set(t.healthy ? 1 : 0);
    }
    return s;
  }

  readonly onOutcome = (t: Target, failed: boolean, _status: number | undefined, ms: number): void => {
    const s = this.series(t);
    (failed ? s.failure : s.success).inc();
    s.duration.observe(ms / 1000);
  };

  readonly onHealthChange = (t: Target, healthy: boolean, cause: HealthCause): void => {
    this.series(t);
    const m = this.deps.metrics;
    m.gauge('gatehouse_upstream_target_healthy', 'A backend target is healthy (1) or not (0)', ['backend', 'target']).labels(this.backend, t.id).set(healthy ? 1 : 0);
    m.counter('gatehouse_upstream_health_changes_total', 'Health changes of backend targets', ['backend', 'target', 'state', 'cause']).labels(this.backend, t.id, healthy ? 'healthy' : 'unhealthy', cause).inc();
    const log = { backend: this.backend, target: t.id, cause };
    if (healthy) this.deps.logger.info(log, 'backend target healthy again');
    else this.deps.logger.warn(log, 'backend target unhealthy: no more requests go to it');
  };

  readonly onOutlier = (e: OutlierEvent): void => {
    if (e.kind === 'ejected') this.deps.logger.warn({ backend: this.backend, target: e.target.id, durationMs: e.durationMs, ejections: e.ejections }, 'backend target ejected after consecutive failures');
    else this.deps.logger.warn({ backend: this.backend, target: e.target.id, reason: e.reason }, 'backend target kept although failing: too many targets are ejected already');
  };
}
