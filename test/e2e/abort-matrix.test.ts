import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as h2connect, constants as h2constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { startSupervisedGateway, type SupervisedGateway } from '../helpers/supervised.js';
import { startDelayProxy, startSlowIdp, selfSignedCert, type DelayProxy, type SlowIdp, type SelfSigned } from '../helpers/slow-services.js';
import { rawConnect, sleep, startServer, watchBackend } from '../helpers/raw.js';
import { getOnce, sendBounded } from '../helpers/exchange.js';
import { connectRawH2, headersFrame, hpack, rstStreamFrame } from '../helpers/h2-frames.js';
import { makeKey, token, type TestKey } from '../gateway/jwt/helpers.js';
import { redisUp } from '../state/redis-servers.js';

/**
 * The abort matrix: a client gives up (TCP reset, FIN; on HTTP/2 RST_STREAM or the whole
 * session) at every stage of a request: while sending its headers, mid-body (chunked and with
 * Content-Length), after its body stalled, while each inbound policy that awaits is waiting (a
 * JWKS fetch, an OpenID discovery fetch, a Redis call made slow by a delaying proxy, body
 * validation), while the backend thinks, and mid-response. After every case the gatehouse
 * process must still run, answer the next request, and the backend must have received nothing
 * of a request aborted before its inbound policies were done.
 *
 * A case that kills the process fails, and the process is started again so the next case is
 * judged on its own. To add a policy that awaits, add a row to `slowPolicies()`.
 */

const HOST = 'gw.test';
const RUN = randomBytes(4).toString('hex');
/** how long a slow dependency takes to answer (the abort comes long before) */
const SLOW_MS = 1200;
/** how long a stalled upload waits before the client gives up (well below SLOW_MS) */
const STALL_MS = 400;
/** how long a stage may take to be reached, a response to come, the process to answer */
const BOUND_MS = 10_000;
const AUD = 'api://abort';

let gw: SupervisedGateway;
let cert: SelfSigned;
let backend: Awaited<ReturnType<typeof startServer>>;
let seen: ReturnType<typeof watchBackend>;
let jwksIdp: SlowIdp;
let discoIdp: SlowIdp;
let redisProxy: DelayProxy | undefined;
let known: TestKey;
let stranger: TestKey;
const restarts: string[] = [];
const backendTimers = new Set<NodeJS.Timeout>();

const OPENAPI = `openapi: 3.1.0
info: { title: abort matrix, version: "1" }
paths:
  /items:
    post:
      operationId: postItems
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [items]
              properties:
                items:
                  type: array
                  items:
                    type: object
                    required: [id, name]
                    properties: { id: { type: integer }, name: { type: string } }
      responses:
        "200": { description: ok }
`;

function config(): string {
  const store = redisProxy ? `  store: "redis://127.0.0.1:${redisProxy.port}?prefix=gh-abort-${RUN}:&timeout=5s&max-wait=20s"\n` : '';
  const redisApis = redisProxy ? `
  - name: ratelimit
    path: /ratelimit
    backend: main
    policies:
      inbound:
        - rate-limit-by-key: { calls: 1000000, renewal-period: 60, counter-key: "{request.ip}" }
  - name: quota
    path: /quota
    backend: main
    policies:
      inbound:
        - quota-by-key: { calls: 1000000, renewal-period: 3600, counter-key: "{request.ip}" }` : '';
  return `
gateway:
  listen:
    host: 127.0.0.1
    http: 0
    https: { port: 0, certificates: [{ cert: "${cert.cert}", key: "${cert.key}" }] }
  admin: { listen: 0 }
${store}  limits:
    header-timeout: 10s
    request-timeout: 60s
    max-body-buffer: 4mb
  log: { level: warn, access: false }
backends:
  main: { url: "${backend.url}", timeout: 30s }
apis:
  - name: plain
    path: /plain
    backend: main
  - name: jwks
    path: /jwks
    backend: main
    policies:
      inbound:
        - validate-jwt: { openid-config: "${jwksIdp.discoveryUrl}", audiences: ["${AUD}"], keys-refresh-cooldown: 0s, keys-fetch-timeout: 10s }
  - name: discovery
    path: /discovery
    backend: main
    policies:
      inbound:
        - validate-jwt: { openid-config: "${discoIdp.discoveryUrl}", audiences: ["${AUD}"], keys-refresh-cooldown: 0s, keys-fetch-timeout: 10s }
  - name: content
    path: /content
    backend: main
    openapi: ./content.yaml
    policies:
      inbound:
        - validate-content: { max-size: 2mb }
${redisApis}
`;
}

