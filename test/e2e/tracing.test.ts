/**
 * OpenTelemetry tracing through the real gateway process, exported to an OTLP/HTTP receiver run
 * by the test that decodes what arrives: the span tree of a request, the trace context the backend
 * receives, the ids in the access log, parent-based sampling, and traceparent headers that must
 * be ignored.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { eventually } from '../gateway/jwt/helpers.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

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

const apis = () => `
backends:
  echo: { url: "${backend.url}" }
apis:
  - name: orders
    path: /orders
    backend: echo
    policies:
      inbound:
        - check-header: { name: X-Tenant }
        - set-header: { name: X-From-Gateway, value: "1" }
      outbound:
        - set-header: { name: X-Out, value: "1" }
      on-error:
        - set-header: { name: X-On-Error, value: "1" }
  - name: plain
    path: /plain
    backend: echo
`;

const tracing = (extra = '') => `
observability:
  tracing:
    endpoint: "${rx.url}"
    service-name: gatehouse-test
    headers: { x-collector-key: collector-secret-1 }
    resource-attributes: { deployment.environment.name: test }
    batch: { delay: 50ms }
${extra}`;

async function get(gw: RunningGateway, path: string, headers: Record<string, string | string[]> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  const r = await request(`${gw.url}${path}`, { headers });
  await r.body.dump();
  return { status: r.statusCode, headers: r.headers };
}

/** the access log line of a request */
function accessLine(gw: RunningGateway, requestId: string): Promise<Record<string, unknown>> {
  return gw.waitForLog((l) => l.msg === 'request' && l.requestId === requestId);
}

/** what the backend received for a request */
function seenBy(requestId: string) {
  const seen = backend.requests.find((r) => r.headers['x-request-id'] === requestId);
  assert.ok(seen, `the backend received ${requestId}`);
  return seen;
}

function one(spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(pred);
  assert.equal(found.length, 1, `exactly one ${what} in ${JSON.stringify(spans.map((s) => s.name))}`);
  return found[0]!;
}

