import { isAbsolute, resolve } from 'node:path';
import { hashStoredIds } from './adapter.js';
import { tracer, type Tracer } from '../observability/tracing.js';
import { auditLogTable, SUBSCRIPTION_MIGRATIONS } from './subscriptions/migrations.js';
import { EMAIL_CODE_MIGRATIONS, MFA_MIGRATIONS } from './mfa/store.js';
import { PASSKEY_MIGRATIONS, PASSKEY_NAME_MIGRATION } from './mfa/passkeys.js';
import { openSqlite } from './sqlite.js';

/**
 * The identity store's SQL connection: SQLite (embedded default; sqlite.ts) or PostgreSQL
 * (pg). SQL is written once with `$1` placeholders in the subset both understand
 * (`ON CONFLICT ... DO UPDATE`, `RETURNING`); SQLite gets `?` instead.
 */
export interface Db {
  readonly kind: 'sqlite' | 'postgres';
  /** the sqlite file, for backups and the key file beside it */
  readonly file?: string;
  /** SQLite's driver: node:sqlite, or better-sqlite3 on Node.js 20 */
  readonly driver?: string;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  one<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /** number of rows changed */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** run `fn` while holding a database-wide lock (PostgreSQL advisory lock; SQLite: one process) */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The database stayed locked by another process for longer than `database-busy-timeout` (SQLite).
 * It is a condition that clears: requests answer 503 with Retry-After, never 500. Shaped like an
 * oidc-provider error (statusCode, expose, error_description), so the OAuth endpoints answer with
 * `{"error":"temporarily_unavailable"}` and status 503.
 */
export class DatabaseBusy extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly allow_redirect = false;
  readonly error = 'temporarily_unavailable';
  readonly error_description = 'the identity database is busy; try again in a moment';
  /** seconds: a lock that outlasted the busy timeout is most likely about to clear */
  readonly retryAfter = 1;
  constructor() {
    super('temporarily_unavailable');
    this.name = 'DatabaseBusy';
  }
}

/** A migration: SQL, or a function for what SQL alone cannot do portably. */
type Migration = string | ((db: Db) => Promise<void>);

const MIGRATIONS: Migration[] = [
  `CREATE TABLE IF NOT EXISTS oidc_payloads (
     type TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
     grant_id TEXT, user_code TEXT, uid TEXT, expires_at BIGINT, consumed_at BIGINT,
     PRIMARY KEY (type, id))`,
  `CREATE INDEX IF NOT EXISTS oidc_payloads_grant ON oidc_payloads (grant_id)`,
  `CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid)`,
  `CREATE INDEX IF NOT EXISTS oidc_payloads_expires ON oidc_payloads (expires_at)`,
  `CREATE TABLE IF NOT EXISTS users (
     id TEXT PRIMARY KEY, username TEXT UNIQUE, email TEXT UNIQUE, email_verified INTEGER NOT NULL DEFAULT 0,
     password_hash TEXT, roles TEXT NOT NULL DEFAULT '[]', groups_ TEXT NOT NULL DEFAULT '[]',
     attributes TEXT NOT NULL DEFAULT '{}', disabled INTEGER NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS lockouts (
     key TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0,
     lockouts INTEGER NOT NULL DEFAULT 0, recent TEXT NOT NULL DEFAULT '[]', updated_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS clients (
     client_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, secret_hash TEXT, created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS keys (
     kid TEXT PRIMARY KEY, kind TEXT NOT NULL, alg TEXT NOT NULL, secret TEXT NOT NULL,
     created_at BIGINT NOT NULL, activates_at BIGINT NOT NULL, retires_at BIGINT, expires_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS account_tokens (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS rate_limits (
     key TEXT PRIMARY KEY, window_start BIGINT NOT NULL, count INTEGER NOT NULL)`,
  // finding 12 (clients remove): the client of a token as a column, matched exactly
  `ALTER TABLE oidc_payloads ADD COLUMN client_id TEXT`,
  `CREATE INDEX IF NOT EXISTS oidc_payloads_client ON oidc_payloads (client_id)`,
  // issue 11 finding 15: one row per distinct wrong password of a lockout key (repeats in parallel count once)
  `CREATE TABLE IF NOT EXISTS lockout_failures (
     key TEXT NOT NULL, fp TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (key, fp))`,
  // issue 11 finding 4: usernames and email addresses share one space of login names, unique in
  // the database; existing addresses are claimed before existing usernames (the owner of an
  // address wins over a username that looks like it)
  `CREATE TABLE IF NOT EXISTS logins (login TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS logins_user ON logins (user_id)`,
  `INSERT INTO logins (login, user_id, kind) SELECT email, id, 'email' FROM users WHERE email IS NOT NULL ON CONFLICT (login) DO NOTHING`,
  `INSERT INTO logins (login, user_id, kind) SELECT username, id, 'username' FROM users WHERE username IS NOT NULL ON CONFLICT (login) DO NOTHING`,
  // issue 11 finding 7: lockout counts per account and client; the account of each key, for unlock and `users show`
  `ALTER TABLE lockouts ADD COLUMN user_id TEXT`,
  `CREATE INDEX IF NOT EXISTS lockouts_user ON lockouts (user_id)`,
  // finding 10 (values at rest): rows keyed by the SHA-256 of their id; fills client_id too
  hashStoredIds,
  // issue 14 (federation): what a sign-in at another identity provider keeps between its steps
  // (keyed by the SHA-256 of its random handle, spent once), and the upstream identities linked to accounts
  `CREATE TABLE IF NOT EXISTS federation_states (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, connector TEXT NOT NULL, uid TEXT NOT NULL, browser TEXT,
     data TEXT NOT NULL, expires_at BIGINT NOT NULL, consumed_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS federated_identities (
     connector TEXT NOT NULL, subject TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT,
     created_at BIGINT NOT NULL, last_sign_in BIGINT, PRIMARY KEY (connector, subject))`,
  `CREATE INDEX IF NOT EXISTS federated_identities_user ON federated_identities (user_id)`,
  // issue 16: subscriptions and the audit log of management writes
  ...SUBSCRIPTION_MIGRATIONS,
  auditLogTable,
  // issue 15: second factors
  ...MFA_MIGRATIONS,
  ...PASSKEY_MIGRATIONS,
  ...EMAIL_CODE_MIGRATIONS,
  // issue 15 (millions of accounts): prefix search of login names is a range scan in byte order.
  // SQLite compares TEXT bytewise, and the primary key of logins serves; PostgreSQL compares by the
  // database's collation, so the range and ORDER BY say COLLATE "C" and need this index
  async (db) => { if (db.kind === 'postgres') await db.run('CREATE INDEX IF NOT EXISTS logins_login_c ON logins (login COLLATE "C")'); },
  // issue 15 (account console): a passkey's name, given by its owner
  PASSKEY_NAME_MIGRATION,
];

