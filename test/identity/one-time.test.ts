import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openSignIn, submitSignIn, startTestIdentity, tokenRequest, EXAMPLE, type TestIdentity } from './helpers.js';

/**
 * Codes and refresh tokens are one-time under real parallel requests, on SQLite and on
 * PostgreSQL; and what the database holds of them is not usable as a credential.
 */
const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // matches openSignIn's challenge
const PARALLEL = 20;
const hasPg = await postgresAvailable('the one-time token tests on PostgreSQL');

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`one-time codes and refresh tokens on ${kind}`, { skip: kind === 'postgres' && !hasPg }, () => {
    let t: TestIdentity;
    const dbName = `gatehouse_onetime_${process.pid}_${Date.now()}`;
    const admin = async (sql: string) => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN });
      await c.connect();
      try { await c.query(sql); } finally { await c.end(); }
    };

    before(async () => {
      const extra = kind === 'postgres' ? { keys: { 'encryption-key': 'test-encryption-key-0123456789abcdef' } } : {};
      if (kind === 'postgres') await admin(`CREATE DATABASE ${dbName}`);
      t = await startTestIdentity({ ...EXAMPLE, ...extra }, kind === 'postgres' ? { database: `postgres://postgres@127.0.0.1:5432/${dbName}` } : {});
      await t.addUser({ username: 'alice', password: PASSWORD });
    });
    after(async () => {
      await t?.stop();
      if (kind === 'postgres') await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    });

    const signIn = async () => {
      const s = await openSignIn(t);
      const { url } = await s.b.follow(await submitSignIn(s.b, s.html, 'alice', PASSWORD));
      return { code: new URL(url).searchParams.get('code')!, cookies: [...s.b.jar.values()] };
    };
    const redeem = (code: string) => tokenRequest(t, { grant_type: 'authorization_code', client_id: 'orders-spa', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: VERIFIER });
    const refresh = (client: string, rt: string) => tokenRequest(t, { grant_type: 'refresh_token', client_id: client, refresh_token: rt });

    test(`${PARALLEL} parallel redemptions of one code give at most one token set, and the race revokes it`, async () => {
      for (let round = 0; round < 3; round++) {
        const { code } = await signIn();
        const answers = await Promise.all(Array.from({ length: PARALLEL }, () => redeem(code)));
        const won = answers.filter((a) => a.status === 200);
        assert.ok(won.length <= 1, `round ${round}: ${won.length} token sets from one code`);
        for (const a of answers) if (a.status !== 200) assert.equal(a.json.error, 'invalid_grant', a.text);
        // the code was presented again: everything issued from it is revoked (RFC 6749 §4.1.2)
        for (const w of won) assert.equal((await refresh('orders-spa', w.json.refresh_token)).status, 400, 'the winner\'s refresh token is revoked');
        assert.equal((await redeem(code)).status, 400);
      }
    });

    test(`${PARALLEL} parallel refreshes of one refresh token give at most one new token, and reuse detection revokes the chain`, async () => {
      for (let round = 0; round < 3; round++) {
        const first = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' });
        assert.equal(first.status, 200, first.text);
        const answers = await Promise.all(Array.from({ length: PARALLEL }, () => refresh('orders-cli', first.json.refresh_token)));
        const won = answers.filter((a) => a.status === 200);
        assert.ok(won.length <= 1, `round ${round}: ${won.length} live chains from one refresh token`);
        for (const a of answers) if (a.status !== 200) assert.equal(a.json.error, 'invalid_grant', a.text);
        for (const w of won) assert.equal((await refresh('orders-cli', w.json.refresh_token)).status, 400, 'the chain is revoked');
        assert.equal((await refresh('orders-cli', first.json.refresh_token)).status, 400);
      }
    });

    test('sequential use still works: a refresh token rotates, a code redeems once', async () => {
      const { code } = await signIn();
      const r = await redeem(code);
      assert.equal(r.status, 200, r.text);
      const next = await refresh('orders-spa', r.json.refresh_token);
      assert.equal(next.status, 200, next.text);
      assert.equal((await refresh('orders-spa', next.json.refresh_token)).status, 200);
    });

    test('the database holds no refresh token, code, session id or interaction id of a real sign-in', async () => {
      const { code, cookies } = await signIn();
      const r = await redeem(code);
      assert.equal(r.status, 200);
      const pw = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' });
      const dump = JSON.stringify(await t.services.db.all('SELECT * FROM oidc_payloads'));
      const values = [code, r.json.refresh_token, pw.json.refresh_token, ...cookies.map((c) => decodeURIComponent(c)).filter((c) => c.length >= 16)];
      assert.ok(values.length >= 4);
      for (const v of values) assert.ok(!dump.includes(v), `${v.slice(0, 6)}… is not stored`);
      // while every one of them still works
      assert.equal((await refresh('orders-cli', pw.json.refresh_token)).status, 200);
    });
  });
}
