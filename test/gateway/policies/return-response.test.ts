import { test } from 'node:test';
import assert from 'node:assert/strict';
import { returnResponse } from '../../../src/gateway/policies/return-response.js';
import { build, exchange, run } from '../jwt/context.js';

test('answers with its status, headers (lower-cased) and a data body as JSON', async () => {
  const h = await build(returnResponse, { status: 403, headers: { 'X-Reason': 'closed', 'Set-Cookie': ['a=1', 'b=2'] }, body: { message: 'closed' } });
  const r = await run(h, exchange());
  assert.equal(r?.status, 403);
  assert.deepEqual(r?.headers, { 'x-reason': 'closed', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'application/json' });
  assert.equal(r?.body?.toString(), '{"message":"closed"}');
});

test('a string body is sent as text unless a content-type is given; no body has no content-type', async () => {
  const text = await run(await build(returnResponse, { body: 'hello' }), exchange());
  assert.equal(text?.status, 200);
  assert.equal(text?.headers?.['content-type'], 'text/plain; charset=utf-8');
  assert.equal(text?.body?.toString(), 'hello');
  const html = await run(await build(returnResponse, { body: '<p>x</p>', 'content-type': 'text/html' }), exchange());
  assert.equal(html?.headers?.['content-type'], 'text/html');
  const empty = await run(await build(returnResponse, { status: 204 }), exchange());
  assert.deepEqual(empty?.headers, {});
  assert.equal(empty?.body, undefined);
});

test('each request gets its own headers object: what a later stage adds does not leak into the next response', async () => {
  const h = await build(returnResponse, { status: 200, headers: { 'X-A': '1' } });
  const first = await run(h, exchange());
  first!.headers!['x-request-id'] = 'req-1';
  const second = await run(h, exchange());
  assert.deepEqual(second?.headers, { 'x-a': '1' });
});

test('invalid header names and statuses are refused by the schema', () => {
  assert.throws(() => returnResponse.schema.parse({ headers: { 'Bad Name': 'x' } }), /not a valid header name/);
  assert.throws(() => returnResponse.schema.parse({ status: 600 }));
  assert.throws(() => returnResponse.schema.parse({ status: 99 }));
});
