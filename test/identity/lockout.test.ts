import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestIdentity, tokenRequest, EXAMPLE, openSignIn, submitSignIn, type TestIdentity } from './helpers.js';
import { lockoutKey } from '../../src/identity/accounts.js';

const PASSWORD = 'correct horse battery staple';
const grant = (t: TestIdentity, username: string, password: string) =>
  tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username, password, scope: 'orders.read' });

describe('smart lockout', () => {
  const started: TestIdentity[] = [];
  const start = async (lockout: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const t = await startTestIdentity({ ...EXAMPLE, lockout, ...extra });
    started.push(t);
    return t;
  };
  after(async () => { for (const t of started) await t.stop(); });

  test('locks the account after the threshold of distinct wrong passwords, and refuses the correct password during lockout', async () => {
    const t = await start({ threshold: 3, duration: '1h' });
    await t.addUser({ username: 'bob', password: PASSWORD });
    assert.equal((await grant(t, 'bob', PASSWORD)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await grant(t, 'bob', `wrong-${i}`)).status, 400);
    const r = await grant(t, 'bob', PASSWORD);
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
    assert.ok(t.logs.some((l) => l.audit === 'account.locked'), 'a lockout audit event');
    // unlocking (admin) lets the right password in again
    const u = await t.services.users.findByLogin('bob');
    await t.services.users.unlock(u!.id);
    assert.equal((await grant(t, 'bob', PASSWORD)).status, 200);
  });

  test('the same wrong password repeated counts once', async () => {
    const t = await start({ threshold: 3, duration: '1h' });
    await t.addUser({ username: 'carol', password: PASSWORD });
    for (let i = 0; i < 12; i++) assert.equal((await grant(t, 'carol', 'the-same-typo')).status, 400);
    assert.equal((await grant(t, 'carol', PASSWORD)).status, 200);
  });

  test('the same wrong password in another Unicode form (NFC, NFD) is the same wrong password', async () => {
    const t = await start({ threshold: 2, duration: '1h' });
    await t.addUser({ username: 'cesar', password: PASSWORD });
    const typo = 'crème brûlée oubliée';
    for (let i = 0; i < 6; i++) assert.equal((await grant(t, 'cesar', i % 2 ? typo.normalize('NFD') : typo.normalize('NFC'))).status, 400);
    assert.equal((await grant(t, 'cesar', PASSWORD)).status, 200);
  });

  test('a successful sign-in resets the failure count', async () => {
    const t = await start({ threshold: 3, duration: '1h' });
    await t.addUser({ username: 'dave', password: PASSWORD });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) assert.equal((await grant(t, 'dave', `wrong-${round}-${i}`)).status, 400);
      assert.equal((await grant(t, 'dave', PASSWORD)).status, 200);
    }
  });

  test('holds under parallel attempts: no more than the threshold of guesses are checked', async () => {
    const t = await start({ threshold: 5, duration: '1h' });
    await t.addUser({ username: 'erin', password: PASSWORD });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => grant(t, 'erin', `guess-${i}`)));
    assert.ok(results.every((r) => r.status === 400));
    const checked = t.logs.filter((l) => l.audit === 'sign-in.failure' && l.reason === 'wrong-password').length;
    assert.ok(checked <= 5, `${checked} wrong passwords were checked`);
    assert.equal((await grant(t, 'erin', PASSWORD)).status, 400, 'locked after the parallel burst');
  });

  test('parallel sign-ins with the correct password all succeed (in-flight attempts are not a lockout)', async () => {
    const t = await start({ threshold: 3, duration: '1h' });
    await t.addUser({ username: 'hal', password: PASSWORD });
    const results = await Promise.all(Array.from({ length: 12 }, () => grant(t, 'hal', PASSWORD)));
    assert.deepEqual(results.map((r) => r.status), results.map(() => 200));
  });

  test('the lockout ends after its duration and grows on repeated lockouts', async () => {
    const t = await start({ threshold: 2, duration: '1s', 'max-duration': '1h' });
    await t.addUser({ username: 'frank', password: PASSWORD });
    const lockFor = async (round: number) => {
      for (let i = 0; i < 2; i++) await grant(t, 'frank', `w-${round}-${i}`);
      const ev = t.logs.filter((l) => l.audit === 'account.locked').at(-1)!;
      return Number(ev.until) - (typeof ev.time === 'number' ? ev.time : Date.parse(String(ev.time)));
    };
    const first = await lockFor(1);
    assert.equal((await grant(t, 'frank', PASSWORD)).status, 400);
    await sleep(first + 300);
    const second = await lockFor(2);
    assert.ok(second > first, `second lockout (${second} ms) is longer than the first (${first} ms)`);
    await sleep(second + 300);
    assert.equal((await grant(t, 'frank', PASSWORD)).status, 200, 'signs in once the lockout is over');
  });

  test('the sign-in page and the password grant share one lockout', async () => {
    const t = await start({ threshold: 3, duration: '1h' });
    await t.addUser({ username: 'gina', password: PASSWORD });
    const s = await openSignIn(t);
    for (let i = 0; i < 3; i++) {
      const r = await submitSignIn(s.b, s.html, 'gina', `page-wrong-${i}`);
      assert.equal(r.status, 200);
      assert.match(await r.text(), /role="alert"/);
    }
    assert.equal((await grant(t, 'gina', PASSWORD)).status, 400, 'the grant is locked by page failures');
    const again = await submitSignIn(s.b, s.html, 'gina', PASSWORD);
    assert.equal(again.status, 200, 'the page refuses the correct password during lockout');
  });
});

