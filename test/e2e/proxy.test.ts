import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { request } from 'undici';
import { startGateway, runCli, writeConfig, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import {
  assertNoLeak, assertProblem, closedPort, rawConnect, rawRequest, readUntil, sleep, startServer, waitFor, watchBackend,
} from '../helpers/raw.js';

/**
 * The proxy end to end: path mapping, header hygiene, forwarding headers, request ids, Expect,
 * backend failures, cancellation, retries, WebSocket, routing errors, CORS and the first policies.
 * One gateway process serves most tests; a second one trusts 127.0.0.1 as a proxy.
 */

type Echo = { method: string; url: string; headers: Record<string, string | string[]>; bodyLength: number };

let gw: RunningGateway;
let echo: TestBackend;
let echo2: TestBackend;
let seen: ReturnType<typeof watchBackend>;
let seen2: ReturnType<typeof watchBackend>;
let slow: Awaited<ReturnType<typeof startServer>>;
let slowSeen: ReturnType<typeof watchBackend>;
let flaky: Awaited<ReturnType<typeof startServer>>;
let flakySeen: ReturnType<typeof watchBackend>;
let ws: Awaited<ReturnType<typeof startServer>>;
let wsUpgrades = 0;
let deadPort: number;

const OPENAPI = `
openapi: 3.0.3
info: { title: pets, version: '1' }
paths:
  /pets/{id}:
    get:
      operationId: get-pet
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        '200':
          description: a pet
          content:
            application/json:
              example: { id: 7, name: Rex, kind: dog }
  /pets:
    get:
      operationId: list-pets
      responses:
        '200':
          description: pets (no example)
          content:
            application/json:
              schema: { type: array, items: { type: object } }
`;

/** A WebSocket text frame from the server (unmasked). */
function serverFrame(text: string): Buffer {
  const p = Buffer.from(text);
  assert.ok(p.length < 126);
  return Buffer.concat([Buffer.from([0x81, p.length]), p]);
}

/** A masked WebSocket text frame from the client. */
function clientFrame(text: string): Buffer {
  const p = Buffer.from(text);
  assert.ok(p.length < 126);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(p.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | p.length]), mask, masked]);
}

