import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseToken, verifySignature, type ParsedToken } from '../../../src/gateway/jwt/token.js';
import { keyFromJwk, keyFromSecret } from '../../../src/gateway/jwt/keys.js';
import { DEFAULT_ALGORITHMS } from '../../../src/gateway/jwt/algorithms.js';
import { b64, makeKey, signRaw, token, unsigned, now } from './helpers.js';

const ALLOWED = new Set(DEFAULT_ALGORITHMS);
const code = (r: unknown) => (r as { code?: string }).code;

test('parses a well-formed RS256 token and verifies it with the matching key', () => {
  const k = makeKey('RS256', 'a');
  const t = parseToken(token(k), ALLOWED) as ParsedToken;
  assert.equal(t.alg, 'RS256');
  assert.equal(t.kid, 'a');
  assert.equal(t.claims.sub, 'user-1');
  assert.ok(verifySignature(t, keyFromJwk(k.jwk)));
  assert.ok(!verifySignature(t, keyFromJwk(makeKey('RS256', 'a').jwk)), 'another key must not verify it');
});

test('verifies every supported asymmetric algorithm family', () => {
  for (const alg of ['PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const) {
    const k = makeKey(alg, alg);
    const t = parseToken(token(k), ALLOWED) as ParsedToken;
    assert.ok(verifySignature(t, keyFromJwk(k.jwk)), alg);
  }
});

test('refuses alg none in every spelling', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    assert.equal(code(parseToken(unsigned(alg, { sub: 'x' }), ALLOWED)), 'token-algorithm-not-allowed', alg);
  }
  assert.equal(code(parseToken(`${b64({ alg: 'none' })}.${b64({})}.c2ln`, ALLOWED)), 'token-algorithm-not-allowed');
});

test('refuses an algorithm outside the allow-list, and unknown or prototype names', () => {
  const secret = Buffer.alloc(32, 7);
  assert.equal(code(parseToken(signRaw({ alg: 'HS256' }, { a: 1 }, secret), ALLOWED)), 'token-algorithm-not-allowed');
  for (const alg of ['RS1', 'constructor', '__proto__', 'toString', '']) {
    assert.equal(code(parseToken(`${b64({ alg })}.${b64({})}.c2ln`, ALLOWED)), 'token-algorithm-not-allowed', alg);
  }
});

test('refuses structurally broken tokens as malformed', () => {
  const k = makeKey('ES256', 'e');
  const good = token(k);
  const [h, p] = good.split('.');
  const cases: Record<string, string> = {
    'two parts': `${h}.${p}`,
    'JWE (five parts)': `${h}.${p}.a.b.c`,
    'bad base64': `${h}.${p}!.abc`,
    'impossible base64 length': `${h}.${p}a.abc`.replace(`${p}a`, 'a'),
    'payload not JSON': `${h}.${b64('not json')}.abc`,
    'payload a JSON array': `${h}.${b64([1, 2])}.abc`,
    'payload null': `${h}.${b64('null')}.abc`,
    'header not JSON': `${b64('{')}.${p}.abc`,
    'header array': `${b64([])}.${p}.abc`,
    'empty header': `.${p}.abc`,
    'alg not a string': `${b64({ alg: 1 })}.${p}.abc`,
    'crit header': `${b64({ alg: 'ES256', crit: ['b64'], b64: false })}.${p}.abc`,
    'typ not JWT': `${b64({ alg: 'ES256', typ: 'JWE' })}.${p}.abc`,
    'kid not a string': `${b64({ alg: 'ES256', kid: 5 })}.${p}.abc`,
  };
  for (const [what, t] of Object.entries(cases)) assert.equal(code(parseToken(t, ALLOWED)), 'token-malformed', what);
});

test('accepts typ JWT and at+jwt in any case, and no typ', () => {
  const k = makeKey('ES256', 'e');
  for (const typ of ['JWT', 'jwt', 'at+jwt', 'application/at+jwt', undefined]) {
    const t = parseToken(token(k, {}, { typ }), ALLOWED);
    assert.equal(code(t), undefined, String(typ));
  }
});

test('an empty signature is a signature failure', () => {
  const k = makeKey('RS256', 'a');
  const t = token(k);
  assert.equal(code(parseToken(t.slice(0, t.lastIndexOf('.') + 1), ALLOWED)), 'token-signature-invalid');
});

test('an unsigned token passes parsing only when unsigned tokens are allowed', () => {
  const t = unsigned('none', { sub: 'x', exp: now() + 60 });
  assert.equal(code(parseToken(t, ALLOWED, true)), undefined);
  assert.equal(code(parseToken(unsigned('NONE', { sub: 'x' }), ALLOWED, true)), 'token-algorithm-not-allowed');
});

test('rejects an ECDSA signature in DER form or of the wrong length', () => {
  const k = makeKey('ES256', 'e');
  const key = keyFromJwk(k.jwk);
  const t = parseToken(token(k), ALLOWED) as ParsedToken;
  const trimmed = { ...t, signature: t.signature.subarray(0, 63) };
  assert.ok(!verifySignature(trimmed, key));
  const padded = { ...t, signature: Buffer.concat([t.signature, Buffer.alloc(1)]) };
  assert.ok(!verifySignature(padded, key));
});

test('the signature of another token does not verify this one', () => {
  const k = makeKey('RS256', 'a');
  const a = token(k, { sub: 'alice' });
  const b = token(k, { sub: 'mallory' });
  const spliced = `${b.slice(0, b.lastIndexOf('.'))}${a.slice(a.lastIndexOf('.'))}`;
  const t = parseToken(spliced, ALLOWED) as ParsedToken;
  assert.ok(!verifySignature(t, keyFromJwk(k.jwk)));
});

test('HMAC tokens verify with the configured secret only, in constant time', () => {
  const secret = Buffer.alloc(48, 9);
  const key = keyFromSecret(secret.toString('base64'));
  const t = parseToken(signRaw({ alg: 'HS384' }, { a: 1 }, secret), new Set(['HS384'])) as ParsedToken;
  assert.ok(verifySignature(t, key));
  const other = keyFromSecret(Buffer.alloc(48, 8).toString('base64'));
  assert.ok(!verifySignature(t, other));
});
