import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etagMatches, freshenHeaders, notModified, notModifiedHeaders, notModifiedMatches, revalidationHeaders, secondaryKey, varyFields } from '../../src/upstream/cache-validate.js';

describe('Vary', () => {
  it('lists the fields lower-case, sorted and once; * is everything', () => {
    assert.deepEqual(varyFields({ vary: 'Accept-Encoding, accept-language,ACCEPT-ENCODING' }), ['accept-encoding', 'accept-language']);
    assert.deepEqual(varyFields({ vary: ['Origin', 'Accept'] }), ['accept', 'origin']);
    assert.equal(varyFields({ vary: 'origin, *' }), '*');
    assert.deepEqual(varyFields({}), []);
  });

  it('builds one secondary key per distinct normalized value; absent differs from empty', () => {
    const f = ['accept-encoding', 'accept-language'];
    assert.equal(secondaryKey(f, { 'accept-encoding': 'gzip,  br', 'accept-language': 'de' }), secondaryKey(f, { 'accept-encoding': 'gzip,br', 'accept-language': 'de' }));
    assert.notEqual(secondaryKey(f, { 'accept-encoding': 'gzip' }), secondaryKey(f, { 'accept-encoding': 'br' }));
    assert.notEqual(secondaryKey(f, {}), secondaryKey(f, { 'accept-encoding': '' }));
    assert.notEqual(secondaryKey(['a'], { a: 'x\nb:y' }), secondaryKey(['a', 'b'], { a: 'x', b: 'y' }), 'values cannot forge another field');
  });
});

describe('conditional requests', () => {
  const stored = { etag: 'W/"v2"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT', 'cache-control': 'max-age=60', 'content-type': 'application/json', 'content-length': '10' };
  it('answers If-None-Match with the weak comparison, * and lists', () => {
    assert.ok(etagMatches('"v2"', 'W/"v2"'));
    assert.ok(etagMatches('"v1", W/"v2"', '"v2"'));
    assert.ok(etagMatches('*', '"x"'));
    assert.ok(!etagMatches('"v1"', '"v2"'));
    assert.ok(!etagMatches('"v2"', undefined));
    assert.ok(!etagMatches('v2', '"v2"'), 'an unquoted tag is no tag');
  });

  it('gives 304 for GET/HEAD when the validators match; If-None-Match decides over If-Modified-Since', () => {
    assert.ok(notModified({ method: 'GET', headers: { 'if-none-match': '"v2"' } }, stored));
    assert.ok(notModified({ method: 'HEAD', headers: { 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' } }, stored));
    assert.ok(notModified({ method: 'GET', headers: { 'if-modified-since': 'Wed, 01 Jan 2025 00:00:00 GMT' } }, stored), 'equal dates: not modified');
    assert.ok(!notModified({ method: 'GET', headers: { 'if-modified-since': 'Tue, 31 Dec 2024 00:00:00 GMT' } }, stored));
    assert.ok(!notModified({ method: 'GET', headers: { 'if-none-match': '"v1"', 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' } }, stored));
    assert.ok(!notModified({ method: 'GET', headers: { 'if-modified-since': 'garbage' } }, stored));
    assert.ok(!notModified({ method: 'POST', headers: { 'if-none-match': '"v2"' } }, stored));
  });

  it('sends 304 with the cache-relevant fields only, revalidates with the validators, and freshens from a 304', () => {
    assert.deepEqual(notModifiedHeaders(stored), { etag: 'W/"v2"', 'last-modified': stored['last-modified'], 'cache-control': 'max-age=60' });
    assert.deepEqual(revalidationHeaders(stored), { 'if-none-match': 'W/"v2"', 'if-modified-since': stored['last-modified'] });
    const fresh = freshenHeaders(stored, { 'cache-control': 'max-age=120', date: 'Thu, 02 Jan 2025 00:00:00 GMT', 'content-length': '0', connection: 'close' });
    assert.equal(fresh['cache-control'], 'max-age=120');
    assert.equal(fresh['content-length'], '10', 'a 304 never changes the stored length');
    assert.equal(fresh.connection, undefined);
    assert.ok(notModifiedMatches(stored, { etag: '"v2"' }));
    assert.ok(!notModifiedMatches(stored, { etag: '"v3"' }), 'a 304 for another representation');
    assert.ok(notModifiedMatches(stored, {}));
  });
});