async function startGw(): Promise<void> {
  gw = await startSupervisedGateway(config(), { files: { 'content.yaml': OPENAPI }, waitFor: ['http', 'https', 'admin'] });
  // the validate-jwt keys and the counter store are ready before the matrix starts
  const slow = [jwksIdp.jwksDelayMs, discoIdp.discoveryDelayMs, redisProxy?.delayMs ?? 0];
  jwksIdp.jwksDelayMs = 0;
  discoIdp.discoveryDelayMs = 0;
  if (redisProxy) redisProxy.delayMs = 0;
  try {
    const end = Date.now() + BOUND_MS * 2;
    const paths = ['/jwks/warm', '/discovery/warm', ...(redisProxy ? ['/ratelimit/warm', '/quota/warm'] : [])];
    for (const p of paths) {
      for (;;) {
        const r = await getOnce(`${gw.url}${p}`, BOUND_MS, { authorization: `Bearer ${goodToken(p.startsWith('/jwks') ? jwksIdp : discoIdp)}` }).catch(() => ({ status: 0 }));
        if (r.status === 200) break;
        if (Date.now() > end) throw new Error(`the gateway never served ${p} (last status ${r.status}); ${gw.describe()}`);
        await sleep(100);
      }
    }
  } finally {
    [jwksIdp.jwksDelayMs, discoIdp.discoveryDelayMs] = [slow[0]!, slow[1]!];
    if (redisProxy) redisProxy.delayMs = slow[2]!;
  }
}

const goodToken = (idp: SlowIdp) => token(known, { iss: idp.issuer, aud: AUD });
/**
 * A key rotation: a token signed with a key whose kid the gateway has not seen, which the
 * provider publishes from now on. validate-jwt refetches the keys (slowly) and would then accept
 * the token, so a request that is not cancelled properly reaches the backend.
 */
function rotatedKeyToken(idp: SlowIdp, id: string): string {
  const kid = `rotated-${id}`;
  const key: TestKey = { ...stranger, kid, jwk: { ...stranger.jwk, kid } };
  idp.keys.push(key);
  return token(key, { iss: idp.issuer, aud: AUD });
}

before(async () => {
  cert = selfSignedCert([HOST]);
  known = makeKey('ES256', 'known');
  stranger = makeKey('ES256', 'stranger');
  jwksIdp = await startSlowIdp([known]);
  discoIdp = await startSlowIdp([known]);
  if (await redisUp()) redisProxy = await startDelayProxy(6379);
  else if (process.env.CI === 'true') throw new Error('Redis on 127.0.0.1:6379 is required when CI=true');
  else console.error('\n!!! Redis is not reachable on 127.0.0.1:6379: the rate-limit-by-key and quota-by-key rows are SKIPPED !!!\n');
  backend = await startServer((req, res) => {
    const mode = new URL(req.url ?? '/', 'http://b').searchParams.get('mode');
    const later = (ms: number, fn: () => void) => { const t = setTimeout(() => { backendTimers.delete(t); fn(); }, ms); backendTimers.add(t); };
    if (mode === 'noread') {
      // never reads the upload: the gateway's upstream stalls, and so does the client
      req.pause();
      later(30_000, () => { if (!res.destroyed) res.end('late'); });
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('error', () => {});
    req.on('end', () => {
      if (mode === 'delay') { later(3 * SLOW_MS, () => { if (!res.destroyed) res.end('late'); }); return; }
      if (mode === 'stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const tick = () => {
          if (res.destroyed) return;
          res.write(`chunk ${i}\n`);
          if (++i >= 50) { res.end(); return; }
          later(100, tick);
        };
        tick();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes }));
    });
  });
  seen = watchBackend(backend.server);
  jwksIdp.jwksDelayMs = SLOW_MS;
  discoIdp.discoveryDelayMs = SLOW_MS;
  if (redisProxy) redisProxy.delayMs = SLOW_MS;
  await startGw();
});

