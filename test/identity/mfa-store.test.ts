import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { openDb, type Db } from '../../src/identity/db.js';
import { MfaStore } from '../../src/identity/mfa/store.js';
import { CodeGuard } from '../../src/identity/mfa/guard.js';
import { checkTotp, newTotpSecret, totpNow } from '../../src/identity/mfa/totp.js';
import { acrOf, asksForMfa, effectivePolicy, withFactor, ACR } from '../../src/identity/mfa/policy.js';
import { Limits } from '../../src/identity/ratelimit.js';
import { identitySchema } from '../../src/identity/schema.js';
import { createStore } from '../../src/state/index.js';
import { Metrics } from '../../src/observability/metrics.js';

const hasPg = await postgresAvailable('the MFA storage tests on PostgreSQL');
const KEY = Buffer.alloc(32, 7);
const CODE_KEY = Buffer.alloc(32, 9);

test('policy: the stricter of client and API; acr_values asks for MFA only when every value it lists is the multi-factor one', () => {
  const cfg = identitySchema.parse({ issuer: 'http://x/auth', apis: [{ audience: 'api://a', scopes: ['a'] }, { audience: 'api://p', scopes: ['p'], mfa: 'required' }] });
  assert.equal(effectivePolicy(cfg, undefined, { scope: 'openid a' }), 'optional');
  assert.equal(effectivePolicy(cfg, 'off', { scope: 'openid a' }), 'off', 'an API without a policy leaves the client\'s');
  assert.equal(effectivePolicy(cfg, 'off', { scope: 'openid p' }), 'required');
  assert.equal(effectivePolicy(cfg, 'off', { resource: 'api://p', scope: 'openid' }), 'required');
  assert.equal(effectivePolicy(cfg, 'off', { resource: 'api://a', scope: 'p' }), 'off', 'resource names the API');
  assert.equal(asksForMfa(ACR.multi), true);
  assert.equal(asksForMfa(`${ACR.single} ${ACR.multi}`), false);
  assert.equal(asksForMfa(''), false);
  assert.equal(acrOf(['pwd']), ACR.single);
  assert.equal(acrOf(withFactor(['fed', 'idp:google'], 'otp')), ACR.multi);
  assert.deepEqual(withFactor(['pwd'], 'otp'), ['pwd', 'otp', 'mfa']);
});

test('a client with mfa: required and the password grant is a config error', () => {
  const r = identitySchema.safeParse({ issuer: 'http://x/auth', clients: [{ 'client-id': 'c', public: true, mfa: 'required', 'grant-types': ['password'] }] });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /cannot use the password grant/);
});

