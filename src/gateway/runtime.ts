import type { LoadedConfig } from '../config/loader.js';
import type { ApiConfig, GatewayCore, GatewayFile } from './schema.js';
import type { CounterStore } from '../state/types.js';
import { compileAddressMatcher, type AddressMatcher } from '../net/ip.js';
import { closeBackend, type Backend } from '../upstream/backend.js';
import type { ApiRouter, OperationRouter } from './router.js';
import type { Handler } from './policy.js';
import type { ApiInfo, OperationInfo } from './exchange.js';
import type { ForwardRules } from './headers.js';
import type { Template } from './template.js';
import type { Compressor } from '../upstream/compression.js';
import type { SubscriptionPlan } from './subscriptions/check.js';
import type { SubscriptionSource } from './subscriptions/source.js';

/**
 * What the request path uses, compiled from a validated config (see compile/): routers, backends,
 * and per-operation pipelines whose policy handlers were created once. A Runtime is immutable; a
 * reload builds a new one and swaps it in, and requests keep the one they started with.
 */

export interface Step {
  /** policy name */
  name: string;
  handler: Handler;
}

export interface Pipeline {
  inbound: Step[];
  backend: Step[];
  outbound: Step[];
  'on-error': Step[];
  /** a scope of this pipeline is an XML policy document: errors use the service's body `{"statusCode", "message"}` */
  apim?: boolean;
}

export interface CompiledOperation extends OperationInfo {
  pipeline: Pipeline;
  /** the operation's pipeline per product that lists its API (global → product → API → operation) */
  byProduct: ReadonlyMap<string, Pipeline> | undefined;
  requests: Map<number, { inc(): void }>;
}

export interface CompiledApi extends ApiInfo {
  config: ApiConfig;
  backend: Backend | undefined;
  /** undefined when the API lists no operations: every path under it passes */
  operations: OperationRouter<CompiledOperation> | undefined;
  /** the pipeline for requests when the API has no operations */
  pipeline: Pipeline;
  /** subscription keys: undefined when the API is in no product and does not ask for keys */
  subscription: SubscriptionPlan | undefined;
  /** policies that run before operation matching (cors) */
  early: Step[];
  maxBodySize: number;
  /** which request headers and cookies reach this API's backend */
  forwardRules: ForwardRules;
  gatewayDuration: { observe(v: number): void };
  backendDuration: { observe(v: number): void };
  requests: Map<number, { inc(): void }>;
  /** response compression (`compression`), applied when a response is sent */
  compressor: Compressor | undefined;
}

export class Runtime<G extends GatewayCore = GatewayCore> {
  readonly backends = new Map<string, Backend>();
  /** the consistent-hash key template of each backend that has one (`hash-key`) */
  readonly hashKeys = new Map<string, Template>();
  readonly apis: CompiledApi[] = [];
  readonly trustedProxies: AddressMatcher;
  readonly gateway: G;
  /** the minimum data rate of request bodies (`limits.min-body-rate`, `limits.body-rate-window`) */
  readonly bodyRate: { minRate: number; window: number };
  private readonly readinessChecks: Array<{ name: string; check: () => boolean }> = [];
  private readonly closers: Array<() => void | Promise<void>> = [];
  private readonly starters: Array<() => void> = [];
  private started = false;
  /** the counter store of `gateway.store`; it survives a reload that keeps its URL */
  storeRef: { url: string; store: CounterStore } | undefined;
  /** the subscriptions cache (kept across reloads by its owner, the app) */
  subscriptions: SubscriptionSource | undefined;

  constructor(readonly loaded: LoadedConfig<GatewayFile<G>>, gateway: G, readonly router: ApiRouter<CompiledApi>) {
    this.gateway = gateway;
    this.bodyRate = { minRate: gateway.limits['min-body-rate'], window: gateway.limits['body-rate-window'] };
    this.trustedProxies = compileAddressMatcher(gateway['trusted-proxies']);
  }

  /** names of readiness checks that do not pass yet */
  notReady(): string[] {
    const waiting = new Set<string>();
    for (const c of this.readinessChecks) {
      let ok = false;
      try { ok = c.check(); } catch { /* a failing check is not ready */ }
      if (!ok) waiting.add(c.name);
    }
    return [...waiting];
  }

  ready(): boolean {
    return this.notReady().length === 0;
  }

  /** Close backends and policy resources (after in-flight requests are done). */
  async close(opts: { keepStore?: boolean } = {}): Promise<void> {
    for (const fn of this.closers) {
      try { await fn(); } catch { /* closing is best effort */ }
    }
    await Promise.allSettled([...this.backends.values()].map(closeBackend));
    if (!opts.keepStore && this.storeRef) await this.storeRef.store.close().catch(() => {});
  }

  /** @internal */ addReadiness(name: string, check: () => boolean) { this.readinessChecks.push({ name, check }); }
  /** @internal */ addCloser(fn: () => void | Promise<void>) { this.closers.push(fn); }
  /** @internal */ addStarter(fn: () => void) { if (this.started) fn(); else this.starters.push(fn); }

  /** The gateway listens: start what policies deferred (key fetches). Once; later calls do nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const fn of this.starters.splice(0)) {
      try { fn(); } catch { /* a policy's start never stops the others */ }
    }
  }
}