after(async () => {
  await gw?.stop();
  for (const t of backendTimers) clearTimeout(t);
  await backend?.close();
  await jwksIdp?.close();
  await discoIdp?.close();
  await redisProxy?.close();
});

// ---------------------------------------------------------------------------------------------
// the table

/** A JSON document for the content API, at least `bytes` long. */
function jsonBody(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 12;
  for (let i = 0; n < bytes; i++) {
    const item = `{"id":${i},"name":"item-${i}-${'x'.repeat(24)}"}`;
    parts.push(item);
    n += item.length + 1;
  }
  return Buffer.from(`{"items":[${parts.join(',')}]}`);
}

/** A policy that awaits something slow, and how to make it wait. */
interface SlowPolicy {
  name: string;
  path: string;
  /** request headers that make the policy wait (besides Host and framing); called right before sending */
  headers(id: string): Array<[string, string]>;
  /** false: the policy only waits while a body arrives (no GET row) */
  waitsWithoutBody: boolean;
  /** a snapshot to compare with */
  mark(): number;
  /** the policy is waiting on its slow dependency since `mark` */
  waiting(mark: number): boolean;
  /** until the slow dependency answered (after which a forward would have happened) */
  settle(): Promise<void>;
}

function slowPolicies(): SlowPolicy[] {
  const rows: SlowPolicy[] = [
    {
      name: 'validate-jwt waiting on a slow JWKS (new kid)',
      path: '/jwks/items',
      headers: (id) => [['Authorization', `Bearer ${rotatedKeyToken(jwksIdp, id)}`]],
      waitsWithoutBody: true,
      mark: () => jwksIdp.jwksHits,
      waiting: (m) => jwksIdp.jwksHits > m && jwksIdp.inflight > 0,
      settle: () => jwksIdp.idle(BOUND_MS),
    },
    {
      name: 'validate-jwt waiting on a slow identity provider (discovery, new kid)',
      path: '/discovery/items',
      headers: (id) => [['Authorization', `Bearer ${rotatedKeyToken(discoIdp, id)}`]],
      waitsWithoutBody: true,
      mark: () => discoIdp.discoveryHits,
      waiting: (m) => discoIdp.discoveryHits > m && discoIdp.inflight > 0,
      settle: () => discoIdp.idle(BOUND_MS),
    },
    {
      name: 'validate-content reading a chunked JSON body',
      path: '/content/items',
      headers: () => [['Content-Type', 'application/json']],
      waitsWithoutBody: false,
      mark: () => Date.now(),
      // nothing outside shows the policy reading: give the body time to arrive
      waiting: (m) => Date.now() - m > 300,
      settle: () => sleep(100),
    },
  ];
  if (redisProxy) {
    const proxy = redisProxy;
    for (const [name, path] of [['rate-limit-by-key', '/ratelimit/items'], ['quota-by-key', '/quota/items']] as const) {
      rows.push({
        name: `${name} waiting on a slow Redis`,
        path,
        headers: () => [],
        waitsWithoutBody: true,
        mark: () => proxy.upBytes,
        waiting: (m) => proxy.upBytes > m && proxy.pending > 0,
        settle: () => proxy.drained(BOUND_MS),
      });
    }
  }
  return rows;
}

type Stage = 'headers' | 'get' | 'chunked' | 'content-length' | 'stalled' | 'backend' | 'response';
type H1Abort = 'rst' | 'fin';
type H2Abort = 'rst-stream' | 'session';

interface Case {
  id: string;
  title: string;
  stage: Stage;
  path: string;
  query: string;
  /** request headers besides Host and framing (computed right before sending) */
  headers: () => Array<[string, string]>;
  /** what is sent before the abort: the body part (undefined: no body) */
  body: Buffer | undefined;
  /** declared Content-Length (undefined with a body: chunked) */
  length?: number;
  /** called right before the request is sent; the predicate says when the stage is reached */
  start(): (progress: { received: number }) => boolean;
  /** until the slow dependency answered (bounded) */
  settle(): Promise<void>;
  /** the backend must not have received this request at all */
  blocked: boolean;
  /** the backend may have received it, but never its whole body */
  incomplete: boolean;
}

