import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID, hkdfSync } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db } from './db.js';
import type { IdentityConfig } from './schema.js';

/**
 * Signing keys and cookie-signing keys, stored encrypted (AES-256-GCM) in the identity database
 * so that every process sharing it signs with the same keys and picks up a rotation by polling.
 *
 * A key's life: created → published (in the JWKS) → active (signs) from `activates_at` →
 * retired at `retires_at` (still published so tokens it signed verify) → unpublished at
 * `expires_at` (after the longest token it can have signed has expired) → deleted a day later.
 */

export interface KeyRow {
  kid: string; kind: 'sig' | 'cookie'; alg: string; secret: string;
  created_at: number; activates_at: number; retires_at: number | null; expires_at: number | null;
}

export interface LoadedKeys {
  /** private JWKs to publish, the active signing key first */
  jwks: JWK[];
  activeKid: string;
  /** cookie-signing keys: the first signs, all verify */
  cookieKeys: string[];
  /** changes whenever what the provider must be built with changes */
  version: string;
  /** the earliest future moment at which the version changes by itself (a key activates/expires) */
  nextChange: number | undefined;
}

/** The 32-byte key that encrypts keys at rest. */
export function masterKey(cfg: IdentityConfig, db: Db): Buffer {
  let secret = cfg.keys['encryption-key'];
  if (!secret) {
    if (db.kind !== 'sqlite' || !db.file || db.file === ':memory:') {
      if (db.file === ':memory:') return createHash('sha256').update('gatehouse-memory').digest();
      throw new Error('keys.encryption-key is required with PostgreSQL');
    }
    const file = `${db.file}.key`;
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    secret = readFileSync(file, 'utf8').trim();
  }
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('gatehouse'), Buffer.from('identity-keys'), 32));
}

/** A derived secret for other purposes (CSRF, lockout fingerprints). */
export function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.from('gatehouse'), Buffer.from(purpose), 32));
}

export function encrypt(master: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), body.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
}

