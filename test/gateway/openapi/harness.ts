import { testExchange } from '../../helpers/exchange.js';
import { policyContext } from '../../helpers/policy-context.js';
import { PassThrough, Readable } from 'node:stream';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { RequestBody } from '../../../src/gateway/body.js';
import { Exchange } from '../../../src/gateway/exchange.js';
import type { Handler, PolicyContext, PolicyDefinition, Section } from '../../../src/gateway/policy.js';
import type { Reply } from '../../../src/gateway/reply.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { loadOpenApi, type LoadedOpenApi } from '../../../src/gateway/openapi/load.js';

/** Test harness for the validation policies: a real policy context and real exchanges, no server. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const SHOP = join(ROOT, 'test/fixtures/openapi/shop/openapi.yaml');
export const EXAMPLES = join(ROOT, 'node_modules/@readme/oas-examples');

const docs = new Map<string, Promise<LoadedOpenApi>>();
export function load(file: string): Promise<LoadedOpenApi> {
  let p = docs.get(file);
  if (!p) docs.set(file, (p = loadOpenApi(file)));
  return p;
}

export interface Built { handler: Handler; metrics: Metrics; logs: Array<Record<string, unknown>>; doc: LoadedOpenApi }

export async function build(policy: PolicyDefinition, config: unknown, opts: { file?: string; section?: Section; operationId?: string; gateway?: Record<string, unknown> } = {}): Promise<Built> {
  const doc = await load(opts.file ?? SHOP);
  const metrics = new Metrics({ defaultMetrics: false });
  const logs: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => { logs.push(JSON.parse(s)); } };
  const op = opts.operationId === undefined ? undefined : doc.operations.find((o) => o.id === opts.operationId);
  if (opts.operationId !== undefined && op === undefined) throw new Error(`no operation ${opts.operationId}`);
  const ctx = policyContext({
    configDir: ROOT,
    location: `test.${policy.name}`,
    section: opts.section ?? 'inbound',
    api: { name: 'shop', prefix: '/shop', openapi: doc.document },
    operation: op ? { id: op.id, method: op.method, template: op.template, openapi: op } : undefined,
    logger: pino({ level: 'info' }, stream),
    metrics,
    gateway: opts.gateway as Partial<PolicyContext['gateway']> | undefined,
  });
  const handler = await policy.create(policy.schema.parse(config), ctx);
  return { handler, metrics, logs, doc };
}

export interface RequestSpec {
  operationId: string;
  method?: string;
  query?: string;
  headers?: Record<string, string | string[]>;
  /** a Buffer/string body, or chunks written one by one (chunked) */
  body?: Buffer | string | Array<Buffer | string>;
  params?: Record<string, string>;
}

/** An exchange whose request carries `body`; content-length is set unless the body is chunks. */
export function exchange(spec: RequestSpec, doc: LoadedOpenApi): { ex: Exchange; req: PassThrough & { headers: Record<string, string | string[]> } } {
  const op = doc.operations.find((o) => o.id === spec.operationId);
  if (!op) throw new Error(`no operation ${spec.operationId}`);
  const req = new PassThrough() as PassThrough & { headers: Record<string, string | string[]> };
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k.toLowerCase()] = v;
  if (spec.body !== undefined) {
    if (Array.isArray(spec.body)) {
      headers['transfer-encoding'] ??= 'chunked';
    } else {
      const b = Buffer.from(spec.body);
      headers['content-length'] ??= String(b.length);
      req.end(b);
    }
  } else req.end();
  req.headers = headers;
  const ex = testExchange({ req, method: spec.method ?? op.method, path: `/shop${op.template}`, query: spec.query ?? '', api: { name: 'shop', prefix: '/shop' }, operation: { id: op.id, method: op.method, template: op.template }, upstream: false });
  ex.params = spec.params ?? {};
  if (spec.body !== undefined) {
    // as the lifecycle does: the body's one owner
    ex.body = new RequestBody(req, { maxSize: 100 * 1024 * 1024, minRate: 0, rateWindow: 10 });
    ex.requestBody = ex.body;
  }
  return { ex, req };
}

/** Set the backend response of an exchange (outbound tests). */
export function respond(ex: Exchange, status: number, headers: Record<string, string>, body: Buffer | string | Readable | null): void {
  ex.response = { status, headers, body: typeof body === 'string' ? Readable.from([Buffer.from(body)], { objectMode: false }) : body };
}

export async function run(h: Handler, ex: Exchange): Promise<Reply | undefined> {
  return await h(ex);
}

export async function bodyOf(b: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(b)) return b;
  if (typeof b === 'string') return Buffer.from(b);
  const chunks: Buffer[] = [];
  for await (const c of b as Readable) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

export async function metric(metrics: Metrics, name: string): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

export const ORDER = {
  customerId: '0b9f1e6e-8a3c-4c57-9a33-0c5b7c1d2e3f',
  currency: 'EUR',
  lines: [{ sku: 'ABC-1234', quantity: 2 }],
  payment: { method: 'card', token: 'tok_1234567890abcdef' },
};
