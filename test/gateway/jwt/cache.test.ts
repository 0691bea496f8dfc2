import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache } from '../../../src/gateway/jwt/cache.js';
import type { VerifyKey } from '../../../src/gateway/jwt/keys.js';

const key = (): VerifyKey => ({ kid: 'k', kind: 'RSA', algs: new Set(['RS256']), key: Buffer.alloc(0), issuer: undefined, fingerprint: 'f', active: true });

test('serves an entry until its expiry, then drops it', () => {
  const c = new TokenCache<string>(10, 1 << 20);
  c.set('t', 1000, key(), 'v', 1);
  assert.equal(c.get('t', 999), 'v');
  assert.equal(c.get('t', 1000), undefined);
  assert.equal(c.size, 0);
});

test('stops serving entries whose key left its key set', () => {
  const c = new TokenCache<string>(10, 1 << 20);
  const k = key();
  c.set('t', Infinity, k, 'v', 1);
  assert.equal(c.get('t', 0), 'v');
  k.active = false;
  assert.equal(c.get('t', 0), undefined);
});

test('is bounded by entries, evicting the oldest', () => {
  const c = new TokenCache<number>(3, 1 << 20);
  for (let i = 0; i < 5; i++) c.set(`t${i}`, Infinity, key(), i, 1);
  assert.equal(c.size, 3);
  assert.equal(c.get('t0', 0), undefined);
  assert.equal(c.get('t4', 0), 4);
});

test('is bounded by bytes', () => {
  const c = new TokenCache<number>(1000, 2000);
  for (let i = 0; i < 50; i++) c.set(`${'x'.repeat(200)}${i}`, Infinity, key(), i, 100);
  assert.ok(c.byteSize <= 2000);
  assert.ok(c.size > 0 && c.size < 50);
  c.set('y'.repeat(5000), Infinity, key(), 1, 1);
  assert.equal(c.get('y'.repeat(5000), 0), undefined, 'an entry larger than the cache is not kept');
});

test('max-entries 0 disables caching', () => {
  const c = new TokenCache<number>(0, 1 << 20);
  c.set('t', Infinity, key(), 1, 1);
  assert.equal(c.get('t', 0), undefined);
});

test('a token that shares a cached token\'s signature but differs anywhere else is a miss', () => {
  const c = new TokenCache<string>(10, 1 << 20);
  const sig = 'S'.repeat(342);
  const good = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${sig}`;
  c.set(good, Infinity, key(), 'alice', 1);
  assert.equal(c.get(good, 0), 'alice');
  // the same signature under another payload, another header, or with a byte added
  assert.equal(c.get(`eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.${sig}`, 0), undefined);
  assert.equal(c.get(`eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.${sig}`, 0), undefined);
  assert.equal(c.get(`x${good}`, 0), undefined);
  assert.equal(c.get(sig, 0), undefined, 'the signature alone is not the token');
  // a miss leaves the cached token served
  assert.equal(c.get(good, 0), 'alice');
  // tokens with a short or no last segment are keyed whole
  c.set('a.b.', Infinity, key(), 'none-1', 1);
  assert.equal(c.get('c.d.', 0), undefined);
  assert.equal(c.get('a.b.', 0), 'none-1');
});
