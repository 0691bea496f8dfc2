import type { Db } from '../../db.js';
import { storageKey } from '../../adapter.js';

/** a browser session of the account, as the console lists it */
export interface SessionInfo { uid: string; loginTs: number; amr: string[]; clients: string[]; grantIds: string[] }

/** ids in payload matches are UUIDs (accounts) or nanoids (sessions): nothing that needs escaping in LIKE */
const plain = (s: string) => /^[\w-]+$/.test(s);

export async function sessionsOf(db: Db, userId: string): Promise<SessionInfo[]> {
  if (!plain(userId)) return [];
  const rows = await db.all<{ payload: string; expires_at: number | null }>(
    "SELECT payload, expires_at FROM oidc_payloads WHERE type = 'Session' AND payload LIKE $1", [`%"accountId":"${userId}"%`]);
  const now = Date.now();
  return rows.filter((r) => r.expires_at === null || Number(r.expires_at) > now).map((r) => {
    const p = JSON.parse(r.payload) as { uid: string; loginTs?: number; amr?: string[]; accountId?: string; authorizations?: Record<string, { grantId?: string }> };
    const auth = p.authorizations ?? {};
    return { uid: p.uid, loginTs: (p.loginTs ?? 0) * 1000, amr: p.amr ?? [], clients: Object.keys(auth), grantIds: Object.values(auth).flatMap((a) => (a.grantId ? [a.grantId] : [])), accountId: p.accountId };
  }).filter((s) => s.accountId === userId).map(({ accountId: _a, ...s }) => s);
}

/** end one session of the account and revoke the tokens of its grants; false when the account has no such session */
export async function endSession(db: Db, userId: string, uid: string): Promise<boolean> {
  const s = (await sessionsOf(db, userId)).find((x) => x.uid === uid);
  if (!s) return false;
  await revokeGrants(db, s.grantIds);
  await db.run("DELETE FROM oidc_payloads WHERE type = 'Session' AND uid = $1 AND payload LIKE $2", [uid, `%"accountId":"${userId}"%`]);
  return true;
}

async function revokeGrants(db: Db, grantIds: string[]): Promise<void> {
  for (const g of grantIds) {
    await db.run('DELETE FROM oidc_payloads WHERE grant_id = $1', [g]);
    await db.run("DELETE FROM oidc_payloads WHERE type = 'Grant' AND id = $1", [storageKey(g)]);
  }
}

/** every session and token of the account but the session `keepUid` (which stays signed in) */
export async function endOtherSessions(db: Db, userId: string, keepUid: string): Promise<void> {
  if (!plain(userId)) return;
  await db.run("DELETE FROM oidc_payloads WHERE payload LIKE $1 AND NOT (type = 'Session' AND uid = $2)", [`%"accountId":"${userId}"%`, keepUid]);
}

/** forget the account: its sign-in names, links, factors, link tokens, lockouts and row (sessions and tokens: revokeSessions) */
export async function deleteAccountRows(db: Db, userId: string): Promise<void> {
  for (const table of ['mfa_totp', 'mfa_recovery_codes', 'webauthn_credentials', 'webauthn_challenges', 'mfa_email_codes', 'federated_identities', 'account_tokens', 'logins']) {
    await db.run(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
  }
  await db.run('DELETE FROM lockouts WHERE user_id = $1 OR key = $2', [userId, `user:${userId}`]);
  await db.run('DELETE FROM users WHERE id = $1', [userId]);
}
