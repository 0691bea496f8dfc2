import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { join } from 'node:path';
import { validateContent } from '../../../src/gateway/policies/validate-content.js';
import { ConfigError } from '../../../src/config/errors.js';
import { build, exchange, respond, bodyOf, metric, ORDER, ROOT, EXAMPLES } from '../openapi/harness.js';

const JSON_CT = { 'content-type': 'application/json' };
const errorsOf = (r: unknown) => ((r as { problem?: { members?: { errors?: Array<Record<string, string>> } } }).problem?.members?.errors ?? []);

test('lets a valid order through and hands the proxy the exact bytes it read', async () => {
  const b = await build(validateContent, {});
  const raw = JSON.stringify(ORDER);
  const { ex } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: raw }, b.doc);
  assert.equal(await b.handler(ex), undefined);
  assert.ok(Buffer.isBuffer(ex.requestBody));
  assert.equal((ex.requestBody as Buffer).toString(), raw);
});

test('refuses an order that breaks the schema with 400 and errors naming each violation', async () => {
  const b = await build(validateContent, {});
  const bad = { ...ORDER, customerId: 'nope', lines: [{ sku: 'abc', quantity: 0 }], extra: 1 };
  const { ex } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify(bad) }, b.doc);
  const r = await b.handler(ex);
  assert.equal(r?.status, 400);
  assert.equal(r?.code, 'request-body-invalid');
  const errs = errorsOf(r);
  const paths = errs.map((e) => `${e.path} ${e.rule}`);
  assert.ok(paths.includes('/customerId format'), paths.join());
  assert.ok(paths.includes('/lines/0/sku pattern'));
  assert.ok(paths.includes('/lines/0/quantity minimum'));
  assert.ok(paths.includes('/extra additionalProperties'));
  for (const e of errs) assert.equal(e.in, 'body');
});

test('oneOf with discriminator reports the errors of the chosen branch only', async () => {
  const b = await build(validateContent, {});
  const { ex } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, payment: { method: 'bank', iban: 'x' } }) }, b.doc);
  const errs = errorsOf(await b.handler(ex));
  assert.deepEqual(errs.map((e) => `${e.path} ${e.rule}`), ['/payment/iban pattern']);
  const { ex: ex2 } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, payment: { method: 'cash' } }) }, b.doc);
  const errs2 = errorsOf(await b.handler(ex2));
  assert.deepEqual(errs2.map((e) => `${e.path} ${e.rule}`), ['/payment/method enum']);
});

test('accepts null where the schema allows it and refuses it elsewhere', async () => {
  const b = await build(validateContent, {});
  const ok = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, note: null, shippingAddress: null }) }, b.doc);
  assert.equal(await b.handler(ok.ex), undefined);
  const bad = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, currency: null }) }, b.doc);
  assert.equal((await b.handler(bad.ex))?.status, 400);
});

test('refuses duplicate keys: the backend could read the other value', async () => {
  const b = await build(validateContent, {});
  const raw = '{"customerId":"0b9f1e6e-8a3c-4c57-9a33-0c5b7c1d2e3f","currency":"EUR","currency":"XXX","lines":[{"sku":"ABC-1234","quantity":2}],"payment":{"method":"card","token":"tok_1234567890abcdef"}}';
  const r = await b.handler(exchange({ operationId: 'createOrder', headers: JSON_CT, body: raw }, b.doc).ex);
  assert.equal(r?.status, 400);
  assert.deepEqual(errorsOf(r).map((e) => e.rule), ['duplicate-key']);
});

test('refuses invalid JSON and 100-level deep JSON', async () => {
  const b = await build(validateContent, {});
  for (const [body, rule] of [['{"customerId":', 'syntax'], ['{"a":'.repeat(100) + '1' + '}'.repeat(100), 'max-depth']] as const) {
    const r = await b.handler(exchange({ operationId: 'createOrder', headers: JSON_CT, body }, b.doc).ex);
    assert.equal(r?.status, 400);
    assert.equal(errorsOf(r)[0]!.rule, rule);
  }
});

test('refuses a content type the operation does not declare, and a body without one, with 415', async () => {
  const b = await build(validateContent, {});
  for (const headers of [{ 'content-type': 'text/plain' }, {}, { 'content-type': 'application/json, text/plain' }] as Array<Record<string, string>>) {
    const r = await b.handler(exchange({ operationId: 'createOrder', headers, body: JSON.stringify(ORDER) }, b.doc).ex);
    assert.equal(r?.status, 415, JSON.stringify(headers));
    assert.equal(r?.code, 'content-type-not-allowed');
  }
});

