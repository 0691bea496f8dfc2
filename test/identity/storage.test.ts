import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { HASH_IDS_MIGRATION, openDb, type Db } from '../../src/identity/db.js';
import { adapterFactory, cleanupExpired, storageKey } from '../../src/identity/adapter.js';
import { ClientStore, compareClientSecret, hashClientSecret } from '../../src/identity/clients.js';

const ADMIN = POSTGRES_ADMIN;
const hasPg = await postgresAvailable('the PostgreSQL storage tests');

test('pins oidc-provider 9.13.3: the client-secret hook and the experimental signing API are tied to it', () => {
  const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('oidc-provider/package.json'), 'utf8')) as { version: string };
  assert.equal(pkg.version, '9.13.3', 're-check Client.prototype.compareClientSecret, ExternalSigningKey and the grant helpers (lib/helpers/grants.js: DPoP in the password grant) before upgrading');
});

test('client secrets: only the SHA-256 form matches, in constant time, whatever the presented length', () => {
  const stored = hashClientSecret('s3cret-value-0123456789');
  assert.ok(compareClientSecret(stored, 's3cret-value-0123456789'));
  for (const bad of ['', 's3cret', 's3cret-value-01234567890', stored, stored.slice(7), 'x'.repeat(10_000)]) assert.equal(compareClientSecret(stored, bad), false);
  assert.equal(compareClientSecret(undefined, 'anything'), false);
  assert.equal(compareClientSecret('plaintext-secret', 'plaintext-secret'), false, 'a plaintext stored secret never matches');
  assert.equal(compareClientSecret(stored, undefined), false);
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`oidc-provider adapter and cleanup on ${kind}`, { skip: kind === 'postgres' && !hasPg }, () => {
    let db: Db;
    let dir: string;
    const dbName = `gatehouse_storage_${process.pid}_${Date.now()}`;
    const open = async () => {
      if (kind === 'sqlite') {
        dir ??= mkdtempSync(join(tmpdir(), 'gatehouse-storage-'));
        return openDb('sqlite:./x.db', dir);
      }
      if (!dir) {
        dir = 'pg';
        const admin = new pg.Client({ connectionString: ADMIN });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        await admin.end();
      }
      return openDb(`postgres://postgres@127.0.0.1:5432/${dbName}`, '/');
    };
    after(async () => {
      await db?.close();
      if (kind === 'sqlite') rmSync(dir, { recursive: true, force: true });
      else {
        const admin = new pg.Client({ connectionString: ADMIN });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
    });

    test('migrations run once and are idempotent', async () => {
      db = await open();
      const again = await open();
      await again.close();
      const rows = await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.ok(rows.length > 5);
      assert.equal(new Set(rows.map((r) => Number(r.version))).size, rows.length);
    });

    test('upsert, find, consume, destroy, find by uid and user code', async () => {
      const A = adapterFactory(db);
      const codes = new A('AuthorizationCode');
      await codes.upsert('c1', { grantId: 'g1', uid: 'u1', userCode: 'UC1', accountId: 'a' }, 60);
      assert.equal((await codes.find('c1'))?.accountId, 'a');
      assert.equal((await codes.findByUid('u1'))?.accountId, 'a');
      assert.equal((await codes.findByUserCode('UC1'))?.accountId, 'a');
      assert.equal((await codes.find('c1'))?.consumed, undefined);
      await codes.consume('c1');
      assert.ok(typeof (await codes.find('c1'))?.consumed === 'number');
      await codes.upsert('c1', { grantId: 'g1', accountId: 'b' }, 60);
      assert.equal((await codes.find('c1'))?.accountId, 'b');
      await codes.destroy('c1');
      assert.equal(await codes.find('c1'), undefined);
      // the same id in another model is another row
      await new A('Session').upsert('c1', { accountId: 's' }, 60);
      assert.equal(await codes.find('c1'), undefined);
    });

    test('revokeByGrantId removes every token of the grant and nothing else', async () => {
      const A = adapterFactory(db);
      await new A('AccessToken').upsert('t1', { grantId: 'g2' }, 60);
      await new A('RefreshToken').upsert('t2', { grantId: 'g2' }, 60);
      await new A('RefreshToken').upsert('t3', { grantId: 'g3' }, 60);
      await new A('AccessToken').revokeByGrantId('g2');
      assert.equal(await new A('AccessToken').find('t1'), undefined);
      assert.equal(await new A('RefreshToken').find('t2'), undefined);
      assert.ok(await new A('RefreshToken').find('t3'));
    });

    test('no token value is stored: rows are keyed by SHA-256, payloads keep no jti and no session id', async () => {
      const A = adapterFactory(db);
      const secrets = { rt: 'refresh-token-value-0123456789abcdefghijklm', code: 'code-value-0123456789abcdefghijklmnopq', sess: 'session-id-0123456789ab' };
      await new A('RefreshToken').upsert(secrets.rt, { jti: secrets.rt, kind: 'RefreshToken', grantId: 'g9', clientId: 'c9', accountId: 'a9' }, 60);
      await new A('AuthorizationCode').upsert(secrets.code, { jti: secrets.code, kind: 'AuthorizationCode', grantId: 'g9', clientId: 'c9' }, 60);
      await new A('Session').upsert(secrets.sess, { jti: secrets.sess, kind: 'Session', uid: 'session-uid', accountId: 'a9' }, 60);
      await new A('Interaction').upsert('interaction-id-0123456789', { jti: 'interaction-id-0123456789', kind: 'Interaction', session: { uid: 'session-uid', cookie: secrets.sess, accountId: 'a9' } }, 60);
      const dump = JSON.stringify(await db.all('SELECT * FROM oidc_payloads'));
      for (const [what, v] of Object.entries(secrets)) assert.ok(!dump.includes(v), `${what} is not in the database`);
      assert.ok(!dump.includes('interaction-id-0123456789'));
      // found by value, with jti given back
      assert.equal((await new A('RefreshToken').find(secrets.rt))?.jti, secrets.rt);
      assert.equal((await new A('RefreshToken').find(secrets.rt))?.accountId, 'a9');
      assert.equal((await new A('Session').find(secrets.sess))?.jti, secrets.sess);
      assert.equal((await new A('Session').findByUid('session-uid'))?.accountId, 'a9');
      assert.equal((await new A('AuthorizationCode').find(secrets.code))?.clientId, 'c9');
      assert.equal((await new A('Interaction').find('interaction-id-0123456789') as { session?: { uid?: string } })?.session?.uid, 'session-uid');
      // a stored key does not work as a value
      assert.equal(await new A('RefreshToken').find(storageKey(secrets.rt)), undefined);
    });

    test('rows written before ids were hashed are re-keyed by the migration', async () => {
      await db.run('INSERT INTO oidc_payloads (type, id, payload, grant_id, expires_at) VALUES ($1, $2, $3, $4, $5)',
        ['RefreshToken', 'legacy-plain-refresh-token-0123456789abc', JSON.stringify({ jti: 'legacy-plain-refresh-token-0123456789abc', clientId: 'old-client', accountId: 'a1' }), 'g-legacy', Date.now() + 60_000]);
      // forget the hashing migration and open again: it runs
      await db.run('DELETE FROM schema_migrations WHERE version = $1', [HASH_IDS_MIGRATION]);
      const again = await open();
      await again.close();
      const dump = JSON.stringify(await db.all('SELECT * FROM oidc_payloads'));
      assert.ok(!dump.includes('legacy-plain-refresh-token'), 'the old plaintext id is gone');
      const found = await new (adapterFactory(db))('RefreshToken').find('legacy-plain-refresh-token-0123456789abc');
      assert.equal(found?.accountId, 'a1');
      assert.equal((await db.one<{ client_id: string }>('SELECT client_id FROM oidc_payloads WHERE id = $1', [storageKey('legacy-plain-refresh-token-0123456789abc')]))?.client_id, 'old-client');
    });

    test('removing a client deletes its rows only, matched exactly (LIKE wildcards and case do not leak)', async () => {
      const A = adapterFactory(db);
      const store = new ClientStore(db);
      const ids = ['team_a', 'teamXa', 'TEAM_A', 'team_a_b', 'team%'];
      for (const id of ids) {
        await store.add({ clientId: id, public: true, grantTypes: ['password', 'refresh_token'], redirectUris: [], postLogoutRedirectUris: [], scopes: ['orders.read'], roles: [], firstParty: true });
        await new A('RefreshToken').upsert(`rt-of-${id}`, { clientId: id, grantId: `g-${id}` }, 60);
        await new A('Grant').upsert(`g-${id}`, { clientId: id, accountId: 'a' }, 60);
      }
      assert.equal(await store.remove('team_a'), true);
      assert.equal(await store.remove('team%'), true);
      assert.equal(await store.remove('team_'), false, 'a pattern is not a client');
      assert.equal(await new A('RefreshToken').find('rt-of-team_a'), undefined);
      assert.equal(await new A('Grant').find('g-team_a'), undefined);
      for (const id of ['teamXa', 'TEAM_A', 'team_a_b']) {
        assert.ok(await new A('RefreshToken').find(`rt-of-${id}`), `${id} keeps its refresh token`);
        assert.ok(await new A('Grant').find(`g-${id}`), `${id} keeps its grant`);
        assert.ok(await store.get(id), `${id} is still a client`);
      }
    });

    test('expired rows are invisible at once and deleted by the cleanup', async () => {
      const A = adapterFactory(db);
      await new A('Session').upsert('old', { accountId: 'x' }, 60);
      await db.run('UPDATE oidc_payloads SET expires_at = $1 WHERE id = $2', [Date.now() - 1000, storageKey('old')]);
      assert.equal(await new A('Session').find('old'), undefined);
      await db.run('INSERT INTO account_tokens (id, kind, user_id, expires_at) VALUES ($1, $2, $3, $4)', ['tok', 'reset-password', 'u', Date.now() - 1000]);
      await db.run('INSERT INTO lockouts (key, locked_until, updated_at) VALUES ($1, $2, $3)', ['login:ghost', 0, Date.now() - 3 * 86400_000]);
      const n = await cleanupExpired(db);
      assert.ok(n >= 3);
      assert.equal(Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_payloads WHERE id = $1', [storageKey('old')]))!.n), 0);
      assert.equal((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM account_tokens WHERE id = $1', ['tok']))!.n, 0);
      assert.equal(Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM lockouts WHERE key = $1', ['login:ghost']))!.n), 0);
    });
  });
}

describe('the SQLite file is readable by its owner only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mode-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (f: string) => statSync(f).mode & 0o777;

  test('a new database and its -wal and -shm files are created 0600, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const db = await openDb('sqlite:./new/identity.db', dir);
      try {
        await db.run('INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, $3)', ['k', 1, 1]);
        for (const f of ['identity.db', 'identity.db-wal', 'identity.db-shm']) {
          const path = join(dir, 'new', f);
          assert.ok(existsSync(path), f);
          assert.equal(mode(path).toString(8), '600', f);
        }
      } finally {
        await db.close();
      }
    } finally {
      process.umask(old);
    }
  });

  test('a database left world-readable by an older version is narrowed to its owner', async () => {
    const file = join(dir, 'old.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const db = await openDb('sqlite:./old.db', dir);
    await db.close();
    assert.equal(mode(file).toString(8), '600');
  });
});
