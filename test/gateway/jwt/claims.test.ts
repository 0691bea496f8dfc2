import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClaimRule, compileClaimRules, encodeClaimHeader, claimValue } from '../../../src/gateway/jwt/claims.js';

const rules = (r: unknown[]) => compileClaimRules(r.map((x) => ClaimRule.parse(x)));

test('match any: one of the values in a space-separated scope passes', () => {
  const check = rules([{ name: 'scp', match: 'any', separator: ' ', values: ['orders.write', 'orders.admin'] }]);
  assert.equal(check({ scp: 'orders.read orders.write' }), undefined);
  assert.equal(check({ scp: 'orders.read' }), 'scp');
  assert.equal(check({ scp: 'orders.read orders.writer' }), 'scp', 'no substring matching');
  assert.equal(check({}), 'scp');
});

test('match all (the default) needs every value, from a string or an array claim', () => {
  const check = rules([{ name: 'roles', values: ['admin', 'auditor'] }]);
  assert.equal(check({ roles: ['auditor', 'admin', 'x'] }), undefined);
  assert.equal(check({ roles: ['admin'] }), 'roles');
  assert.equal(check({ roles: 'admin auditor' }), 'roles', 'no separator: the whole string is one value');
});

test('a rule without values requires only presence', () => {
  const check = rules([{ name: 'tid' }]);
  assert.equal(check({ tid: 'contoso' }), undefined);
  assert.equal(check({ tid: null }), 'tid');
  assert.equal(check({ tid: [] }), 'tid');
  assert.equal(check({}), 'tid');
});

test('numbers and booleans compare as their text; objects never match', () => {
  assert.equal(rules([{ name: 'level', values: ['3'] }])({ level: 3 }), undefined);
  assert.equal(rules([{ name: 'email_verified', values: ['true'] }])({ email_verified: true }), undefined);
  assert.equal(rules([{ name: 'x', values: ['[object Object]'] }])({ x: {} }), 'x');
});

test('dotted names walk into objects, but never into the prototype', () => {
  const check = rules([{ name: 'realm_access.roles', values: ['admin'] }]);
  assert.equal(check({ realm_access: { roles: ['admin'] } }), undefined);
  assert.equal(check({ 'realm_access.roles': ['admin'] }), undefined);
  assert.equal(claimValue({}, 'constructor'), undefined);
  assert.equal(claimValue({ a: {} }, 'a.constructor'), undefined);
  assert.equal(rules([{ name: '__proto__' }])({}), '__proto__');
});

test('every rule must pass', () => {
  const check = rules([{ name: 'a' }, { name: 'b', values: ['1'] }]);
  assert.equal(check({ a: 'x', b: '1' }), undefined);
  assert.equal(check({ a: 'x', b: '2' }), 'b');
});

test('claim header encoding: printable ASCII as is, everything else percent-encoded UTF-8', () => {
  assert.equal(encodeClaimHeader('user-1'), 'user-1');
  assert.equal(encodeClaimHeader('Zoë Ångström'), 'Zo%C3%AB %C3%85ngstr%C3%B6m');
  assert.equal(decodeURIComponent(encodeClaimHeader('Zoë Ångström')!), 'Zoë Ångström');
  assert.equal(encodeClaimHeader('a\r\nX-Injected: 1'), 'a%0D%0AX-Injected: 1');
  assert.equal(encodeClaimHeader('100%'), '100%25');
  assert.equal(encodeClaimHeader(' padded '), '%20padded%20');
  assert.equal(encodeClaimHeader('\ud800'), '%EF%BF%BD', 'a lone surrogate does not throw');
  assert.equal(encodeClaimHeader('日本'), '%E6%97%A5%E6%9C%AC');
});

test('claim header encoding: arrays join with commas, members never contain a raw comma', () => {
  assert.equal(encodeClaimHeader(['a', 'b,c', 'ü']), 'a,b%2Cc,%C3%BC');
  assert.equal(encodeClaimHeader([1, true]), '1,true');
  assert.equal(encodeClaimHeader([]), undefined);
  assert.equal(encodeClaimHeader(''), undefined);
  assert.equal(encodeClaimHeader(null), undefined);
  assert.equal(encodeClaimHeader(undefined), undefined);
  assert.equal(encodeClaimHeader(42), '42');
  assert.equal(encodeClaimHeader({ a: 'é' }), '{"a":"%C3%A9"}');
});

test('encoded claim values only contain bytes a header may carry', () => {
  const samples = ['\u0000', '\u007f', '\u00ff', '\u0100', 'emoji 😀', 'tab\there', 'x'.repeat(3) + '\n'];
  for (const s of samples) {
    const v = encodeClaimHeader(s)!;
    assert.match(v, /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, JSON.stringify(s));
  }
});