test('refuses a body on an operation that declares none', async () => {
  const b = await build(validateContent, {});
  const r = await b.handler(exchange({ operationId: 'cancelOrder', headers: JSON_CT, body: '{}' }, b.doc).ex);
  assert.equal(r?.status, 415);
});

test('refuses a missing required body', async () => {
  const b = await build(validateContent, {});
  const r = await b.handler(exchange({ operationId: 'createOrder', headers: JSON_CT }, b.doc).ex);
  assert.equal(r?.status, 400);
  assert.equal(errorsOf(r)[0]!.rule, 'required');
});

test('refuses a body whose Content-Length is over max-size without reading it', async () => {
  const b = await build(validateContent, { 'max-size': '1kb' });
  const { ex, req } = exchange({ operationId: 'createOrder', headers: { ...JSON_CT, 'content-length': '5000' }, body: [] }, b.doc);
  const r = await b.handler(ex);
  assert.equal(r?.status, 413);
  assert.equal(r?.code, 'body-too-large');
  // answered from the Content-Length alone: no byte of the body was sent, none was waited for
  assert.equal(req.writableLength, 0);
  assert.equal(ex.requestBody, ex.body, 'the body was not buffered');
});

test('refuses a chunked body that grows past max-size mid-stream, without reading the rest', async () => {
  const b = await build(validateContent, { 'max-size': '2kb' });
  const { ex, req } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: [] }, b.doc);
  let written = 0;
  const chunk = Buffer.alloc(512, 0x20);
  const pending = b.handler(ex);
  // feed 512-byte chunks until the policy answers; it must answer after ~2 KiB, not at the end
  let r: Awaited<typeof pending> | undefined;
  let settled = false;
  void Promise.resolve(pending).then((x) => { r = x; settled = true; });
  while (!settled && written < 1_000_000) {
    req.write(chunk);
    written += chunk.length;
    await new Promise((res) => setImmediate(res));
  }
  assert.equal(r?.status, 413);
  assert.ok(written <= 4096, `answered after ${written} bytes`);
  assert.equal((r?.headers as Record<string, string>).connection, 'close');
});

test('detect on size: an oversized chunked body is passed through whole and counted', async () => {
  const b = await build(validateContent, { 'max-size': '1kb', 'size-exceeded-action': 'detect' });
  const { ex, req } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: [] }, b.doc);
  const big = Buffer.alloc(5000, 0x61);
  req.end(big);
  assert.equal(await b.handler(ex), undefined);
  assert.deepEqual(await bodyOf(ex.requestBody), big);
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 1);
});

test('detect on the body: the request continues, the violation is logged, counted and put in the variable', async () => {
  const b = await build(validateContent, { 'errors-variable-name': 'body-errors', content: [{ type: 'application/json', action: 'detect' }] });
  const { ex } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, currency: 'XXX' }) }, b.doc);
  assert.equal(await b.handler(ex), undefined);
  const vars = ex.vars?.['body-errors'] as Array<Record<string, string>>;
  assert.equal(vars[0]!.path, '/currency');
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 1);
  assert.ok(b.logs.some((l) => l.msg === 'validation violations detected'));
});

test('ignore on the body: invalid bodies pass without a trace', async () => {
  const b = await build(validateContent, { content: [{ type: 'application/json', action: 'ignore' }] });
  const { ex } = exchange({ operationId: 'createOrder', headers: JSON_CT, body: '{"x":' }, b.doc);
  assert.equal(await b.handler(ex), undefined);
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 0);
});

test('errors-detail summary hides the rule and message', async () => {
  const b = await build(validateContent, { 'errors-detail': 'summary' });
  const r = await b.handler(exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, currency: 'XXX' }) }, b.doc).ex);
  assert.deepEqual(errorsOf(r), [{ in: 'body', name: 'currency', path: '/currency' }]);
});

test('allow-additional-properties overrides the schema both ways', async () => {
  const allow = await build(validateContent, { content: [{ type: 'application/json', 'allow-additional-properties': true }] });
  assert.equal(await allow.handler(exchange({ operationId: 'createOrder', headers: JSON_CT, body: JSON.stringify({ ...ORDER, extra: 1 }) }, allow.doc).ex), undefined);
  const forbid = await build(validateContent, { content: [{ type: 'application/json', 'allow-additional-properties': false }] }, { file: join(ROOT, 'test/fixtures/openapi/legacy-3.0.yaml') });
  const r = await forbid.handler(exchange({ operationId: 'createItem', headers: JSON_CT, body: JSON.stringify({ name: 'x', price: 1, extra: 1 }) }, forbid.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => e.rule), ['additionalProperties']);
});

