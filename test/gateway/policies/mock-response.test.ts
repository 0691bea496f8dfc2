import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mockResponse } from '../../../src/gateway/policies/mock-response.js';
import { policyContext } from '../../helpers/policy-context.js';
import { build, exchange, run } from '../jwt/context.js';

/** ctx.operation.openapi as the compiler passes it: the operation object of the document */
const withOperation = (responses: Record<string, unknown>) => policyContext({
  operation: { id: 'get-thing', method: 'GET', template: '/things/{id}', openapi: { operation: { responses } } },
});
const json = (example: Record<string, unknown>) => ({ content: { 'application/json': example } });

test('answers with the example of the operation\'s OpenAPI response for the status and media type', async () => {
  const ctx = withOperation({ 200: json({ example: { id: 7, name: 'from example' } }), 404: json({ example: { missing: true } }) });
  const r = await run(await build(mockResponse, { status: 200 }, ctx), exchange());
  assert.equal(r?.status, 200);
  assert.equal(r?.headers?.['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(r!.body!.toString()), { id: 7, name: 'from example' });
  const nf = await run(await build(mockResponse, { status: 404 }, ctx), exchange());
  assert.deepEqual(JSON.parse(nf!.body!.toString()), { missing: true });
});

test('examples are found in examples, the schema example, a status class and default, in that order', async () => {
  const body = async (responses: Record<string, unknown>, status = 200) => JSON.parse((await run(await build(mockResponse, { status }, withOperation(responses)), exchange()))!.body!.toString());
  assert.deepEqual(await body({ 200: json({ examples: { first: { value: { n: 1 } }, second: { value: { n: 2 } } } }) }), { n: 1 });
  assert.deepEqual(await body({ 200: json({ schema: { example: { n: 3 } } }) }), { n: 3 });
  assert.deepEqual(await body({ 200: json({ schema: { examples: [{ n: 4 }] } }) }), { n: 4 });
  assert.deepEqual(await body({ '2XX': json({ example: { n: 5 } }) }, 201), { n: 5 });
  assert.deepEqual(await body({ default: json({ example: { n: 6 } }) }, 500), { n: 6 });
});

test('without an example it answers the configured body; without either it answers no body', async () => {
  const r = await run(await build(mockResponse, { status: 200, body: { fallback: true } }, withOperation({ 200: { description: 'no example' } })), exchange());
  assert.deepEqual(JSON.parse(r!.body!.toString()), { fallback: true });
  const text = await run(await build(mockResponse, { 'content-type': 'text/plain', body: 'hi' }), exchange());
  assert.equal(text?.body?.toString(), 'hi');
  assert.equal(text?.headers?.['content-type'], 'text/plain');
  const none = await run(await build(mockResponse, { status: 204 }), exchange());
  assert.equal(none?.status, 204);
  assert.equal(none?.body, undefined);
});

test('each request gets its own headers object', async () => {
  const h = await build(mockResponse, { body: { a: 1 } });
  const first = await run(h, exchange());
  first!.headers!['x-request-id'] = 'req-1';
  assert.equal((await run(h, exchange()))?.headers?.['x-request-id'], undefined);
});