/** Decode one masked client text frame (enough for the echo backend). */
function decodeClientFrame(b: Buffer): string | undefined {
  if (b.length < 6) return undefined;
  const len = b[1]! & 0x7f;
  if (b.length < 6 + len) return undefined;
  const mask = b.subarray(2, 6);
  return Buffer.from(b.subarray(6, 6 + len).map((x, i) => x ^ mask[i % 4]!)).toString();
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

before(async () => {
  echo = await startBackend((req, res, body) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-backend-override', 'backend');
    res.setHeader('x-backend-delete', 'secret');
    res.setHeader('x-backend-skip', 'backend');
    res.setHeader('x-backend-append', 'backend');
    if (req.url?.includes('hop=1')) {
      res.setHeader('connection', 'X-Backend-Secret');
      res.setHeader('x-backend-secret', 'listed-in-connection');
      res.setHeader('keep-alive', 'timeout=77, max=3');
      res.setHeader('proxy-authenticate', 'Basic realm="internal"');
      res.setHeader('upgrade', 'h2c');
    }
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length }));
  });
  seen = watchBackend(echo.server);
  echo2 = await startBackend();
  seen2 = watchBackend(echo2.server);
  slow = await startServer((req, res) => {
    if (req.url?.startsWith('/hang')) return; // never answers; the test watches for the abort
    const t = setTimeout(() => res.end('late'), 3000);
    res.on('close', () => clearTimeout(t));
  });
  slowSeen = watchBackend(slow.server);
  const attempts = new Map<string, number>();
  flaky = await startServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (n === 1 || req.url?.includes('always-reset')) {
      // the first attempt of every request: the connection is reset before any response byte
      const s = req.socket as unknown as { resetAndDestroy?: () => void };
      if (s.resetAndDestroy) s.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => res.end(`attempt ${n}`));
  });
  flakySeen = watchBackend(flaky.server);
  ws = await startServer((_req, res) => { res.statusCode = 426; res.end(); });
  ws.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    wsUpgrades++;
    const accept = createHash('sha1').update(String(req.headers['sec-websocket-key']) + WS_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Ws-Path: ${req.url}\r\n\r\n`);
    socket.write(serverFrame('hello from backend'));
    let buf = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const text = decodeClientFrame(buf);
      if (text !== undefined) { buf = Buffer.alloc(0); socket.write(serverFrame(`echo:${text}`)); }
    });
    socket.on('error', () => {});
  });
  deadPort = await closedPort();

  gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  echo: { url: ${echo.url}/api }
  other: { url: ${echo2.url}/v2 }
  dead: { url: http://127.0.0.1:${deadPort}/secret-internal-path }
  slow: { url: ${slow.url}, timeout: 1s }
  flaky: { url: ${flaky.url} }
  ws: { url: ${ws.url}/sockets }
policies:
  inbound:
    - set-header: { name: X-Order, value: global, exists-action: append }
apis:
  - name: orders
    path: /orders
    backend: echo
  - name: dead
    path: /dead
    backend: dead
  - name: slow
    path: /slow
    backend: slow
  - name: flaky
    path: /flaky
    backend: flaky
  - name: ws
    path: /ws
    backend: ws
  - name: ws-refused
    path: /ws-refused
    backend: ws
    policies:
      inbound:
        - base
        - return-response: { status: 403, body: { message: closed } }
  - name: refuse
    path: /refuse
    backend: echo
    policies:
      inbound:
        - base
        - return-response:
            status: 403
            headers: { X-Refused-By: policy }
            body: { message: "This API is closed on Sundays" }
  - name: continue
    path: /continue
    backend: echo
    policies:
      inbound:
        - base
        - set-header: { name: X-Passed, value: inbound }
  - name: ops
    path: /ops
    backend: echo
    operations:
      - { id: get-item, method: GET, path: "/items/{id}" }
      - { id: put-item, method: PUT, path: "/items/{id}" }
      - id: rewrite
        method: GET
        path: "/r/{id}"
        policies:
          inbound:
            - base
            - rewrite-uri: { template: "/v2/things/{id}?src=gw" }
  - name: cors
    path: /cors
    backend: echo
    policies:
      inbound:
        - base
        - cors:
            allowed-origins: [https://app.test]
            allowed-methods: [GET, PUT, DELETE]
            allowed-headers: [Authorization, Content-Type]
            expose-headers: [X-Backend-Override]
            max-age: 600
    operations:
      - { id: cors-get, method: GET, path: "/items/{id}" }
      - id: cors-broken
        method: GET
        path: /broken
        policies:
          inbound:
            - base
            - set-backend-service: { backend-id: dead }
  - name: headers
    path: /headers
    backend: echo
    policies:
      inbound:
        - base
        - set-header: { name: X-Override, value: gw }
        - set-header: { name: X-Skip, value: gw, exists-action: skip }
        - set-header: { name: X-Append, value: gw, exists-action: append }
        - set-header: { name: X-Delete, exists-action: delete }
        - set-header: { name: X-From-Query, value: "{request.query.who}" }
      outbound:
        - set-header: { name: X-Backend-Override, value: gw }
        - set-header: { name: X-Backend-Skip, value: gw, exists-action: skip }
        - set-header: { name: X-Backend-New, value: gw, exists-action: skip }
        - set-header: { name: X-Backend-Append, value: gw, exists-action: append }
        - set-header: { name: X-Backend-Delete, exists-action: delete }
  - name: switch
    path: /switch
    backend: echo
    policies:
      inbound:
        - base
        - set-backend-service: { backend-id: other }
  - name: mock
    path: /mock
    openapi: ./pets.yaml
    policies:
      inbound:
        - base
        - mock-response: { status: 200, body: { fallback: true } }
  - name: onerror
    path: /onerror
    backend: dead
    policies:
      on-error:
        - set-header: { name: X-Error-Seen, value: "yes" }
  - name: base-order
    path: /base-order
    backend: echo
    policies:
      inbound:
        - set-header: { name: X-Order, value: before, exists-action: append }
        - base
        - set-header: { name: X-Order, value: after, exists-action: append }
  - name: base-skip
    path: /base-skip
    backend: echo
    policies:
      inbound:
        - base: skip
        - set-header: { name: X-Order, value: own, exists-action: append }
`, { files: { 'pets.yaml': OPENAPI } });
});