describe('tracing on (ratio 1)', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }\n${apis()}${tracing()}`);
  });
  after(async () => { await gw?.stop(); });

  it('exports one server span per request with stage, policy and backend spans; the backend and the access log carry its ids', async () => {
    const r = await get(gw, '/orders/items?secret=no', { 'x-tenant': 'contoso', 'x-request-id': 'trace-ok' });
    assert.equal(r.status, 200);
    const line = await accessLine(gw, 'trace-ok');
    const traceId = line.traceId as string;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.match(line.spanId as string, /^[0-9a-f]{16}$/);

    await eventually(() => rx.trace(traceId).some((s) => s.kind === SERVER), 10_000, 'the server span at the receiver');
    assert.ok([...rx.contentTypes].every((c) => c.startsWith('application/json')), 'OTLP/HTTP JSON');
    const spans = rx.trace(traceId);
    const server = one(spans, (s) => s.kind === SERVER, 'server span');
    assert.equal(server.spanId, line.spanId, 'the access log names the server span');
    assert.equal(server.parentSpanId, '', 'a new trace: the server span is its root');
    assert.equal(server.name, 'GET /orders/*');
    assert.equal(server.attributes['http.request.method'], 'GET');
    assert.equal(server.attributes['http.route'], '/orders/*');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['url.path'], '/orders/items');
    assert.equal(server.attributes['gatehouse.api'], 'orders');
    assert.equal(server.attributes['gatehouse.request_id'], 'trace-ok');
    assert.ok(!JSON.stringify(server).includes('secret=no'), 'the query string is not in the span');
    assert.equal(server.resource['service.name'], 'gatehouse-test');
    assert.equal(server.resource['deployment.environment.name'], 'test');
    assert.equal(server.scope, 'gatehouse');

    const inbound = one(spans, (s) => s.name === 'stage inbound', 'inbound stage span');
    const outbound = one(spans, (s) => s.name === 'stage outbound', 'outbound stage span');
    for (const stage of [inbound, outbound]) {
      assert.equal(stage.parentSpanId, server.spanId);
      assert.equal(stage.kind, INTERNAL);
      assert.equal(stage.attributes['gatehouse.stage.answered'], false);
    }
    const check = one(spans, (s) => s.name === 'policy check-header', 'check-header span');
    assert.equal(check.parentSpanId, inbound.spanId);
    assert.equal(check.attributes['gatehouse.policy.name'], 'check-header');
    assert.equal(check.attributes['gatehouse.policy.outcome'], 'continue');
    const sets = spans.filter((s) => s.name === 'policy set-header');
    assert.deepEqual(sets.map((s) => s.parentSpanId).sort(), [inbound.spanId, outbound.spanId].sort(), 'one set-header per stage');
    assert.ok(!spans.some((s) => s.name === 'stage on-error'), 'no on-error stage when nothing failed');

    const call = one(spans, (s) => s.kind === CLIENT, 'backend span');
    assert.equal(call.name, 'backend echo');
    assert.equal(call.parentSpanId, server.spanId);
    assert.equal(call.attributes['gatehouse.backend'], 'echo');
    assert.equal(call.attributes['gatehouse.backend.target'], backend.url);
    assert.equal(call.attributes['gatehouse.backend.retries'], 0);
    assert.equal(call.attributes['http.response.status_code'], 200);

    // the backend continues the trace under the gateway's backend span
    const tp = TRACEPARENT.exec(String(seenBy('trace-ok').headers.traceparent));
    assert.ok(tp, 'the backend received a traceparent');
    assert.equal(tp[1], traceId);
    assert.equal(tp[2], call.spanId);
    assert.equal(tp[3], '01');
    // every span's parent is in the trace (one tree)
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) assert.ok(s.parentSpanId === '' || ids.has(s.parentSpanId), `${s.name} has its parent in the trace`);
  });

  it('sends the configured headers to the collector, and the admin /config never shows them', async () => {
    await eventually(() => rx.headers.length > 0, 10_000, 'an export');
    assert.ok(rx.headers.every((h) => h['x-collector-key'] === 'collector-secret-1'));
    const r = await request(`${gw.adminUrl}/config`);
    const text = await r.body.text();
    assert.equal(r.statusCode, 200);
    assert.ok(!text.includes('collector-secret-1'), 'the collector key is redacted');
    const tracing = (JSON.parse(text) as { config: { observability: { tracing: { headers: Record<string, string>; endpoint: string } } } }).config.observability.tracing;
    assert.deepEqual(tracing.headers, { 'x-collector-key': '***' });
    assert.equal(tracing.endpoint, rx.url);
  });

  it('a policy that refuses: its span says which and why, the on-error policies get their own stage span', async () => {
    const before = backend.requests.length;
    const r = await get(gw, '/orders/items', { 'x-request-id': 'trace-refused' });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-on-error'], '1');
    assert.equal(backend.requests.length, before, 'nothing reached the backend');
    const line = await accessLine(gw, 'trace-refused');
    const traceId = line.traceId as string;
    await eventually(() => rx.trace(traceId).some((s) => s.kind === SERVER), 10_000, 'the server span');
    const spans = rx.trace(traceId);
    const server = one(spans, (s) => s.kind === SERVER, 'server span');
    assert.equal(server.attributes['http.response.status_code'], 403);
    assert.equal(server.attributes['gatehouse.policy.name'], 'check-header');
    assert.equal(server.attributes['gatehouse.policy.reason'], 'header-check-failed');
    const check = one(spans, (s) => s.name === 'policy check-header', 'check-header span');
    assert.equal(check.attributes['gatehouse.policy.outcome'], 'answered');
    assert.equal(check.attributes['gatehouse.policy.reason'], 'header-check-failed');
    assert.equal(check.attributes['http.response.status_code'], 403);
    const inbound = one(spans, (s) => s.name === 'stage inbound', 'inbound stage');
    assert.equal(inbound.attributes['gatehouse.stage.answered'], true);
    const onError = one(spans, (s) => s.name === 'stage on-error', 'on-error stage');
    assert.equal(onError.parentSpanId, server.spanId);
    const set = one(spans, (s) => s.name === 'policy set-header', 'the on-error set-header');
    assert.equal(set.parentSpanId, onError.spanId);
    assert.ok(!spans.some((s) => s.kind === CLIENT), 'no backend span');
  });

  it("continues the caller's sampled trace and forwards its tracestate", async () => {
    const callerTrace = 'a'.repeat(31) + '1';
    const callerSpan = 'b'.repeat(15) + '2';
    const r = await get(gw, '/plain/x', { traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: 'vendor=abc,other=1', 'x-request-id': 'trace-continued' });
    assert.equal(r.status, 200);
    const line = await accessLine(gw, 'trace-continued');
    assert.equal(line.traceId, callerTrace);
    await eventually(() => rx.trace(callerTrace).some((s) => s.kind === SERVER), 10_000, 'the server span');
    const spans = rx.trace(callerTrace);
    const server = one(spans, (s) => s.kind === SERVER, 'server span');
    assert.equal(server.parentSpanId, callerSpan, "the caller's span is the parent");
    const call = one(spans, (s) => s.kind === CLIENT, 'backend span');
    const seen = seenBy('trace-continued');
    assert.equal(seen.headers.traceparent, `00-${callerTrace}-${call.spanId}-01`);
    assert.equal(seen.headers.tracestate, 'vendor=abc,other=1');
  });

  it('a huge tracestate is cut to the W3C limit before it reaches the backend', async () => {
    const huge = Array.from({ length: 200 }, (_, i) => `k${i}=${'v'.repeat(30)}`).join(',');
    const r = await get(gw, '/plain/x', { traceparent: `00-${'9'.repeat(32)}-${'8'.repeat(16)}-01`, tracestate: huge, 'x-request-id': 'trace-huge-state' });
    assert.equal(r.status, 200);
    const state = String(seenBy('trace-huge-state').headers.tracestate ?? '');
    assert.ok(state.length > 0 && state.length <= 512, `tracestate of ${state.length} characters`);
    assert.ok(state.split(',').length <= 32, 'at most 32 members');
  });

  it('a caller that did not record its trace is continued but not recorded (parent-based)', async () => {
    const callerTrace = 'c'.repeat(31) + '3';
    const r = await get(gw, '/plain/x', { traceparent: `00-${callerTrace}-${'d'.repeat(16)}-00`, 'x-request-id': 'trace-unsampled' });
    assert.equal(r.status, 200);
    const line = await accessLine(gw, 'trace-unsampled');
    assert.equal(line.traceId, callerTrace);
    const tp = TRACEPARENT.exec(String(seenBy('trace-unsampled').headers.traceparent));
    assert.ok(tp);
    assert.equal(tp[1], callerTrace);
    assert.notEqual(tp[2], 'd'.repeat(16), "the gateway's own span id");
    assert.equal(tp[3], '00', 'not sampled downstream either');
    // a recorded request after it: once its spans are in, the unsampled one would have been too
    const after = await get(gw, '/plain/y', { 'x-request-id': 'trace-after-unsampled' });
    assert.equal(after.status, 200);
    const afterLine = await accessLine(gw, 'trace-after-unsampled');
    await eventually(() => rx.trace(afterLine.traceId as string).some((s) => s.kind === SERVER), 10_000, 'the next request');
    assert.deepEqual(rx.trace(callerTrace), [], 'nothing exported for the unsampled trace');
  });

  it('ignores malformed traceparent headers: a new trace, the bad header and its tracestate never reach the backend', async () => {
    const t = '1'.repeat(32);
    const s = '2'.repeat(16);
    const bad: Array<string | string[]> = [
      `00-${'z'.repeat(32)}-${s}-01`,
      `00-${'0'.repeat(32)}-${s}-01`,
      `00-${t}-${'0'.repeat(16)}-01`,
      `ff-${t}-${s}-01`,
      `00-${t}-${s}-01-extra`,
      `00-${t.toUpperCase().replace(/1/g, 'A')}-${s}-01`,
      `00-${t}-${s}`,
      'x'.repeat(4000),
      '\t00-',
      [`00-${t}-${s}-01`, `00-${'3'.repeat(32)}-${s}-01`],
    ];
    for (const [i, value] of bad.entries()) {
      const id = `trace-bad-${i}`;
      const r = await get(gw, '/plain/x', { traceparent: value, tracestate: 'evil=1', 'x-request-id': id });
      assert.equal(r.status, 200, `${id}: answered`);
      const line = await accessLine(gw, id);
      const traceId = line.traceId as string;
      assert.match(traceId, /^[0-9a-f]{32}$/, `${id}: a trace id`);
      assert.notEqual(traceId, '0'.repeat(32));
      const seen = seenBy(id);
      const tp = TRACEPARENT.exec(String(seen.headers.traceparent));
      assert.ok(tp, `${id}: the backend received the gateway's traceparent, not ${JSON.stringify(seen.headers.traceparent)}`);
      assert.equal(tp[1], traceId, `${id}: the gateway's trace`);
      assert.notEqual(traceId, t, `${id}: the malformed trace id is not continued`);
      assert.equal(seen.headers.tracestate, undefined, `${id}: the tracestate of a refused traceparent is dropped`);
    }
    assert.ok(gw.logs.every((l) => l.level !== 'error' && l.level !== 'fatal'), 'no error was logged');
  });
});

