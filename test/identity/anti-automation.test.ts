import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, csrfOf, actionOf, startTestIdentity, openSignIn, EXAMPLE, type TestIdentity } from './helpers.js';
import { identitySchema } from '../../src/identity/schema.js';
import { Metrics } from '../../src/observability/metrics.js';
import { requireRedis, SHARED_REDIS } from '../state/redis-servers.js';

const PASSWORD = 'correct horse battery staple';
const redisSkip = await requireRedis('Redis on 127.0.0.1:6379 (identity limits across processes)');

/** the password grant as sent by the client at `ip` (X-Forwarded-For from the trusted loopback proxy) */
async function grantFrom(t: { issuer: string }, ip: string, username: string, password: string) {
  const res = await fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'orders-cli', username, password, scope: 'orders.read' }),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: JSON.parse(text) as Record<string, string> };
}

async function signUpFrom(t: TestIdentity, ip: string, email: string) {
  const b = new Browser(new URL(t.issuer).origin);
  const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
  const r = await b.post(actionOf(html), { csrf: csrfOf(html), email, password: 'a sturdy passphrase 42' }, { 'x-forwarded-for': ip });
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
}

describe('anti-automation', () => {
  const started: TestIdentity[] = [];
  const start = async (overrides: Record<string, unknown>) => { const t = await startTestIdentity({ ...EXAMPLE, ...overrides }); started.push(t); return t; };
  after(async () => { for (const t of started) await t.stop(); });
  const startWith = async (overrides: Record<string, unknown>, metrics: Metrics) => { const t = await startTestIdentity({ ...EXAMPLE, ...overrides }, { metrics }); started.push(t); return t; };
  const storeUp = async (m: Metrics) => {
    for (let i = 0; i < 200; i++) {
      if ((await m.registry.getSingleMetricAsString('gatehouse_store_up')).includes('gatehouse_store_up{store="redis"} 1')) return;
      await sleep(25);
    }
    throw new Error('the Redis counter store never came up');
  };

  test('the defaults', () => {
    const cfg = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth' })['rate-limits'];
    assert.equal(cfg.store, 'memory');
    assert.deepEqual(cfg['sign-in'], { 'per-ip': 30, 'per-subnet': 100, window: 300 });
    assert.deepEqual(cfg['sign-up'], { 'per-ip': 10, 'per-subnet': 30, window: 3600 });
    assert.deepEqual(cfg.mail, { 'per-address': 10, window: 3600 });
  });

  test('a password spray over many accounts from one address is refused with 429 once over the limit', async () => {
    const t = await start({ 'rate-limits': {} }); // the defaults
    for (let i = 0; i < 40; i++) await t.addUser({ username: `sprayed${i}`, password: PASSWORD });
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await grantFrom(t, '198.51.100.7', `sprayed${i}`, 'Summer2024!'));
    assert.deepEqual(results.slice(0, 30).map((r) => r.status), Array(30).fill(400), 'the default: 30 failures per address');
    for (const r of results.slice(30)) {
      assert.equal(r.status, 429);
      assert.equal(r.json.error, 'temporarily_unavailable');
      assert.ok(Number(r.retryAfter) > 0 && Number(r.retryAfter) <= 300, `Retry-After ${r.retryAfter}`);
    }
    // even the right password is refused from there meanwhile; another client is served
    assert.equal((await grantFrom(t, '198.51.100.7', 'sprayed0', PASSWORD)).status, 429);
    assert.equal((await grantFrom(t, '192.0.2.50', 'sprayed0', PASSWORD)).status, 200);
    assert.ok(t.logs.some((l) => l.audit === 'sign-in.failure' && l.reason === 'rate-limited'));
  });

  test('the limit also holds per network: many addresses of one /24, or of one IPv6 /64', async () => {
    const t = await start({ 'rate-limits': { 'sign-in': { 'per-ip': 5, 'per-subnet': 12, window: '5m' } } });
    await t.addUser({ username: 'target', password: PASSWORD });
    const v4 = [];
    for (let i = 1; i <= 16; i++) v4.push((await grantFrom(t, `203.0.113.${i}`, 'target', `guess-${i}`)).status);
    assert.deepEqual(v4, [...Array(12).fill(400), ...Array(4).fill(429)]);
    const v6 = [];
    for (let i = 1; i <= 16; i++) v6.push((await grantFrom(t, `2001:db8:7:7::${i.toString(16)}`, 'target', `v6-guess-${i}`)).status);
    assert.deepEqual(v6, [...Array(12).fill(400), ...Array(4).fill(429)]);
    assert.equal((await grantFrom(t, '2001:db8:7:8::1', 'target', PASSWORD)).status, 200, 'the next /64 is another network');
  });

  test('successful sign-ins do not count: a busy office behind one address keeps signing in', async () => {
    const t = await start({ 'rate-limits': { 'sign-in': { 'per-ip': 3, 'per-subnet': 100, window: '5m' } } });
    await t.addUser({ username: 'clerk', password: PASSWORD });
    for (let i = 0; i < 10; i++) assert.equal((await grantFrom(t, '198.51.100.20', 'clerk', PASSWORD)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await grantFrom(t, '198.51.100.20', 'clerk', `typo-${i}`)).status, 400);
    assert.equal((await grantFrom(t, '198.51.100.20', 'clerk', PASSWORD)).status, 200);
  });

  test('the sign-in page answers 429 with the form and a message once over the limit', async () => {
    const t = await start({ 'rate-limits': { 'sign-in': { 'per-ip': 2, 'per-subnet': 100, window: '5m' } } });
    await t.addUser({ username: 'paige', password: PASSWORD });
    const s = await openSignIn(t);
    const statuses: number[] = [];
    let last = '';
    for (let i = 0; i < 3; i++) {
      const r = await s.b.post(actionOf(s.html), { csrf: csrfOf(s.html), login: 'paige', password: `nope-${i}` }, { 'x-forwarded-for': '198.51.100.30' });
      statuses.push(r.status);
      last = await r.text();
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) > 0);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.match(last, /Too many failed sign-ins/);
    assert.match(last, /role="alert"/);
  });

  test('a stranger who hammers an account locks it for themselves, not for its owner elsewhere', async () => {
    const t = await start({ lockout: { threshold: 3, duration: '1h' } });
    await t.addUser({ username: 'olive', password: PASSWORD });
    for (let i = 0; i < 20; i++) await grantFrom(t, '198.51.100.66', 'olive', `stranger-${i}`);
    assert.equal((await grantFrom(t, '198.51.100.66', 'olive', PASSWORD)).status, 400, 'locked from the stranger\'s address');
    assert.ok(t.logs.some((l) => l.audit === 'account.locked'));
    assert.equal((await grantFrom(t, '192.0.2.77', 'olive', PASSWORD)).status, 200, 'the owner signs in from elsewhere');
    // users show: the lockout is visible, and unlock lifts it everywhere
    const id = (await t.services.users.findByLogin('olive'))!.id;
    await t.services.users.unlock(id);
    assert.equal((await grantFrom(t, '198.51.100.66', 'olive', PASSWORD)).status, 200);
  });

  test('sign-ups are limited per client, and mail to one address is bounded whatever the number of sign-ups', async () => {
    const t = await start({ 'rate-limits': { 'sign-up': { 'per-ip': 3, 'per-subnet': 100, window: '1h' }, mail: { 'per-address': 4, window: '1h' } } });
    await t.addUser({ email: 'victim@example.com', password: PASSWORD });
    const fromOne = [];
    for (let i = 0; i < 5; i++) fromOne.push(await signUpFrom(t, '198.51.100.90', `new${i}@example.com`));
    assert.deepEqual(fromOne.map((r) => r.status), [201, 201, 201, 429, 429]);
    assert.ok(Number(fromOne[4]!.retryAfter) > 0);
    // thirty sign-ups with the victim's address, from thirty addresses: the page answers as ever, the mail stops
    for (let i = 0; i < 30; i++) assert.equal((await signUpFrom(t, `10.${i}.0.1`, 'victim@example.com')).status, 201);
    await sleep(300);
    const toVictim = t.logs.filter((l) => l.mail && l.to === 'victim@example.com' && typeof l.msg === 'string' && /^email/.test(l.msg)).length;
    assert.equal(toVictim, 4, 'at most mail.per-address mails per window');
    assert.ok(t.logs.some((l) => l.audit === 'mail.limited'));
  });

  test('with a Redis store the limits hold across processes', { skip: redisSkip }, async () => {
    // a generous timeout: a store that does not answer in time lets requests through (fail open)
    const store = `${SHARED_REDIS}?prefix=gh-idp-test-${process.pid}-${Date.now()}:&timeout=2s`;
    const overrides = { 'rate-limits': { store, 'sign-in': { 'per-ip': 6, 'per-subnet': 100, window: '5m' } } };
    // each process's store connects in the background, and a call before that fails open: wait
    // until both are up, so that every request below is counted
    const [ma, mb] = [new Metrics({ defaultMetrics: false }), new Metrics({ defaultMetrics: false })];
    const a = await startWith(overrides, ma);
    const b = await startWith(overrides, mb);
    await Promise.all([storeUp(ma), storeUp(mb)]);
    await a.addUser({ username: 'shared1', password: PASSWORD });
    await b.addUser({ username: 'shared1', password: PASSWORD });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await grantFrom(i % 2 ? a : b, '198.51.100.120', 'shared1', `g${i}`)).status);
    assert.deepEqual(statuses, [...Array(6).fill(400), 429, 429]);
  });
});
