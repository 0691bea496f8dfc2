import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startGateway, ROOT, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';

/**
 * The validation policies in the real gateway process: the shop document (multi-file OpenAPI 3.1)
 * protects an API; what is refused never reaches the backend, what the backend breaks never
 * reaches the client.
 */
const FIXTURES = join(ROOT, 'test/fixtures/openapi/shop');
const files = Object.fromEntries(readdirSync(FIXTURES).map((f) => [f, readFileSync(join(FIXTURES, f), 'utf8')]));
const ORDER = {
  customerId: '0b9f1e6e-8a3c-4c57-9a33-0c5b7c1d2e3f', currency: 'EUR',
  lines: [{ sku: 'ABC-1234', quantity: 2 }], payment: { method: 'card', token: 'tok_1234567890abcdef' },
};
const STORED = { id: 'ord_abcd1234', customerId: ORDER.customerId, status: 'placed', lines: ORDER.lines, total: { amount: '12.00', currency: 'EUR' }, createdAt: '2024-05-01T10:00:00Z' };

let backend: TestBackend;
let gw: RunningGateway;

before(async () => {
  backend = await startBackend((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/orders/ord_leak0000')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...STORED, dbPassword: 'hunter2-internal' }));
    } else if (url.startsWith('/orders/ord_crash000')) {
      res.statusCode = 500;
      res.setHeader('content-type', 'text/plain');
      res.end('java.lang.IllegalStateException at com.shop.internal.OrderRepo(10.1.2.3)');
    } else if (url.startsWith('/orders/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(STORED));
    } else {
      res.statusCode = 201;
      res.setHeader('content-type', 'application/json');
      res.setHeader('location', '/orders/ord_abcd1234');
      res.end(JSON.stringify(STORED));
    }
  });
  gw = await startGateway(`
gateway: { listen: { http: 0 }, admin: { listen: 0 } }
backends:
  shop: { url: ${backend.url} }
apis:
  - name: shop
    path: /shop
    backend: shop
    openapi: ./openapi.yaml
    policies:
      inbound:
        - validate-parameters: { unspecified-parameter-action: prevent, headers: { unspecified-parameter-action: ignore } }
        - validate-content: { max-size: 16kb }
      outbound:
        - validate-status-code: { unspecified-status-code-action: prevent }
        - validate-content: { max-size: 64kb }
`, { files });
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(gw.url + path, { method, body, headers: { 'content-type': 'application/json', 'idempotency-key': 'key-12345678', ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

test('a valid order reaches the backend byte for byte', async () => {
  const before = backend.requests.length;
  const raw = JSON.stringify(ORDER);
  const r = await call('POST', '/shop/orders', raw);
  assert.equal(r.status, 201);
  assert.equal(backend.requests.length, before + 1);
  assert.equal(backend.requests.at(-1)!.body.toString(), raw);
  assert.equal(backend.requests.at(-1)!.headers['content-length'], String(Buffer.byteLength(raw)));
});

test('an invalid order is answered 400 with the errors and never reaches the backend', async () => {
  const before = backend.requests.length;
  const r = await call('POST', '/shop/orders', JSON.stringify({ ...ORDER, currency: 'BTC', admin: true }));
  assert.equal(r.status, 400);
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(r.json.code, 'request-body-invalid');
  assert.deepEqual(r.json.errors.map((e: { path: string; rule: string }) => `${e.path} ${e.rule}`).sort(), ['/admin additionalProperties', '/currency enum']);
  assert.equal(backend.requests.length, before);
});

test('duplicate keys, deep nesting and a wrong content type never reach the backend', async () => {
  const before = backend.requests.length;
  const dup = JSON.stringify(ORDER).replace('"currency":"EUR"', '"currency":"EUR","currency":"XXX"');
  assert.equal((await call('POST', '/shop/orders', dup)).status, 400);
  assert.equal((await call('POST', '/shop/orders', '['.repeat(100) + ']'.repeat(100))).status, 400);
  assert.equal((await call('POST', '/shop/orders', JSON.stringify(ORDER), { 'content-type': 'text/plain' })).status, 415);
  assert.equal(backend.requests.length, before);
});

test('bad parameters are refused: enum in a comma-separated array, pollution, undeclared parameters', async () => {
  const before = backend.requests.length;
  const r = await call('GET', '/shop/orders?status=paid,lost');
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'request-parameter-invalid');
  assert.equal(r.json.errors[0].name, 'status');
  assert.equal((await call('GET', '/shop/orders?limit=1&limit=1000')).status, 400);
  assert.equal((await call('GET', '/shop/orders?debug=1')).status, 400);
  assert.equal((await call('GET', '/shop/orders/ord_zz')).status, 400);
  assert.equal(backend.requests.length, before);
});

test('a body over max-size is refused with 413, with and without Content-Length', async () => {
  const before = backend.requests.length;
  const big = JSON.stringify({ pad: 'x'.repeat(40 * 1024) });
  assert.equal((await call('POST', '/shop/orders', big)).status, 413);
  const chunked = await fetch(gw.url + '/shop/orders', {
    method: 'POST', duplex: 'half', headers: { 'content-type': 'application/json', 'idempotency-key': 'key-12345678' },
    body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } }),
  } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.text();
  assert.equal(backend.requests.length, before);
});

test('a chunked body that keeps growing is refused mid-stream, long before it ends', async () => {
  const before = backend.requests.length;
  const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
    const req = request(gw.url + '/shop/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'key-12345678', 'transfer-encoding': 'chunked' } });
    let sent = 0;
    let done = false;
    const chunk = Buffer.alloc(4096, 0x20);
    req.on('response', (res) => { done = true; res.resume(); resolve({ status: res.statusCode!, sent }); });
    // the gateway answers and closes while the client is still writing: the client may see the
    // reset before the response; what matters is that it stopped reading long before the end
    req.on('error', (e: NodeJS.ErrnoException) => { if (done) return; done = true; if (e.code === 'EPIPE' || e.code === 'ECONNRESET') resolve({ status: 0, sent }); else reject(e); });
    req.write('{"pad":"');
    const pump = () => {
      if (done) { req.destroy(); return; }
      if (sent >= 50 * 1024 * 1024) { req.end('"}'); return; }
      sent += chunk.length;
      req.write(chunk, () => setImmediate(pump));
    };
    pump();
  });
  assert.ok(status === 413 || status === 0, `status ${status}`);
  assert.ok(sent < 50 * 1024 * 1024, `refused after ${sent} bytes`);
  assert.equal(backend.requests.length, before);
});

test('outbound: a response that breaks the contract becomes a 502 that leaks nothing', async () => {
  const r = await call('GET', '/shop/orders/ord_leak0000');
  assert.equal(r.status, 502);
  assert.equal(r.json.code, 'response-invalid');
  assert.ok(!r.text.includes('hunter2'));
  assert.ok(!r.text.includes('dbPassword'));
  const ok = await call('GET', '/shop/orders/ord_abcd1234');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, STORED);
});

test('outbound: an undeclared status code becomes a 502 without the backend body', async () => {
  const r = await call('GET', '/shop/orders/ord_crash000');
  assert.equal(r.status, 502);
  assert.ok(!r.text.includes('IllegalStateException'));
  assert.ok(!r.text.includes('10.1.2.3'));
  // the backend body the gateway dropped unread must not take the process down
  await new Promise((res) => setTimeout(res, 200));
  const next = await call('GET', '/shop/orders/ord_abcd1234');
  assert.equal(next.status, 200, 'the gateway still answers after dropping a refused response');
});
