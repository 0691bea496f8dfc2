import { createHmac, randomInt } from 'node:crypto';
import type { Db } from '../db.js';
import { decrypt, encrypt } from '../keys.js';

/** The tables of the second factors (appended to db.ts's migrations). */
export const MFA_MIGRATIONS = [
  // issue 15 (MFA): one authenticator-app secret per account (encrypted; pending until a first code confirms it),
  // the last time step used (a code is accepted once), and the account's recovery codes (hashed, each spent once)
  `CREATE TABLE IF NOT EXISTS mfa_totp (
     user_id TEXT PRIMARY KEY, secret TEXT NOT NULL, confirmed_at BIGINT, last_step BIGINT NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS mfa_recovery_codes (
     user_id TEXT NOT NULL, code_hash TEXT NOT NULL, used_at BIGINT, created_at BIGINT NOT NULL,
     PRIMARY KEY (user_id, code_hash))`,
];

/** one-time codes by email (after MFA_MIGRATIONS and the passkeys' tables): the pending code of an account, hashed */
export const EMAIL_CODE_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS mfa_email_codes (
     user_id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
];

/** an emailed code is good for this long */
const EMAIL_CODE_TTL_MS = 10 * 60_000;

/** the second factors of an account, for `gatehouse users show` */
export async function mfaSummary(db: Db, userId: string): Promise<{ app: boolean; passkeys: number; recoveryCodes: number }> {
  const app = await db.one('SELECT 1 AS one FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL', [userId]);
  const pk = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1', [userId]);
  const rc = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
  return { app: !!app, passkeys: Number(pk?.n ?? 0), recoveryCodes: Number(rc?.n ?? 0) };
}

/** forget every second factor of an account (authenticator app, passkeys, recovery codes): `gatehouse users reset-mfa` */
export async function resetMfa(db: Db, userId: string): Promise<void> {
  for (const table of ['mfa_totp', 'mfa_recovery_codes', 'webauthn_credentials', 'mfa_email_codes']) await db.run(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
}

/** recovery codes: 10 characters of an alphabet without look-alikes (50 bits), shown as xxxxx-xxxxx */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz023456789';
const normalizeCode = (s: string) => s.toLowerCase().replace(/[\s-]/g, '');

export interface TotpState {
  secret: string;
  confirmed: boolean;
  lastStep: number;
  createdAt: number;
}

/**
 * The second factors of accounts on the identity database. Authenticator-app secrets are
 * encrypted with a key derived from the master key (AES-256-GCM, bound to the account);
 * recovery codes are kept as keyed hashes (HMAC-SHA-256), so the database alone shows none.
 */
export class MfaStore {
  constructor(private readonly db: Db, private readonly secretKey: Buffer, private readonly codeKey: Buffer) {}

  async totp(userId: string): Promise<TotpState | undefined> {
    const r = await this.db.one<{ secret: string; confirmed_at: number | null; last_step: number; created_at: number }>(
      'SELECT secret, confirmed_at, last_step, created_at FROM mfa_totp WHERE user_id = $1', [userId]);
    if (!r) return undefined;
    return { secret: decrypt(this.secretKey, r.secret, `totp:${userId}`), confirmed: r.confirmed_at !== null, lastStep: Number(r.last_step), createdAt: Number(r.created_at) };
  }

  /** a pending (unconfirmed) secret; replaces a pending one, never a confirmed one (false then) */
  async setPendingTotp(userId: string, secret: string): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_step, created_at) VALUES ($1, $2, NULL, 0, $3)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0 WHERE mfa_totp.confirmed_at IS NULL`,
      [userId, encrypt(this.secretKey, secret, `totp:${userId}`), Date.now()]);
    return n > 0;
  }

  /** confirm the pending secret with the time step of its first code; false if it was confirmed already */
  async confirmTotp(userId: string, step: number): Promise<boolean> {
    return (await this.db.run('UPDATE mfa_totp SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL', [userId, Date.now(), step])) > 0;
  }

  /**
   * Spend a time step: true once per step and account, also for attempts in parallel (the
   * database decides), and never for a step at or before one already used (a replayed code).
   */
  async useStep(userId: string, step: number): Promise<boolean> {
    return (await this.db.run('UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2', [userId, step])) > 0;
  }

  async removeTotp(userId: string): Promise<void> {
    await this.db.run('DELETE FROM mfa_totp WHERE user_id = $1', [userId]);
  }

  #hash(userId: string, code: string): string {
    return createHmac('sha256', this.codeKey).update(userId).update('\0').update(normalizeCode(code)).digest('base64url');
  }

  /** make `n` new recovery codes (the old ones stop working) and return them: the only time they are seen */
  async newRecoveryCodes(userId: string, n: number): Promise<string[]> {
    const codes = Array.from({ length: n }, () => {
      const c = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      return `${c.slice(0, 5)}-${c.slice(5)}`;
    });
    await this.db.run('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
    const now = Date.now();
    for (const c of codes) {
      await this.db.run('INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at, created_at) VALUES ($1, $2, NULL, $3)', [userId, this.#hash(userId, c), now]);
    }
    return codes;
  }

  /** spend a recovery code: true once (the database decides, also for attempts in parallel) */
  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    if (normalizeCode(code).length !== 10) return false;
    return (await this.db.run('UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL',
      [userId, this.#hash(userId, code), Date.now()])) > 0;
  }

  /** a new 6-digit code to mail (it replaces the account's pending one) */
  async issueEmailCode(userId: string): Promise<string> {
    const code = String(randomInt(1_000_000)).padStart(6, '0');
    const now = Date.now();
    await this.db.run(
      `INSERT INTO mfa_email_codes (user_id, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, created_at = excluded.created_at`,
      [userId, this.#hash(userId, `email:${code}`), now + EMAIL_CODE_TTL_MS, now]);
    return code;
  }

  /** spend the mailed code: true once, before it expires */
  async useEmailCode(userId: string, code: string): Promise<boolean> {
    const c = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(c)) return false;
    return (await this.db.run('DELETE FROM mfa_email_codes WHERE user_id = $1 AND code_hash = $2 AND expires_at > $3', [userId, this.#hash(userId, `email:${c}`), Date.now()])) > 0;
  }

  async recoveryCodesLeft(userId: string): Promise<number> {
    const r = await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return Number(r?.n ?? 0);
  }

  /** does the account have a confirmed second factor */
  async enrolled(userId: string): Promise<boolean> {
    return !!(await this.db.one('SELECT 1 AS one FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL', [userId]));
  }

  /** forget every second factor of the account (`gatehouse users` reset, account deletion) */
  async reset(userId: string): Promise<void> {
    await this.removeTotp(userId);
    await this.db.run('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
  }
}