type CaseSpec = Omit<Case, 'id' | 'start' | 'settle'> & { key: string; start?: (id: string) => (progress: { received: number }) => boolean; settle?: () => Promise<void> };

/** Every (row, stage) pair for one transport; `abort` only goes into names and ids. */
function cases(transport: 'h1' | 'h2', abort: string): Case[] {
  const out: Case[] = [];
  const id = (s: string) => `${transport}-${abort}-${s}-${RUN}`;
  const backendSaw = (cid: string) => seen.requests.some((r) => tagOf(r.url) === cid);
  const after = (ms: number) => () => { const t0 = Date.now(); return () => Date.now() - t0 >= ms; };
  const mk = ({ key, start, settle, ...c }: CaseSpec): void => {
    const cid = id(key);
    out.push({ ...c, id: cid, start: start ? () => start(cid) : after(150), settle: settle ?? (() => sleep(50)) });
  };
  // the plain API: no policy; stages of the connection itself
  const big = randomBytes(512 * 1024);
  const plain = { headers: () => [] as Array<[string, string]>, query: '' };
  mk({ ...plain, key: 'plain-headers', title: 'no policy: while sending the request headers', stage: 'headers', path: '/plain/x', body: undefined, blocked: true, incomplete: false });
  mk({ ...plain, key: 'plain-chunked', title: 'no policy: mid-body (chunked)', stage: 'chunked', path: '/plain/upload', body: randomBytes(3000), blocked: false, incomplete: true, start: (cid) => () => backendSaw(cid) });
  mk({ ...plain, key: 'plain-length', title: 'no policy: mid-body (Content-Length)', stage: 'content-length', path: '/plain/upload', body: randomBytes(3000), length: 100_000, blocked: false, incomplete: true, start: (cid) => () => backendSaw(cid) });
  mk({
    ...plain, key: 'plain-stalled', title: 'no policy: the client gives up after its upload stalled (backend not reading)', stage: 'stalled', path: '/plain/upload', query: 'mode=noread&', body: big,
    blocked: false, incomplete: true,
    start: (cid) => { let t = 0; return () => { if (!t && backendSaw(cid)) t = Date.now(); return t > 0 && Date.now() - t > STALL_MS; }; },
  });
  mk({ ...plain, key: 'plain-backend', title: 'no policy: while the backend delays its answer', stage: 'backend', path: '/plain/slow', query: 'mode=delay&', body: undefined, blocked: false, incomplete: false, start: (cid) => () => backendSaw(cid) });
  mk({ ...plain, key: 'plain-response', title: 'no policy: mid-response (backend streams slowly)', stage: 'response', path: '/plain/stream', query: 'mode=stream&', body: undefined, blocked: false, incomplete: false, start: () => (p) => p.received > 0 });
  const json = jsonBody(48 * 1024);
  const partial = json.subarray(0, json.length - 10);
  const huge = jsonBody(1024 * 1024);
  for (const [i, row] of slowPolicies().entries()) {
    const key = (s: string) => `p${i}-${s}`;
    /** reached once the policy waits (and, for a stall, `stall` ms later) */
    const waiting = (stall = 0) => () => {
      const m = row.mark();
      let t = 0;
      return () => { if (!t && row.waiting(m)) t = Date.now(); return t > 0 && Date.now() - t >= stall; };
    };
    const common = { path: row.path, query: '', blocked: true, incomplete: false, settle: row.settle };
    if (row.waitsWithoutBody) {
      mk({ ...common, key: key('get'), title: `${row.name}: a request without body`, stage: 'get', headers: () => row.headers(id(key('get'))), body: undefined, start: waiting() });
    }
    mk({ ...common, key: key('chunked'), title: `${row.name}: mid-body (chunked)`, stage: 'chunked', headers: () => row.headers(id(key('chunked'))), body: partial, start: waiting() });
    mk({ ...common, key: key('length'), title: `${row.name}: mid-body (Content-Length)`, stage: 'content-length', headers: () => row.headers(id(key('length'))), body: partial, length: json.length, start: waiting() });
    mk({ ...common, key: key('stalled'), title: `${row.name}: the client gives up after its upload stalled`, stage: 'stalled', headers: () => row.headers(id(key('stalled'))), body: huge, start: waiting(STALL_MS) });
  }
  return out;
}

