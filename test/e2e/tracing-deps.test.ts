/**
 * Tracing of what the gateway calls besides backends (key fetches, the Redis counter store, the
 * identity provider and its database), and a collector that is dead or hangs: requests never
 * notice it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { eventually, makeKey, startIdp, token, type Idp } from '../gateway/jwt/helpers.js';
import { closedPort } from '../helpers/raw.js';
import { requireRedis, runPrefix } from '../state/redis-servers.js';
import { FAST_HASH, SECRET, freePort, tokenRequest } from '../identity/helpers.js';

const SERVER = 2;
const CLIENT = 3;

let rx: OtlpReceiver;
let backend: TestBackend;

before(async () => {
  rx = await startOtlpReceiver();
  backend = await startBackend();
});

after(async () => {
  await backend?.close();
  await rx?.close();
});

const tracing = (endpoint: string, extra = '') => `
observability:
  tracing:
    endpoint: "${endpoint}"
    batch: { delay: 50ms }
${extra}`;

async function get(gw: RunningGateway, path: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(`${gw.url}${path}`, { headers });
  await r.body.dump();
  return r.statusCode;
}

async function traceOf(gw: RunningGateway, requestId: string): Promise<{ traceId: string; spans: ReceivedSpan[] }> {
  const line = await gw.waitForLog((l) => l.msg === 'request' && l.requestId === requestId);
  const traceId = line.traceId as string;
  await eventually(() => rx.trace(traceId).some((s) => s.kind === SERVER && s.spanId === line.spanId), 10_000, `the spans of ${requestId}`);
  return { traceId, spans: rx.trace(traceId) };
}

function named(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const s = spans.find((x) => x.name === name);
  assert.ok(s, `a span "${name}" in ${JSON.stringify(spans.map((x) => x.name))}`);
  return s;
}

describe('JWKS fetches', () => {
  let gw: RunningGateway;
  let idp: Idp;
  const seen: IncomingHttpHeaders[] = [];
  const k1 = makeKey('ES256', 'k1');
  const k2 = makeKey('ES256', 'k2');
  before(async () => {
    idp = await startIdp([k1]);
    idp.server.prependListener('request', (req) => { seen.push(req.headers); });
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }
backends: { echo: { url: "${backend.url}" } }
apis:
  - name: jwt
    path: /jwt
    backend: echo
    policies:
      inbound:
        - validate-jwt: { openid-config: "${idp.discoveryUrl}", audiences: [api://orders], keys-refresh-cooldown: 0s }
${tracing(rx.url)}`);
  });
  after(async () => { await gw?.stop(); await idp?.close(); });

  it('the first key fetch is a trace of its own, and the key server receives its traceparent', async () => {
    await eventually(() => rx.spans.some((s) => s.name === 'jwks refresh' && s.attributes['gatehouse.jwks.reason'] === 'initial'), 10_000, 'the initial refresh span');
    const refresh = rx.spans.find((s) => s.name === 'jwks refresh' && s.attributes['gatehouse.jwks.reason'] === 'initial')!;
    assert.equal(refresh.parentSpanId, '');
    assert.equal(refresh.attributes['gatehouse.jwks.source'], idp.discoveryUrl);
    await eventually(() => rx.trace(refresh.traceId).filter((s) => s.kind === CLIENT).length === 2, 10_000, 'two fetch spans');
    const fetches = rx.trace(refresh.traceId).filter((s) => s.kind === CLIENT);
    assert.deepEqual(fetches.map((s) => s.attributes['url.full']).sort(), [idp.discoveryUrl, `${idp.url}/jwks`].sort());
    for (const f of fetches) {
      assert.equal(f.parentSpanId, refresh.spanId);
      assert.equal(f.attributes['http.response.status_code'], 200);
      assert.ok(seen.some((h) => h.traceparent === `00-${refresh.traceId}-${f.spanId}-01`), 'the key server received the fetch span as parent');
    }
  });

  it('a refresh for an unknown kid is traced under the validate-jwt span of the request that asked', async () => {
    assert.equal(await get(gw, '/jwt/x', { authorization: `Bearer ${token(k1, { iss: idp.issuer, aud: 'api://orders' })}`, 'x-request-id': 'jwt-known' }), 200);
    idp.keys = [k1, k2];
    assert.equal(await get(gw, '/jwt/x', { authorization: `Bearer ${token(k2, { iss: idp.issuer, aud: 'api://orders' })}`, 'x-request-id': 'jwt-new-kid' }), 200);
    const { spans } = await traceOf(gw, 'jwt-new-kid');
    const policy = named(spans, 'policy validate-jwt');
    assert.equal(policy.attributes['gatehouse.policy.outcome'], 'continue');
    await eventually(() => rx.trace(policy.traceId).some((s) => s.name === 'jwks refresh'), 10_000, 'the refresh span');
    const refresh = named(rx.trace(policy.traceId), 'jwks refresh');
    assert.equal(refresh.parentSpanId, policy.spanId);
    assert.equal(refresh.attributes['gatehouse.jwks.reason'], 'unknown-kid');
  });

  it('a token refused for its signature: the policy span carries the reason code', async () => {
    const forged = token(k1, { iss: idp.issuer, aud: 'api://orders' }, { kid: 'k2' });
    assert.equal(await get(gw, '/jwt/x', { authorization: `Bearer ${forged}`, 'x-request-id': 'jwt-forged' }), 401);
    const { spans } = await traceOf(gw, 'jwt-forged');
    const policy = named(spans, 'policy validate-jwt');
    assert.equal(policy.attributes['gatehouse.policy.outcome'], 'answered');
    assert.equal(typeof policy.attributes['gatehouse.policy.reason'], 'string');
    assert.equal(policy.attributes['http.response.status_code'], 401);
  });
});

const redisSkip = await requireRedis();

describe('the Redis counter store', { skip: redisSkip }, () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 }, store: "redis://127.0.0.1:6379/0?prefix=${runPrefix('trace')}" }
backends: { echo: { url: "${backend.url}" } }
apis:
  - name: limited
    path: /limited
    backend: echo
    policies:
      inbound:
        - rate-limit-by-key: { calls: 100, renewal-period: 60, counter-key: "{request.ip}" }
${tracing(rx.url)}`);
    await eventually(async () => (await request(`${gw.adminUrl}/readyz`).then(async (r) => { await r.body.dump(); return r.statusCode; })) === 200, 10_000, 'ready');
  });
  after(async () => { await gw?.stop(); });

  it('each store call is a client span under the rate-limit policy', async () => {
    assert.equal(await get(gw, '/limited/x', { 'x-request-id': 'redis-1' }), 200);
    const { spans } = await traceOf(gw, 'redis-1');
    const policy = named(spans, 'policy rate-limit-by-key');
    const call = named(spans, 'redis sliding-hit');
    assert.equal(call.parentSpanId, policy.spanId);
    assert.equal(call.kind, CLIENT);
    assert.equal(call.attributes['db.system.name'], 'redis');
    assert.equal(call.status.code, 0, 'the call succeeded');
  });
});

describe('the identity provider behind the gateway', () => {
  let gw: RunningGateway;
  let issuer: string;
  before(async () => {
    const [gwPort, idPort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${gwPort}/auth`;
    gw = await startGateway(`
gateway: { listen: { http: ${gwPort} }, admin: { listen: 0 } }
backends:
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
apis:
  - name: identity
    path: /auth
    backend: identity
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: sqlite:./identity.db
  apis:
    - { audience: "api://orders", scopes: [orders.read] }
  clients:
    - { client-id: billing-svc, client-secret: "${SECRET}", grant-types: [client_credentials], scopes: [orders.read] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
${tracing(rx.url)}`, { waitFor: ['http', 'admin', 'identity'] });
  });
  after(async () => { await gw?.stop(); });

  it("continues the gateway's trace in the identity provider, with its database statements", async () => {
    const r = await tokenRequest({ issuer }, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: SECRET });
    assert.equal(r.status, 200, r.text);
    // a client the config does not list is looked up in the database
    const unknown = await tokenRequest({ issuer }, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'not-configured', secret: SECRET });
    assert.equal(unknown.status, 401, unknown.text);
    const line = await gw.waitForLog((l) => l.msg === 'request' && l.path === '/auth/token' && l.status === 401);
    const traceId = line.traceId as string;
    await eventually(() => rx.trace(traceId).filter((s) => s.kind === SERVER).length === 2, 10_000, 'the gateway and identity server spans');
    const spans = rx.trace(traceId);
    const call = named(spans, 'backend identity');
    const idServer = spans.find((s) => s.kind === SERVER && s.parentSpanId === call.spanId);
    assert.ok(idServer, 'the identity server span is a child of the gateway backend span');
    assert.equal(idServer.attributes['url.path'], '/auth/token');
    await eventually(() => rx.trace(traceId).some((s) => s.attributes['db.system.name'] === 'sqlite'), 10_000, 'a database span');
    const statements = rx.trace(traceId).filter((s) => s.attributes['db.system.name'] === 'sqlite');
    const ids = new Set(rx.trace(traceId).map((s) => s.spanId));
    for (const st of statements) {
      assert.equal(st.kind, CLIENT);
      assert.ok(ids.has(st.parentSpanId), 'under a span of the trace');
      assert.ok(!String(st.attributes['db.query.text']).includes(SECRET), 'no values in the statement');
    }
  });
});

describe('gateway workers', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 }, workers: 2 }
backends: { echo: { url: "${backend.url}" } }
apis:
  - { name: plain, path: /plain, backend: echo }
${tracing(rx.url)}`);
  });
  after(async () => { await gw?.stop(); });

  it('each worker traces the requests it serves', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `workers-${i}`);
    for (const id of ids) assert.equal(await get(gw, '/plain/x', { 'x-request-id': id }), 200);
    for (const id of ids) {
      const { spans } = await traceOf(gw, id);
      assert.ok(spans.some((s) => s.name === 'backend echo'), `${id}: its backend span`);
    }
  });
});

describe('a dead or hanging collector', () => {
  let dead: RunningGateway;
  let hung: RunningGateway;
  let hangRx: OtlpReceiver;
  before(async () => {
    hangRx = await startOtlpReceiver();
    hangRx.mode = 'hang';
    const apis = `backends: { echo: { url: "${backend.url}" } }
apis:
  - { name: plain, path: /plain, backend: echo }
`;
    const limits = '    timeout: 1s\n    batch: { delay: 20ms, max-queue-size: 64, max-export-batch-size: 16 }\n';
    dead = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }\n${apis}${tracing(`http://127.0.0.1:${await closedPort()}/v1/traces`).replace('    batch: { delay: 50ms }\n', limits)}`);
    hung = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }\n${apis}${tracing(hangRx.url).replace('    batch: { delay: 50ms }\n', limits)}`);
  });
  after(async () => {
    await dead?.stop();
    await hung?.stop();
    await hangRx?.close();
  });

  for (const which of ['dead', 'hung'] as const) {
    it(`${which}: every request is answered 200, and the failure is logged once, not per span`, async () => {
      const gw = which === 'dead' ? dead : hung;
      for (let round = 0; round < 10; round++) {
        const statuses = await Promise.all(Array.from({ length: 20 }, () => get(gw, '/plain/x')));
        assert.deepEqual(new Set(statuses), new Set([200]));
      }
      if (which === 'hung') await eventually(() => hangRx.posts > 0, 10_000, 'an export reaching the hanging collector');
      await gw.waitForLog((l) => String(l.msg).startsWith('tracing: span export failed'), 15_000);
      const lines = gw.logs.filter((l) => String(l.msg).startsWith('tracing: span export failed'));
      assert.equal(lines.length, 1, 'rate-limited: one line a minute');
      assert.equal(lines[0]!.level, 'warn');
      assert.ok(!JSON.stringify(lines[0]).includes('Error:'), 'no stack trace');
      // and the gateway still answers after the failures were reported
      assert.equal(await get(gw, '/plain/after'), 200);
    });
  }
});
