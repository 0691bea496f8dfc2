import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { validateStatusCode } from '../../../src/gateway/policies/validate-status-code.js';
import { build, exchange, respond, metric } from '../openapi/harness.js';

test('passes declared status codes: exact, 4XX ranges and default', async () => {
  const b = await build(validateStatusCode, {}, { section: 'outbound' });
  for (const [op, status] of [['getOrder', 200], ['getOrder', 404], ['createOrder', 201], ['createOrder', 409], ['updateOrder', 500]] as const) {
    const { ex } = exchange({ operationId: op }, b.doc);
    respond(ex, status, {}, null);
    assert.equal(await b.handler(ex), undefined, `${op} ${status}`);
  }
});

test('prevent: an undeclared status becomes a 502 and the backend body is dropped', async () => {
  const b = await build(validateStatusCode, {}, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  const body = Readable.from([Buffer.from('java.lang.NullPointerException at com.internal.Db')], { objectMode: false });
  respond(ex, 500, { 'content-type': 'text/plain' }, body);
  const r = await b.handler(ex);
  assert.equal(r?.status, 502);
  assert.equal(r?.code, 'response-invalid');
  assert.ok(!JSON.stringify(r).includes('NullPointer'));
  assert.ok(body.destroyed);
});

test('per-code action: detect passes and counts, ignore passes silently', async () => {
  const b = await build(validateStatusCode, { 'status-codes': [{ code: 500, action: 'detect' }, { code: 503, action: 'ignore' }] }, { section: 'outbound' });
  for (const status of [500, 503]) {
    const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
    respond(ex, status, {}, null);
    assert.equal(await b.handler(ex), undefined);
  }
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 1);
  const { ex } = exchange({ operationId: 'getOrder' }, b.doc);
  respond(ex, 418, {}, null);
  assert.equal((await b.handler(ex))?.status, 502);
});
