import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitByKey, RateLimitByKeyConfig } from '../../../src/gateway/policies/rate-limit-by-key.js';
import { ConfigError } from '../../../src/config/errors.js';
import type { Handler } from '../../../src/gateway/policy.js';
import type { CounterStore } from '../../../src/state/types.js';
import { harness, exchange, done, type Outcome } from '../../state/policy-harness.js';

function make(config: Record<string, unknown>, h = harness()) {
  const parsed = RateLimitByKeyConfig.parse(config);
  const handler = rateLimitByKey.create(parsed, h.ctx) as Handler;
  const run = async (ex = exchange()) => (await handler(ex)) as Outcome;
  return { ...h, handler, run };
}

describe('rate-limit-by-key config', () => {
  it('refuses unknown keys, missing calls and bad header names', () => {
    assert.equal(RateLimitByKeyConfig.safeParse({ calls: 1, 'renewal-period': 1, 'counter-key': 'x', colour: 'red' }).success, false);
    assert.equal(RateLimitByKeyConfig.safeParse({ 'renewal-period': 1, 'counter-key': 'x' }).success, false);
    assert.equal(RateLimitByKeyConfig.safeParse({ calls: 0, 'renewal-period': 1, 'counter-key': 'x' }).success, false);
    assert.equal(RateLimitByKeyConfig.safeParse({ calls: 1, 'renewal-period': 1, 'counter-key': 'x', 'retry-after-header-name': 'a b' }).success, false);
    assert.equal(RateLimitByKeyConfig.safeParse({ calls: 1, 'renewal-period': 1, 'counter-key': 'x', 'increment-condition': { status: ['2yy'] } }).success, false);
  });

  it('accepts durations for renewal-period and fills in the defaults', () => {
    const c = RateLimitByKeyConfig.parse({ calls: 5, 'renewal-period': '1m', 'counter-key': '{request.ip}' });
    assert.equal(c['renewal-period'], 60);
    assert.equal(c['increment-count'], 1);
    assert.equal(c['retry-after-header-name'], 'Retry-After');
    assert.equal(c['on-store-error'], 'allow');
  });

  it('refuses {jwt.*} keys when no validate-jwt runs before it', () => {
    assert.throws(() => make({ calls: 1, 'renewal-period': 1, 'counter-key': '{jwt.sub}' }), ConfigError);
  });
});

