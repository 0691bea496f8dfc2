import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateParameters } from '../../../src/gateway/policies/validate-parameters.js';
import { build, exchange, metric, ROOT, EXAMPLES } from '../openapi/harness.js';

const errorsOf = (r: unknown) => ((r as { problem?: { members?: { errors?: Array<Record<string, string>> } } }).problem?.members?.errors ?? []);
const LEGACY = join(ROOT, 'test/fixtures/openapi/legacy-3.0.yaml');
const UUID = '0b9f1e6e-8a3c-4c57-9a33-0c5b7c1d2e3f';

test('accepts valid query parameters: form explode:false arrays, integers, formats, deepObject', async () => {
  const b = await build(validateParameters, {});
  const q = `status=paid,shipped&limit=5&customerId=${UUID}&createdAfter=2024-01-01T00:00:00Z&filter[minTotal]=3.5&filter[currency]=EUR`;
  assert.equal(await b.handler(exchange({ operationId: 'listOrders', query: q }, b.doc).ex), undefined);
  assert.equal(await b.handler(exchange({ operationId: 'listOrders', query: 'filter%5BminTotal%5D=1' }, b.doc).ex), undefined);
});

test('refuses an enum value inside a comma-separated array, and points at its index', async () => {
  const b = await build(validateParameters, {});
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'status=paid,lost' }, b.doc).ex);
  assert.equal(r?.status, 400);
  assert.equal(r?.code, 'request-parameter-invalid');
  assert.deepEqual(errorsOf(r).map((e) => [e.in, e.name, e.path, e.rule]), [['query', 'status', '/1', 'enum']]);
});

test('refuses out-of-range, non-numeric and badly formatted values', async () => {
  const b = await build(validateParameters, {});
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=500&customerId=123&createdAfter=yesterday&filter[minTotal]=-1&filter[evil]=1' }, b.doc).ex);
  const got = errorsOf(r).map((e) => `${e.name}${e.path} ${e.rule}`).sort();
  assert.deepEqual(got, ['createdAfter format', 'customerId format', 'filter/evil additionalProperties', 'filter/minTotal minimum', 'limit maximum']);
  const r2 = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=abc' }, b.doc).ex);
  assert.equal(errorsOf(r2)[0]!.rule, 'type');
  const r3 = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=' }, b.doc).ex);
  assert.equal(r3?.status, 400, 'an empty value is not the number 0');
});

test('refuses a repeated scalar query parameter (parameter pollution)', async () => {
  const b = await build(validateParameters, {});
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=1&limit=1000' }, b.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => `${e.name} ${e.rule}`), ['limit duplicate']);
  const r2 = await b.handler(exchange({ operationId: 'listOrders', query: 'status=paid&status=shipped' }, b.doc).ex);
  assert.equal(r2?.status, 400, 'explode:false arrays come in one parameter');
});

test('refuses broken percent-encoding in the query', async () => {
  const b = await build(validateParameters, {});
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=%zz' }, b.doc).ex);
  assert.equal(errorsOf(r)[0]!.rule, 'encoding');
});

test('validates path parameters (pattern, uuid) and header parameters, required ones included', async () => {
  const b = await build(validateParameters, {});
  assert.equal(await b.handler(exchange({ operationId: 'getOrder', params: { orderId: 'ord_abcd1234' } }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'getOrder', params: { orderId: 'ord_../../admin' } }, b.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => `${e.in} ${e.name} ${e.rule}`), ['path orderId pattern']);
  const r2 = await b.handler(exchange({ operationId: 'createOrder', headers: { 'X-Tenant': 'Bad Tenant!' } }, b.doc).ex);
  assert.deepEqual(errorsOf(r2).map((e) => `${e.in} ${e.name} ${e.rule}`).sort(), ['header idempotency-key required', 'header x-tenant pattern']);
  const r3 = await b.handler(exchange({ operationId: 'getCustomer', params: { customerId: UUID }, headers: { 'x-api-version': '3' } }, b.doc).ex);
  assert.deepEqual(errorsOf(r3).map((e) => `${e.name} ${e.rule}`), ['x-api-version enum']);
});

