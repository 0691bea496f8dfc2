import { createHash } from 'node:crypto';
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Logger } from 'pino';
import type { Db } from '../db.js';

/** The tables of passkeys (appended to db.ts's migrations). */
export const PASSKEY_MIGRATIONS = [
  // issue 15 (passkeys): WebAuthn credentials of accounts, and the challenge each pending ceremony
  // waits for (keyed by interaction and purpose, spent once)
  `CREATE TABLE IF NOT EXISTS webauthn_credentials (
     id TEXT PRIMARY KEY, user_id TEXT NOT NULL, public_key TEXT NOT NULL, counter BIGINT NOT NULL DEFAULT 0,
     transports TEXT NOT NULL DEFAULT '[]', created_at BIGINT NOT NULL, last_used_at BIGINT)`,
  `CREATE INDEX IF NOT EXISTS webauthn_credentials_user ON webauthn_credentials (user_id)`,
  `CREATE TABLE IF NOT EXISTS webauthn_challenges (
     id TEXT PRIMARY KEY, challenge TEXT NOT NULL, user_id TEXT, expires_at BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS webauthn_challenges_expires ON webauthn_challenges (expires_at)`,
];

/** the owner's name of a passkey (appended to db.ts's migrations after the others) */
export const PASSKEY_NAME_MIGRATION = 'ALTER TABLE webauthn_credentials ADD COLUMN name TEXT';

/** a passkey's name: printable, one line, at most this long */
export const PASSKEY_NAME_MAX = 60;
const cleanName = (name: string | undefined) => (name ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, PASSKEY_NAME_MAX) || null;

/** a passkey of an account, as the account console lists it */
export interface PasskeyInfo { id: string; name: string | null; createdAt: number; lastUsedAt: number | null }

/** a ceremony's challenge is good for this long */
const CHALLENGE_TTL_MS = 5 * 60_000;

export type Purpose = 'register' | 'second-factor' | 'sign-in';

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server): registered at enrolment, then used as a
 * second factor after the password or on their own (passwordless: a discoverable credential
 * with user verification is two factors in one, something owned and a PIN or biometric).
 *
 * The relying party is the issuer's host name (an IP address is refused by browsers) and its
 * origin. Every ceremony's challenge is kept server-side for the interaction it belongs to and
 * spent by the first answer; the signature counter must not go backwards (a cloned key).
 */
export class Passkeys {
  readonly rpId: string;
  readonly origin: string;
  constructor(private readonly db: Db, issuer: string, private readonly rpName: string, private readonly logger: Logger) {
    const u = new URL(issuer);
    this.rpId = u.hostname;
    this.origin = u.origin;
  }

  #key = (uid: string, purpose: Purpose) => createHash('sha256').update(`${purpose}\0${uid}`).digest('base64url');