describe('account enumeration resistance', () => {
  let t: TestIdentity;
  after(async () => { await t?.stop(); });

  test('unknown account, wrong password and locked account get the same status and body', async () => {
    t = await startTestIdentity({ ...EXAMPLE, lockout: { threshold: 2, duration: '1h' } });
    await t.addUser({ username: 'henry', password: PASSWORD });
    await t.addUser({ username: 'ivy', password: PASSWORD });
    for (let i = 0; i < 2; i++) await grant(t, 'ivy', `x${i}`);
    const unknown = await grant(t, 'nobody-here', PASSWORD);
    const wrong = await grant(t, 'henry', 'not-the-password');
    const locked = await grant(t, 'ivy', PASSWORD);
    for (const r of [unknown, wrong, locked]) assert.equal(r.status, 400);
    assert.equal(unknown.text, wrong.text);
    assert.equal(wrong.text, locked.text);
    // the sign-in page: identical apart from the echoed login and the CSRF token
    const pages: string[] = [];
    for (const [login, pw] of [['nobody-here', PASSWORD], ['henry', 'not-the-password'], ['ivy', PASSWORD]] as const) {
      const s = await openSignIn(t);
      const r = await submitSignIn(s.b, s.html, login, pw);
      pages.push({ status: r.status, html: (await r.text()).replace(/value="[^"]*"/g, '').replace(/interaction(\/|%2F)[\w-]+/g, '') } as unknown as string);
    }
    assert.deepEqual(pages[0], pages[1]);
    assert.deepEqual(pages[1], pages[2]);
  });
});

describe('account enumeration resistance: timing', () => {
  let t: TestIdentity;
  after(async () => { await t?.stop(); });

  test('unknown accounts, wrong passwords and locked accounts take the same time (medians over 200 samples each)', async () => {
    // argon2 parameters high enough that the hash dominates, low enough for a quick test
    t = await startTestIdentity({ ...EXAMPLE, lockout: { threshold: 1000, duration: '1h' }, passwords: { hash: { 'memory-cost': 8192, 'time-cost': 2, parallelism: 1 } } });
    await t.addUser({ username: 'jack', password: PASSWORD });
    const lockedId = await t.addUser({ username: 'kate', password: PASSWORD });
    await t.services.db.run('INSERT INTO lockouts (key, user_id, locked_until, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until', [lockoutKey(`user:${lockedId}`, '127.0.0.1'), lockedId, Date.now() + 3600_000, Date.now()]);
    const time = async (username: string, password: string) => {
      const t0 = process.hrtime.bigint();
      const r = await grant(t, username, password);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.equal(r.status, 400);
      return ms;
    };
    const samples = { unknown: [] as number[], wrong: [] as number[], locked: [] as number[] };
    for (let i = 0; i < 5; i++) await time('warmup', 'x'); // JIT and pools
    for (let i = 0; i < 200; i++) {
      samples.unknown.push(await time(`ghost-${i}`, `pw-${i}`));
      samples.wrong.push(await time('jack', `pw-${i}`));
      samples.locked.push(await time('kate', i % 2 ? PASSWORD : `pw-${i}`));
    }
    const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return (s[99]! + s[100]!) / 2; };
    const m = { unknown: median(samples.unknown), wrong: median(samples.wrong), locked: median(samples.locked) };
    const hi = Math.max(m.unknown, m.wrong, m.locked), lo = Math.min(m.unknown, m.wrong, m.locked);
    assert.ok(hi / lo < 2, `medians differ too much: ${JSON.stringify(m)}`);
  });
});
