import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { clientMetadataFromRow, type ClientRow } from './clients.js';
import { loadOidcProvider } from './provider/oidc.js';

type Payload = Record<string, unknown>;

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** models that are one-time: their `consume` is an atomic compare-and-set, and a lost race is a reuse */
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * The key a value is stored under: its SHA-256. Row ids are the token values themselves (refresh
 * tokens, codes, session and interaction ids), so a copy of the database must not hold them.
 */
export function storageKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
const HASHED = /^[0-9a-f]{64}$/;

/**
 * What is stored of a payload: without `jti` (the row id itself) and without the session id that
 * oidc-provider copies into an Interaction (`session.cookie`, never read back).
 */
export function storedPayload(payload: Payload): Payload {
  const { jti: _jti, ...rest } = payload;
  const session = rest.session as Payload | undefined;
  if (session && typeof session === 'object' && 'cookie' in session) {
    const { cookie: _cookie, ...s } = session;
    rest.session = s;
  }
  return rest;
}

/** A one-time value (code, refresh token) presented again: oidc-provider answers invalid_grant. */
async function alreadyUsed(model: string): Promise<Error> {
  const { errors } = await loadOidcProvider();
  return new errors.InvalidGrant(model === 'RefreshToken' ? 'refresh token already used' : 'authorization code already consumed');
}

/**
 * oidc-provider's storage adapter on the identity database. Every model lives in one table keyed
 * by (type, SHA-256 of the id); `Client` reads the clients that `gatehouse clients add` created.
 */
export function adapterFactory(db: Db) {
  return class SqlAdapter {
    constructor(readonly name: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      if (this.name === 'Client') return; // clients are managed by the CLI
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : null;
      const grantId = GRANTABLE.has(this.name) || this.name === 'Grant' ? (payload.grantId as string | undefined) ?? null : null;
      const clientId = typeof payload.clientId === 'string' ? payload.clientId : null;
      await db.run(
        `INSERT INTO oidc_payloads (type, id, payload, grant_id, user_code, uid, expires_at, consumed_at, client_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)
         ON CONFLICT (type, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at, client_id = excluded.client_id`,
        [this.name, storageKey(id), JSON.stringify(storedPayload(payload)), grantId, (payload.userCode as string) ?? null, (payload.uid as string) ?? null, expiresAt, clientId],
      );
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.name === 'Client') {
        const row = await db.one<ClientRow>('SELECT client_id, metadata, secret_hash FROM clients WHERE client_id = $1', [id]);
        return row ? clientMetadataFromRow(row) : undefined;
      }
      const p = await this.#read('id', storageKey(id));
      return p && { ...p, jti: id };
    }

    /** (user codes are not hashed: the device flow is not enabled, and they are short-lived and typed by people) */
    async findByUserCode(userCode: string) { return this.#read('user_code', userCode); }
    /** (a Session found by uid has no jti: oidc-provider only reads it, never saves it back) */
    async findByUid(uid: string) { return this.#read('uid', uid); }

    async #read(column: 'id' | 'user_code' | 'uid', value: string): Promise<Payload | undefined> {
      const row = await db.one<{ payload: string; expires_at: number | null; consumed_at: number | null }>(
        `SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE type = $1 AND ${column} = $2`, [this.name, value]);
      if (!row) return undefined;
      if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
      const payload = JSON.parse(row.payload) as Payload;
      if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
      return payload;
    }

    /**
     * Mark a code or refresh token used: one conditional UPDATE, so of parallel requests that all
     * read it unused exactly one wins. The others lose as a reuse does: the grant is revoked (every
     * token it issued) and they get invalid_grant.
     */
    async consume(id: string): Promise<void> {
      const key = storageKey(id);
      const won = await db.run('UPDATE oidc_payloads SET consumed_at = $3 WHERE type = $1 AND id = $2 AND consumed_at IS NULL', [this.name, key, Date.now()]);
      if (won === 1 || !CONSUMABLE.has(this.name)) return;
      const row = await db.one<{ grant_id: string | null }>('SELECT grant_id FROM oidc_payloads WHERE type = $1 AND id = $2', [this.name, key]);
      if (row?.grant_id) await revokeGrant(db, row.grant_id);
      throw await alreadyUsed(this.name);
    }

    async destroy(id: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE type = $1 AND id = $2', [this.name, storageKey(id)]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId]);
    }
  };
}

/** Delete a grant and every token it issued. */
async function revokeGrant(db: Db, grantId: string): Promise<void> {
  await db.run('DELETE FROM oidc_payloads WHERE grant_id = $1 OR (type = $2 AND id = $3)', [grantId, 'Grant', storageKey(grantId)]);
}

/**
 * Migration of rows written before ids were hashed: re-key them by SHA-256, drop the values
 * kept in payloads, and fill `client_id`. Idempotent (hashed rows are skipped), so an
 * interrupted run is finished by the next start.
 */
export async function hashStoredIds(db: Db): Promise<void> {
  const rows = await db.all<{ type: string; id: string; payload: string }>('SELECT type, id, payload FROM oidc_payloads');
  for (const r of rows) {
    if (HASHED.test(r.id)) continue;
    let payload: Payload;
    try { payload = JSON.parse(r.payload) as Payload; } catch { payload = {}; }
    await db.run('UPDATE oidc_payloads SET id = $3, payload = $4, client_id = $5 WHERE type = $1 AND id = $2', [
      r.type, r.id, storageKey(r.id), JSON.stringify(storedPayload(payload)), typeof payload.clientId === 'string' ? payload.clientId : null,
    ]);
  }
}

/** Delete expired rows (run periodically by one timer per process). */
export async function cleanupExpired(db: Db): Promise<number> {
  const now = Date.now();
  let n = await db.run('DELETE FROM oidc_payloads WHERE expires_at IS NOT NULL AND expires_at < $1', [now]);
  n += await db.run('DELETE FROM account_tokens WHERE expires_at < $1', [now]);
  n += await db.run('DELETE FROM federation_states WHERE expires_at < $1', [now]);
  n += await db.run('DELETE FROM keys WHERE expires_at IS NOT NULL AND expires_at < $1', [now - 86400_000]);
  // lockout rows of names nobody has tried for a day (unknown names would otherwise pile up)
  n += await db.run('DELETE FROM lockouts WHERE locked_until < $1 AND updated_at < $1', [now - 86400_000]);
  // rate-limit windows are at most a day long
  n += await db.run('DELETE FROM rate_limits WHERE window_start < $1', [now - 86400_000]);
  return n;
}
