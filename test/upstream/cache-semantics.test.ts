import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentAge, freshFor, freshnessLifetime, initialAge, parseCacheControl, requestCacheable, storability, type HeaderMap } from '../../src/upstream/cache-semantics.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const date = (ms: number) => new Date(ms).toUTCString();
const GET = { method: 'GET', headers: {} as HeaderMap };
const res = (status: number, headers: HeaderMap) => ({ status, headers });
const why = (r: ReturnType<typeof storability>) => (r.ok ? `ok ${r.lifetimeSec}` : r.reason);

describe('Cache-Control parsing', () => {
  it('reads directives case-insensitively, unquotes values, keeps commas inside quotes, first one wins', () => {
    const d = parseCacheControl('Public, MAX-AGE=60, private="set-cookie, x-a", s-maxage="30", max-age=5, no-cache');
    assert.deepEqual([...d], [['public', true], ['max-age', '60'], ['private', 'set-cookie, x-a'], ['s-maxage', '30'], ['no-cache', true]]);
  });

  it('skips malformed parts and keeps the rest', () => {
    assert.deepEqual([...parseCacheControl(' , =x, max-age=10 ,,no store, no-store')], [['max-age', '10'], ['no-store', true]]);
    assert.equal(parseCacheControl(undefined).size, 0);
    assert.deepEqual([...parseCacheControl('a="unterminated, b=1')], [['a', 'unterminated, b=1']]);
  });
});

describe('storability (RFC 9111 §3, shared cache)', () => {
  it('stores GET responses with explicit freshness, or heuristically cacheable statuses with a validator or default', () => {
    assert.equal(why(storability(GET, res(200, { 'cache-control': 'max-age=60' }))), 'ok 60');
    assert.equal(why(storability(GET, res(200, { 'cache-control': 'max-age=60, s-maxage=5' }))), 'ok 5', 's-maxage wins in a shared cache');
    assert.equal(why(storability(GET, res(302, { 'cache-control': 'max-age=60' }))), 'ok 60', 'any final status with explicit freshness');
    assert.equal(why(storability(GET, res(302, {}))), 'status');
    assert.equal(why(storability(GET, res(404, {}), { defaultTtlSec: 30 })), 'ok 30');
    assert.equal(why(storability(GET, res(200, { etag: '"a"' }))), 'ok 0', 'no freshness, but revalidatable');
    assert.equal(why(storability(GET, res(200, {}))), 'no-freshness');
  });

  it('refuses what a shared cache must not store', () => {
    const cases: Array<[string, ReturnType<typeof storability>]> = [
      ['method', storability({ method: 'POST', headers: {} }, res(200, { 'cache-control': 'max-age=60' }))],
      ['request-no-store', storability({ method: 'GET', headers: { 'cache-control': 'no-store' } }, res(200, { 'cache-control': 'max-age=60' }))],
      ['no-store', storability(GET, res(200, { 'cache-control': 'max-age=60, no-store' }))],
      ['private', storability(GET, res(200, { 'cache-control': 'private, max-age=60' }))],
      ['private', storability(GET, res(200, { 'cache-control': 'private="x-user", max-age=60' }))],
      ['vary-star', storability(GET, res(200, { 'cache-control': 'max-age=60', vary: 'accept, *' }))],
      ['set-cookie', storability(GET, res(200, { 'cache-control': 'max-age=60', 'set-cookie': ['a=1'] }))],
      ['status', storability(GET, res(206, { 'cache-control': 'max-age=60' }))],
      ['status', storability(GET, res(304, { 'cache-control': 'max-age=60' }))],
      ['status', storability(GET, res(101, {}))],
    ];
    for (const [reason, r] of cases) assert.equal(why(r), reason);
  });

  it('never stores or serves a request with Authorization unless the key is per caller', () => {
    const authed = { method: 'GET', headers: { authorization: 'Bearer x' } };
    const pub = res(200, { 'cache-control': 'public, max-age=60' });
    assert.equal(why(storability(authed, pub)), 'authorization', 'not even with public');
    assert.equal(requestCacheable(authed), 'authorization');
    assert.equal(why(storability(authed, pub, { perCaller: true })), 'ok 60');
    assert.equal(requestCacheable(authed, { perCaller: true }), undefined);
    assert.equal(why(storability(authed, res(200, { 'cache-control': 'private, max-age=60' }), { perCaller: true })), 'ok 60', "a per-caller entry may hold the caller's private response");
    assert.equal(why(storability(GET, res(200, { 'cache-control': 'private, max-age=60' }), { perCaller: true })), 'private', 'but not an anonymous one');
    assert.equal(requestCacheable({ method: 'DELETE', headers: {} }), 'method');
    assert.equal(requestCacheable({ method: 'HEAD', headers: {} }), undefined);
  });
});