test('pipeDelimited arrays are split on "|" and limited by maxItems', async () => {
  const b = await build(validateParameters, {});
  assert.equal(await b.handler(exchange({ operationId: 'getCustomer', params: { customerId: UUID }, query: 'fields=name|email' }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'getCustomer', params: { customerId: UUID }, query: 'fields=name|ssn' }, b.doc).ex);
  assert.equal(errorsOf(r)[0]!.path, '/1');
});

test('unspecified-parameter-action: undeclared query parameters and headers, standard headers excepted', async () => {
  const b = await build(validateParameters, { 'unspecified-parameter-action': 'prevent' });
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=1&debug=true', headers: { accept: 'application/json', 'user-agent': 'x', 'x-internal-admin': '1' } }, b.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => `${e.in} ${e.name} ${e.rule}`).sort(), ['header x-internal-admin unspecified', 'query debug unspecified']);
  const lenient = await build(validateParameters, { 'unspecified-parameter-action': 'prevent', headers: { 'unspecified-parameter-action': 'ignore' } });
  const r2 = await lenient.handler(exchange({ operationId: 'listOrders', headers: { 'x-internal-admin': '1' } }, lenient.doc).ex);
  assert.equal(r2, undefined);
});

test('per-parameter action overrides the location: detect lets the request through and counts it', async () => {
  const b = await build(validateParameters, { query: { parameters: [{ name: 'limit', action: 'detect' }] }, 'errors-variable-name': 'param-errors' });
  const { ex } = exchange({ operationId: 'listOrders', query: 'limit=1000' }, b.doc);
  assert.equal(await b.handler(ex), undefined);
  assert.equal((ex.vars?.['param-errors'] as unknown[]).length, 1);
  assert.equal(await metric(b.metrics, 'gatehouse_validation_violations_total'), 1);
  const r = await b.handler(exchange({ operationId: 'listOrders', query: 'limit=1000&status=x' }, b.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => e.name), ['status'], 'only prevented violations are listed');
});

test('path styles label and matrix, and a JSON header parameter (3.0 document)', async () => {
  const b = await build(validateParameters, {}, { file: LEGACY });
  assert.equal(await b.handler(exchange({ operationId: 'getItems', params: { ids: '.1,2,3' } }, b.doc).ex), undefined);
  assert.equal((await b.handler(exchange({ operationId: 'getItems', params: { ids: '1,2,3' } }, b.doc).ex))?.status, 400);
  assert.equal((await b.handler(exchange({ operationId: 'getItems', params: { ids: '.1,x' } }, b.doc).ex))?.status, 400);
  assert.equal(await b.handler(exchange({ operationId: 'getColor', params: { color: ';R=100;G=200;B=150' }, headers: { 'x-trace': '{"id":"t1"}' } }, b.doc).ex), undefined);
  const r = await b.handler(exchange({ operationId: 'getColor', params: { color: ';R=300;G=2' }, headers: { 'x-trace': '{"nope":1}' } }, b.doc).ex);
  assert.deepEqual(errorsOf(r).map((e) => `${e.in} ${e.name}${e.path} ${e.rule}`).sort(), ['header x-trace/id required', 'path color/R maximum']);
  const r2 = await b.handler(exchange({ operationId: 'getColor', params: { color: 'R=1' }, headers: { 'x-trace': 'not json' } }, b.doc).ex);
  assert.equal(errorsOf(r2).length, 2);
});

test('compiles every operation of real-world documents (Petstore 3.0, parameter styles 3.1)', async () => {
  const pet = await build(validateParameters, {}, { file: join(EXAMPLES, '3.0/json/petstore.json') });
  const r = await pet.handler(exchange({ operationId: 'findPetsByStatus', query: 'status=sold' }, pet.doc).ex);
  assert.equal(r, undefined);
  const bad = await pet.handler(exchange({ operationId: 'findPetsByStatus', query: 'status=lost' }, pet.doc).ex);
  assert.equal(bad?.status, 400);
  await build(validateParameters, {}, { file: join(EXAMPLES, '3.1/yaml/parameters-style.yaml') });
});
