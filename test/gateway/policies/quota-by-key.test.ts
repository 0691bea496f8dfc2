import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { quotaByKey, QuotaByKeyConfig } from '../../../src/gateway/policies/quota-by-key.js';
import { ConfigError } from '../../../src/config/errors.js';
import type { Handler } from '../../../src/gateway/policy.js';
import { harness, exchange, done, type Outcome } from '../../state/policy-harness.js';

function make(config: Record<string, unknown>, h = harness()) {
  const parsed = QuotaByKeyConfig.parse(config);
  const handler = quotaByKey.create(parsed, h.ctx) as Handler;
  const run = async (ex = exchange()) => (await handler(ex)) as Outcome;
  return { ...h, handler, run };
}

describe('quota-by-key config', () => {
  it('needs calls or bandwidth, and a valid first-period-start', () => {
    assert.equal(QuotaByKeyConfig.safeParse({ 'renewal-period': 60, 'counter-key': 'k' }).success, false);
    assert.equal(QuotaByKeyConfig.safeParse({ calls: 5, 'renewal-period': 60, 'counter-key': 'k', 'first-period-start': 'soon' }).success, false);
    assert.equal(QuotaByKeyConfig.safeParse({ calls: 5, 'renewal-period': 60, 'counter-key': 'k', extra: 1 }).success, false);
    assert.equal(QuotaByKeyConfig.safeParse({ bandwidth: 5, 'renewal-period': '30d', 'counter-key': 'k' }).success, true);
  });

  it('refuses the memory store with several workers', () => {
    assert.throws(() => make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k' }, harness({ workers: 2 })), ConfigError);
  });
});

describe('quota-by-key', () => {
  afterEach(() => {});

  it('answers 403 quota-exceeded with a Retry-After that reaches the period renewal aligned to first-period-start', async () => {
    const p = make({ calls: 2, 'renewal-period': 3600, 'first-period-start': '2026-01-01T00:15:00Z', 'counter-key': '{request.ip}' });
    p.clock.t = Date.UTC(2026, 2, 1, 10, 0, 0); // period 09:15 - 10:15
    assert.equal(await p.run(), undefined);
    assert.equal(await p.run(), undefined);
    const r = await p.run();
    assert.equal(r?.status, 403);
    assert.equal(r?.problem?.code, 'quota-exceeded');
    assert.equal(r?.headers?.['retry-after'], String(15 * 60));
    p.clock.t += 15 * 60 * 1000 - 1;
    assert.equal((await p.run())?.status, 403);
    p.clock.t += 1;
    assert.equal(await p.run(), undefined, 'renewed at 10:15');
  });

  it('rounds Retry-After up so that waiting it always reaches the new period', async () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': 'k' });
    p.clock.t = Date.UTC(2026, 2, 1, 10, 0, 0) + 59_001; // 999 ms before the minute
    await p.run();
    const r = await p.run();
    assert.equal(r?.headers?.['retry-after'], '1');
    p.clock.t += 1000;
    assert.equal(await p.run(), undefined);
  });

  it('never renews a lifetime quota (renewal-period 0) and sends no Retry-After', async () => {
    const p = make({ calls: 1, 'renewal-period': 0, 'counter-key': 'k' });
    assert.equal(await p.run(), undefined);
    p.clock.t += 10 * 365 * 86_400_000;
    const r = await p.run();
    assert.equal(r?.status, 403);
    assert.equal(r?.headers?.['retry-after'], undefined);
    assert.match(r?.problem?.detail ?? '', /does not renew/);
  });

  it('counts request and response bytes in KB against bandwidth once the call is done', async () => {
    const p = make({ bandwidth: 2, 'renewal-period': 60, 'counter-key': 'k' });
    const a = exchange();
    assert.equal(await p.run(a), undefined);
    done(a, 200, 1000, 500);
    const b = exchange();
    assert.equal(await p.run(b), undefined, '1500 of 2048 bytes used');
    done(b, 200, 0, 600);
    const r = await p.run();
    assert.equal(r?.status, 403);
    assert.match(r?.problem?.detail ?? '', /Bandwidth/);
  });

  it('refunds calls and skips bytes of responses that do not match increment-condition', async () => {
    const p = make({ calls: 1, bandwidth: 1, 'renewal-period': 60, 'counter-key': 'k', 'increment-condition': { status: ['2xx'] } });
    for (let i = 0; i < 3; i++) {
      const ex = exchange();
      assert.equal(await p.run(ex), undefined);
      done(ex, 500, 5000, 5000);
    }
    const ok = exchange();
    assert.equal(await p.run(ok), undefined);
    done(ok, 200, 10, 10);
    assert.equal((await p.run())?.status, 403);
  });

  it('counts a concurrent burst before forwarding, so it cannot overshoot', async () => {
    const p = make({ calls: 5, 'renewal-period': 60, 'counter-key': 'k' });
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => p.run()));
    assert.equal(outcomes.filter((o) => o === undefined).length, 5);
  });

  it('puts keyless requests into the shared fallback counter', async () => {
    const p = make({ calls: 1, 'renewal-period': 60, 'counter-key': '{request.header.X-Sub}' });
    assert.equal(await p.run(exchange()), undefined);
    assert.equal((await p.run(exchange()))?.status, 403);
    assert.equal(await p.run(exchange({ 'x-sub': 's1' })), undefined);
  });

  it('sets the IETF RateLimit fields for the calls quota', async () => {
    const p = make({ calls: 3, 'renewal-period': 60, 'counter-key': 'k', 'ratelimit-headers': true });
    p.clock.t = Date.UTC(2026, 2, 1, 10, 0, 0);
    const ex = exchange();
    await p.run(ex);
    assert.equal(ex.responseHeaders?.['ratelimit-policy'], '"quota-by-key";q=3;w=60');
    assert.equal(ex.responseHeaders?.['ratelimit'], '"quota-by-key";r=2;t=60');
  });
});