test('validates form bodies with the fields coerced to their types, refusing repeated scalar fields', async () => {
  const b = await build(validateContent, { content: [{ type: 'application/x-www-form-urlencoded', 'validate-as': 'form' }] });
  const ct = { 'content-type': 'application/x-www-form-urlencoded' };
  const ok = `customerId=${ORDER.customerId}&sku=ABC-1234&quantity=3`;
  assert.equal(await b.handler(exchange({ operationId: 'createOrder', headers: ct, body: ok }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'createOrder', headers: ct, body: `${ok}&quantity=900000` }, b.doc).ex);
  assert.equal(r?.status, 400);
  const r2 = await b.handler(exchange({ operationId: 'createOrder', headers: ct, body: `customerId=${ORDER.customerId}&sku=ABC-1234&quantity=abc` }, b.doc).ex);
  assert.equal(errorsOf(r2)[0]!.path, '/quantity');
});

test('xml-wellformed refuses a DOCTYPE', async () => {
  const b = await build(validateContent, { content: [{ type: 'application/xml', 'validate-as': 'xml-wellformed' }] }, { file: join(ROOT, 'test/fixtures/openapi/legacy-3.0.yaml') });
  const ct = { 'content-type': 'application/xml' };
  assert.equal(await b.handler(exchange({ operationId: 'createItem', headers: ct, body: '<item><name>x</name></item>' }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'createItem', headers: ct, body: '<!DOCTYPE x [<!ENTITY a "b">]><item/>' }, b.doc).ex);
  assert.equal(errorsOf(r)[0]!.rule, 'doctype');
});

test('3.0 dialect: nullable, boolean exclusiveMinimum, readOnly not required in requests', async () => {
  const b = await build(validateContent, {}, { file: join(ROOT, 'test/fixtures/openapi/legacy-3.0.yaml') });
  const send = async (o: unknown) => b.handler(exchange({ operationId: 'createItem', headers: JSON_CT, body: JSON.stringify(o) }, b.doc).ex);
  assert.equal(await send({ name: null, price: 1, kind: null, parent: null }), undefined);
  assert.equal(await send({ name: 'x', price: 1, parent: { id: 3 } }), undefined);
  assert.deepEqual(errorsOf(await send({ name: 'x', price: 0 })).map((e) => e.rule), ['exclusiveMinimum']);
  assert.deepEqual(errorsOf(await send({ name: 'x', price: 1, discount: 100 })).map((e) => e.rule), ['exclusiveMaximum']);
  assert.equal((await send({ name: 'x', price: 1, parent: { id: 'a' } }))?.status, 400);
});

test('decompresses gzip and br bodies to validate them', async () => {
  const b = await build(validateContent, {});
  for (const [enc, fn] of [['gzip', gzipSync], ['br', brotliCompressSync]] as const) {
    const good = fn(Buffer.from(JSON.stringify(ORDER)));
    const { ex } = exchange({ operationId: 'createOrder', headers: { ...JSON_CT, 'content-encoding': enc }, body: good }, b.doc);
    assert.equal(await b.handler(ex), undefined, enc);
    assert.deepEqual(ex.requestBody, good, 'the compressed bytes are forwarded as they came');
    const bad = fn(Buffer.from(JSON.stringify({ ...ORDER, currency: 1 })));
    assert.equal((await b.handler(exchange({ operationId: 'createOrder', headers: { ...JSON_CT, 'content-encoding': enc }, body: bad }, b.doc).ex))?.status, 400, enc);
  }
});

test('a zip bomb stops decompressing at max-size and is refused with 413', async () => {
  const b = await build(validateContent, { 'max-size': '64kb' });
  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MiB of spaces in ~50 KiB
  assert.ok(bomb.length < 64 * 1024);
  const r = await b.handler(exchange({ operationId: 'createOrder', headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: bomb }, b.doc).ex);
  assert.equal(r?.status, 413);
});

test('refuses an unknown or stacked Content-Encoding with 415', async () => {
  const b = await build(validateContent, {});
  for (const enc of ['compress', 'gzip, br', 'zstd']) {
    const r = await b.handler(exchange({ operationId: 'createOrder', headers: { ...JSON_CT, 'content-encoding': enc }, body: 'xx' }, b.doc).ex);
    assert.equal(r?.status, 415, enc);
    assert.equal(r?.code, 'content-encoding-not-supported');
  }
});

test('refuses a max-size above the buffer cap at load', async () => {
  await assert.rejects(build(validateContent, { 'max-size': '2mb' }), (e: unknown) => e instanceof ConfigError && e.path[0] === 'max-size');
  await assert.rejects(build(validateContent, { 'max-size': '600kb' }, { gateway: { maxBodyBuffer: 512 * 1024 } }), ConfigError);
  await build(validateContent, { 'max-size': '1mb' });
});