  async #remember(uid: string, purpose: Purpose, challenge: string, userId?: string): Promise<void> {
    const now = Date.now();
    await this.db.run(
      `INSERT INTO webauthn_challenges (id, challenge, user_id, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET challenge = excluded.challenge, user_id = excluded.user_id, expires_at = excluded.expires_at`,
      [this.#key(uid, purpose), challenge, userId ?? null, now + CHALLENGE_TTL_MS]);
  }

  /** the pending challenge of the interaction, spent (once: the database decides) */
  async #spend(uid: string, purpose: Purpose): Promise<{ challenge: string; userId: string | null } | undefined> {
    const r = await this.db.one<{ challenge: string; user_id: string | null; expires_at: number }>(
      'DELETE FROM webauthn_challenges WHERE id = $1 RETURNING challenge, user_id, expires_at', [this.#key(uid, purpose)]);
    if (!r || Number(r.expires_at) < Date.now()) return undefined;
    return { challenge: r.challenge, userId: r.user_id };
  }

  async count(userId: string): Promise<number> {
    const r = await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1', [userId]);
    return Number(r?.n ?? 0);
  }

  async #credentials(userId: string) {
    const rows = await this.db.all<{ id: string; transports: string }>('SELECT id, transports FROM webauthn_credentials WHERE user_id = $1', [userId]);
    return rows.map((r) => ({ id: r.id, transports: JSON.parse(r.transports) as never[] }));
  }

  /** options of a registration for the account (its other passkeys excluded), as JSON for the page */
  async registrationOptions(uid: string, user: { id: string; name: string }): Promise<string> {
    const o = await generateRegistrationOptions({
      rpName: this.rpName, rpID: this.rpId, userName: user.name, userID: new TextEncoder().encode(user.id),
      attestationType: 'none', excludeCredentials: await this.#credentials(user.id),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.#remember(uid, 'register', o.challenge, user.id);
    return JSON.stringify(o);
  }

  /** verify a registration and keep the credential (with the owner's `name`); false when it does not verify */
  async register(uid: string, userId: string, response: string, name?: string): Promise<boolean> {
    const pending = await this.#spend(uid, 'register');
    if (!pending || pending.userId !== userId) return false;
    try {
      const r = await verifyRegistrationResponse({
        response: JSON.parse(response) as RegistrationResponseJSON, expectedChallenge: pending.challenge,
        expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: true,
      });
      if (!r.verified) return false;
      const c = r.registrationInfo.credential;
      const n = await this.db.run(
        `INSERT INTO webauthn_credentials (id, user_id, public_key, counter, transports, created_at, name) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO NOTHING`,
        [c.id, userId, Buffer.from(c.publicKey).toString('base64url'), c.counter, JSON.stringify(c.transports ?? []), Date.now(), cleanName(name)]);
      if (n > 0) this.logger.info({ audit: 'mfa.enrolled', factor: 'passkey', sub: userId }, 'passkey registered');
      return n > 0;
    } catch (err) {
      this.logger.info({ audit: 'mfa.failure', factor: 'passkey', reason: 'registration-invalid', sub: userId, err: (err as Error).message }, 'passkey registration refused');
      return false;
    }
  }

  /** options of an assertion: of the account's passkeys (second factor), or of any discoverable one (sign-in) */
  async authenticationOptions(uid: string, userId?: string): Promise<string> {
    const o = await generateAuthenticationOptions({
      rpID: this.rpId, userVerification: 'required', allowCredentials: userId ? await this.#credentials(userId) : [],
    });
    await this.#remember(uid, userId ? 'second-factor' : 'sign-in', o.challenge, userId);
    return JSON.stringify(o);
  }

  /**
   * Verify an assertion: the account it signs in (that of the credential; for a second factor,
   * it must be `userId`), or undefined.
   */
  async authenticate(uid: string, response: string, userId?: string): Promise<string | undefined> {
    const pending = await this.#spend(uid, userId ? 'second-factor' : 'sign-in');
    if (!pending || (userId && pending.userId !== userId)) return undefined;
    let answer: AuthenticationResponseJSON;
    try { answer = JSON.parse(response) as AuthenticationResponseJSON; } catch { return undefined; }
    if (typeof answer?.id !== 'string') return undefined;
    const row = await this.db.one<{ id: string; user_id: string; public_key: string; counter: number; transports: string }>(
      'SELECT id, user_id, public_key, counter, transports FROM webauthn_credentials WHERE id = $1', [answer.id]);
    if (!row || (userId && row.user_id !== userId)) return undefined;
    const handle = answer.response?.userHandle;
    if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== row.user_id) return undefined;
    try {
      const r = await verifyAuthenticationResponse({
        response: answer, expectedChallenge: pending.challenge, expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: true,
        credential: { id: row.id, publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')), counter: Number(row.counter), transports: JSON.parse(row.transports) },
      });
      if (!r.verified) return undefined;
      // the counter moves forward (authenticators that keep none say 0 every time)
      const next = r.authenticationInfo.newCounter;
      const n = await this.db.run('UPDATE webauthn_credentials SET counter = $2, last_used_at = $3 WHERE id = $1 AND (counter < $2 OR $2 = 0)', [row.id, next, Date.now()]);
      if (n === 0) {
        this.logger.warn({ audit: 'mfa.failure', factor: 'passkey', reason: 'counter', sub: row.user_id }, 'passkey refused: its signature counter went backwards (a cloned authenticator?)');
        return undefined;
      }
      return row.user_id;
    } catch (err) {
      this.logger.info({ audit: 'mfa.failure', factor: 'passkey', reason: 'assertion-invalid', sub: row.user_id, err: (err as Error).message }, 'passkey refused');
      return undefined;
    }
  }

  /** forget the challenges of ceremonies that were never answered (the cleanup timer) */
  async cleanup(): Promise<number> {
    return this.db.run('DELETE FROM webauthn_challenges WHERE expires_at < $1', [Date.now()]);
  }

  /** the account's passkeys, oldest first (for the account console) */
  async list(userId: string): Promise<PasskeyInfo[]> {
    const rows = await this.db.all<{ id: string; name: string | null; created_at: number; last_used_at: number | null }>(
      'SELECT id, name, created_at, last_used_at FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: Number(r.created_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at) }));
  }

  /** rename one passkey of the account (never another account's); the number renamed */
  async rename(userId: string, id: string, name: string): Promise<number> {
    return this.db.run('UPDATE webauthn_credentials SET name = $3 WHERE user_id = $1 AND id = $2', [userId, id, cleanName(name)]);
  }

  /** remove one passkey of the account (never another account's); the number removed */
  async removeOne(userId: string, id: string): Promise<number> {
    return this.db.run('DELETE FROM webauthn_credentials WHERE user_id = $1 AND id = $2', [userId, id]);
  }

  async remove(userId: string): Promise<void> {
    await this.db.run('DELETE FROM webauthn_credentials WHERE user_id = $1', [userId]);
  }
}