function tagOf(url: string): string | null {
  return new URL(url, 'http://b').searchParams.get('c');
}

// ---------------------------------------------------------------------------------------------
// clients

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + BOUND_MS;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`stage not reached within ${BOUND_MS} ms: ${what}`);
    await sleep(5);
  }
}

function h1Head(c: Case): string {
  const method = c.body === undefined ? 'GET' : 'POST';
  const framing = c.body === undefined ? '' : c.length !== undefined ? `Content-Length: ${c.length}\r\n` : 'Transfer-Encoding: chunked\r\n';
  return `${method} ${c.path}?${c.query}c=${c.id} HTTP/1.1\r\nHost: ${HOST}\r\n${c.headers().map(([k, v]) => `${k}: ${v}\r\n`).join('')}${framing}\r\n`;
}

async function runH1(c: Case, abort: H1Abort): Promise<void> {
  const s: Socket = await rawConnect(gw.port);
  const reached = c.start();
  s.on('error', () => {});
  const progress = { received: 0 };
  let headEnd = -1;
  const got: Buffer[] = [];
  s.on('data', (b: Buffer) => {
    got.push(b);
    if (headEnd === -1) {
      const all = Buffer.concat(got);
      headEnd = all.indexOf('\r\n\r\n');
      if (headEnd !== -1) progress.received = all.length - headEnd - 4;
    } else progress.received += b.length;
  });
  try {
    const head = h1Head(c);
    if (c.stage === 'headers') s.write(head.slice(0, head.length - 30));
    else {
      s.write(head);
      if (c.body !== undefined) s.write(c.length !== undefined ? c.body : Buffer.concat([Buffer.from(`${c.body.length.toString(16)}\r\n`), c.body, Buffer.from('\r\n')]));
    }
    await until(() => reached(progress), c.title);
    if (abort === 'rst') s.resetAndDestroy();
    else {
      s.end();
      await Promise.race([new Promise((r) => s.once('close', r)), sleep(1000)]);
    }
  } finally {
    s.destroy();
  }
}

