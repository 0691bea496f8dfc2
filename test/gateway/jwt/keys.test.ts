import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyFromJwk, keyFromPem, keyFromSecret, KeyImportError } from '../../../src/gateway/jwt/keys.js';
import { makeKey } from './helpers.js';

test('an RSA key allows RS* and PS*, narrowed by its JWK alg', () => {
  const k = makeKey('RS256', 'r');
  const { alg: _a, ...noAlg } = k.jwk;
  assert.deepEqual([...keyFromJwk(noAlg).algs].sort(), ['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']);
  assert.deepEqual([...keyFromJwk(k.jwk).algs], ['RS256']);
});

test('EC keys allow exactly the algorithm of their curve', () => {
  for (const [alg, expected] of [['ES256', 'ES256'], ['ES384', 'ES384'], ['ES512', 'ES512']] as const) {
    const { alg: _a, ...jwk } = makeKey(alg, 'e').jwk;
    assert.deepEqual([...keyFromJwk(jwk).algs], [expected]);
  }
  const k = makeKey('ES256', 'e');
  assert.throws(() => keyFromJwk({ ...k.jwk, alg: 'ES512' }), KeyImportError);
  assert.throws(() => keyFromJwk({ ...k.jwk, alg: 'HS256' }), KeyImportError);
});

test('refuses RSA keys under 2048 bits', () => {
  const k = makeKey('RS1024', 'small');
  assert.throws(() => keyFromJwk(k.jwk), /2048/);
  assert.throws(() => keyFromPem(k.pem), /2048/);
});

test('refuses symmetric JWKs, encryption keys, and keys without verify in key_ops', () => {
  assert.throws(() => keyFromJwk({ kty: 'oct', k: Buffer.alloc(32).toString('base64url') }), /oct/);
  const k = makeKey('RS256', 'r');
  assert.throws(() => keyFromJwk({ ...k.jwk, use: 'enc' }), /signature/);
  assert.throws(() => keyFromJwk({ ...k.jwk, key_ops: ['encrypt'] }), /verify/);
  assert.ok(keyFromJwk({ ...k.jwk, key_ops: ['verify'] }));
  assert.throws(() => keyFromJwk({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }), KeyImportError);
  assert.throws(() => keyFromJwk('x'), KeyImportError);
  assert.throws(() => keyFromJwk([]), KeyImportError);
});

test('a JWK with private members is imported as its public half', () => {
  const k = makeKey('ES256', 'p');
  const priv = { ...k.privateKey.export({ format: 'jwk' }), kid: 'p' };
  const key = keyFromJwk(priv);
  assert.equal((key.key as import('node:crypto').KeyObject).type, 'public');
});

test('imports a PEM public key and a private key PEM as its public half', () => {
  const k = makeKey('ES256', 'p');
  assert.deepEqual([...keyFromPem(k.pem, { kid: 'x' }).algs], ['ES256']);
  const privPem = k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.equal((keyFromPem(privPem).key as import('node:crypto').KeyObject).type, 'public');
  assert.throws(() => keyFromPem('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----'), KeyImportError);
});

test('an HMAC secret allows the HS algorithms its length supports', () => {
  assert.deepEqual([...keyFromSecret(Buffer.alloc(32, 1).toString('base64')).algs], ['HS256']);
  assert.deepEqual([...keyFromSecret(Buffer.alloc(64, 1).toString('base64')).algs], ['HS256', 'HS384', 'HS512']);
  assert.throws(() => keyFromSecret(Buffer.alloc(16, 1).toString('base64')), /32/);
  assert.throws(() => keyFromSecret(Buffer.alloc(32, 1).toString('base64'), { alg: 'HS512' }), /64/);
  assert.throws(() => keyFromSecret(Buffer.alloc(32, 1).toString('base64'), { alg: 'RS256' }), KeyImportError);
  assert.throws(() => keyFromSecret('not base64 !!'), /base64/);
});

test('key fingerprints identify key material, and secrets never appear in them', () => {
  const k = makeKey('RS256', 'r');
  assert.equal(keyFromJwk(k.jwk).fingerprint, keyFromPem(k.pem).fingerprint);
  const secret = Buffer.alloc(32, 5).toString('base64');
  assert.ok(!keyFromSecret(secret).fingerprint.includes(secret.slice(0, 8)));
});
