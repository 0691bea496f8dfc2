import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/loader.js';
import type { ApiConfig, GatewayCore, GatewayFile, PolicyEntry, PolicySections } from './schema.js';
import type { BackendConfig } from '../upstream/schema.js';
import { ConfigError, ConfigInvalid, formatPath, type ConfigIssue } from '../config/errors.js';
import type { Metrics } from '../observability/metrics.js';
import { createStore } from '../state/index.js';
import type { CounterStore } from '../state/types.js';
import { compileAddressMatcher, type AddressMatcher } from '../net/ip.js';
import { ApiRouter, OperationRouter } from './router.js';
import { compileTemplate } from './template.js';
import { normalizeTarget } from './normalize.js';
import { POLICY_BY_NAME } from './policies/index.js';
import { SECTIONS, type Handler, type PolicyContext, type Section } from './policy.js';
import type { ApiInfo, OperationInfo } from './exchange.js';
import type { ForwardRules } from './proxy.js';
import { Admission } from '../upstream/admission.js';

/**
 * Compiles a validated config into what the request path uses: routers, backends with their
 * connection pools, and per-operation pipelines whose policy handlers were created once, here.
 * A Runtime is immutable; a reload builds a new one and swaps it in.
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
}

export interface CompiledBackend {
  name: string;
  /** origin (scheme://host:port) */
  origin: string;
  /** the backend URL's path without trailing slash */
  basePath: string;
  /** Host header sent to the backend */
  host: string;
  pool: Pool;
  /** requests in flight and waiting for this backend (bounded queue with a timeout) */
  admission: Admission;
  config: BackendConfig;
}

export interface CompiledOperation extends OperationInfo {
  pipeline: Pipeline;
  requests: Map<number, { inc(): void }>;
}

export interface CompiledApi extends ApiInfo {
  config: ApiConfig;
  backend: CompiledBackend | undefined;
  /** undefined when the API lists no operations: every path under it passes */
  operations: OperationRouter<CompiledOperation> | undefined;
  /** the pipeline for requests when the API has no operations */
  pipeline: Pipeline;
  /** policies that run before operation matching (cors) */
  early: Step[];
  maxBodySize: number;
  /** which request headers and cookies reach this API's backend */
  forwardRules: ForwardRules;
  gatewayDuration: { observe(v: number): void };
  backendDuration: { observe(v: number): void };
  requests: Map<number, { inc(): void }>;
}

export interface RuntimeDeps {
  logger: Logger;
  metrics: Metrics;
  /** the counter store survives reloads when its URL is unchanged */
  store?: { url: string; store: CounterStore };
}

export class Runtime<G extends GatewayCore = GatewayCore> {
  readonly router = new ApiRouter<CompiledApi>();
  readonly backends = new Map<string, CompiledBackend>();
  readonly apis: CompiledApi[] = [];
  readonly trustedProxies: AddressMatcher;
  readonly gateway: G;
  private readonly readinessChecks: Array<{ name: string; check: () => boolean }> = [];
  private readonly closers: Array<() => void | Promise<void>> = [];
  storeRef: { url: string; store: CounterStore } | undefined;

  /** the minimum data rate of request bodies (`limits.min-body-rate`, `limits.body-rate-window`) */
  readonly bodyRate: { minRate: number; window: number };