after(async () => {
  if (gw && gw.proc.exitCode !== null) console.error(`gateway exited with ${gw.proc.exitCode}:\n${[...gw.text, ...gw.logs.slice(-10).map((l) => JSON.stringify(l))].join('\n')}`);
  await gw?.stop();
  await Promise.all([echo?.close(), echo2?.close(), slow?.close(), flaky?.close(), ws?.close()]);
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; json: () => any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read any JSON shape
  const r = await request(`${gw.url}${path}`, { method: method as 'GET', headers, body });
  const buf = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body: buf, json: () => JSON.parse(buf.toString()) };
}

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',').map((s) => s.trim()));

describe('path mapping', () => {
  it('sends the rest of the path after the API prefix to the backend URL path, query unchanged', async () => {
    const r = await call('GET', '/orders/7?x=1&y=%20');
    assert.equal(r.status, 200);
    assert.equal((r.json() as Echo).url, '/api/7?x=1&y=%20');
  });

  it('maps the bare API prefix to the backend URL path', async () => {
    const r = await call('GET', '/orders?x=1');
    assert.equal((r.json() as Echo).url, '/api?x=1');
  });

  it('keeps a trailing slash', async () => {
    const r = await call('GET', '/orders/7/');
    assert.equal((r.json() as Echo).url, '/api/7/');
  });

  it('does not route /ordersX to the /orders API', async () => {
    const r = await call('GET', '/ordersX');
    assertProblem(r, 404, 'route-not-found');
  });

  it('sends the backend host, not the client host, as Host', async () => {
    const r = await call('GET', '/orders/1', { host: 'public.test' });
    assert.equal((r.json() as Echo).headers.host, `127.0.0.1:${echo.port}`);
  });
});

describe('hop-by-hop headers', () => {
  it('removes Connection and every header it names, Keep-Alive, TE, Upgrade, Proxy-Authorization, Proxy-Connection and Trailer', async () => {
    const before = seen.requests.length;
    const r = await rawRequest(gw.port,
      `GET /orders/hop HTTP/1.1\r\nHost: gw.test\r\nConnection: keep-alive, X-Secret, X-Other-Secret\r\nX-Secret: s1\r\nX-Other-Secret: s2\r\n` +
      `Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nProxy-Connection: keep-alive\r\nTrailer: X-T\r\nX-Kept: yes\r\n\r\n`);
    assert.equal(r.responses[0]?.status, 200, r.raw.toString());
    const h = seen.requests.length > before ? echo.requests.at(-1)!.headers : {};
    for (const name of ['x-secret', 'x-other-secret', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-connection', 'trailer']) {
      assert.equal(h[name], undefined, `${name} must not reach the backend`);
    }
    assert.notEqual(String(h.connection ?? '').toLowerCase().includes('x-secret'), true);
    assert.equal(h['x-kept'], 'yes');
  });

  it('removes hop-by-hop headers (and those named in Connection) from the backend response', async () => {
    const r = await call('GET', '/orders/x?hop=1');
    assert.equal(r.status, 200);
    for (const name of ['x-backend-secret', 'proxy-authenticate', 'upgrade']) {
      assert.equal(r.headers[name], undefined, `${name} must not reach the client`);
    }
    // the gateway's own server may announce its keep-alive; the backend's must not pass
    assert.doesNotMatch(String(r.headers['keep-alive'] ?? ''), /77|max=3/);
    assert.doesNotMatch(String(r.headers.connection ?? ''), /x-backend-secret/i);
  });

  it('does not fail on a Connection header with odd tokens', async () => {
    const r = await rawRequest(gw.port, `GET /orders/odd HTTP/1.1\r\nHost: gw.test\r\nConnection: close, , Host, Content-Length, X-Forwarded-For\r\n\r\n`);
    assert.equal(r.responses[0]?.status, 200, r.raw.toString());
    const h = echo.requests.at(-1)!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the gateway\'s, even when the client names it in Connection');
    assert.ok(h.host);
  });
});