export function decrypt(master: Buffer, sealed: string, aad: string): string {
  const [v, iv, body, tag] = sealed.split('.');
  if (v !== 'v1' || !iv || !body || !tag) throw new Error('unknown key encryption format');
  const d = createDecipheriv('aes-256-gcm', master, Buffer.from(iv, 'base64url'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
}

async function newSigningJwk(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, alg === 'ES256' ? { extractable: true } : { modulusLength: 2048, extractable: true });
  return exportJWK(privateKey);
}

export class KeyStore {
  constructor(private readonly db: Db, private readonly master: Buffer, private readonly cfg: IdentityConfig) {}

  /** Longest lifetime of anything a key signs: when an old key may leave the JWKS. */
  get maxTokenTtl(): number {
    const t = this.cfg.tokens;
    return Math.max(t['access-token-ttl'], t['id-token-ttl'], ...this.cfg.apis.map((a) => a['access-token-ttl'] ?? 0)) + 60;
  }

  async #insert(kind: 'sig' | 'cookie', alg: string, material: string, activatesAt: number): Promise<string> {
    const kid = kind === 'sig' ? randomUUID().replace(/-/g, '').slice(0, 16) : `cookie-${randomUUID()}`;
    await this.db.run(
      'INSERT INTO keys (kid, kind, alg, secret, created_at, activates_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [kid, kind, alg, encrypt(this.master, material, kid), Date.now(), activatesAt]);
    return kid;
  }

  /** First start: create a signing key for the configured algorithm and a cookie key. */
  async ensure(): Promise<void> {
    await this.db.exclusive(async () => {
      const alg = this.cfg.tokens.algorithm;
      const now = Date.now();
      const sig = await this.db.one('SELECT kid FROM keys WHERE kind = $1 AND alg = $2 AND activates_at <= $3 AND (retires_at IS NULL OR retires_at > $3)', ['sig', alg, now]);
      if (!sig) {
        const jwk = await newSigningJwk(alg);
        await this.#insert('sig', alg, JSON.stringify(jwk), now);
      }
      const cookie = await this.db.one('SELECT kid FROM keys WHERE kind = $1', ['cookie']);
      if (!cookie) await this.#insert('cookie', 'HS256', randomBytes(32).toString('base64url'), now);
    });
  }

  /**
   * Publish a new signing key now and make it sign after `overlap` seconds; the keys it replaces
   * stop signing then and leave the JWKS once the tokens they signed have expired.
   */
  async rotate(overlap = this.cfg.keys['rotation-overlap'], alg = this.cfg.tokens.algorithm): Promise<{ kid: string; activatesAt: number }> {
    const now = Date.now();
    const activatesAt = now + overlap * 1000;
    const jwk = await newSigningJwk(alg);
    const kid = await this.#insert('sig', alg, JSON.stringify(jwk), activatesAt);
    await this.db.run(
      'UPDATE keys SET retires_at = $2, expires_at = $3 WHERE kind = $4 AND kid <> $1 AND (retires_at IS NULL OR retires_at > $2)',
      [kid, activatesAt, activatesAt + this.maxTokenTtl * 1000, 'sig']);
    return { kid, activatesAt };
  }

  /**
   * A new cookie-signing key. It verifies at once in every process that loads it, and signs from
   * two poll intervals later (so that no process meets a cookie signed with a key it has not
   * loaded yet); the keys it replaces stop signing then and keep verifying for a session lifetime.
   */
  async rotateCookies(delay = 2 * this.cfg.keys['poll-interval']): Promise<{ kid: string; activatesAt: number }> {
    const now = Date.now();
    const activatesAt = now + delay * 1000;
    const kid = await this.#insert('cookie', 'HS256', randomBytes(32).toString('base64url'), activatesAt);
    await this.db.run(
      'UPDATE keys SET retires_at = $2, expires_at = $3 WHERE kind = $4 AND kid <> $1 AND (retires_at IS NULL OR retires_at > $2)',
      [kid, activatesAt, activatesAt + this.cfg.sessions.ttl * 1000, 'cookie']);
    return { kid, activatesAt };
  }

  async list(): Promise<Array<Omit<KeyRow, 'secret'> & { state: string }>> {
    const now = Date.now();
    const rows = await this.db.all<KeyRow>('SELECT * FROM keys WHERE kind = $1 ORDER BY activates_at, created_at', ['sig']);
    return rows.map(({ secret: _s, ...r }) => {
      const act = Number(r.activates_at), ret = r.retires_at === null ? Infinity : Number(r.retires_at), exp = r.expires_at === null ? Infinity : Number(r.expires_at);
      const state = now < act ? 'published (signs from activation)' : now < ret ? 'active (signing)' : now < exp ? 'retired (published)' : 'expired';
      return { ...r, state };
    });
  }

  async load(): Promise<LoadedKeys> {
    const now = Date.now();
    const alg = this.cfg.tokens.algorithm;
    const rows = await this.db.all<KeyRow>('SELECT * FROM keys ORDER BY activates_at DESC, created_at DESC');
    const cookieKeys: string[] = [];
    const cookieKids: string[] = [];
    const pendingCookies: Array<{ kid: string; key: string }> = [];
    const published: Array<{ row: KeyRow; jwk: JWK }> = [];
    let active: KeyRow | undefined;
    let nextChange: number | undefined;
    const soon = (t: number | null) => { if (t !== null && Number(t) > now && (nextChange === undefined || Number(t) < nextChange)) nextChange = Number(t); };
    for (const row of rows) {
      if (row.kind === 'cookie') {
        // the newest active key signs (first); retired ones verify until they expire; pending ones verify only
        soon(row.activates_at); soon(row.expires_at);
        if (row.expires_at !== null && Number(row.expires_at) <= now) continue;
        const key = decrypt(this.master, row.secret, row.kid);
        if (Number(row.activates_at) > now) pendingCookies.push({ kid: row.kid, key });
        else { cookieKeys.push(key); cookieKids.push(row.kid); }
        continue;
      }
      soon(row.activates_at); soon(row.retires_at); soon(row.expires_at);
      if (row.expires_at !== null && Number(row.expires_at) <= now) continue;
      const jwk = JSON.parse(decrypt(this.master, row.secret, row.kid)) as JWK;
      published.push({ row, jwk: { ...jwk, kid: row.kid, alg: row.alg, use: 'sig' } });
      if (!active && row.alg === alg && Number(row.activates_at) <= now) active = row;
    }
    if (!active) throw new Error(`no active ${alg} signing key in the identity database`);
    const jwks = [published.find((p) => p.row.kid === active!.kid)!.jwk, ...published.filter((p) => p.row.kid !== active!.kid).map((p) => p.jwk)];
    for (const p of pendingCookies.reverse()) { cookieKeys.push(p.key); cookieKids.push(p.kid); }
    if (cookieKeys.length === 0) throw new Error('no cookie-signing key in the identity database');
    const version = `${active.kid}|${jwks.map((k) => k.kid).join(',')}|${cookieKids.join(',')}`;
    return { jwks, activeKid: active.kid, cookieKeys, version, nextChange };
  }
}
