import pino from 'pino';
import type { PolicyContext } from '../../src/gateway/policy.js';
import { compileTemplate } from '../../src/gateway/template.js';
import { ConfigError } from '../../src/config/errors.js';
import { Metrics } from '../../src/observability/metrics.js';

/** A PolicyContext for calling a policy factory directly, recording readiness checks and closers. */
export interface TestPolicyContext extends PolicyContext {
  checks: Map<string, () => boolean>;
  closers: Array<() => void | Promise<void>>;
  close(): Promise<void>;
}

type Overrides = Partial<Omit<PolicyContext, 'gateway'>> & { gateway?: Partial<PolicyContext['gateway']> };

/**
 * The one place tests and benchmarks build a policy context outside a running gateway, with the
 * defaults of a single-process gateway (memory limits, one worker, no store, no backends).
 */
export function policyContext(over: Overrides = {}): TestPolicyContext {
  const shared = new Map<string, unknown>();
  const checks = new Map<string, () => boolean>();
  const closers: Array<() => void | Promise<void>> = [];
  const claimsAvailable = over.claimsAvailable ?? false;
  const { gateway, ...rest } = over;
  return {
    configDir: process.cwd(),
    location: 'test',
    section: 'inbound',
    api: { name: 'orders', prefix: '/orders' },
    operation: undefined,
    claimsAvailable,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    store: () => { throw new Error('no counter store in this test'); },
    backend: () => undefined,
    compileTemplate: (src, path = [], encode) => {
      try {
        return compileTemplate(src, { claimsAvailable, encode });
      } catch (err) {
        if (err instanceof ConfigError) throw new ConfigError(err.message, path);
        throw err;
      }
    },
    readiness: (name, check) => { checks.set(name, check); },
    onClose: (fn) => { closers.push(fn); },
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
    ...rest,
    gateway: { trustedProxies: [], maxBodyBuffer: 1024 * 1024, workers: 1, ...gateway },
    checks,
    closers,
    async close() { for (const c of closers) await c(); },
  };
}
