import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaims } from '../../../src/gateway/policies/check-claims.js';
import { ConfigError } from '../../../src/config/errors.js';
import { build, exchange, run, testContext } from '../jwt/context.js';

const cfg = { 'required-claims': [{ name: 'scp', match: 'any', separator: ' ', values: ['orders.write'] }] };

test('passes when the validated token has the required claims', async () => {
  const h = await build(checkClaims, cfg, testContext({ claimsAvailable: true }));
  const ex = exchange();
  ex.claims = { scp: 'orders.read orders.write' };
  assert.equal(await run(h, ex), undefined);
});

test('refuses with 403 token-claim-not-allowed and insufficient_scope', async () => {
  const h = await build(checkClaims, cfg, testContext({ claimsAvailable: true }));
  const ex = exchange();
  ex.claims = { scp: 'orders.read' };
  const r = await run(h, ex);
  assert.equal(r?.status, 403);
  assert.equal(r?.problem?.code, 'token-claim-not-allowed');
  assert.match(String(r?.headers?.['www-authenticate']), /^Bearer realm="orders", error="insufficient_scope"/);
});

test('failed-check-httpcode and message are configurable', async () => {
  const h = await build(checkClaims, { ...cfg, 'failed-check-httpcode': 401, 'failed-check-error-message': 'Writers only.' }, testContext({ claimsAvailable: true }));
  const ex = exchange();
  ex.claims = {};
  const r = await run(h, ex);
  assert.equal(r?.status, 401);
  assert.equal(r?.problem?.detail, 'Writers only.');
});

test('any-of: scp containing orders.write OR roles containing admin', async () => {
  const h = await build(checkClaims, { 'required-claims': [{ 'any-of': [
    { name: 'scp', match: 'any', separator: ' ', values: ['orders.write'] },
    { name: 'roles', match: 'any', values: ['admin'] },
  ] }] }, testContext({ claimsAvailable: true }));
  const withClaims = (claims: Record<string, unknown>) => { const ex = exchange(); ex.claims = claims; return ex; };
  assert.equal(await run(h, withClaims({ scp: 'orders.write' })), undefined);
  assert.equal(await run(h, withClaims({ roles: ['admin'] })), undefined);
  const r = await run(h, withClaims({ scp: 'orders.read', roles: ['user'] }));
  assert.equal(r?.status, 403);
  assert.match(String(r?.problem?.detail), /scp or roles/);
});

test('refuses without claims at runtime, and without a validate-jwt before it at load', async () => {
  const h = await build(checkClaims, cfg, testContext({ claimsAvailable: true }));
  assert.equal((await run(h, exchange()))?.status, 401);
  await assert.rejects(build(checkClaims, cfg, testContext({ claimsAvailable: false })), ConfigError);
  assert.throws(() => checkClaims.schema.parse({ 'required-claims': [] }));
});
