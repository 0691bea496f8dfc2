import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../../src/identity/db.js';
import { Authenticator, UserStore } from '../../src/identity/accounts.js';
import { hashPassword } from '../../src/identity/passwords.js';
import { Limits } from '../../src/identity/ratelimit.js';
import { identitySchema } from '../../src/identity/schema.js';
import { passwordConnector, type PasswordConnector } from '../../src/identity/connectors/password.js';
import { loginResult, type Connector } from '../../src/identity/connectors/connector.js';
import { createStore } from '../../src/state/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { FAST_HASH, NO_LIMITS, memoryLogger } from './helpers.js';

const PASSWORD = 'correct horse battery staple';

/** the password connector on a real SQLite database, with lockout after 3 distinct wrong passwords */
async function rig(rateLimits: Record<string, unknown> = NO_LIMITS) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-connector-'));
  const cfg = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth', passwords: { hash: FAST_HASH }, lockout: { threshold: 3, duration: '1h' }, 'rate-limits': rateLimits });
  const db: Db = await openDb('sqlite:./identity.db', dir);
  const { logger, lines } = memoryLogger();
  const users = new UserStore(db);
  const limits = new Limits(createStore('memory', { logger, metrics: new Metrics({ defaultMetrics: false }) }), logger);
  const connector = passwordConnector(new Authenticator(users, db, cfg, randomBytes(32), logger, limits));
  const add = async (u: { username?: string; email?: string; emailVerified?: boolean }) =>
    (await users.create({ ...u, passwordHash: await hashPassword(PASSWORD, FAST_HASH) })).id;
  return {
    connector, users, lines, add,
    async close() { await limits.close(); await db.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

const meta = { ip: '192.0.2.10', via: 'test', clientId: 'orders-cli' };

describe('the connector contract, with the password connector', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  let password: PasswordConnector;
  before(async () => { r = await rig(); password = r.connector; });
  after(async () => { await r?.close(); });

  test('it describes itself as a credentials connector named password', () => {
    const c: Connector = password;
    assert.equal(c.id, 'password');
    assert.equal(c.type, 'password');
    assert.equal(c.flow, 'credentials');
    assert.ok(c.displayName);
  });

  test('the right password is a verified identity that is the local account, amr pwd', async () => {
    const id = await r.add({ username: 'vera', email: 'vera@example.com', emailVerified: true });
    const res = await password.verify({ login: 'VERA@example.com', password: PASSWORD }, meta);
    assert.ok(res.ok);
    assert.deepEqual(res.identity, {
      connector: 'password', subject: id, accountId: id, email: 'vera@example.com', emailVerified: true, claims: {}, amr: ['pwd'],
    });
    // what oidc-provider records for the sign-in
    assert.deepEqual(loginResult(res.identity), { accountId: id, amr: ['pwd'] });
    assert.ok(r.lines.some((l) => l.audit === 'sign-in.success' && l.via === 'test' && l.sub === id));
  });

  test('an unverified address is reported as such, and an account without one has none', async () => {
    await r.add({ email: 'una@example.com' });
    const una = await password.verify({ login: 'una@example.com', password: PASSWORD }, meta);
    assert.ok(una.ok);
    assert.equal(una.identity.emailVerified, false);
    await r.add({ username: 'noel' });
    const noel = await password.verify({ login: 'noel', password: PASSWORD }, meta);
    assert.ok(noel.ok);
    assert.equal(noel.identity.email, undefined);
  });

  test('a refusal keeps its reason and carries no identity', async () => {
    const id = await r.add({ username: 'wendy' });
    const cases: Array<[string, string, string]> = [
      ['nobody', PASSWORD, 'unknown-account'],
      ['wendy', 'not the password', 'wrong-password'],
    ];
    for (const [login, pw, reason] of cases) {
      const res = await password.verify({ login, password: pw }, meta);
      assert.equal(res.ok, false);
      assert.equal(!res.ok && res.reason, reason, login);
      assert.ok(!('identity' in res));
    }
    await r.users.setDisabled(id, true);
    const disabled = await password.verify({ login: 'wendy', password: PASSWORD }, meta);
    assert.equal(!disabled.ok && disabled.reason, 'disabled');
  });

  test('a locked account is refused even with the right password', async () => {
    await r.add({ username: 'lena' });
    for (const pw of ['wrong one', 'wrong two', 'wrong three']) await password.verify({ login: 'lena', password: pw }, meta);
    const res = await password.verify({ login: 'lena', password: PASSWORD }, meta);
    assert.equal(!res.ok && res.reason, 'locked');
  });
});

describe('the password connector under the per-client sign-in limit', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  before(async () => { r = await rig({ 'sign-in': { 'per-ip': 2, 'per-subnet': 100, window: 300 } }); });
  after(async () => { await r?.close(); });

  test('over the limit it answers rate-limited with a wait, and the right password does not get through', async () => {
    await r.add({ username: 'rita' });
    const ip = { ...meta, ip: '198.51.100.77' };
    for (const pw of ['wrong one', 'wrong two']) assert.equal((await r.connector.verify({ login: 'rita', password: pw }, ip)).ok, false);
    const res = await r.connector.verify({ login: 'rita', password: PASSWORD }, ip);
    assert.equal(res.ok, false);
    assert.equal(!res.ok && res.reason, 'rate-limited');
    assert.ok(!res.ok && res.retryAfter! > 0);
    // another client address is not limited
    assert.ok((await r.connector.verify({ login: 'rita', password: PASSWORD }, { ...meta, ip: '203.0.113.5' })).ok);
  });
});