test('TOTP: one step either side of now; not at or before the last step used; not other formats', async () => {
  const s = newTotpSecret();
  const t = Math.floor(Date.now() / 1000);
  const step = Math.floor(t / 30);
  assert.equal(await checkTotp(s, await totpNow(s, t), 0), step);
  assert.equal(await checkTotp(s, await totpNow(s, t - 30), 0), step - 1);
  assert.equal(await checkTotp(s, await totpNow(s, t + 30), 0), step + 1);
  assert.equal(await checkTotp(s, await totpNow(s, t - 90), 0), undefined);
  assert.equal(await checkTotp(s, await totpNow(s, t), step), undefined, 'a spent step');
  assert.equal(await checkTotp(s, ` ${await totpNow(s, t)} `, 0), step, 'spaces are ignored');
  for (const bad of ['', '12345', '1234567', 'abcdef', '12 34 5x']) assert.equal(await checkTotp(s, bad, 0), undefined);
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`second factors stored on ${kind}`, { skip: kind === 'postgres' && !hasPg }, () => {
    let db: Db;
    let dir: string | undefined;
    const dbName = `gatehouse_mfa_${process.pid}_${Date.now()}`;
    before(async () => {
      if (kind === 'sqlite') {
        dir = mkdtempSync(join(tmpdir(), 'gatehouse-mfa-'));
        db = await openDb('sqlite:./x.db', dir);
      } else {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        await admin.end();
        db = await openDb(`postgres://postgres@127.0.0.1:5432/${dbName}`, '/');
      }
    });
    after(async () => {
      await db?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (kind === 'postgres' && hasPg) {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
    });

    test('the secret is encrypted and bound to its account; a confirmed one is never replaced by a pending one', async () => {
      const store = new MfaStore(db, KEY, CODE_KEY);
      const secret = newTotpSecret();
      assert.equal(await store.setPendingTotp('u1', secret), true);
      const row = await db.one<{ secret: string }>('SELECT secret FROM mfa_totp WHERE user_id = $1', ['u1']);
      assert.ok(row && !row.secret.includes(secret));
      assert.equal((await store.totp('u1'))?.secret, secret);
      assert.equal(await store.enrolled('u1'), false);
      // a row moved to another account does not decrypt (the account is the associated data)
      await db.run('INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_step, created_at) VALUES ($1, $2, 1, 0, 1)', ['u2', row.secret]);
      await assert.rejects(store.totp('u2'));
      await db.run('DELETE FROM mfa_totp WHERE user_id = $1', ['u2']);
      // with another master key, nothing decrypts
      await assert.rejects(new MfaStore(db, Buffer.alloc(32, 1), CODE_KEY).totp('u1'));

      assert.equal(await store.confirmTotp('u1', 100), true);
      assert.equal(await store.confirmTotp('u1', 101), false);
      assert.equal(await store.enrolled('u1'), true);
      assert.equal(await store.setPendingTotp('u1', newTotpSecret()), false, 'enrolment cannot overwrite a confirmed secret');
      assert.equal((await store.totp('u1'))?.secret, secret);
    });

    test('a time step is spent once, also by attempts in parallel, and never an earlier one', async () => {
      const store = new MfaStore(db, KEY, CODE_KEY);
      const wins = await Promise.all(Array.from({ length: 12 }, () => store.useStep('u1', 200)));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await store.useStep('u1', 199), false);
      assert.equal(await store.useStep('u1', 201), true);
      assert.equal(await store.useStep('nobody', 500), false);
    });

    test('recovery codes: stored hashed, each spent once (also in parallel), replaced as a set', async () => {
      const store = new MfaStore(db, KEY, CODE_KEY);
      const codes = await store.newRecoveryCodes('u1', 10);
      assert.equal(codes.length, 10);
      const rows = await db.all<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1', ['u1']);
      assert.equal(rows.length, 10);
      assert.ok(rows.every((r) => !codes.some((c) => r.code_hash.includes(c.replace('-', '')))));
      const wins = await Promise.all(Array.from({ length: 8 }, () => store.useRecoveryCode('u1', codes[0]!)));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await store.useRecoveryCode('u1', codes[1]!.toUpperCase().replace('-', ' ')), true, 'case, spaces and dashes do not matter');
      assert.equal(await store.useRecoveryCode('u2', codes[2]!), false, 'another account\'s code');
      assert.equal(await store.recoveryCodesLeft('u1'), 8);
      const fresh = await store.newRecoveryCodes('u1', 10);
      assert.equal(await store.useRecoveryCode('u1', codes[2]!), false, 'old codes stop working');
      assert.equal(await store.useRecoveryCode('u1', fresh[0]!), true);
      await store.reset('u1');
      assert.equal(await store.enrolled('u1'), false);
      assert.equal(await store.recoveryCodesLeft('u1'), 0);
    });

    test('email codes: hashed, once, replaced by a newer one, not after they expire', async () => {
      const store = new MfaStore(db, KEY, CODE_KEY);
      const first = await store.issueEmailCode('u5');
      const row = await db.one<{ code_hash: string }>('SELECT code_hash FROM mfa_email_codes WHERE user_id = $1', ['u5']);
      assert.ok(row && !row.code_hash.includes(first));
      const second = await store.issueEmailCode('u5');
      if (second !== first) assert.equal(await store.useEmailCode('u5', first), false, 'a newer code replaces it');
      const wins = await Promise.all(Array.from({ length: 6 }, () => store.useEmailCode('u5', second)));
      assert.equal(wins.filter(Boolean).length, 1);
      const third = await store.issueEmailCode('u5');
      await db.run('UPDATE mfa_email_codes SET expires_at = $2 WHERE user_id = $1', ['u5', Date.now() - 1]);
      assert.equal(await store.useEmailCode('u5', third), false);
      assert.equal(await store.useEmailCode('u5', 'abcdef'), false);
    });

    test('the code guard: parallel wrong codes cannot exceed the lockout threshold; the client limit answers rate-limited', async () => {
      const cfg = identitySchema.parse({ issuer: 'http://x/auth', lockout: { threshold: 3, duration: '1h' }, 'rate-limits': { mfa: { 'per-ip': 1000, 'per-subnet': 1000, window: 60 } } });
      const logger = pino({ level: 'silent' });
      const limits = new Limits(createStore('memory', { logger, metrics: new Metrics({ defaultMetrics: false }) }), logger);
      const guard = new CodeGuard(db, cfg, limits, logger);
      let checked = 0;
      const wrong = async () => { checked++; await new Promise((r) => setTimeout(r, 5)); return false; };
      const r = await Promise.all(Array.from({ length: 10 }, () => guard.attempt('u9', '192.0.2.1', wrong)));
      assert.ok(checked <= 3, `codes checked: ${checked}`);
      assert.ok(r.filter((x) => !x.ok && x.reason === 'locked').length >= 7);
      assert.deepEqual(await guard.attempt('u9', '192.0.2.1', async () => true), { ok: false, reason: 'locked' });

      const tight = identitySchema.parse({ issuer: 'http://x/auth', 'rate-limits': { mfa: { 'per-ip': 2, 'per-subnet': 100, window: 60 } } });
      const g2 = new CodeGuard(db, tight, limits, logger);
      await g2.attempt('u10', '198.51.100.7', async () => false);
      await g2.attempt('u11', '198.51.100.7', async () => false);
      const limited = await g2.attempt('u12', '198.51.100.7', async () => true);
      assert.equal(limited.ok, false);
      assert.equal(!limited.ok && limited.reason, 'rate-limited');
      await limits.close();
    });
  });
}
