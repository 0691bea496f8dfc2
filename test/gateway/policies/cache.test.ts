import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { testExchange, type ExchangeSpec } from '../../helpers/exchange.js';
import { policyContext } from '../../helpers/policy-context.js';
import { compileCacheKey, compileDownstream, type KeyConfig } from '../../../src/gateway/policies/kit/cache.js';
import { cacheLookup } from '../../../src/gateway/policies/cache-lookup.js';
import { cacheStore } from '../../../src/gateway/policies/cache-store.js';
import { ConfigError } from '../../../src/config/errors.js';

const ctx = policyContext({ claimsAvailable: true });
after(() => ctx.close());

function keyer(over: Partial<KeyConfig> = {}) {
  const k = compileCacheKey({ 'vary-by-header': [], 'allow-private-response-caching': false, ...over }, ctx);
  return (s: ExchangeSpec) => k(testExchange({ headers: { host: 'api.example' }, ...s }));
}

describe('cache key', () => {
  it('is the same for the same parameters in another order, and for GET and HEAD', () => {
    const key = keyer();
    assert.equal(key({ query: 'a=1&b=2' }), key({ query: 'b=2&a=1' }));
    assert.equal(key({ query: 'a=1' }), key({ method: 'HEAD', query: 'a=1' }));
    assert.equal(key({ query: 'a=1&b=2' }), key({ query: '&b=2&&a=1' }));
  });

  it('keeps repeated parameters in their order (a backend may read them as a list)', () => {
    const key = keyer();
    assert.notEqual(key({ query: 'a=1&a=2' }), key({ query: 'a=2&a=1' }));
  });

  it('never lets crafted separators make two requests one entry', () => {
    const key = keyer({ 'vary-by-header': ['X-A', 'X-B'] });
    assert.notEqual(key({ query: 'a=1&b=2' }), key({ query: 'a=1%26b=2' }));
    assert.notEqual(key({ query: 'a=1&b=2' }), key({ query: 'a=1&b=2&' + 'c' }));
    assert.notEqual(key({ path: '/a', query: 'b' }), key({ path: '/a?b', query: '' }));
    assert.notEqual(key({ path: '/x","y' }), key({ path: '/x', query: 'y' }));
    assert.notEqual(key({ headers: { host: 'api.example', 'x-a': 'v,"x-b":"w' } }), key({ headers: { host: 'api.example', 'x-a': 'v', 'x-b': 'w' } }));
    assert.notEqual(key({ headers: { host: 'api.example', 'x-a': '' } }), key({ headers: { host: 'api.example' } }), 'an empty header is not an absent one');
  });

  it('includes the host and the path', () => {
    const key = keyer();
    assert.notEqual(key({ headers: { host: 'a.example' } }), key({ headers: { host: 'b.example' } }));
    assert.equal(key({ headers: { host: 'A.example' } }), key({ headers: { host: 'a.example' } }));
    assert.notEqual(key({ path: '/orders/1' }), key({ path: '/orders/2' }));
  });

  it('with vary-by-query-parameter, keys only the listed parameters, matched decoded', () => {
    const key = keyer({ 'vary-by-query-parameter': ['page'] });
    assert.equal(key({ query: 'page=1&utm=x' }), key({ query: 'utm=y&page=1' }));
    assert.notEqual(key({ query: 'page=1' }), key({ query: 'page=2' }));
    assert.notEqual(key({ query: '' }), key({ query: '%70age=2' }), 'an encoded name is the same parameter');
  });

  it('per caller: the Authorization value (or the vary-by-caller template); none when the caller cannot be told', () => {
    const key = keyer({ 'allow-private-response-caching': true });
    const alice = key({ headers: { host: 'api.example', authorization: 'Bearer alice' } });
    assert.notEqual(alice, key({ headers: { host: 'api.example', authorization: 'Bearer bob' } }));
    assert.notEqual(alice, key({}), 'anonymous is its own caller');
    const bySub = keyer({ 'allow-private-response-caching': true, 'vary-by-caller': '{jwt.sub}' });
    assert.notEqual(bySub({ claims: { sub: 'alice' } }), bySub({ claims: { sub: 'bob' } }));
    assert.equal(bySub({ claims: {} }), undefined, 'no subject: not cached');
  });
});

describe('downstream-caching-type', () => {
  it('sets no-store, private or public with the lifetime left, never public for a per-caller response', () => {
    assert.equal(compileDownstream(undefined, true), undefined);
    assert.equal(compileDownstream('none', true)!(60, 10, undefined, false), 'no-store');
    assert.equal(compileDownstream('private', false)!(60, 10, undefined, false), 'private, max-age=50');
    const pub = compileDownstream('public', true)!;
    assert.equal(pub(60, 10, 'max-age=60', false), 'public, max-age=50, must-revalidate');
    assert.equal(pub(60, 10, 'max-age=60', true), 'private, max-age=50, must-revalidate');
    assert.equal(pub(60, 10, 'private, max-age=60', false), 'private, max-age=50, must-revalidate');
    assert.equal(pub(60, 90, undefined, false), 'public, max-age=0, must-revalidate');
  });
});

describe('cache policies at load', () => {
  it('refuses vary-by-caller without allow-private-response-caching, and external without a shared cache', () => {
    assert.throws(() => cacheLookup.create(cacheLookup.schema.parse({ 'vary-by-caller': '{jwt.sub}' }), ctx), ConfigError);
    assert.throws(() => cacheLookup.create(cacheLookup.schema.parse({ 'caching-type': 'external' }), ctx), /gateway\.cache\.external/);
    assert.throws(() => cacheStore.create(cacheStore.schema.parse({ duration: 60, 'max-duration': 10 }), ctx), /max-duration/);
  });

  it('bypasses methods other than GET and HEAD, and Authorization without the opt-in', async () => {
    const lookup = await cacheLookup.create(cacheLookup.schema.parse({}), ctx);
    assert.equal(await lookup(testExchange({ method: 'POST' })), undefined);
    assert.equal(await lookup(testExchange({ headers: { authorization: 'Bearer x' } })), undefined);
  });
});
