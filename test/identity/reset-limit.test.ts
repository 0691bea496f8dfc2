import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Browser, csrfOf, actionOf, startTestIdentity, type TestIdentity } from './helpers.js';
import { openDb } from '../../src/identity/db.js';
import { RateLimiter } from '../../src/identity/ratelimit.js';
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

  test('the defaults are 5 per address and 20 per client address in 15 minutes', () => {
    const cfg = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth' });
    assert.deepEqual(cfg['rate-limits']['password-reset'], { 'per-address': 5, 'per-ip': 20, window: 900 });
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

const ADMIN = POSTGRES_ADMIN;
const available = await postgresAvailable('the rate-limit PostgreSQL test');

describe('rate-limit counters in the database', () => {
  const check = async (url: string) => {
    const db = await openDb(url, process.cwd());
    try {
      const a = new RateLimiter(db), b = new RateLimiter(db);
      // two processes count together, atomically under parallel hits
      const hits = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('k', 7, 60)));
      assert.deepEqual(hits.map((h) => h.count).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(hits.filter((h) => h.limited).length, 3);
      // a window that has passed starts again at one
      await db.run('UPDATE rate_limits SET window_start = window_start - 61000');
      assert.deepEqual(await a.hit('k', 7, 60), { limited: false, count: 1 });
      // keys are stored hashed
      const rows = await db.all<{ key: string }>('SELECT key FROM rate_limits');
      assert.ok(rows.every((r) => r.key !== 'k'));
    } finally { await db.close(); }
  };

  test('SQLite', () => check('sqlite::memory:'));

  test('PostgreSQL', { skip: !available }, async () => {
    const name = `gatehouse_ratelimit_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try { await check(`postgres://postgres@127.0.0.1:5432/${name}`); } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