describe('sampling ratio 0, parent-based', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }\n${apis()}${tracing().replace('batch:', 'sampling: { ratio: 0 }\n    batch:')}`);
  });
  after(async () => { await gw?.stop(); });

  it('records only the requests whose caller recorded them; every request still gets trace ids and a traceparent', async () => {
    const unrecorded = await get(gw, '/plain/a', { 'x-request-id': 'ratio0-new' });
    assert.equal(unrecorded.status, 200);
    const line = await accessLine(gw, 'ratio0-new');
    const tp = TRACEPARENT.exec(String(seenBy('ratio0-new').headers.traceparent));
    assert.ok(tp);
    assert.equal(tp[1], line.traceId);
    assert.equal(tp[3], '00');

    const callerTrace = 'e'.repeat(31) + '5';
    const recorded = await get(gw, '/plain/b', { traceparent: `00-${callerTrace}-${'f'.repeat(16)}-01`, 'x-request-id': 'ratio0-parent' });
    assert.equal(recorded.status, 200);
    await eventually(() => rx.trace(callerTrace).some((s) => s.kind === SERVER), 10_000, 'the recorded request');
    assert.equal(TRACEPARENT.exec(String(seenBy('ratio0-parent').headers.traceparent))?.[3], '01');
    assert.deepEqual(rx.trace(line.traceId as string), [], 'the new trace was not recorded');
  });
});

describe('tracing off (the default)', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`gateway: { listen: { http: 0 }, admin: { listen: 0 } }\n${apis()}`);
  });
  after(async () => { await gw?.stop(); });

  it('passes the caller\'s traceparent and tracestate through untouched and logs no trace ids', async () => {
    const tp = `00-${'4'.repeat(32)}-${'5'.repeat(16)}-01`;
    const r = await get(gw, '/plain/x', { traceparent: tp, tracestate: 'vendor=1', 'x-request-id': 'off-1' });
    assert.equal(r.status, 200);
    const line = await accessLine(gw, 'off-1');
    assert.equal(line.traceId, undefined);
    assert.equal(line.spanId, undefined);
    const seen = seenBy('off-1');
    assert.equal(seen.headers.traceparent, tp);
    assert.equal(seen.headers.tracestate, 'vendor=1');
    assert.ok(!gw.logs.some((l) => String(l.msg).startsWith('tracing')), 'no tracing line');
  });
});
