import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { RetryPolicy, classifyError, parseRetryAfter, type RetryOptions } from '../../src/upstream/retry.js';
import { RetryBudget } from '../../src/upstream/retry-budget.js';
import { createBalancer } from '../../src/upstream/balancer.js';
import { TargetSet, UpstreamConfigError, type Target } from '../../src/upstream/targets.js';
import { manualClock } from './helpers.js';

const NOW = 1_700_000_000_000;
const policy = (o: Partial<RetryOptions> = {}, budget?: RetryBudget) =>
  new RetryPolicy({ maxRetries: 2, on: ['connect-failure', 'reset', 'timeout', 'gateway-error'], ...o }, budget, () => 0.5);

describe('retry policy: what is retried', () => {
  it('retries the listed failures and statuses, not others', () => {
    const p = policy({ on: ['connect-failure', 503] });
    assert.equal(p.begin({ method: 'GET', body: 'none' }).onError('connect-failure', false, NOW).retry, true);
    assert.deepEqual(p.begin({ method: 'GET', body: 'none' }).onError('reset', true, NOW), { retry: false, reason: 'not-retryable' });
    assert.equal(p.begin({ method: 'GET', body: 'none' }).onResponse(503, undefined, NOW).retry, true);
    for (const s of [200, 404, 500, 502, 504]) assert.deepEqual(p.begin({ method: 'GET', body: 'none' }).onResponse(s, undefined, NOW), { retry: false, reason: 'not-retryable' }, String(s));
    const gw = policy({ on: ['gateway-error'] });
    assert.deepEqual([500, 502, 503, 504].map((s) => gw.begin({ method: 'GET', body: 'none' }).onResponse(s, undefined, NOW).retry), [false, true, true, true]);
    const any5 = policy({ on: ['5xx'] });
    assert.deepEqual([499, 500, 599].map((s) => any5.begin({ method: 'GET', body: 'none' }).onResponse(s, undefined, NOW).retry), [false, true, true]);
  });

  it('retries a non-idempotent request only when it never reached the target', () => {
    const p = policy();
    const post = () => p.begin({ method: 'POST', body: 'replayable' });
    assert.equal(post().onError('connect-failure', false, NOW).retry, true, 'refused: nothing was sent');
    assert.equal(post().onError('reset', false, NOW).retry, true, 'a reset before the first byte (a stale pooled connection)');
    assert.deepEqual(post().onError('reset', true, NOW), { retry: false, reason: 'unsafe' });
    assert.deepEqual(post().onError('timeout', true, NOW), { retry: false, reason: 'unsafe' });
    assert.deepEqual(post().onResponse(503, undefined, NOW), { retry: false, reason: 'unsafe' }, 'the backend may have acted on it');
    assert.deepEqual(p.begin({ method: 'PATCH', body: 'none' }).onResponse(502, undefined, NOW), { retry: false, reason: 'unsafe' });
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'get']) assert.equal(p.begin({ method: m, body: 'replayable' }).onError('reset', true, NOW).retry, true, m);
  });

  it('never retries a streamed body, which the failed try consumed', () => {
    const p = policy();
    assert.deepEqual(p.begin({ method: 'PUT', body: 'stream' }).onError('connect-failure', false, NOW), { retry: false, reason: 'unsafe' });
    assert.deepEqual(p.begin({ method: 'PUT', body: 'stream' }).onResponse(503, undefined, NOW), { retry: false, reason: 'unsafe' });
  });
});

describe('retry policy: bounds', () => {
  it('stops after maxRetries', () => {
    const s = policy({ maxRetries: 2 }).begin({ method: 'GET', body: 'none' });
    assert.deepEqual([1, 2, 3].map(() => s.onResponse(503, undefined, NOW)), [
      { retry: true, delayMs: 12.5 }, { retry: true, delayMs: 25 }, { retry: false, reason: 'attempts-exhausted' },
    ], 'full-jitter exponential backoff (random 0.5 × 25 ms × 2^n)');
  });

  it('honours Retry-After up to the bound, and passes a longer one to the client', () => {
    const p = policy({ retryAfterMaxMs: 2000 });
    assert.deepEqual(p.begin({ method: 'GET', body: 'none' }).onResponse(503, '1', NOW), { retry: true, delayMs: 1000 });
    assert.deepEqual(p.begin({ method: 'GET', body: 'none' }).onResponse(503, '3', NOW), { retry: false, reason: 'retry-after-too-long' });
    const date = new Date(NOW + 1500).toUTCString();
    assert.equal((p.begin({ method: 'GET', body: 'none' }).onResponse(503, date, NOW) as { delayMs: number }).delayMs, 1000, 'HTTP-date (second precision)');
    assert.deepEqual(p.begin({ method: 'GET', body: 'none' }).onResponse(503, 'soon', NOW), { retry: true, delayMs: 12.5 }, 'unusable: backoff');
  });

  it('never retries past the deadline, and cuts the per-try timeout to the time left', () => {
    const p = policy({ perTryTimeoutMs: 2000 });
    const s = p.begin({ method: 'GET', body: 'none', deadline: NOW + 3000 });
    assert.equal(s.tryTimeoutMs(NOW), 2000);
    assert.equal(s.tryTimeoutMs(NOW + 2000), 1000);
    assert.deepEqual(s.onResponse(503, '1', NOW + 2500), { retry: false, reason: 'deadline' });
    assert.equal(p.begin({ method: 'GET', body: 'none' }).tryTimeoutMs(NOW), 2000);
    assert.equal(policy().begin({ method: 'GET', body: 'none' }).tryTimeoutMs(NOW), Infinity);
  });

  it('refuses unusable options', () => {
    for (const bad of [{ maxRetries: -1 }, { maxRetries: 11 }, { on: ['502'] as never }, { on: [200] }, { on: ['sometimes'] as never }, { perTryTimeoutMs: 0 }]) {
      assert.throws(() => policy(bad), UpstreamConfigError, JSON.stringify(bad));
    }
  });

  it('parses Retry-After', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW), 0, 'a date in the past: now');
    for (const bad of [undefined, '', '-1', '1.5', 'tomorrow', '1e3']) assert.equal(parseRetryAfter(bad, NOW), undefined, String(bad));
  });
});

