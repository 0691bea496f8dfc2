import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Browser, csrfOf, actionOf, startTestIdentity, tokenRequest, EXAMPLE, type TestIdentity } from './helpers.js';

/**
 * Races on the identity database with real parallel requests, on SQLite and on PostgreSQL: what
 * the database must decide atomically (one account per login name, one counted failure per
 * distinct wrong password, one usable reset link per account).
 */
const PASSWORD = 'correct horse battery staple';
const KEY = 'test-encryption-key-0123456789abcdef';
const hasPg = await postgresAvailable('the identity race tests on PostgreSQL');

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`races on ${kind}`, { skip: kind === 'postgres' && !hasPg }, () => {
    let t: TestIdentity;
    const dbName = `gatehouse_races_${process.pid}_${Date.now()}`;
    const origin = () => new URL(t.issuer).origin;

    before(async () => {
      let database: string | undefined;
      if (kind === 'postgres') {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        await admin.end();
        database = `postgres://postgres@127.0.0.1:5432/${dbName}`;
      }
      t = await startTestIdentity({
        ...EXAMPLE,
        lockout: { threshold: 3, duration: '1h' },
        keys: { 'encryption-key': KEY },
      }, { database });
    });
    after(async () => {
      await t?.stop();
      if (kind === 'postgres') {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
    });

    test('parallel sign-ups: one account per login name, whether the name comes as an email or as a username', async () => {
      const signUp = async (fields: Record<string, string>) => {
        const b = new Browser(origin());
        const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
        return (await b.post(actionOf(html), { csrf: csrfOf(html), password: 'a sturdy passphrase 42', ...fields })).status;
      };
      const holders = async (name: string) => (await t.services.users.list()).filter((u) => u.username === name || u.email === name);
      // the same address as an email by some and as a username by others
      for (let round = 0; round < 6; round++) {
        const name = `race${round}@example.com`;
        const mixed = await Promise.all(Array.from({ length: 16 }, (_, i) => signUp(i % 2 ? { email: name } : { email: `r${round}x${i}@example.com`, username: name })));
        assert.ok(mixed.every((st) => st === 201 || st === 400), mixed.join());
        assert.equal((await holders(name)).length, 1, `one account holds the login name ${name}`);
      }
      // the same username, and the same address, from many sign-ups at once
      await Promise.all(Array.from({ length: 12 }, (_, i) => signUp({ email: `racer${i}@example.com`, username: 'racer' })));
      assert.equal((await holders('racer')).length, 1);
      await Promise.all(Array.from({ length: 12 }, (_, i) => signUp({ email: 'same@example.com', username: `same${i}` })));
      assert.equal((await holders('same@example.com')).length, 1);
      assert.equal((await t.services.users.list()).filter((u) => /^same\d+$/.test(u.username ?? '')).length, 1, 'the losers made no account');
      // and straight at the account store
      const created = await Promise.allSettled(Array.from({ length: 12 }, () => t.services.users.create({ username: 'storey', email: 'storey@example.com' })));
      assert.equal(created.filter((c) => c.status === 'fulfilled').length, 1);
    });

    test('the same wrong password sent in parallel counts as one failure', async () => {
      await t.addUser({ username: 'sam', password: PASSWORD });
      const grant = (password: string) => tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'sam', password, scope: 'orders.read' });
      for (let round = 0; round < 2; round++) {
        const burst = await Promise.all(Array.from({ length: 20 }, () => grant(`the same typo ${round}`)));
        assert.ok(burst.every((r) => r.status === 400));
      }
      // two distinct failures so far, under the threshold of 3: the owner still signs in
      const ok = await grant(PASSWORD);
      assert.equal(ok.status, 200, `not locked by repeats: ${ok.text}`);
      assert.equal(t.logs.filter((l) => l.audit === 'account.locked').length, 0);
    });

    test('two reset links of one account used in parallel: one changes the password, the other is spent', async () => {
      const id = await t.addUser({ username: 'rita', email: 'rita@example.com', password: PASSWORD });
      for (let round = 0; round < 5; round++) {
        const tokens = await Promise.all([0, 1, 2].map(() => t.services.users.issueAccountToken(id, 'reset-password', 3600)));
        const results = await Promise.all(tokens.slice(0, 2).map(async (token, i) => {
          const b = new Browser(origin());
          const form = await (await b.get(`${t.issuer}/account/reset/confirm?token=${token}`)).text();
          const r = await b.post(actionOf(form), { csrf: csrfOf(form), token, password: `rita passphrase ${round}-${i}` });
          return r.status;
        }));
        assert.deepEqual(results.sort(), [200, 400], `round ${round}: ${results}`);
        assert.equal(await t.services.users.peekAccountToken(tokens[2]!, 'reset-password'), undefined, 'the third link is spent too');
      }
    });
  });
}
