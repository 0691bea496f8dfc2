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

test('a placeholder that resolves to nothing leaves the header as it was; delete removes a forged one', async () => {
  const h = await build(setHeader, { name: 'X-Tenant', value: '{request.header.X-Missing}' });
  const ex = exchange({ headers: [['X-Tenant', 'forged']] });
  await run(h, ex);
  assert.equal(ex.upstreamHeaders['x-tenant'], 'forged');
  const del = await build(setHeader, { name: 'X-Tenant', 'exists-action': 'delete' });
  await run(del, ex);
  assert.equal(ex.upstreamHeaders['x-tenant'], undefined);
});

test('refuses headers the gateway manages and values with control characters', async () => {
  await assert.rejects(build(setHeader, { name: 'Content-Length', value: '1' }), ConfigError);
  await assert.rejects(build(setHeader, { name: 'X-A', value: 'a\nb' }));
  await assert.rejects(build(setHeader, { name: 'X-A' }));
});
