import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from '../../src/gateway/template.js';
import type { Exchange } from '../../src/gateway/exchange.js';

const ex = (over: Partial<Record<string, unknown>> = {}) => ({
  clientIp: '203.0.113.9', method: 'GET', path: '/orders/7', params: { id: '7' },
  req: { headers: { 'x-api-key': 'k1' } }, queryParams: new URLSearchParams('tenant=t1'),
  claims: { sub: 'alice', tid: 'T', roles: ['a', 'b'], org: { id: 'o1' } }, api: { name: 'orders' },
  operation: { id: 'get-order' }, vars: { plan: 'gold' }, ...over,
}) as unknown as Exchange;

test('renders every placeholder of the vocabulary', () => {
  const t = compileTemplate('{request.ip}|{request.method}|{request.path}|{request.header.X-Api-Key}|{request.query.tenant}|{request.param.id}|{jwt.sub}|{jwt.roles}|{jwt.org.id}|{api.name}|{operation.id}|{var.plan}', { claimsAvailable: true });
  assert.equal(t.render(ex()), '203.0.113.9|GET|/orders/7|k1|t1|7|alice|a,b|o1|orders|get-order|gold');
  assert.equal(t.usesClaims, true);
});

test('a missing part makes the whole key undefined, never a shorter key', () => {
  const t = compileTemplate('{jwt.sub}:{request.header.X-Missing}', { claimsAvailable: true });
  assert.equal(t.render(ex()), undefined);
  assert.equal(compileTemplate('{jwt.sub}', { claimsAvailable: true }).render(ex({ claims: undefined })), undefined);
});

test('constant templates are recognised', () => {
  const t = compileTemplate('fixed', { claimsAvailable: false });
  assert.equal(t.constant, true);
  assert.equal(t.render(ex()), 'fixed');
});

test('refuses {jwt.*} without a validate-jwt before it', () => {
  assert.throws(() => compileTemplate('{jwt.sub}', { claimsAvailable: false }), /no validate-jwt runs before/);
});

test('refuses unknown placeholders and unbalanced braces', () => {
  assert.throws(() => compileTemplate('{process.env.HOME}', { claimsAvailable: true }), /unknown placeholder/);
  assert.throws(() => compileTemplate('{request.header.}', { claimsAvailable: true }), /unknown placeholder/);
  assert.throws(() => compileTemplate('{request.ip', { claimsAvailable: true }), /unclosed/);
  assert.throws(() => compileTemplate('a}b', { claimsAvailable: true }), /unbalanced/);
});