  constructor(readonly loaded: LoadedConfig<GatewayFile<G>>, gateway: G) {
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

  /** Close pools and policy resources (after in-flight requests are done). */
  async close(opts: { keepStore?: boolean } = {}): Promise<void> {
    for (const fn of this.closers) {
      try { await fn(); } catch { /* closing is best effort */ }
    }
    await Promise.allSettled([...this.backends.values()].map((b) => b.pool.close()));
    if (!opts.keepStore && this.storeRef) await this.storeRef.store.close().catch(() => {});
  }

  /** @internal */ addReadiness(name: string, check: () => boolean) { this.readinessChecks.push({ name, check }); }
  /** @internal */ addCloser(fn: () => void | Promise<void>) { this.closers.push(fn); }
}

/**
 * Compile a loaded config. Throws ConfigInvalid with every located problem. `defaults` is the
 * `gateway` section of a file that has none (identity only), as the caller's schema fills it.
 */
export async function buildRuntime<G extends GatewayCore>(loaded: LoadedConfig<GatewayFile<G>>, deps: RuntimeDeps, defaults: G): Promise<Runtime<G>> {
  const config = loaded.config;
  const issues: ConfigIssue[] = [];
  const fail = (path: ReadonlyArray<string | number>, message: string) => issues.push(loaded.locate(path, message));
  const rt = new Runtime<G>(loaded, config.gateway ?? defaults);
  rt.storeRef = deps.store;
  const { logger, metrics } = deps;

  try {
    for (const [name, b] of Object.entries(config.backends)) {
      rt.backends.set(name, compileBackend(name, b, loaded));
      if (b.tls?.['insecure-skip-verify']) logger.warn({ backend: name }, 'backend TLS certificate verification is OFF (tls.insecure-skip-verify): anyone on the path can impersonate this backend');
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(['backends', ...err.path], err.message);
    else throw err;
  }

  const shared = new Map<string, unknown>();
  const compiled = new Map<string, Step>();
  const policyCtx = (base: Omit<PolicyContext, 'compileTemplate' | 'backend' | 'readiness' | 'onClose' | 'shared' | 'store' | 'logger' | 'metrics' | 'gateway' | 'configDir'>): PolicyContext => ({
    ...base,
    configDir: loaded.dir,
    logger: logger.child({ policy: base.location }),
    metrics,
    gateway: {
      trustedProxies: rt.gateway['trusted-proxies'],
      maxBodyBuffer: rt.gateway.limits['max-body-buffer'],
      workers: rt.gateway.workers === 'auto' ? availableParallelism() : rt.gateway.workers,
    },
    store: () => {
      if (!rt.storeRef || rt.storeRef.url !== rt.gateway.store) {
        rt.storeRef = { url: rt.gateway.store, store: createStore(rt.gateway.store, { logger, metrics }) };
      }
      return rt.storeRef.store;
    },
    backend: (name) => rt.backends.get(name),
    compileTemplate: (src, path = [], encode) => {
      try {
        return compileTemplate(src, { claimsAvailable: base.claimsAvailable, encode });
      } catch (err) {
        if (err instanceof ConfigError) throw new ConfigError(err.message, path);
        throw err;
      }
    },
    readiness: (name, check) => rt.addReadiness(name, check),
    onClose: (fn) => rt.addCloser(fn),
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
  });

  /** A policy list entry located in the config, before compilation. */
  interface Ref { name: string; config: unknown; path: Array<string | number> }

  const compileStep = async (ref: Ref, section: Section, claimsAvailable: boolean, api: CompiledApi | undefined, op: OperationInfo & { openapi?: unknown } | undefined): Promise<Step | undefined> => {
    const key = `${formatPath(ref.path)}|${claimsAvailable}|${api?.name ?? ''}|${op?.id ?? ''}`;
    const cached = compiled.get(key);
    if (cached) return cached;
    const def = POLICY_BY_NAME.get(ref.name)!;
    const location = formatPath(ref.path);
    try {
      const handler = await def.create(ref.config as never, policyCtx({
        location,
        section,
        api: api ? { name: api.name, prefix: api.prefix, openapi: apiDocs.get(api.name)?.document } : undefined,
        operation: op ? { id: op.id, method: op.method, template: op.template, openapi: op.openapi } : undefined,
        claimsAvailable,
      }));
      const step = { name: def.name, handler };
      compiled.set(key, step);
      return step;
    } catch (err) {
      if (err instanceof ConfigError) fail([...ref.path, ...err.path], err.message);
      else fail(ref.path, `cannot set up ${def.name}: ${(err as Error).message}`);
      return undefined;
    }
  };

  /** Expand `base` in `inner` with `outer` (already expanded); enforce the explicit opt-out. */
  const expand = (inner: PolicyEntry[] | undefined, innerPath: Array<string | number>, outer: Ref[]): Ref[] => {
    if (inner === undefined) return outer;
    const out: Ref[] = [];
    let sawBase = false;
    inner.forEach((e, i) => {
      if (e.kind === 'base') { sawBase = true; out.push(...outer); } else if (e.kind === 'skip-base') sawBase = true;
      else out.push({ name: e.name, config: e.config, path: [...innerPath, i, e.name] });
    });
    if (!sawBase && outer.length > 0) {
      fail(innerPath, `this section omits \`base\`, so the outer scope's policies (${outer.map((r) => r.name).join(', ')}) would not run here; add \`- base\` where they should run, or \`- base: skip\` to leave them out on purpose`);
    }
    return out;
  };

  const refsOf = (sections: PolicySections | undefined, path: Array<string | number>, outer: Record<Section, Ref[]>): Record<Section, Ref[]> => {
    const r = {} as Record<Section, Ref[]>;
    for (const s of SECTIONS) r[s] = expand(sections?.[s], [...path, s], outer[s]);
    return r;
  };

  const compilePipeline = async (refs: Record<Section, Ref[]>, api: CompiledApi | undefined, op: (OperationInfo & { openapi?: unknown }) | undefined): Promise<Pipeline> => {
    const p: Pipeline = { inbound: [], backend: [], outbound: [], 'on-error': [] };
    let claims = false;
    for (const s of SECTIONS) {
      for (const ref of refs[s]) {
        if (POLICY_BY_NAME.get(ref.name)!.early) continue; // hoisted into api.early
        const step = await compileStep(ref, s, claims, api, op);
        if (step) p[s].push(step);
        if (s !== 'outbound' && s !== 'on-error' && POLICY_BY_NAME.get(ref.name)!.providesClaims) claims = true;
      }
    }
    return p;
  };

  const empty: Record<Section, Ref[]> = { inbound: [], backend: [], outbound: [], 'on-error': [] };
  const globalRefs = refsOf(config.policies, ['policies'], empty);
  for (const s of SECTIONS) for (const e of config.policies?.[s] ?? []) if (e.kind !== 'policy') fail(['policies', s], '`base` has no outer scope at the global level');

  // the API that publishes this file's identity provider receives its cookies (see forward-identity-cookies)
  const issuerPath = config.identity ? new URL(config.identity.issuer).pathname.replace(/\/+$/, '') : undefined;

  // OpenAPI documents, loaded once per file
  const apiDocs = new Map<string, { document: unknown; operations: OpenApiOperation[] }>();
  const seenNames = new Set<string>();
  for (const [i, apiCfg] of config.apis.entries()) {
    const apiPath: Array<string | number> = ['apis', i];
    if (seenNames.has(apiCfg.name)) fail([...apiPath, 'name'], `another API is already named "${apiCfg.name}"`);
    seenNames.add(apiCfg.name);
    const norm = normalizeTarget(apiCfg.path);
    if (!norm.ok || norm.path !== apiCfg.path.replace(/(.)\/$/, '$1') && norm.path !== apiCfg.path) {
      fail([...apiPath, 'path'], `path must be normalized (no //, dot-segments or encoded characters); did you mean ${norm.ok ? norm.path : '/'}?`);
      continue;
    }
    const prefix = norm.path === '/' ? '' : norm.path.replace(/\/$/, '');
    let backend: CompiledBackend | undefined;
    if (apiCfg.backend !== undefined) {
      backend = rt.backends.get(apiCfg.backend);
      if (!backend) fail([...apiPath, 'backend'], `no backend named "${apiCfg.backend}" in backends`);
    }
    if (apiCfg.openapi !== undefined) {
      try {
        apiDocs.set(apiCfg.name, await loadOpenApiFile(resolve(loaded.dir, apiCfg.openapi)));
      } catch (err) {
        fail([...apiPath, 'openapi'], err instanceof Error ? err.message : String(err));
      }
    }
    const api: CompiledApi = {
      name: apiCfg.name,
      prefix,
      config: apiCfg,
      backend,
      operations: undefined,
      pipeline: { inbound: [], backend: [], outbound: [], 'on-error': [] },
      early: [],
      maxBodySize: apiCfg['max-body-size'] ?? rt.gateway.limits['max-body-size'],
      forwardRules: { dropUnderscores: rt.gateway['headers-with-underscores'] !== 'allow', identityCookies: apiCfg['forward-identity-cookies'] ?? prefix === issuerPath },
      gatewayDuration: metrics.gatewayDuration.labels(apiCfg.name),
      backendDuration: metrics.backendDuration.labels(apiCfg.name),
      requests: new Map(),
    };
    const apiRefs = refsOf(apiCfg.policies, [...apiPath, 'policies'], globalRefs);
    for (const ref of apiRefs.inbound) {
      if (POLICY_BY_NAME.get(ref.name)!.early) {
        const step = await compileStep(ref, 'inbound', false, api, undefined);
        if (step) api.early.push(step);
      }
    }
    api.pipeline = await compilePipeline(apiRefs, api, undefined);

    // operations: from OpenAPI, then listed ones (which may attach policies to OpenAPI ones)
    const ops = new Map<string, { method: string; template: string; openapi?: unknown; sections?: PolicySections; path: Array<string | number> }>();
    for (const o of apiDocs.get(apiCfg.name)?.operations ?? []) {
      ops.set(o.id, { method: o.method, template: o.template, openapi: o, path: [...apiPath, 'openapi'] });
    }
    for (const [j, o] of (apiCfg.operations ?? []).entries()) {
      const opPath = [...apiPath, 'operations', j];
      const existing = ops.get(o.id);
      if (existing && existing.sections) fail([...opPath, 'id'], `operation "${o.id}" is listed twice`);
      if (existing) {
        if ((o.method && o.method.toUpperCase() !== existing.method) || (o.path && o.path !== existing.template)) {
          fail(opPath, `operation "${o.id}" comes from the OpenAPI document as ${existing.method} ${existing.template}; leave method and path out or make them match`);
        }
        existing.sections = o.policies ?? {};
        existing.path = opPath;
      } else {
        if (!o.method || !o.path) {
          fail(opPath, `operation "${o.id}" needs method and path${apiCfg.openapi ? ' (no OpenAPI operation has this id)' : ''}`);
          continue;
        }
        ops.set(o.id, { method: o.method.toUpperCase(), template: o.path, sections: o.policies ?? {}, path: opPath });
      }
    }
    for (const o of apiCfg.operations ?? []) for (const s of SECTIONS) for (const e of o.policies?.[s] ?? []) {
      if (e.kind === 'policy' && POLICY_BY_NAME.get(e.name)!.early) fail([...apiPath, 'operations'], `${e.name} applies to the whole API: put it in the API's or the global policies`);
    }
    if (ops.size > 0) {
      const router = new OperationRouter<CompiledOperation>();
      for (const [id, o] of ops) {
        const info = { id, method: o.method, template: o.template, openapi: o.openapi };
        const refs = o.sections ? refsOf(o.sections, [...o.path, 'policies'], apiRefs) : apiRefs;
        // compiled per operation even without its own policies, so that policies which depend on
        // the operation (validation) see it; the others share state through ctx.shared
        const pipeline = await compilePipeline(refs, api, info);
        try {
          router.add(o.method, o.template, { id, method: o.method, template: o.template, pipeline, requests: new Map() });
        } catch (err) {
          fail([...o.path], `operation "${id}" (${o.method} ${o.template}): ${(err as Error).message}`);
        }
      }
      api.operations = router;
    }
    try {
      rt.router.add(api, prefix, apiCfg.hosts);
    } catch (err) {
      fail([...apiPath, 'path'], (err as Error).message);
    }
    rt.apis.push(api);
  }

  if (issues.length) {
    // a store this failed compile created is closed; the running config's store is kept
    await rt.close({ keepStore: rt.storeRef === deps.store });
    throw new ConfigInvalid(issues.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return rt;
}

function compileBackend(name: string, b: BackendConfig, loaded: LoadedConfig<unknown>): CompiledBackend {
  const url = new URL(b.url);
  const tls = b.tls;
  const read = (f: string, key: string) => {
    try { return readFileSync(resolve(loaded.dir, f)); } catch { throw new ConfigError(`cannot read ${f}`, [name, 'tls', key]); }
  };
  const connect: Record<string, unknown> = { timeout: b['connect-timeout'] * 1000 };
  if (url.protocol === 'https:' && tls) {
    if (tls.ca) connect.ca = (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map((f) => read(f, 'ca'));
    if (tls.servername) connect.servername = tls.servername;
    if (tls.cert) connect.cert = read(tls.cert, 'cert');
    if (tls.key) connect.key = read(tls.key, 'key');
    if (tls.passphrase) connect.passphrase = tls.passphrase;
    if (tls['insecure-skip-verify']) connect.rejectUnauthorized = false;
    const pins = tls['pin-sha256'];
    if (pins?.length) {
      const wanted = new Set(pins);
      connect.checkServerIdentity = (host: string, cert: PeerCertificate) => {
        const err = checkServerIdentity(host, cert);
        if (err) return err;
        // any certificate of the presented chain may carry the pinned key (leaf or an intermediate)
        for (let c: PeerCertificate | undefined = cert, i = 0; c && i < 10; c = (c as DetailedPeerCertificate).issuerCertificate, i++) {
          // the pin is over the DER SubjectPublicKeyInfo (PeerCertificate.pubkey is the raw key for EC)
          if (c.raw && wanted.has(createHash('sha256').update(new X509Certificate(c.raw).publicKey.export({ type: 'spki', format: 'der' })).digest('base64'))) return undefined;
          if ((c as DetailedPeerCertificate).issuerCertificate === c) break;
        }
        return Object.assign(new Error('backend certificate does not match pin-sha256'), { code: 'ERR_TLS_PIN_MISMATCH' });
      };
    }
  }
  const pool = new Pool(url.origin, {
    connections: b.connections,
    keepAliveTimeout: b['keep-alive-timeout'] * 1000,
    headersTimeout: b.timeout * 1000,
    bodyTimeout: b.timeout * 1000,
    connect,
  });
  const admission = new Admission(b.connections, b['max-pending'], b['queue-timeout'] * 1000);
  return { name, origin: url.origin, basePath: url.pathname.replace(/\/+$/, ''), host: url.host, pool, admission, config: b };
}

export interface OpenApiOperation {
  id: string;
  method: string;
  template: string;
  operation: unknown;
  pathParameters: unknown[];
  document: unknown;
  version: string;
}

/** Load an OpenAPI document through the validation module's loader. */
async function loadOpenApiFile(file: string): Promise<{ document: unknown; operations: OpenApiOperation[] }> {
  const mod = await import('./openapi/load.js');
  const loaded = await mod.loadOpenApi(file);
  return {
    document: loaded.document,
    operations: loaded.operations.map((o: Omit<OpenApiOperation, 'document' | 'version'>) => ({ ...o, method: o.method.toUpperCase(), document: loaded.document, version: loaded.version })),
  };
}
