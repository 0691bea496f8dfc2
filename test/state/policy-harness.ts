import { testExchange } from '../helpers/exchange.js';
import { policyContext } from '../helpers/policy-context.js';
import { Exchange } from '../../src/gateway/exchange.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MemoryStore } from '../../src/state/memory.js';
import type { CounterStore } from '../../src/state/types.js';
import type { Reply } from '../../src/gateway/reply.js';

/** A fake clock, a memory store on it, and a policy context around them. */
export function harness(opts: { store?: CounterStore; location?: string; claims?: boolean; workers?: number } = {}) {
  const clock = { t: Date.UTC(2026, 2, 1, 10, 0, 0) };
  const store = opts.store ?? new MemoryStore({ now: () => clock.t, sweepIntervalMs: 0 });
  const metrics = new Metrics({ defaultMetrics: false });
  const ctx = policyContext({
    configDir: '.',
    location: opts.location ?? 'apis[0].policies.inbound[1].policy',
    claimsAvailable: opts.claims ?? false,
    metrics,
    store: () => store,
    gateway: { workers: opts.workers ?? 1 },
    shared: <T>(_k: string, create: () => T) => create(),
  });
  return { clock, store, ctx, metrics };
}

/** A request as the pipeline would hand it to a policy. */
export function exchange(headers: Record<string, string> = {}, ip = '198.51.100.7', claims?: Record<string, unknown>): Exchange {
  return testExchange({ headers, clientIp: ip, claims, api: { name: 'orders', prefix: '/orders' }, upstream: false });
}

/** Finish an exchange as the server does once the response is sent. */
export function done(ex: Exchange, status: number, bytesIn = 0, bytesOut = 0): void {
  ex.status = status;
  ex.bytesIn = bytesIn;
  ex.bytesOut = bytesOut;
  ex.finish();
}

export type Outcome = Reply | undefined;