describe('forwarding headers from an untrusted peer', () => {
  it('replaces a spoofed X-Forwarded-For / -Proto / -Host and Forwarded with its own', async () => {
    const r = await call('GET', '/orders/xff', {
      'x-forwarded-for': '203.0.113.9, 10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.test',
      forwarded: 'for=203.0.113.9;proto=https;host=evil.test',
      host: 'public.test',
    });
    const h = (r.json() as Echo).headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'public.test');
    assert.doesNotMatch(String(h.forwarded), /203\.0\.113\.9|evil/);
    assert.match(String(h.forwarded), /for=127\.0\.0\.1/);
    assert.match(String(h.forwarded), /proto=http/);
  });

  it('sets the forwarding headers when the client sent none', async () => {
    const r = await call('GET', '/orders/xff2');
    const h = (r.json() as Echo).headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.match(String(h.forwarded), /^for=127\.0\.0\.1;proto=http/);
  });
});

describe('request ids and tracing', () => {
  it('propagates a sane X-Request-Id to the backend and returns it', async () => {
    const r = await call('GET', '/orders/id', { 'x-request-id': 'req-abc_123.XYZ' });
    assert.equal((r.json() as Echo).headers['x-request-id'], 'req-abc_123.XYZ');
    assert.equal(r.headers['x-request-id'], 'req-abc_123.XYZ');
  });

  for (const [why, id] of [
    ['too long', 'a'.repeat(300)],
    ['with spaces and angle brackets', 'abc <script>'],
    ['with a CRLF-looking escape', 'abc%0d%0aSet-Cookie:x'],
    ['with non-ASCII bytes', 'idé'],
  ] as const) {
    it(`replaces an X-Request-Id ${why} with a generated one, the same on both sides`, async () => {
      const r = await call('GET', '/orders/id', { 'x-request-id': id });
      const sent = (r.json() as Echo).headers['x-request-id'];
      assert.notEqual(sent, id);
      assert.equal(typeof sent, 'string');
      assert.ok((sent as string).length >= 8 && (sent as string).length <= 128);
      assert.match(sent as string, /^[A-Za-z0-9._:@+=-]+$/);
      assert.equal(r.headers['x-request-id'], sent);
    });
  }

  it('generates an X-Request-Id when there is none and gives the same one to backend and client', async () => {
    const a = await call('GET', '/orders/id');
    const b = await call('GET', '/orders/id');
    const idA = (a.json() as Echo).headers['x-request-id'];
    assert.equal(a.headers['x-request-id'], idA);
    assert.notEqual(idA, (b.json() as Echo).headers['x-request-id'], 'ids are unique per request');
  });

  it('passes a W3C traceparent (and tracestate) through unchanged', async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await call('GET', '/orders/trace', { traceparent: tp, tracestate: 'vendor=abc' });
    const h = (r.json() as Echo).headers;
    assert.equal(h.traceparent, tp);
    assert.equal(h.tracestate, 'vendor=abc');
  });
});

