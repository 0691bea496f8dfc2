import pino from 'pino';
import type { PolicyContext } from '../../src/gateway/policy.js';
import { Metrics } from '../../src/observability/metrics.js';
import { policyContexts } from '../../src/gateway/compile/context.js';
import { Runtime, type CompiledApi } from '../../src/gateway/runtime.js';
import { ApiRouter } from '../../src/gateway/router.js';
import { gatewayCoreSchema } from '../../src/gateway/schema.js';

/** A PolicyContext for calling a policy factory directly, recording readiness checks and closers. */
export interface TestPolicyContext extends PolicyContext {
  checks: Map<string, () => boolean>;
  closers: Array<() => void | Promise<void>>;
  close(): Promise<void>;
}

type Overrides = Partial<Omit<PolicyContext, 'gateway'>> & { gateway?: Partial<PolicyContext['gateway']> };

/**
 * The one place tests and benchmarks build a policy context outside a running gateway: the
 * gateway's own factory (compile/context.ts) over an empty runtime with a single-process gateway's
 * defaults (memory store, one worker, no backends), plus what a test wants to change.
 */
export function policyContext(over: Overrides = {}): TestPolicyContext {
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const loaded = { config: { backends: {}, apis: [] }, file: 'test.yaml', dir: process.cwd(), locate: () => { throw new Error('no config file in this test'); } };
  const rt = new Runtime(loaded, gatewayCoreSchema.parse({}), new ApiRouter<CompiledApi>());
  const base = policyContexts(rt, { logger, metrics })({
    location: 'test',
    section: 'inbound',
    api: { name: 'orders', prefix: '/orders' },
    operation: undefined,
    claimsAvailable: over.claimsAvailable ?? false,
  });
  const checks = new Map<string, () => boolean>();
  const closers: Array<() => void | Promise<void>> = [];
  const { gateway, ...rest } = over;
  return {
    ...base,
    logger,
    metrics,
    readiness: (name, check) => { checks.set(name, check); base.readiness(name, check); },
    onClose: (fn) => { closers.push(fn); },
    // outside a gateway there is nothing to wait for: start at once
    onStart: (fn) => { fn(); },
    ...rest,
    gateway: { ...base.gateway, ...gateway },
    checks,
    closers,
    async close() { for (const c of closers) await c(); await rt.close(); },
  };
}
