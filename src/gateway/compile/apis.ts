import { existsSync } from 'node:fs';
import { Compressor } from '../../upstream/compression.js';
import { resolve } from 'node:path';
import type { Metrics } from '../../observability/metrics.js';
import { normalizeTarget } from '../normalize.js';
import { OperationRouter } from '../router.js';
import type { ApiConfig } from '../schema.js';
import type { CompiledApi, CompiledOperation, Runtime } from '../runtime.js';
import type { Backend } from '../../upstream/backend.js';
import { loadOpenApiFile, type OpenApiFile } from './openapi.js';
import { collectOperations } from './operations.js';
import type { PipelineCompiler } from './pipeline.js';
import { keySettings, type ProductScope } from './products.js';
import { expandScope, type Fail, type Refs } from './scopes.js';
import type { Pipeline } from '../runtime.js';

/** What compiling one API needs from the rest of the config. */
export interface ApiCompileContext {
  rt: Runtime;
  metrics: Metrics;
  pipelines: PipelineCompiler;
  /** OpenAPI documents by API name, filled as APIs are compiled */
  docs: Map<string, OpenApiFile>;
  globalRefs: Refs;
  /** the products of each API (see products.ts) */
  products: ReadonlyMap<string, ProductScope[]>;
  /** the path of this file's identity provider issuer, when it has one */
  issuerPath: string | undefined;
  fail: Fail;
}

/** The API's public path prefix ('' for the root), or undefined (reported) when the path is not normalized. */
function apiPrefix(apiCfg: ApiConfig, apiPath: Array<string | number>, fail: Fail): string | undefined {
  const norm = normalizeTarget(apiCfg.path);
  if (!norm.ok || norm.path !== apiCfg.path.replace(/(.)\/$/, '$1') && norm.path !== apiCfg.path) {
    fail([...apiPath, 'path'], `path must be normalized (no //, dot-segments or encoded characters); did you mean ${norm.ok ? norm.path : '/'}?`);
    return undefined;
  }
  return norm.path === '/' ? '' : norm.path.replace(/\/$/, '');
}

/** The API's response compression, when it has one that is enabled. */
function compressorOf(apiCfg: ApiConfig, path: Array<string | number>, fail: ApiCompileContext['fail']): Compressor | undefined {
  const c = apiCfg.compression;
  if (c === undefined || !c.enabled) return undefined;
  try {
    return new Compressor({ encodings: c.encodings, types: c.types, minBytes: c['min-size'], brotliQuality: c['brotli-quality'], gzipLevel: c['gzip-level'] });
  } catch (err) {
    fail(path, (err as Error).message);
    return undefined;
  }
}