describe('backend failures', () => {
  it('answers 502 problem+json when the backend port is closed, without revealing where the backend is', async () => {
    const r = await call('GET', '/dead/x');
    const p = assertProblem(r, 502, 'backend-unreachable');
    const text = r.body.toString();
    assert.ok(!text.includes(String(deadPort)), 'the backend port is not in the body');
    assert.ok(!text.includes('secret-internal-path'));
    assert.equal(typeof p.detail, 'string');
    for (const [k, v] of Object.entries(r.headers)) assertNoLeak(`${k}: ${v}`);
  });

  it('answers 504 when the backend is slower than its timeout', async () => {
    const r = await call('GET', '/slow/x');
    assertProblem(r, 504, 'backend-timeout');
  });

  it('cancels the backend request when the client disconnects mid-request', async () => {
    const before = slowSeen.requests.length;
    const s = await rawConnect(gw.port);
    s.write(`GET /slow/hang HTTP/1.1\r\nHost: gw.test\r\n\r\n`);
    await waitFor(() => slowSeen.requests.length > before, 5000, 'the backend to receive the request');
    s.destroy();
    const r = slowSeen.requests[before]!;
    await waitFor(() => r.aborted, 5000, 'the backend request to be aborted');
  });

  it('cancels the backend request when the client disconnects while uploading', async () => {
    const before = slowSeen.requests.length;
    const s = await rawConnect(gw.port);
    s.write(`POST /slow/hang HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
    await waitFor(() => slowSeen.requests.length > before, 5000, 'the backend to receive the request');
    s.destroy();
    const r = slowSeen.requests[before]!;
    await waitFor(() => r.aborted, 5000, 'the backend request to be aborted');
    assert.equal(r.complete, false);
  });

  it('retries an idempotent GET once when the backend connection is reset before any byte', async () => {
    const before = flakySeen.requests.length;
    const r = await call('GET', '/flaky/get-me');
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.body.toString(), 'attempt 2');
    assert.equal(flakySeen.requests.length - before, 2);
  });

  it('retries only once: a backend that always resets the connection gets exactly two attempts, then 502', async () => {
    const before = flakySeen.requests.length;
    const r = await call('GET', '/flaky/always-reset');
    assertProblem(r, 502);
    await sleep(200);
    assert.equal(flakySeen.requests.length - before, 2);
  });

  it('does not retry a POST whose backend connection was reset', async () => {
    const before = flakySeen.requests.length;
    const r = await call('POST', '/flaky/post-me', { 'content-type': 'text/plain' }, 'payload');
    assertProblem(r, 502);
    await sleep(200);
    assert.equal(flakySeen.requests.length - before, 1, 'the POST reached the backend exactly once');
  });
});

describe('WebSocket', () => {
  it('passes an upgrade through: 101, then frames flow both ways', async () => {
    const key = Buffer.from('0123456789abcdef').toString('base64');
    const s = await rawConnect(gw.port);
    try {
      s.write(`GET /ws/chat?room=1 HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      const first = await readUntil(s, (b) => b.includes('hello from backend'));
      const text = first.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 101 /);
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      assert.match(text, new RegExp(`sec-websocket-accept: ${accept.replace(/[+/=]/g, (c) => `\\${c}`)}`, 'i'));
      assert.match(text, /x-ws-path: \/sockets\/chat\?room=1/i, 'the upgrade request was mapped to the backend path');
      s.write(clientFrame('ping 1'));
      const echoed = await readUntil(s, (b) => b.includes('echo:ping 1'));
      assert.ok(echoed.includes('echo:ping 1'));
    } finally {
      s.destroy();
    }
  });

  it('applies the inbound policies to the upgrade request: a refused upgrade never reaches the backend', async () => {
    const before = wsUpgrades;
    const r = await rawRequest(gw.port, `GET /ws-refused/chat HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    assert.equal(r.responses[0]?.status, 403, r.raw.toString());
    await sleep(100);
    assert.equal(wsUpgrades, before);
  });

  it('refuses an upgrade on a path with no API with a 404 problem', async () => {
    const r = await rawRequest(gw.port, `GET /nowhere HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    assertProblem(r.responses[0]!, 404, 'route-not-found');
  });

  it('refuses an upgrade whose path is ambiguous', async () => {
    const before = wsUpgrades;
    const r = await rawRequest(gw.port, `GET /ws/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    assertProblem(r.responses[0]!, 400);
    assert.equal(wsUpgrades, before);
  });
});

describe('routing errors', () => {
  it('answers 404 route-not-found problem+json when no API matches', async () => {
    const r = await call('GET', '/no-such-api/x');
    assertProblem(r, 404, 'route-not-found');
  });

  it('answers 404 operation-not-found when the API has no operation at the path', async () => {
    const r = await call('GET', '/ops/nothing-here');
    assertProblem(r, 404, 'operation-not-found');
  });

  it('answers 405 with Allow listing the methods of the path', async () => {
    const before = seen.requests.length;
    const r = await call('DELETE', '/ops/items/1');
    assertProblem(r, 405, 'method-not-allowed');
    const allow = new Set(asList(r.headers.allow as string));
    assert.ok(allow.has('GET') && allow.has('PUT'), `Allow: ${r.headers.allow}`);
    assert.ok(!allow.has('DELETE'));
    assert.equal(seen.requests.length, before);
  });

  it('routes an operation by method and template', async () => {
    const r = await call('PUT', '/ops/items/42', { 'content-type': 'application/json' }, '{"a":1}');
    assert.equal(r.status, 200);
    assert.equal((r.json() as Echo).url, '/api/items/42');
  });
});

describe('CORS', () => {
  const origin = 'https://app.test';

  it('answers a preflight at the gateway (no 405 for OPTIONS) and does not call the backend', async () => {
    const before = seen.requests.length;
    const r = await call('OPTIONS', '/cors/items/1', { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization, content-type' });
    assert.ok(r.status === 200 || r.status === 204, `status ${r.status}`);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.ok(asList(r.headers['access-control-allow-methods'] as string).includes('DELETE'));
    assert.ok(asList(String(r.headers['access-control-allow-headers'])).map((x) => x.toLowerCase()).includes('authorization'));
    assert.equal(r.headers['access-control-max-age'], '600');
    assert.equal(seen.requests.length, before);
  });

  it('gives no CORS permission to a preflight from an origin not in the list', async () => {
    const r = await call('OPTIONS', '/cors/items/1', { origin: 'https://evil.test', 'access-control-request-method': 'GET' });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  it('gives no CORS permission to a preflight asking for a header not allowed', async () => {
    const r = await call('OPTIONS', '/cors/items/1', { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-not-allowed' });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  it('adds CORS headers to a backend response for an allowed origin', async () => {
    const r = await call('GET', '/cors/items/1', { origin });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.match(String(r.headers['access-control-expose-headers']), /X-Backend-Override/i);
    assert.ok(asList(r.headers.vary as string).map((x) => x.toLowerCase()).includes('origin'));
  });

  it('adds no CORS headers for an origin not in the list', async () => {
    const r = await call('GET', '/cors/items/1', { origin: 'https://evil.test' });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  it('adds CORS headers to a gateway-made 404', async () => {
    const r = await call('GET', '/cors/nothing', { origin });
    assertProblem(r, 404);
    assert.equal(r.headers['access-control-allow-origin'], origin);
  });

  it('adds CORS headers to a gateway-made 405', async () => {
    const r = await call('POST', '/cors/items/1', { origin });
    assertProblem(r, 405);
    assert.equal(r.headers['access-control-allow-origin'], origin);
  });

  it('adds CORS headers to a gateway-made 502', async () => {
    const r = await call('GET', '/cors/broken', { origin });
    assertProblem(r, 502);
    assert.equal(r.headers['access-control-allow-origin'], origin);
  });
});

describe('set-header', () => {
  it('overrides, skips, appends and deletes request headers on the way to the backend', async () => {
    const r = await call('GET', '/headers/x?who=alice', { 'x-override': 'client', 'x-skip': 'client', 'x-append': 'client', 'x-delete': 'secret' });
    const h = (r.json() as Echo).headers;
    assert.equal(h['x-override'], 'gw');
    assert.equal(h['x-skip'], 'client');
    assert.deepEqual(asList(h['x-append']), ['client', 'gw']);
    assert.equal(h['x-delete'], undefined);
    assert.equal(h['x-from-query'], 'alice');
  });

  it('sets a skip header when the client did not send it', async () => {
    const r = await call('GET', '/headers/x');
    const h = (r.json() as Echo).headers;
    assert.equal(h['x-skip'], 'gw');
    assert.equal(h['x-append'], 'gw');
    assert.equal(h['x-from-query'], undefined, 'a template that resolves to nothing sets nothing');
  });

  it('overrides, skips, appends and deletes response headers on the way to the client', async () => {
    const r = await call('GET', '/headers/x');
    assert.equal(r.headers['x-backend-override'], 'gw');
    assert.equal(r.headers['x-backend-skip'], 'backend');
    assert.equal(r.headers['x-backend-new'], 'gw');
    assert.deepEqual(asList(r.headers['x-backend-append'] as string | string[]), ['backend', 'gw']);
    assert.equal(r.headers['x-backend-delete'], undefined);
  });
});

describe('rewrite-uri, set-backend-service, return-response, mock-response, on-error', () => {
  it('rewrite-uri builds the backend path from the operation path parameters and keeps the query', async () => {
    const r = await call('GET', '/ops/r/42?keep=1');
    const url = (r.json() as Echo).url;
    assert.ok(url.startsWith('/api/v2/things/42?'), url);
    const q = new URLSearchParams(url.split('?')[1]);
    assert.equal(q.get('src'), 'gw');
    assert.equal(q.get('keep'), '1');
  });

  it('rewrite-uri re-encodes a parameter so it cannot add a path segment', async () => {
    const r = await call('GET', '/ops/r/a%3Fb');
    const url = (r.json() as Echo).url;
    assert.ok(url.startsWith('/api/v2/things/a%3Fb?'), url);
  });

  it('set-backend-service sends the request to the other backend', async () => {
    const b1 = seen.requests.length;
    const b2 = seen2.requests.length;
    const r = await call('GET', '/switch/x?y=1');
    assert.equal(r.status, 200);
    assert.equal(seen.requests.length, b1);
    assert.equal(seen2.requests.length, b2 + 1);
    assert.equal(echo2.requests.at(-1)!.url, '/v2/x?y=1');
  });

  it('return-response answers with its status, headers and body; the backend is not called', async () => {
    const before = seen.requests.length;
    const r = await call('GET', '/refuse/x');
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-refused-by'], 'policy');
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.deepEqual(r.json(), { message: 'This API is closed on Sundays' });
    assert.ok(r.headers['x-request-id']);
    assert.equal(seen.requests.length, before);
  });

  it('mock-response answers with the example of the OpenAPI response', async () => {
    const r = await call('GET', '/mock/pets/7');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.deepEqual(r.json(), { id: 7, name: 'Rex', kind: 'dog' });
  });

  it('mock-response answers with the configured body when the OpenAPI response has no example', async () => {
    const r = await call('GET', '/mock/pets');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { fallback: true });
  });

  it('an API from an OpenAPI document answers 404/405 for paths and methods the document does not have', async () => {
    assertProblem(await call('GET', '/mock/cats'), 404);
    const r = await call('DELETE', '/mock/pets/7');
    assertProblem(r, 405);
    assert.ok(asList(r.headers.allow as string).includes('GET'));
  });

  it('on-error policies run on an error response (set-header on a 502)', async () => {
    const r = await call('GET', '/onerror/x');
    assertProblem(r, 502);
    assert.equal(r.headers['x-error-seen'], 'yes');
  });
});

describe('base', () => {
  it('runs the global policies where `- base` stands in the API section', async () => {
    const r = await call('GET', '/base-order/x');
    assert.deepEqual(asList((r.json() as Echo).headers['x-order']), ['before', 'global', 'after']);
  });

  it('runs the global policies in an API that has no section of its own', async () => {
    const r = await call('GET', '/orders/x');
    assert.deepEqual(asList((r.json() as Echo).headers['x-order']), ['global']);
  });

  it('leaves the global policies out with `- base: skip`', async () => {
    const r = await call('GET', '/base-skip/x');
    assert.deepEqual(asList((r.json() as Echo).headers['x-order']), ['own']);
  });

  it('refuses a config whose API section omits base while the global scope has policies there', async () => {
    const file = writeConfig(`
gateway: { listen: { http: 0 } }
backends: { b: { url: "http://127.0.0.1:1" } }
policies:
  inbound:
    - set-header: { name: X-Global, value: g }
apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - set-header: { name: X-Own, value: o }
`);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /apis\[0\]\.policies\.inbound/);
    assert.match(r.stderr, /base/);
  });

  it('refuses a config whose operation section omits base while the API scope has policies there', async () => {
    const file = writeConfig(`
gateway: { listen: { http: 0 } }
backends: { b: { url: "http://127.0.0.1:1" } }
apis:
  - name: a
    path: /a
    backend: b
    policies:
      outbound:
        - set-header: { name: X-Api, value: a }
    operations:
      - id: one
        method: GET
        path: /one
        policies:
          outbound:
            - set-header: { name: X-Op, value: o }
`);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /apis\[0\]\.operations\[0\]\.policies\.outbound/);
  });
});

describe('Expect: 100-continue', () => {
  // its own gateway process, so that a failure here cannot take the other suites down with it
  let egw: RunningGateway;
  before(async () => {
    egw = await startGateway(`
gateway:
  listen: { http: 0 }
backends:
  echo: { url: ${echo.url}/api }
apis:
  - name: refuse
    path: /refuse
    backend: echo
    policies:
      inbound:
        - return-response: { status: 403, body: { message: "This API is closed on Sundays" } }
  - name: continue
    path: /continue
    backend: echo
    policies:
      inbound:
        - set-header: { name: X-Passed, value: inbound }
`);
  });
  after(async () => {
    if (egw && egw.proc.exitCode !== null) console.error(`gateway exited with ${egw.proc.exitCode}:\n${egw.text.join('\n')}`);
    await egw?.stop();
  });

  it('sends 100 Continue once the inbound policies pass, then forwards the body', async () => {
    const before = seen.requests.length;
    const s = await rawConnect(egw.port);
    try {
      s.write(`POST /continue/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
      assert.match(head.toString(), /^HTTP\/1\.1 100 Continue\r\n/);
      assert.equal(seen.requests.length, before, 'nothing is forwarded before the body is sent');
      s.write('hello');
      const rest = await readUntil(s, (b) => /\r\n\r\n[\s\S]*"bodyLength":5/.test(b.toString()));
      assert.match(rest.toString(), /HTTP\/1\.1 200/);
      const got = echo.requests.at(-1)!;
      assert.equal(got.body.toString(), 'hello');
      assert.equal(got.headers.expect, undefined, 'Expect is answered by the gateway, not forwarded');
      assert.equal(got.headers['x-passed'], 'inbound');
    } finally {
      s.destroy();
    }
  });

  it('answers a request refused by an inbound policy without 100 Continue, and the backend never sees it', async () => {
    const before = seen.requests.length;
    const s = await rawConnect(egw.port);
    try {
      s.write(`POST /refuse/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
      const got = await readUntil(s, (b) => /\r\n\r\n[\s\S]*Sundays/.test(b.toString()));
      const text = got.toString();
      assert.doesNotMatch(text, /100 Continue/);
      assert.match(text, /^HTTP\/1\.1 403 /);
      await sleep(100);
      assert.equal(seen.requests.length, before);
    } finally {
      s.destroy();
    }
  });

  it('does not parse a body sent anyway after a refusal as a new request', async () => {
    const smuggled = `GET /continue/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n`;
    const r = await rawRequest(egw.port, `POST /refuse/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${smuggled.length}\r\nExpect: 100-continue\r\n\r\n${smuggled}`);
    assert.equal(r.responses[0]?.status, 403);
    assert.ok(r.responses.every((x) => x.status !== 200), 'no second request was served on the connection');
    await sleep(100);
    assert.ok(!echo.requests.some((x) => x.url.includes('smuggled')), 'the backend never sees the smuggled request');
  });

  it('answers a routing error without 100 Continue', async () => {
    const s = await rawConnect(egw.port);
    try {
      s.write(`POST /nowhere HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
      const got = await readUntil(s, (b) => /\r\n\r\n\{[\s\S]*\}/.test(b.toString()));
      assert.match(got.toString(), /^HTTP\/1\.1 404 /);
    } finally {
      s.destroy();
    }
  });
  it('is still running after the Expect exchanges', async () => {
    await sleep(200);
    assert.equal(egw.proc.exitCode, null, `the gateway died: ${egw.text.join('\n')}`);
  });
});

describe('forwarding headers from a trusted proxy', () => {
  let tgw: RunningGateway;
  before(async () => {
    tgw = await startGateway(`
gateway:
  listen: { http: 0 }
  trusted-proxies: [127.0.0.1]
backends:
  echo: { url: ${echo.url}/api }
apis:
  - name: orders
    path: /orders
    backend: echo
`);
  });
  after(async () => { await tgw?.stop(); });

  it('appends the peer to X-Forwarded-For and keeps the proxy\'s X-Forwarded-Proto/-Host and Forwarded', async () => {
    const r = await request(`${tgw.url}/orders/1`, {
      headers: {
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example.test',
        forwarded: 'for=203.0.113.9;proto=https',
      },
    });
    const h = ((await r.body.json()) as Echo).headers;
    assert.deepEqual(asList(h['x-forwarded-for']), ['203.0.113.9', '127.0.0.1']);
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-host'], 'api.example.test');
    assert.match(String(h.forwarded), /^for=203\.0\.113\.9;proto=https, for=127\.0\.0\.1/);
  });
});
