import type { Db } from '../db.js';

/**
 * The tables of subscriptions (issue 16), as migrations of the identity database.
 *
 * `rev` orders changes: every write sets the row's rev to one more than the highest, inside one
 * statement, and writes are serialized (SQLite has one writer; PostgreSQL writes hold an advisory
 * lock), so a gateway that has seen rev N has seen every change up to N and asks only for rows
 * with a higher rev. Keys are stored as SHA-256 hashes (net/api-keys.ts), with their last four
 * characters as a hint.
 */
export const SUBSCRIPTION_MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS subscriptions (
     id TEXT PRIMARY KEY, name TEXT, scope TEXT NOT NULL, target TEXT, state TEXT NOT NULL,
     owner_type TEXT NOT NULL, owner_id TEXT NOT NULL,
     primary_hash TEXT NOT NULL UNIQUE, secondary_hash TEXT NOT NULL UNIQUE,
     primary_hint TEXT NOT NULL, secondary_hint TEXT NOT NULL,
     expires_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, rev BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS subscriptions_rev ON subscriptions (rev)`,
  `CREATE INDEX IF NOT EXISTS subscriptions_owner ON subscriptions (owner_type, owner_id)`,
];

/**
 * The audit log of management writes: append-only, enforced by the database (a trigger refuses
 * UPDATE and DELETE), paged by `seq`.
 */
export async function auditLogTable(db: Db): Promise<void> {
  const cols = `at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target_type TEXT NOT NULL,
     target_id TEXT NOT NULL, before_ TEXT, after_ TEXT`;
  if (db.kind === 'sqlite') {
    await db.run(`CREATE TABLE IF NOT EXISTS audit_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, ${cols})`);
    await db.run(`CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    await db.run(`CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    return;
  }
  await db.run(`CREATE TABLE IF NOT EXISTS audit_log (seq BIGSERIAL PRIMARY KEY, ${cols})`);
  await db.run(`CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql`);
  await db.run('DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log');
  await db.run('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()');
}
