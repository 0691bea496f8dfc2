import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import pino from 'pino';
import { Agent, request } from 'undici';
import { loadConfigFile as loadTestFile } from '../../config/loader.js';
import { ConfigInvalid, formatIssue } from '../../config/errors.js';
import { loadConfigFile, type LoadedGatehouseConfig } from '../config.js';
import { gatewaySchema } from '../schema.js';
import { Metrics } from '../../observability/metrics.js';
import { buildRuntime } from '../../gateway/compile/index.js';
import { handleRequest, type GatewayContext, type ListenerContext } from '../../gateway/lifecycle.js';
import { backendRequest, type BackendCall } from '../../gateway/forward.js';
import { downstreamResponseHeaders } from '../../gateway/headers.js';
import { problem } from '../../gateway/problems.js';
import type { StandInKeys } from '../../gateway/jwt/source.js';
import { check, type BackendSeen, type Observed } from './expect.js';
import { testFileSchema, type TestCase, type TestFile } from './schema.js';
import { testSigner, type TestSigner } from './token.js';

/**
 * One policy test file, run in-process: the config is compiled by the real compiler into a fresh
 * runtime per case (counters start at zero), served by the real request lifecycle on a loopback
 * port, and the backend call is replaced by the case's canned answer (GatewayContext.backendCall),
 * which records the request the backend would have got. Tokens are signed by a key generated for
 * the run, which stands in for the file's `issuer` (RuntimeDeps.standInKeys).
 */

export interface CaseResult {
  file: string;
  name: string;
  ok: boolean;
  failures: string[];
  ms: number;
}

const LISTENER: ListenerContext = { name: 'http', protocol: 'http' };
const MAX_BODY = 16 * 1024 * 1024;

/** Test mode: counters in memory, no health probes (nothing is called but the canned answer). */
function forTest(loaded: LoadedGatehouseConfig): void {
  const g = loaded.config.gateway;
  if (g) { g.store = 'memory'; g.workers = 1; }
  for (const b of Object.values(loaded.config.backends)) delete b.health;
}

async function readAll(body: Readable | Buffer | string | null): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  if (typeof body === 'string' || Buffer.isBuffer(body)) return Buffer.from(body);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body over 16 MiB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const encodeBody = (body: unknown): string | undefined => (body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));

/** The backend call of a case: records what the backend gets, answers with the canned response. */
function cannedBackend(c: TestCase, seen: { last: BackendSeen | undefined }): BackendCall {
  return async (ex, backend, hasBody) => {
    const { path, headers } = backendRequest(ex, backend);
    let body: Buffer;
    try {
      body = hasBody ? await readAll(ex.requestBody) : Buffer.alloc(0);
    } catch {
      const f = ex.body?.failure;
      return f ? problem(f.code, f.detail) : problem('backend-connection-failed', 'The request body could not be read.');
    }
    seen.last = { method: ex.method, path, headers: { ...headers }, body };
    const answer = c.backend;
    const out = Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const text = encodeBody(answer.body);
    if (answer.body !== undefined && typeof answer.body !== 'string') out['content-type'] ??= 'application/json';
    return { status: answer.status, headers: downstreamResponseHeaders(out), body: text === undefined ? null : Buffer.from(text) };
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port));
  });
}

async function send(agent: Agent, port: number, c: TestCase, signer: TestSigner | undefined): Promise<Omit<Observed, 'backend'>> {
  const r = c.request;
  const headers: Record<string, string> = { host: r.host };
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  if (c.token && signer) {
    const jwt = await signer.sign(c.token.claims, c.token['expires-in']);
    headers[c.token.header.toLowerCase()] ??= c.token.scheme === '' ? jwt : `${c.token.scheme} ${jwt}`;
  }
  const body = encodeBody(r.body);
  if (r.body !== undefined && typeof r.body !== 'string') headers['content-type'] ??= 'application/json';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  const target = r.path + (q.size ? (r.path.includes('?') ? '&' : '?') + q.toString() : '');
  const res = await request(`http://127.0.0.1:${port}${target}`, { method: r.method as 'GET', headers, body, dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers as Observed['headers'], body: buf };
}

/** Run one case on a fresh runtime of `loaded`. */
async function runCase(env: { gw: GatewayContext; loaded: LoadedGatehouseConfig; standIn: StandInKeys | undefined; signer: TestSigner | undefined; agent: Agent; port: number }, c: TestCase): Promise<string[]> {
  const { gw } = env;
  const rt = await buildRuntime(env.loaded, { logger: gw.logger, metrics: gw.metrics, ...(env.standIn ? { standInKeys: env.standIn } : {}) }, gatewaySchema.parse({}));
  gw.runtime = rt;
  const seen: { last: BackendSeen | undefined } = { last: undefined };
  gw.backendCall = cannedBackend(c, seen);
  try {
    let observed: Omit<Observed, 'backend'> | undefined;
    for (let i = 0; i < c.repeat; i++) {
      seen.last = undefined;
      observed = await send(env.agent, env.port, c, env.signer);
    }
    return check(c, { ...observed!, backend: seen.last });
  } finally {
    await rt.close();
  }
}

/** Run every case of a test file. A file that cannot be loaded is one failed result. */
export async function runFile(file: string): Promise<CaseResult[]> {
  const abs = resolve(file);
  let spec: TestFile;
  let loaded: LoadedGatehouseConfig;
  try {
    spec = loadTestFile(abs, testFileSchema).config;
    loaded = loadConfigFile(resolve(dirname(abs), spec.config), { ...process.env, ...spec.env });
  } catch (err) {
    if (!(err instanceof ConfigInvalid)) throw err;
    return [{ file: abs, name: 'load', ok: false, failures: err.issues.map(formatIssue), ms: 0 }];
  }
  forTest(loaded);
  const signer = spec.issuer === undefined ? undefined : await testSigner(spec.issuer);
  const standIn = signer ? { issuer: signer.issuer, keys: [signer.key] } : undefined;
  const logger = pino({ level: 'silent' });
  const gw: GatewayContext = { runtime: undefined as never, logger, accessLog: undefined, metrics: new Metrics({ defaultMetrics: false }) };
  const server = createServer({ requireHostHeader: false, joinDuplicateHeaders: false, insecureHTTPParser: false }, (req, res) => {
    handleRequest(gw, LISTENER, req, res).catch(() => res.destroy());
  });
  const agent = new Agent({ connections: 4 });
  const results: CaseResult[] = [];
  try {
    const port = await listen(server);
    for (const c of spec.cases) {
      const t0 = performance.now();
      let failures: string[];
      try {
        failures = await runCase({ gw, loaded, standIn, signer, agent, port }, c);
      } catch (err) {
        failures = err instanceof ConfigInvalid ? err.issues.map(formatIssue) : [`the case could not run: ${(err as Error).message}`];
      }
      results.push({ file: abs, name: c.name, ok: failures.length === 0, failures, ms: performance.now() - t0 });
    }
  } finally {
    await agent.close();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
  return results;
}
