import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDb, type Db } from '../../src/identity/db.js';
import { adapterFactory, cleanupExpired } from '../../src/identity/adapter.js';
import { compareClientSecret, hashClientSecret } from '../../src/identity/clients.js';

const ADMIN = POSTGRES_ADMIN;
const hasPg = await postgresAvailable('the PostgreSQL storage tests');

test('pins oidc-provider 9.13.3: the client-secret hook and the experimental signing API are tied to it', () => {
  const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('oidc-provider/package.json'), 'utf8')) as { version: string };
  assert.equal(pkg.version, '9.13.3', 're-check Client.prototype.compareClientSecret and ExternalSigningKey before upgrading');
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

    test('expired rows are invisible at once and deleted by the cleanup', async () => {
      const A = adapterFactory(db);
      await new A('Session').upsert('old', { accountId: 'x' }, 60);
      await db.run('UPDATE oidc_payloads SET expires_at = $1 WHERE id = $2', [Date.now() - 1000, 'old']);
      assert.equal(await new A('Session').find('old'), undefined);
      await db.run('INSERT INTO account_tokens (id, kind, user_id, expires_at) VALUES ($1, $2, $3, $4)', ['tok', 'reset-password', 'u', Date.now() - 1000]);
      await db.run('INSERT INTO lockouts (key, locked_until, updated_at) VALUES ($1, $2, $3)', ['login:ghost', 0, Date.now() - 3 * 86400_000]);
      const n = await cleanupExpired(db);
      assert.ok(n >= 3);
      assert.equal((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_payloads WHERE id = $1', ['old']))!.n, 0);
      assert.equal((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM account_tokens WHERE id = $1', ['tok']))!.n, 0);
      assert.equal(Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM lockouts WHERE key = $1', ['login:ghost']))!.n), 0);
    });
  });
}
