import type { Db } from './db.js';
import { clientMetadataFromRow, type ClientRow } from './clients.js';

type Payload = Record<string, unknown>;

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * oidc-provider's storage adapter on the identity database. Every model lives in one table keyed
 * by (type, id); `Client` reads the clients that `gatehouse clients add` created.
 */
export function adapterFactory(db: Db) {
  return class SqlAdapter {
    constructor(readonly name: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      if (this.name === 'Client') return; // clients are managed by the CLI
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : null;
      const grantId = GRANTABLE.has(this.name) || this.name === 'Grant' ? (payload.grantId as string | undefined) ?? null : null;
      await db.run(
        `INSERT INTO oidc_payloads (type, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
         ON CONFLICT (type, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [this.name, id, JSON.stringify(payload), grantId, (payload.userCode as string) ?? null, (payload.uid as string) ?? null, expiresAt],
      );
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.name === 'Client') {
        const row = await db.one<ClientRow>('SELECT client_id, metadata, secret_hash FROM clients WHERE client_id = $1', [id]);
        return row ? clientMetadataFromRow(row) : undefined;
      }
      return this.#read('id', id);
    }

    async findByUserCode(userCode: string) { return this.#read('user_code', userCode); }
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

    async consume(id: string): Promise<void> {
      await db.run('UPDATE oidc_payloads SET consumed_at = $3 WHERE type = $1 AND id = $2', [this.name, id, Date.now()]);
    }

    async destroy(id: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE type = $1 AND id = $2', [this.name, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId]);
    }
  };
}

/** Delete expired rows (run periodically by one timer per process). */
export async function cleanupExpired(db: Db): Promise<number> {
  const now = Date.now();
  let n = await db.run('DELETE FROM oidc_payloads WHERE expires_at IS NOT NULL AND expires_at < $1', [now]);
  n += await db.run('DELETE FROM account_tokens WHERE expires_at < $1', [now]);
  n += await db.run('DELETE FROM keys WHERE expires_at IS NOT NULL AND expires_at < $1', [now - 86400_000]);
  // lockout rows of names nobody has tried for a day (unknown names would otherwise pile up)
  n += await db.run('DELETE FROM lockouts WHERE locked_until < $1 AND updated_at < $1', [now - 86400_000]);
  // rate-limit windows are at most a day long
  n += await db.run('DELETE FROM rate_limits WHERE window_start < $1', [now - 86400_000]);
  return n;
}
