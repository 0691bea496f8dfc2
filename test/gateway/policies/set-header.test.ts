import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setHeader } from '../../../src/gateway/policies/set-header.js';
import { ConfigError } from '../../../src/config/errors.js';
import { build, exchange, run, testContext } from '../jwt/context.js';

test('override, skip, append and delete act on the request sent to the backend', async () => {
  const ex = exchange({ headers: [['X-A', 'client'], ['X-B', 'client'], ['X-C', 'client'], ['X-D', 'client']] });
  await run(await build(setHeader, { name: 'X-A', value: 'gw' }), ex);
  await run(await build(setHeader, { name: 'X-B', value: 'gw', 'exists-action': 'skip' }), ex);
  await run(await build(setHeader, { name: 'X-C', value: 'gw', 'exists-action': 'append' }), ex);
  await run(await build(setHeader, { name: 'X-D', 'exists-action': 'delete' }), ex);
  assert.equal(ex.upstreamHeaders['x-a'], 'gw');
  assert.equal(ex.upstreamHeaders['x-b'], 'client');
  assert.deepEqual(ex.upstreamHeaders['x-c'], ['client', 'gw']);
  assert.equal(ex.upstreamHeaders['x-d'], undefined);
});

test('a rendered value that is not visible ASCII is percent-encoded, never a header undici refuses', async () => {
  const ctx = testContext({ claimsAvailable: true });
  const h = await build(setHeader, { name: 'X-User', value: '{jwt.name}' }, ctx);
  const ex = exchange();
  ex.claims = { name: 'Zoë €\r\nX-Evil: 1' };
  await run(h, ex);
  assert.equal(ex.upstreamHeaders['x-user'], encodeURIComponent('Zoë €\r\nX-Evil: 1'));
});

test('override owns the header: a client\'s forged value never passes, even when the claim is missing, empty or null', async () => {
  const ctx = testContext({ claimsAvailable: true });
  const h = await build(setHeader, { name: 'X-Tenant', value: '{jwt.tenant}' }, ctx);
  for (const claims of [{}, { tenant: '' }, { tenant: null }, { tenant: [] }]) {
    const ex = exchange({ headers: [['X-Tenant', 'victim-tenant']] });
    ex.claims = claims;
    await run(h, ex);
    assert.equal(ex.upstreamHeaders['x-tenant'], undefined, JSON.stringify(claims));
  }
  const fromHeader = await build(setHeader, { name: 'X-Tenant', value: '{request.header.X-Missing}' });
  const ex = exchange({ headers: [['X-Tenant', 'forged']] });
  await run(fromHeader, ex);
  assert.equal(ex.upstreamHeaders['x-tenant'], undefined);
  const del = await build(setHeader, { name: 'X-Tenant', 'exists-action': 'delete' });
  const ex2 = exchange({ headers: [['X-Tenant', 'forged']] });
  await run(del, ex2);
  assert.equal(ex2.upstreamHeaders['x-tenant'], undefined);
});

test('a claim with commas stays one header value; the template\'s own text is kept as written', async () => {
  const ctx = testContext({ claimsAvailable: true });
  const h = await build(setHeader, { name: 'X-Tenant', value: 'tenant={jwt.tenant}, v=1' }, ctx);
  const ex = exchange();
  ex.claims = { tenant: 'a, victim' };
  await run(h, ex);
  assert.equal(ex.upstreamHeaders['x-tenant'], 'tenant=a%2C%20victim, v=1');
  assert.equal(decodeURIComponent('a%2C%20victim'), 'a, victim');
  const arr = await build(setHeader, { name: 'X-Groups', value: '{jwt.groups}' }, ctx);
  ex.claims = { groups: ['a', 'b'] };
  await run(arr, ex);
  assert.equal(ex.upstreamHeaders['x-groups'], 'a%2Cb', 'an array claim is one value, not two');
});

test('a lone surrogate in a claim is encoded, not thrown', async () => {
  const ctx = testContext({ claimsAvailable: true });
  const h = await build(setHeader, { name: 'X-User', value: '{jwt.name}' }, ctx);
  const ex = exchange();
  ex.claims = { name: 'a\ud800b' };
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.upstreamHeaders['x-user'], 'a%EF%BF%BDb');
});

test('refuses headers the gateway manages and values with control characters', async () => {
  await assert.rejects(build(setHeader, { name: 'Content-Length', value: '1' }), ConfigError);
  await assert.rejects(build(setHeader, { name: 'X-A', value: 'a\nb' }));
  await assert.rejects(build(setHeader, { name: 'X-A' }));
});
