import type { Logger } from 'pino';
import type { LoadedConfig } from '../../config/loader.js';
import { ConfigError, ConfigInvalid, type ConfigIssue } from '../../config/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { CounterStore } from '../../state/types.js';
import type { StandInKeys } from '../jwt/source.js';
import { createBackend } from '../../upstream/backend.js';
import { ApiRouter } from '../router.js';
import { compileTemplate } from '../template.js';
import { Runtime, type CompiledApi } from '../runtime.js';
import type { GatewayCore, GatewayFile } from '../schema.js';
import { compileApi } from './apis.js';
import { applyPolicyXml } from '../apim/scope.js';
import { policyContexts } from './context.js';
import type { OpenApiFile } from './openapi.js';
import { PipelineCompiler } from './pipeline.js';
import { productScopes } from './products.js';
import { globalScope, type Fail } from './scopes.js';
import type { SubscriptionSource } from '../subscriptions/source.js';

/**
 * Config → Runtime, in order: backends, the global scope, then each API (its OpenAPI document,
 * scopes expanded with `base`, a pipeline per operation whose policy handlers are created here,
 * once). Every problem found is collected and reported together, located in the file.
 */

export interface RuntimeDeps {
  logger: Logger;
  metrics: Metrics;
  /** the counter store survives reloads when its URL is unchanged */
  store?: { url: string; store: CounterStore };
  /** `gatehouse test` only: test keys that replace an issuer's (never set by the gateway) */
  standInKeys?: StandInKeys;
  /** the subscriptions cache, when the config has products or APIs that take keys */
  subscriptions?: SubscriptionSource;
}

/**
 * Compile a loaded config. Throws ConfigInvalid with every located problem. `defaults` is the
 * `gateway` section of a file that has none (identity only), as the caller's schema fills it.
 */
export async function buildRuntime<G extends GatewayCore>(loaded: LoadedConfig<GatewayFile<G>>, deps: RuntimeDeps, defaults: G): Promise<Runtime<G>> {
  const config = loaded.config;
  const issues: ConfigIssue[] = [];
  const fail: Fail = (path, message) => issues.push(loaded.locate(path, message));
  const rt = new Runtime<G>(loaded, config.gateway ?? defaults, new ApiRouter<CompiledApi>());
  rt.storeRef = deps.store;
  rt.subscriptions = deps.subscriptions;

  for (const [name, b] of Object.entries(config.backends)) {
    try {
      rt.backends.set(name, createBackend(name, b, loaded.dir, deps));
      if (b['hash-key'] !== undefined) rt.hashKeys.set(name, compileTemplate(b['hash-key'], { claimsAvailable: true }));
      if (b.tls?.['insecure-skip-verify']) deps.logger.warn({ backend: name }, 'backend TLS certificate verification is OFF (tls.insecure-skip-verify): anyone on the path can impersonate this backend');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      fail(['backends', ...(err.path.length ? err.path : [name, 'hash-key'])], err.message);
    }
  }

  // policy-xml at any scope becomes that scope's policy sections
  applyPolicyXml(config, loaded.dir, deps.logger, fail);
  const docs = new Map<string, OpenApiFile>();
  const pipelines = new PipelineCompiler(policyContexts(rt as Runtime, deps), docs, fail);
  const globalRefs = globalScope(config.policies, fail);
  const products = productScopes(config.products, config.apis, globalRefs, fail);
  // the API that publishes this file's identity provider receives its cookies (see forward-identity-cookies)
  const issuerPath = config.identity ? new URL(config.identity.issuer).pathname.replace(/\/+$/, '') : undefined;
  const seen = new Set<string>();
  for (const [i, apiCfg] of config.apis.entries()) {
    if (seen.has(apiCfg.name)) fail(['apis', i, 'name'], `another API is already named "${apiCfg.name}"`);
    seen.add(apiCfg.name);
    await compileApi({ rt: rt as Runtime, metrics: deps.metrics, pipelines, docs, globalRefs, products, issuerPath, fail }, apiCfg, i);
  }

  if (rt.apis.some((a) => a.subscription !== undefined)) {
    const source = deps.subscriptions;
    if (source === undefined) deps.logger.warn('APIs take subscription keys but no subscriptions database is configured: every key is refused');
    else rt.addReadiness('subscriptions', () => source.loaded());
  }

  if (issues.length) {
    // a store this failed compile created is closed; the running config's store is kept
    await rt.close({ keepStore: rt.storeRef === deps.store });
    // a policy compiled once per operation reports the same problem once per operation: say it once
    const once = [...new Map(issues.map((i) => [`${i.line}:${i.column}:${i.path}:${i.message}`, i])).values()];
    throw new ConfigInvalid(once.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return rt;
}