describe('freshness lifetime (§4.2.1)', () => {
  it('takes Expires − Date, and counts an invalid Expires as already stale', () => {
    assert.equal(freshnessLifetime(res(200, { date: date(T0), expires: date(T0 + 120_000) })), 120);
    assert.equal(freshnessLifetime(res(200, { date: date(T0), expires: '0' })), 0);
    assert.equal(freshnessLifetime(res(200, { date: date(T0), expires: date(T0 - 1000) })), 0);
    assert.equal(freshnessLifetime(res(200, { 'cache-control': 'max-age=10', date: date(T0), expires: date(T0 + 120_000) })), 10, 'max-age over Expires');
  });

  it('treats an invalid max-age as stale, no-cache as 0, and caps by maxTtl', () => {
    assert.equal(freshnessLifetime(res(200, { 'cache-control': 'max-age=ten' })), 0);
    assert.equal(freshnessLifetime(res(200, { 'cache-control': 'max-age=-1' })), 0);
    assert.equal(freshnessLifetime(res(200, { 'cache-control': 'max-age=600, no-cache' })), 0);
    assert.equal(freshnessLifetime(res(200, { 'cache-control': 'max-age=600' }), { maxTtlSec: 60 }), 60);
  });

  it('uses 10 % of the time since Last-Modified when nothing else is given (at most a day)', () => {
    assert.equal(freshnessLifetime(res(200, { date: date(T0), 'last-modified': date(T0 - 1000_000) })), 100);
    assert.equal(freshnessLifetime(res(200, { date: date(T0), 'last-modified': date(T0 - 100 * 86_400_000) })), 86_400);
    assert.equal(freshnessLifetime(res(200, { date: date(T0), 'last-modified': date(T0 - 1000_000) }), { defaultTtlSec: 5 }), 5, 'the configured duration wins');
  });
});

describe('age (§4.2.3) and serving (§4.2, §5.2.1)', () => {
  it('corrects the age for the Age header, the Date and the request time', () => {
    assert.equal(initialAge({ date: date(T0) }, T0 + 1000, T0 + 3000), 3, 'apparent age: response time − Date');
    assert.equal(initialAge({ date: date(T0 + 3000), age: '10' }, T0 + 1000, T0 + 3000), 12, 'Age + response delay');
    assert.equal(initialAge({}, T0, T0), 0);
    assert.equal(initialAge({ age: 'x' }, T0, T0), 0);
    assert.equal(currentAge({ initialAgeSec: 12, responseTime: T0 }, T0 + 8000), 20);
  });

  it('serves while fresh, honouring the request no-cache, Pragma, max-age and min-fresh', () => {
    const meta = { initialAgeSec: 0, responseTime: T0, lifetimeSec: 60 };
    assert.deepEqual(freshFor(meta, {}, T0 + 30_000), { fresh: true, ageSec: 30 });
    assert.deepEqual(freshFor(meta, {}, T0 + 60_000), { fresh: false, ageSec: 60 });
    assert.equal(freshFor(meta, { 'cache-control': 'no-cache' }, T0 + 1000).fresh, false);
    assert.equal(freshFor(meta, { pragma: 'no-cache' }, T0 + 1000).fresh, false);
    assert.equal(freshFor(meta, { pragma: 'no-cache', 'cache-control': 'max-age=100' }, T0 + 1000).fresh, true, 'Pragma only without Cache-Control');
    assert.equal(freshFor(meta, { 'cache-control': 'max-age=10' }, T0 + 20_000).fresh, false);
    assert.equal(freshFor(meta, { 'cache-control': 'min-fresh=50' }, T0 + 20_000).fresh, false);
    assert.equal(freshFor(meta, { 'cache-control': 'max-stale=1000' }, T0 + 70_000).fresh, false, 'never stale');
  });
});