describe('rate-limit-by-key with several workers', () => {
  it('refuses the memory store when workers > 1, naming Redis as the fix', () => {
    assert.throws(() => make({ calls: 1, 'renewal-period': 1, 'counter-key': 'x' }, harness({ workers: 4 })), (e: Error) => e instanceof ConfigError && /redis:\/\//.test(e.message));
  });

  it('accepts a shared store when workers > 1', () => {
    const shared = { kind: 'redis' } as CounterStore;
    assert.doesNotThrow(() => make({ calls: 1, 'renewal-period': 1, 'counter-key': 'x' }, harness({ store: shared, workers: 4 })));
  });
});

describe('rate-limit-by-key', () => {
  it('answers 429 rate-limit-exceeded with a whole-second Retry-After after which the call is admitted', async () => {
    const p = make({ calls: 2, 'renewal-period': 10, 'counter-key': '{request.ip}' });
    assert.equal(await p.run(), undefined);
    p.clock.t += 3500;
    assert.equal(await p.run(), undefined);
    const r = await p.run();
    assert.equal(r?.status, 429);
    assert.equal(r?.problem?.code, 'rate-limit-exceeded');
    const wait = Number(r?.headers?.['retry-after']);
    assert.equal(wait, 7, 'the first call leaves the window 6.5 s from now: wait 7 whole seconds');
    const rejectedAt = p.clock.t;
    p.clock.t = rejectedAt + 6499;
    assert.equal((await p.run())?.status, 429, 'still limited 1 ms before the first call leaves the window');
    p.clock.t = rejectedAt + wait * 1000;
    assert.equal(await p.run(), undefined, 'admitted after Retry-After');
  });

  it('uses the configured Retry-After header name', async () => {
    const p = make({ calls: 1, 'renewal-period': 10, 'counter-key': 'k', 'retry-after-header-name': 'X-Retry-In' });
    await p.run();
    const r = await p.run();
    assert.ok(r?.headers?.['x-retry-in']);
    assert.equal(r?.headers?.['retry-after'], undefined);
  });

  it('shares one fallback counter among requests whose key part is missing, without skipping the limit', async () => {
    const p = make({ calls: 2, 'renewal-period': 60, 'counter-key': '{request.header.X-Api-Key}' });
    assert.equal(await p.run(exchange()), undefined);
    assert.equal(await p.run(exchange({ 'x-api-key': '' })), undefined);
    assert.equal((await p.run(exchange()))?.status, 429, 'the third keyless request is limited');
    assert.equal(await p.run(exchange({ 'x-api-key': '(missing)' })), undefined, 'a client cannot name the fallback counter');
    assert.equal(await p.run(exchange({ 'x-api-key': 'real' })), undefined);
  });

  it('falls back when one part of a composite key is missing', async () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': '{request.ip}:{request.header.X-Tenant}' });
    assert.equal(await p.run(exchange({}, '203.0.113.1')), undefined);
    assert.equal((await p.run(exchange({}, '203.0.113.2')))?.status, 429, 'different IPs without a tenant share the fallback');
  });

  it('keeps very long keys apart without storing them whole', async () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': '{request.header.X-Api-Key}' });
    const a = 'a'.repeat(5000);
    const b = 'a'.repeat(4999) + 'b';
    assert.equal(await p.run(exchange({ 'x-api-key': a })), undefined);
    assert.equal(await p.run(exchange({ 'x-api-key': b })), undefined);
    assert.equal((await p.run(exchange({ 'x-api-key': a })))?.status, 429);
  });

  it('limits per policy: two policies with the same key count separately', async () => {
    const h = harness();
    const one = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k' }, { ...h, ctx: { ...h.ctx, location: 'apis[0].x' } });
    const two = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k' }, { ...h, ctx: { ...h.ctx, location: 'apis[1].x' } });
    assert.equal(await one.run(), undefined);
    assert.equal(await two.run(), undefined);
    assert.equal((await one.run())?.status, 429);
  });

  it('refunds calls whose response does not match increment-condition', async () => {
    const p = make({ calls: 2, 'renewal-period': 60, 'counter-key': 'k', 'increment-condition': { status: ['2xx', 304] } });
    for (const status of [500, 404, 401, 502]) {
      const ex = exchange();
      assert.equal(await p.run(ex), undefined);
      done(ex, status);
    }
    const a = exchange();
    assert.equal(await p.run(a), undefined);
    done(a, 200);
    const b = exchange();
    assert.equal(await p.run(b), undefined);
    done(b, 304);
    assert.equal((await p.run())?.status, 429, '200 and 304 counted');
  });

  it('counts every call of a concurrent burst before forwarding, so the burst cannot overshoot', async () => {
    const p = make({ calls: 3, 'renewal-period': 60, 'counter-key': 'k', 'increment-condition': { status: ['2xx'] } });
    const burst = Array.from({ length: 10 }, () => exchange());
    const outcomes = await Promise.all(burst.map((ex) => p.run(ex)));
    assert.equal(outcomes.filter((o) => o === undefined).length, 3);
  });

  it('keeps a call counted when the client went away before the response (status unknown)', async () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k', 'increment-condition': { status: ['2xx'] } });
    const ex = exchange();
    await p.run(ex);
    done(ex, 0);
    assert.equal((await p.run())?.status, 429);
  });

  it('weights calls by a numeric or templated increment-count; an unusable value counts 1', async () => {
    const p = make({ calls: 10, 'renewal-period': 60, 'counter-key': 'k', 'increment-count': '{request.header.X-Cost}' });
    assert.equal(await p.run(exchange({ 'x-cost': '6' })), undefined);
    assert.equal((await p.run(exchange({ 'x-cost': '5' })))?.status, 429, '6 + 5 > 10');
    assert.equal(await p.run(exchange({ 'x-cost': 'lots' })), undefined, 'not a number: counts 1 (7)');
    assert.equal(await p.run(exchange({ 'x-cost': '-3' })), undefined, 'negative: counts 1 (8)');
    assert.equal(await p.run(exchange()), undefined, 'missing: counts 1 (9)');
    assert.equal(await p.run(exchange({ 'x-cost': '1' })), undefined);
    assert.equal((await p.run(exchange({ 'x-cost': '1' })))?.status, 429);

    const fixed = make({ calls: 10, 'renewal-period': 60, 'counter-key': 'k', 'increment-count': 4 });
    assert.equal(await fixed.run(), undefined);
    assert.equal(await fixed.run(), undefined);
    assert.equal((await fixed.run())?.status, 429);
  });

  it('never admits a call heavier than the limit and says so without a Retry-After', async () => {
    const p = make({ calls: 5, 'renewal-period': 60, 'counter-key': 'k', 'increment-count': 6 });
    const r = await p.run();
    assert.equal(r?.status, 429);
    assert.equal(r?.headers?.['retry-after'], undefined);
  });

  it('sets remaining/total headers and the IETF RateLimit fields on admitted and rejected calls', async () => {
    const p = make({
      calls: 2, 'renewal-period': 30, 'counter-key': 'k',
      'remaining-calls-header-name': 'X-Remaining', 'total-calls-header-name': 'X-Limit', 'ratelimit-headers': true,
    });
    const ex = exchange();
    await p.run(ex);
    assert.equal(ex.responseHeaders?.['x-remaining'], '1');
    assert.equal(ex.responseHeaders?.['x-limit'], '2');
    assert.equal(ex.responseHeaders?.['ratelimit-policy'], '"rate-limit-by-key";q=2;w=30');
    assert.equal(ex.responseHeaders?.['ratelimit'], '"rate-limit-by-key";r=1;t=30');
    p.clock.t += 10_000;
    await p.run();
    const r = await p.run();
    assert.equal(r?.headers?.['x-remaining'], '0');
    assert.equal(r?.headers?.['ratelimit'], '"rate-limit-by-key";r=0;t=20');
    assert.equal(r?.headers?.['retry-after'], '20');
  });

  it('sets the remaining-calls and retry-after variables for later policies', async () => {
    const p = make({ calls: 1, 'renewal-period': 5, 'counter-key': 'k', 'remaining-calls-variable-name': 'left', 'retry-after-variable-name': 'wait' });
    const a = exchange();
    await p.run(a);
    assert.equal(a.vars?.left, 0);
    const b = exchange();
    await p.run(b);
    assert.equal(b.vars?.wait, 5);
    assert.equal(b.vars?.left, 0);
  });

  it('applies on-store-error when the store cannot answer: allow by default, 503 with deny', async () => {
    const down = {
      kind: 'redis', ready: () => false, started: () => true, close: async () => {},
      slidingHit: async () => null, slidingRefund: async () => {}, quotaHit: async () => null, quotaAdd: async () => {},
    } as CounterStore;
    const allow = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k' }, harness({ store: down }));
    assert.equal(await allow.run(), undefined);
    assert.equal(await allow.run(), undefined);
    const deny = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k', 'on-store-error': 'deny' }, harness({ store: down }));
    const r = await deny.run();
    assert.equal(r?.status, 503);
    assert.equal(r?.problem?.code, 'rate-limit-store-unavailable');
    const m = await allow.metrics.registry.getSingleMetric('gatehouse_throttle_store_fallbacks_total')!.get();
    assert.equal(m.values.find((v) => v.labels.action === 'allow')?.value, 2);
  });

  it('answers synchronously on the memory store (no Promise on the hot path)', () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': '{request.ip}' });
    assert.equal(p.handler(exchange()) instanceof Promise, false);
  });
});