/** the version of the migration that re-keys stored ids by their hash (a test forgets it to run it again) */
export const HASH_IDS_MIGRATION = MIGRATIONS.indexOf(hashStoredIds) + 1;

export function sqlitePath(url: string, configDir: string): string {
  const p = url.slice('sqlite:'.length);
  if (p === ':memory:') return p;
  return isAbsolute(p) ? p : resolve(configDir, p);
}

/**
 * Open the database named by `identity.database` and run migrations. `busyTimeoutMs` (SQLite): how
 * long a statement keeps retrying while another process holds the write lock.
 */
export async function openDb(url: string, configDir: string, opts: { busyTimeoutMs?: number } = {}): Promise<Db> {
  const opened = url.startsWith('sqlite:') ? await openSqlite(sqlitePath(url, configDir), opts.busyTimeoutMs ?? 3000) : await openPostgres(url);
  const t = tracer();
  const db = t === undefined ? opened : traced(opened, t);
  await migrate(db);
  return db;
}

/**
 * Tracing on: a client span per statement made while a request is traced (its SQL, which holds
 * placeholders, never values).
 */
function traced(db: Db, t: Tracer): Db {
  const system = db.kind === 'sqlite' ? 'sqlite' : 'postgresql';
  const around = async <R>(sql: string, fn: () => Promise<R>): Promise<R> => {
    const op = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase();
    const span = t.start(op ?? 'query', 'client', 'active-only', { 'db.system.name': system, 'db.operation.name': op, 'db.query.text': sql.slice(0, 2000) });
    if (span === undefined) return fn();
    try {
      return await fn();
    } catch (e) {
      span.fail((e as { code?: string }).code ?? 'error');
      throw e;
    } finally {
      span.end();
    }
  };
  return {
    ...db,
    all: (sql, params) => around(sql, () => db.all(sql, params)),
    one: (sql, params) => around(sql, () => db.one(sql, params)),
    run: (sql, params) => around(sql, () => db.run(sql, params)),
    exclusive: (fn) => db.exclusive(fn),
    close: () => db.close(),
  };
}

async function migrate(db: Db): Promise<void> {
  // one process migrates at a time
  await db.exclusive(async () => {
    await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const done = new Set((await db.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    for (let i = 0; i < MIGRATIONS.length; i++) {
      if (done.has(i + 1)) continue;
      const m = MIGRATIONS[i]!;
      if (typeof m === 'string') await db.run(m);
      else await m(db);
      await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING', [i + 1, Date.now()]);
    }
  });
}

async function openPostgres(url: string): Promise<Db> {
  const { default: pg } = await import('pg');
  // BIGINT as a JS number: our BIGINTs are epoch milliseconds
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => { /* a dropped idle connection is replaced on next use */ });
  await pool.query('SELECT 1');
  return {
    kind: 'postgres',
    async all<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params as unknown[])).rows as T[];
    },
    async one<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params as unknown[])).rows[0] as T | undefined;
    },
    async run(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params as unknown[])).rowCount ?? 0;
    },
    async exclusive<T>(fn: () => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(7307001)');
        try { return await fn(); } finally { await client.query('SELECT pg_advisory_unlock(7307001)'); }
      } finally {
        client.release();
      }
    },
    async close() { await pool.end(); },
  };
}