describe('retry budget', () => {
  it('holds retries to the percentage of requests plus the reserve during an outage', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ percent: 20, minPerSecond: 1, windowMs: 10_000, now: clock.now });
    const p = policy({ maxRetries: 3 }, budget);
    let backendCalls = 0, requests = 0;
    for (let i = 0; i < 10_000; i++) {
      clock.advance(1); // 1,000 requests per second for 10 s, every try fails
      const s = p.begin({ method: 'GET', body: 'none' });
      requests++;
      backendCalls++;
      while (s.onResponse(503, undefined, clock.now()).retry) backendCalls++;
    }
    const allowed = requests * 0.2 + 20; // 20 %, plus the reserve of 1/s: at most 10 per window, over 10 s and the window before them
    assert.ok(backendCalls - requests <= allowed, `retries ${backendCalls - requests} ≤ ${allowed}`);
    assert.ok(backendCalls - requests >= requests * 0.2 * 0.9, `the budget is used: ${backendCalls - requests}`);
    assert.ok(backendCalls <= requests * 1.2 + 20, `backend load ${backendCalls} for ${requests} requests: never ×4`);
  });

  it('allows the reserve with little traffic, and forgets what left the window', () => {
    const clock = manualClock();
    const b = new RetryBudget({ percent: 0, minPerSecond: 2, windowMs: 5000, now: clock.now });
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.tryWithdraw()) ok++;
    assert.equal(ok, 10, '2/s × 5 s');
    clock.advance(5000);
    assert.equal(b.balance(), 10, 'a window later the withdrawals are forgotten');
    const c = new RetryBudget({ percent: 50, minPerSecond: 0, now: clock.now });
    for (let i = 0; i < 10; i++) c.deposit();
    assert.equal(c.balance(), 5);
    clock.advance(10_000);
    assert.equal(c.balance(), 0, 'deposits expire too');
  });

  it('refuses unusable options', () => {
    assert.throws(() => new RetryBudget({ percent: -1 }), UpstreamConfigError);
    assert.throws(() => new RetryBudget({ percent: 20, windowMs: 10 }), UpstreamConfigError);
  });
});

describe('retries against real servers', () => {
  const servers: Server[] = [];
  after(() => Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); }))));
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const s = createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }
  async function fail(url: string, opts: { headersTimeout?: number } = {}): Promise<unknown> {
    try {
      const res = await request(url, { reset: true, ...opts });
      await res.body.dump();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  it('classifies undici errors: refused, reset, headers timeout', async () => {
    const closed = await serve(() => {});
    await new Promise((r) => { servers.at(-1)!.close(r); });
    assert.equal(classifyError(await fail(closed)), 'connect-failure');
    const resets = await serve((req) => req.socket.destroy());
    assert.equal(classifyError(await fail(resets)), 'reset');
    const hangs = await serve(() => {});
    assert.equal(classifyError(await fail(hangs, { headersTimeout: 50 })), 'timeout');
    assert.equal(classifyError(new Error('x')), 'other');
    assert.equal(classifyError(new Error('x'), true), 'timeout');
  });

  it('retries on a different target: one dead and one answering 503, the third answers', async () => {
    const hits = new Map<string, number>();
    const count = (name: string) => hits.set(name, (hits.get(name) ?? 0) + 1);
    const dead = await serve(() => {});
    await new Promise((r) => { servers.at(-1)!.close(r); });
    const busy = await serve((_req, res) => { count('busy'); res.writeHead(503).end(); });
    const good = await serve((_req, res) => { count('good'); res.end('ok'); });
    const set = new TargetSet([{ url: dead }, { url: busy }, { url: good }]);
    const balancer = createBalancer<Target>('round-robin');
    const p = policy({ maxRetries: 2, backoffBaseMs: 0 });
    for (let i = 0; i < 6; i++) {
      const retry = p.begin<Target>({ method: 'GET', body: 'none' });
      let answer: string | undefined;
      for (;;) {
        const target = balancer.pick(set.select(), undefined, retry.tried);
        if (!target) break;
        retry.tried.add(target);
        try {
          const res = await request(target.origin + '/', { reset: true });
          const body = await res.body.text();
          const d = retry.onResponse(res.statusCode, res.headers['retry-after'] as string | undefined);
          if (!d.retry) { answer = `${res.statusCode} ${body}`; break; }
        } catch (err) {
          if (!retry.onError(classifyError(err), false).retry) break;
        }
      }
      assert.equal(answer, '200 ok', `request ${i}`);
      assert.ok(retry.tried.size <= 3 && retry.retries === retry.tried.size - 1);
    }
    assert.equal(hits.get('good'), 6);
    assert.ok((hits.get('busy') ?? 0) <= 6, 'the busy target at most once per request');
  });
});
