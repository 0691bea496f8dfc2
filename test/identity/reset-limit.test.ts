import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, csrfOf, actionOf, startTestIdentity, type TestIdentity } from './helpers.js';
import { subnetOf } from '../../src/identity/ratelimit.js';
import { identitySchema } from '../../src/identity/schema.js';

const PASSWORD = 'correct horse battery staple';

describe('password-reset request limits', () => {
  let t: TestIdentity;
  const resetMails = (to: string) => t.logs.filter((l) => l.mail === 'reset-password' && l.to === to).length;
  /** one reset request from `ip` (X-Forwarded-For from the loopback proxy); the page without its CSRF token */
  const requestReset = async (email: string, ip: string) => {
    const b = new Browser(new URL(t.issuer).origin);
    const html = await (await b.get(`${t.issuer}/account/reset`)).text();
    const csrf = csrfOf(html);
    const r = await b.post(actionOf(html), { csrf, email }, { 'x-forwarded-for': ip });
    return { status: r.status, body: (await r.text()).replaceAll(csrf, 'CSRF') };
  };

  before(async () => {
    t = await startTestIdentity({ 'rate-limits': { 'password-reset': { 'per-address': 2, 'per-ip': 4, window: '15m' } } });
    for (let i = 0; i < 6; i++) await t.addUser({ username: `user${i}`, email: `user${i}@example.com`, password: PASSWORD });
    await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  test('the defaults are 5 per address, 20 per client address and 60 per client network in 15 minutes', () => {
    const cfg = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth' });
    assert.deepEqual(cfg['rate-limits']['password-reset'], { 'per-address': 5, 'per-ip': 20, 'per-subnet': 60, window: 900 });
  });

  test('per address: requests over the limit (from any client) get the usual page and send no mail, with an audit line', async () => {
    const first = await requestReset('alice@example.com', '10.0.0.1');
    assert.equal(first.status, 200);
    const answers = [first];
    for (let i = 2; i <= 5; i++) answers.push(await requestReset('Alice@Example.com', `10.0.0.${i}`));
    for (const a of answers) assert.deepEqual(a, first, 'every answer is the success page');
    assert.equal(resetMails('alice@example.com'), 2, 'only the first two requests sent a link');
    const limited = t.logs.filter((l) => l.audit === 'password.reset-limited');
    assert.equal(limited.length, 3);
    assert.ok(limited.every((l) => l.limit === 'per-address' && typeof l.sub === 'string' && !JSON.stringify(l).includes('alice@')));
    // an address with no account, over its limit, gets the very same page: no enumeration either way
    for (let i = 0; i < 3; i++) assert.deepEqual(await requestReset('nobody@example.com', `10.0.1.${i}`), first);
    assert.equal(t.logs.filter((l) => l.audit === 'password.reset-limited').length, 4);
  });

  test('per client address: a client over its limit sends nothing more, whatever the address; other clients are not affected', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await requestReset(`user${i}@example.com`, '10.9.9.9'));
    for (const a of answers) assert.deepEqual(a, answers[0]);
    assert.equal(answers[0]!.status, 200);
    const sent = [0, 1, 2, 3, 4, 5].map((i) => resetMails(`user${i}@example.com`));
    assert.deepEqual(sent, [1, 1, 1, 1, 0, 0]);
    assert.ok(t.logs.some((l) => l.audit === 'password.reset-limited' && l.limit === 'per-ip' && l.ip === '10.9.9.9'));
    await requestReset('user5@example.com', '10.9.9.10');
    assert.equal(resetMails('user5@example.com'), 1, 'another client is served');
  });
});

describe('client networks for the limits', () => {
  test('IPv4 /24 and IPv6 /64, whatever the spelling of the address', () => {
    assert.equal(subnetOf('203.0.113.7'), '203.0.113.0/24');
    assert.equal(subnetOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(subnetOf('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64');
    assert.equal(subnetOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(subnetOf('::1'), '0:0:0:0::/64');
    assert.equal(subnetOf('::ffff:192.0.2.1'), '0:0:0:0::/64');
  });
});
