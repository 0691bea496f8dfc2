import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaders } from '../../../src/gateway/policies/validate-headers.js';
import { build, exchange, respond } from '../openapi/harness.js';

test('passes responses whose declared headers match', async () => {
  const b = await build(validateHeaders, {}, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'listOrders' }, b.doc);
  respond(ex, 200, { 'x-total-count': '12', 'x-next-cursor': 'abc_1', 'content-type': 'application/json' }, null);
  assert.equal(await b.handler(ex), undefined);
});

test('prevent: a missing required header or a header breaking its schema becomes a 502', async () => {
  const b = await build(validateHeaders, { 'errors-variable-name': 'h' }, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'listOrders' }, b.doc);
  respond(ex, 200, { 'x-next-cursor': 'has spaces' }, null);
  const r = await b.handler(ex);
  assert.equal(r?.status, 502);
  const errs = (ex.vars?.h as Array<Record<string, string>>).map((e) => `${e.name} ${e.rule}`).sort();
  assert.deepEqual(errs, ['x-next-cursor pattern', 'x-total-count required']);
  const { ex: ex2 } = exchange({ operationId: 'listOrders' }, b.doc);
  respond(ex2, 200, { 'x-total-count': '-1' }, null);
  assert.equal((await b.handler(ex2))?.status, 502);
  const { ex: ex3 } = exchange({ operationId: 'createOrder' }, b.doc);
  respond(ex3, 201, { location: 'https://evil.example/orders/1' }, null);
  assert.equal((await b.handler(ex3))?.status, 502);
});

test('unspecified-header-action reports headers the document does not declare, standard ones excepted', async () => {
  const b = await build(validateHeaders, { 'unspecified-header-action': 'prevent', headers: [{ name: 'X-Debug', action: 'ignore' }] }, { section: 'outbound' });
  const { ex } = exchange({ operationId: 'listOrders' }, b.doc);
  respond(ex, 200, { 'x-total-count': '1', 'content-type': 'application/json', date: 'x', 'x-debug': '1' }, null);
  assert.equal(await b.handler(ex), undefined);
  const { ex: ex2 } = exchange({ operationId: 'listOrders' }, b.doc);
  respond(ex2, 200, { 'x-total-count': '1', 'x-powered-by': 'internal-framework 1.2', 'x-backend-host': '10.0.0.12' }, null);
  const r = await b.handler(ex2);
  assert.equal(r?.status, 502);
  assert.ok(!JSON.stringify(r).includes('10.0.0.12'));
});
