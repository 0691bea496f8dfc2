import client from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.js';

/**
 * The process's Prometheus metrics. Built-in gateway metrics are fields; policies create their
 * own through `counter`/`gauge`/`histogram`, which return the existing metric when the name is
 * already registered (configs reload, metrics stay).
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'api' | 'operation' | 'status'>;
  readonly gatewayDuration: client.Histogram<'api'>;
  readonly backendDuration: client.Histogram<'api'>;
  readonly rejections: client.Counter<'policy' | 'code'>;
  readonly backendErrors: client.Counter<'backend' | 'code'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // event-loop lag sampled every 100 ms, not prom-client's 10: its timer woke the process 200
    // times a second, ~5 ms of CPU a second on its own (issue 19)
    if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_', eventLoopMonitoringPrecision: 100 });
    // counted on every request: series kept by fast-metrics.ts (no label hashing per call)
    this.requests = new FastCounter({ name: 'gatehouse_requests_total', help: 'Requests answered, by API, operation and status', labelNames: ['api', 'operation', 'status'], registers: [this.registry] });
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.gatewayDuration = new FastHistogram({ name: 'gatehouse_gateway_duration_seconds', help: "The gateway's own time per request (total minus backend)", labelNames: ['api'], buckets, registers: [this.registry] });
    this.backendDuration = new FastHistogram({ name: 'gatehouse_backend_duration_seconds', help: 'Time to the backend response headers', labelNames: ['api'], buckets, registers: [this.registry] });
    this.rejections = this.counter('gatehouse_policy_rejections_total', 'Requests ended by a policy, by policy and reason code', ['policy', 'code']);
    this.backendErrors = this.counter('gatehouse_backend_errors_total', 'Backend failures by backend and reason code', ['backend', 'code']);
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as client.Counter<L>;
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as client.Gauge<L>;
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): client.Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as client.Histogram<L>;
    return new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
