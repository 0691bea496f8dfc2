import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cors } from '../../../src/gateway/policies/cors.js';
import { ConfigError } from '../../../src/config/errors.js';
import { build, exchange, run } from '../jwt/context.js';

const APP = 'https://app.example.com';
const preflight = (origin: string, method: string, headers?: string) => exchange({
  method: 'OPTIONS',
  headers: [['Origin', origin], ['Access-Control-Request-Method', method], ...(headers === undefined ? [] : [['Access-Control-Request-Headers', headers] as [string, string]])],
});

test('cors runs before operation matching and only in inbound', () => {
  assert.equal(cors.capabilities.phase, 'before-operation');
  assert.deepEqual(cors.sections, ['inbound']);
});

test('a matching preflight is answered 204 with the allowed origin, methods, headers, credentials and max-age', async () => {
  const h = await build(cors, { 'allowed-origins': [APP], 'allowed-methods': ['GET', 'DELETE'], 'allowed-headers': ['Authorization', 'Content-Type'], 'allow-credentials': true, 'max-age': 600 });
  const r = await run(h, preflight(APP, 'delete', 'authorization, Content-Type'));
  assert.equal(r?.status, 204);
  assert.deepEqual(r?.headers, {
    'access-control-allow-origin': APP,
    'access-control-allow-methods': 'GET, DELETE',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-allow-credentials': 'true',
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  });
});

test('a preflight from another origin, for another method or with another header gets 200 and no CORS headers', async () => {
  const h = await build(cors, { 'allowed-origins': [APP], 'allowed-methods': ['GET'], 'allowed-headers': ['x-ok'] });
  for (const ex of [preflight('https://evil.test', 'GET'), preflight(APP, 'DELETE'), preflight(APP, 'GET', 'x-ok, x-not-allowed')]) {
    const r = await run(h, ex);
    assert.equal(r?.status, 200);
    assert.deepEqual(r?.headers, { vary: 'Origin' });
  }
});

test('with terminate-unmatched-request false an unmatched preflight continues to the backend', async () => {
  const h = await build(cors, { 'allowed-origins': [APP], 'terminate-unmatched-request': false });
  assert.equal(await run(h, preflight('https://evil.test', 'GET')), undefined);
});

test('origins compare case-insensitively and without a trailing slash; * allows any origin without credentials', async () => {
  const h = await build(cors, { 'allowed-origins': ['HTTPS://App.Example.com/'] });
  assert.equal((await run(h, preflight(APP, 'GET')))?.status, 204);
  const any = await build(cors, { 'allowed-origins': ['*'], 'allowed-methods': ['*'], 'allowed-headers': ['*'] });
  const r = await run(any, preflight('https://anyone.test', 'PATCH', 'X-Custom'));
  assert.equal(r?.headers?.['access-control-allow-origin'], '*');
  assert.equal(r?.headers?.['access-control-allow-methods'], 'PATCH');
  assert.equal(r?.headers?.['access-control-allow-headers'], 'x-custom');
});

test('an actual request continues and its response carries the CORS headers; another origin gets none', async () => {
  const h = await build(cors, { 'allowed-origins': [APP], 'expose-headers': ['X-Total', 'ETag'], 'allow-credentials': true });
  const ex = exchange({ headers: [['Origin', APP]] });
  assert.equal(await run(h, ex), undefined);
  assert.deepEqual(ex.responseHeaders, {
    'access-control-allow-origin': APP,
    vary: 'Origin',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'X-Total, ETag',
  });
  const other = exchange({ headers: [['Origin', 'https://evil.test']] });
  assert.equal(await run(h, other), undefined);
  assert.equal(other.responseHeaders, undefined);
  const noOrigin = exchange({ method: 'OPTIONS', headers: [['Access-Control-Request-Method', 'GET']] });
  assert.equal(await run(h, noOrigin), undefined, 'without Origin it is not CORS');
  assert.equal(noOrigin.responseHeaders, undefined);
});

test('allow-credentials with * origins is refused at load', async () => {
  await assert.rejects(build(cors, { 'allowed-origins': ['*'], 'allow-credentials': true }), (e: unknown) => e instanceof ConfigError && e.path.join('.') === 'allow-credentials');
});