/** Compile API `i`: its backend, OpenAPI document, early policies, pipelines and operations, and route it. */
export async function compileApi(c: ApiCompileContext, apiCfg: ApiConfig, i: number): Promise<void> {
  const { rt, fail } = c;
  const apiPath: Array<string | number> = ['apis', i];
  const prefix = apiPrefix(apiCfg, apiPath, fail);
  if (prefix === undefined) return;
  let backend: Backend | undefined;
  if (apiCfg.backend !== undefined) {
    backend = rt.backends.get(apiCfg.backend);
    // a backend that is in the file but failed to compile has been reported already
    if (!backend && !(apiCfg.backend in rt.loaded.config.backends)) fail([...apiPath, 'backend'], `no backend named "${apiCfg.backend}" in backends`);
  }
  if (apiCfg.openapi !== undefined) {
    const file = resolve(rt.loaded.dir, apiCfg.openapi);
    if (!existsSync(file)) fail([...apiPath, 'openapi'], `OpenAPI document not found: ${apiCfg.openapi} (relative paths are read from the config file's folder)`);
    else {
      try {
        c.docs.set(apiCfg.name, await loadOpenApiFile(file));
      } catch (err) {
        fail([...apiPath, 'openapi'], `the OpenAPI document is invalid: ${err instanceof Error ? err.message : String(err)}`);
      }
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
    subscription: undefined,
    maxBodySize: apiCfg['max-body-size'] ?? rt.gateway.limits['max-body-size'],
    forwardRules: { dropUnderscores: rt.gateway['headers-with-underscores'] !== 'allow', identityCookies: apiCfg['forward-identity-cookies'] ?? prefix === c.issuerPath },
    gatewayDuration: c.metrics.gatewayDuration.labels(apiCfg.name),
    backendDuration: c.metrics.backendDuration.labels(apiCfg.name),
    requests: new Map(),
    compressor: compressorOf(apiCfg, [...apiPath, 'compression'], fail),
  };
  // a section that omits `base` is reported once, not once more per product
  const reported = new Set<string>();
  const failOnce: Fail = (path, message) => { const k = path.join('.'); if (!reported.has(k)) { reported.add(k); fail(path, message); } };
  const apiRefs = expandScope(apiCfg.policies, [...apiPath, 'policies'], c.globalRefs, failOnce);
  // the API's scope once per product that lists it, expanded against the product's
  const products = c.products.get(apiCfg.name) ?? [];
  const productRefs = products.map((p) => ({ id: p.id, refs: expandScope(apiCfg.policies, [...apiPath, 'policies'], p.refs, failOnce) }));
  api.early = await c.pipelines.early(apiRefs, api);
  api.pipeline = await c.pipelines.pipeline(apiRefs, api, undefined);
  api.operations = await compileOperations(c, apiCfg, apiPath, api, apiRefs, productRefs);
  const keys = keySettings(apiCfg, products);
  if (keys) {
    const pipelines = new Map<string, Pipeline>();
    if (!api.operations) for (const p of productRefs) pipelines.set(p.id, await c.pipelines.pipeline(p.refs, api, undefined));
    api.subscription = { ...keys, products: new Set(products.map((p) => p.id)), pipelines };
    // the key never reaches the backend: left out when the backend's headers are built
    api.forwardRules.dropHeader = keys.header;
  }
  try {
    rt.router.add(api, prefix, apiCfg.hosts);
  } catch (err) {
    fail([...apiPath, 'path'], (err as Error).message);
  }
  rt.apis.push(api);
}

type ProductRefs = ReadonlyArray<{ id: string; refs: Refs }>;

async function compileOperations(c: ApiCompileContext, apiCfg: ApiConfig, apiPath: Array<string | number>, api: CompiledApi, apiRefs: Refs, productRefs: ProductRefs): Promise<OperationRouter<CompiledOperation> | undefined> {
  const ops = collectOperations(apiCfg, apiPath, c.docs.get(apiCfg.name)?.operations ?? [], c.fail);
  if (ops.size === 0) return undefined;
  const router = new OperationRouter<CompiledOperation>();
  for (const [id, o] of ops) {
    const info = { id, method: o.method, template: o.template, openapi: o.openapi };
    const refs = o.sections ? expandScope(o.sections, [...o.path, 'policies'], apiRefs, c.fail) : apiRefs;
    // compiled per operation even without its own policies, so that policies which depend on
    // the operation (validation) see it; the others share state through ctx.shared
    const pipeline = await c.pipelines.pipeline(refs, api, info);
    let byProduct: Map<string, Pipeline> | undefined;
    for (const p of productRefs) {
      const pRefs = o.sections ? expandScope(o.sections, [...o.path, 'policies'], p.refs, c.fail) : p.refs;
      (byProduct ??= new Map()).set(p.id, await c.pipelines.pipeline(pRefs, api, info));
    }
    try {
      router.add(o.method, o.template, { id, method: o.method, template: o.template, pipeline, byProduct, requests: new Map() });
    } catch (err) {
      c.fail([...o.path], `operation "${id}" (${o.method} ${o.template}): ${(err as Error).message}`);
    }
  }
  return router;
}