function h2Session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${gw.ports.https}`, { ca: cert.pem, servername: HOST });
    const t = setTimeout(() => { session.destroy(); reject(new Error('HTTP/2 connect timed out')); }, BOUND_MS);
    session.once('connect', () => { clearTimeout(t); session.on('error', () => {}); resolve(session); });
    session.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

async function runH2(c: Case, abort: H2Abort): Promise<void> {
  const reached = c.start();
  if (c.stage === 'headers') {
    // a header block cut in the middle: HEADERS without END_HEADERS, no CONTINUATION
    const conn = await connectRawH2(gw.ports.https!, { servername: HOST, ca: cert.pem });
    try {
      const block = hpack([[':method', 'GET'], [':scheme', 'https'], [':authority', HOST], [':path', `${c.path}?c=${c.id}`], ['x-filler', 'y'.repeat(200)]]);
      conn.write(headersFrame(1, block.subarray(0, block.length - 100), { endStream: true, endHeaders: false }));
      await until(() => reached({ received: 0 }), c.title);
      if (abort === 'rst-stream') { conn.write(rstStreamFrame(1)); await sleep(200); }
    } finally {
      conn.destroy();
    }
    return;
  }
  const session = await h2Session();
  try {
    const progress = { received: 0 };
    const headers: Record<string, string> = {
      ':method': c.body === undefined ? 'GET' : 'POST', ':path': `${c.path}?${c.query}c=${c.id}`, ':authority': HOST,
    };
    for (const [k, v] of c.headers()) headers[k.toLowerCase()] = v;
    if (c.length !== undefined) headers['content-length'] = String(c.length);
    const stream: ClientHttp2Stream = session.request(headers, { endStream: c.body === undefined });
    stream.on('error', () => {});
    stream.on('data', (b: Buffer) => { progress.received += b.length; });
    if (c.body !== undefined) stream.write(c.body);
    await until(() => reached(progress), c.title);
    if (abort === 'rst-stream') { stream.close(h2constants.NGHTTP2_CANCEL); await sleep(100); }
    else session.destroy();
  } finally {
    session.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// the checks after every case

/** the case run last: the one to blame when the process is found dead */
let lastCase = '(start-up)';

async function ensureRunning(next: string): Promise<void> {
  const blame = lastCase;
  lastCase = next;
  if (gw.alive()) return;
  restarts.push(blame);
  await gw.stop();
  await startGw();
}

async function checkAfter(c: Case): Promise<void> {
  await sleep(150); // a crash on the abort comes at once
  await c.settle(); // the slow dependency answered: a request that survived would be forwarded now
  await sleep(150);
  assert.ok(gw.alive(), `the process died on "${c.title}": ${gw.describe()}`);
  const next = await getOnce(`${gw.url}/plain/next?c=${c.id}-next`, BOUND_MS).catch((e: Error) => ({ status: 0, body: e.message }));
  assert.equal(next.status, 200, `the next request after "${c.title}" failed: ${next.body}; ${gw.describe()}`);
  assert.ok(gw.alive(), gw.describe());
  const mine = seen.requests.filter((r) => tagOf(r.url) === c.id);
  if (c.blocked) {
    assert.deepEqual(mine.map((r) => `${r.method} ${r.url} (${r.bytes} body bytes)`), [],
      `the backend received a request that was aborted before its inbound policies were done`);
  }
  if (c.incomplete) {
    assert.ok(mine.every((r) => !r.complete), `the backend received a complete request for an upload the client aborted: ${mine.map((r) => `${r.bytes} body bytes`).join(', ')}`);
  }
}

function matrix(transport: 'h1', aborts: H1Abort[]): void;
function matrix(transport: 'h2', aborts: H2Abort[]): void;
function matrix(transport: 'h1' | 'h2', aborts: string[]): void {
  for (const abort of aborts) {
    describe(`${transport === 'h1' ? 'HTTP/1.1' : 'HTTP/2'}, abort by ${abort}`, () => {
      // the table is built once the services exist (in before()), so it is made inside the test
      it('every stage', { timeout: 280_000 }, async (t) => {
        for (const c of cases(transport, abort)) {
          await t.test(c.title, { timeout: 4 * BOUND_MS }, async () => {
            await ensureRunning(c.title);
            if (transport === 'h1') await runH1(c, abort as H1Abort);
            else await runH2(c, abort as H2Abort);
            await checkAfter(c);
          });
        }
      });
    });
  }
}

matrix('h1', ['rst', 'fin']);
matrix('h2', ['rst-stream', 'session']);

describe('validate-content answers chunked JSON bodies (it used to stall on ~40 KB and more)', () => {
  for (const size of [40 * 1024, 100 * 1024, 1024 * 1024]) {
    it(`answers a valid chunked JSON body of ${size / 1024} KB within ${BOUND_MS / 1000} s and forwards it whole`, { timeout: 3 * BOUND_MS }, async () => {
      await ensureRunning(`chunked JSON ${size}`);
      const body = jsonBody(size);
      const id = `content-${size}-${RUN}`;
      const pieces: Buffer[] = [Buffer.from(`POST /content/items?c=${id} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`)];
      for (let o = 0; o < body.length; o += 16 * 1024) {
        const part = body.subarray(o, o + 16 * 1024);
        pieces.push(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]));
      }
      pieces.push(Buffer.from('0\r\n\r\n'));
      const r = await sendBounded(gw.port, pieces, { timeoutMs: BOUND_MS });
      await sleep(200);
      assert.ok(gw.alive(), `the process died after the client gave up waiting: ${gw.describe()}`);
      assert.equal(r.timedOut, false, `no answer within ${BOUND_MS} ms to a ${body.length}-byte chunked JSON body (the client gave up; the process survived)`);
      assert.equal(r.responses[0]?.status, 200, `status ${r.responses[0]?.status} (connection closed: ${r.closed}): ${r.raw.toString('latin1').slice(0, 400)}`);
      const mine = seen.requests.filter((x) => tagOf(x.url) === id);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.bytes, body.length, 'the backend received the whole body');
      assert.ok(gw.alive(), gw.describe());
    });
  }
});

describe('the process survived the whole matrix', () => {
  it('was never restarted', () => {
    assert.ok(gw.alive(), gw.describe());
    assert.deepEqual(restarts, [], `the process had to be restarted after: ${restarts.join('; ')}`);
  });
});