test('refuses to load without an OpenAPI document, and rejects unknown config keys', async () => {
  assert.throws(() => validateContent.schema.parse({ 'max-sise': 1 }));
  assert.throws(() => validateContent.schema.parse({ content: [{ type: 'application/json', 'validate-as': 'yaml' }] }));
});

// ----- outbound

test('outbound: a response matching the schema passes, with the body buffered for the client', async () => {
  const b = await build(validateContent, {}, { section: 'outbound' });
  const order = { id: 'ord_abcd1234', customerId: ORDER.customerId, status: 'placed', lines: ORDER.lines, total: { amount: '10.00', currency: 'EUR' }, createdAt: '2024-01-01T00:00:00Z' };
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 200, { 'content-type': 'application/json' }, JSON.stringify(order));
  assert.equal(await b.handler(ex), undefined);
  assert.deepEqual(JSON.parse((await bodyOf(ex.response!.body)).toString()), order);
});

test('outbound prevent: an invalid response becomes a 502 that leaks nothing of the backend body', async () => {
  const b = await build(validateContent, {}, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 200, { 'content-type': 'application/json' }, JSON.stringify({ id: 'ord_abcd1234', secret: 'internal-db-password' }));
  const r = await b.handler(ex);
  assert.equal(r?.status, 502);
  assert.equal(r?.code, 'response-invalid');
  assert.ok(!JSON.stringify(r).includes('internal-db-password'));
  assert.ok(!JSON.stringify(r).includes('secret'));
  assert.ok(b.logs.some((l) => l.msg?.toString().includes('does not match')));
});

test('outbound: writeOnly properties are not required in responses', async () => {
  const b = await build(validateContent, {}, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getCustomer' }, b.doc);
  respond(ex, 200, { 'content-type': 'application/json' }, JSON.stringify({ id: ORDER.customerId, name: 'Ada', email: 'ada@example.com', tier: 'gold', address: null }));
  assert.equal(await b.handler(ex), undefined);
});

test('outbound: a response larger than max-size is passed through whole and counted as detect', async () => {
  const b = await build(validateContent, { 'max-size': '1kb', 'size-exceeded-action': 'detect' }, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(5000) }));
  respond(ex, 200, { 'content-type': 'application/json' }, Readable.from([big.subarray(0, 700), big.subarray(700)], { objectMode: false }));
  assert.equal(await b.handler(ex), undefined);
  assert.deepEqual(await bodyOf(ex.response!.body), big);
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 1);
});

test('outbound: size-exceeded prevent answers 502', async () => {
  const b = await build(validateContent, { 'max-size': '1kb' }, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 200, { 'content-type': 'application/json', 'content-length': '5000' }, 'x'.repeat(5000));
  assert.equal((await b.handler(ex))?.status, 502);
});

test('outbound: an undeclared response content type is refused', async () => {
  const b = await build(validateContent, {}, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 200, { 'content-type': 'text/html' }, '<h1>stack trace</h1>');
  const r = await b.handler(ex);
  assert.equal(r?.status, 502);
  assert.ok(!JSON.stringify(r).includes('stack trace'));
});

test('outbound: problem responses are validated against the referenced Problem schema', async () => {
  const b = await build(validateContent, { content: [{ type: 'application/*json' }] }, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 404, { 'content-type': 'application/problem+json' }, JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404 }));
  assert.equal(await b.handler(ex), undefined);
  const { ex: ex2 } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex2, 404, { 'content-type': 'application/problem+json' }, JSON.stringify({ title: 'Not Found', status: 200 }));
  assert.equal((await b.handler(ex2))?.status, 502);
});

test('compiles against every operation of a real-world document (Train Travel API) and validates its bookings', async () => {
  const file = join(EXAMPLES, '3.1/yaml/train-travel.yaml');
  const b = await build(validateContent, { content: [{ type: 'application/json' }] }, { file });
  const ok = { trip_id: 'ea399ba1-6d95-433f-92d1-83f67b775594', passenger_name: 'John Doe', has_bicycle: true, has_dog: false };
  assert.equal(await b.handler(exchange({ operationId: 'create-booking', headers: JSON_CT, body: JSON.stringify(ok) }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'create-booking', headers: JSON_CT, body: JSON.stringify({ ...ok, has_dog: 'yes', trip_id: 'x' }) }, b.doc).ex);
  assert.equal(r?.status, 400);
  assert.ok(errorsOf(r).some((e) => e.path === '/has_dog'));
});
