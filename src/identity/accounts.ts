import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Db } from './db.js';
import type { IdentityConfig } from './schema.js';
import { hashPassword, needsRehash, normalizePassword, verifyPassword, type HashParams } from './passwords.js';
import { parseAddress } from './email.js';
import { subnetOf, type Limits } from './ratelimit.js';

export interface User {
  id: string;
  username: string | null;
  email: string | null;
  emailVerified: boolean;
  roles: string[];
  groups: string[];
  attributes: Record<string, unknown>;
  disabled: boolean;
  createdAt: number;
}

interface UserRow {
  id: string; username: string | null; email: string | null; email_verified: number; password_hash: string | null;
  roles: string; groups_: string; attributes: string; disabled: number; created_at: number;
}

const toUser = (r: UserRow): User => ({
  id: r.id, username: r.username, email: r.email, emailVerified: !!Number(r.email_verified),
  roles: JSON.parse(r.roles), groups: JSON.parse(r.groups_), attributes: JSON.parse(r.attributes),
  disabled: !!Number(r.disabled), createdAt: Number(r.created_at),
});

/** the login key of a username or an email address: what is unique across both, and looked up */
export const normalizeLogin = (s: string) => s.trim().normalize('NFKC').toLowerCase();
export const isEmail = (s: string) => parseAddress(s) !== undefined;
/** what a (normalized) username may be: never an email address (no `@`), so nobody can squat one */
export const USERNAME = /^[\p{L}\p{N}._+-]{2,64}$/u;
export const USERNAME_RULE = 'a username is 2–64 letters, digits or . _ + - (no @: sign in with an email address as such)';

/**
 * The smallest string after every string that starts with `p`, in code point order (= UTF-8 byte
 * order): `p` with its last code point incremented; undefined when there is none.
 */
export function prefixEnd(p: string): string | undefined {
  const cps = [...p].map((ch) => ch.codePointAt(0)!);
  while (cps.length && cps[cps.length - 1] === 0x10ffff) cps.pop();
  if (!cps.length) return undefined;
  const last = cps.pop()! + 1;
  cps.push(last === 0xd800 ? 0xe000 : last);
  return String.fromCodePoint(...cps);
}

/** a unique-constraint violation, on SQLite or PostgreSQL */
const isUniqueViolation = (e: unknown) => {
  const code = String((e as { code?: unknown }).code ?? '');
  return code === '23505' || code.startsWith('SQLITE_CONSTRAINT');
};

/** Accounts on the identity database. */
export class UserStore {
  constructor(private readonly db: Db) {}

  /**
   * Create an account. Its username and email address are login names in one space, unique in the
   * database (table `logins`, primary key): both are claimed in one INSERT before the account row
   * exists, so of two parallel sign-ups for one name exactly one gets it. An email address may
   * take over a name held as a *username* (only accounts from before usernames excluded `@` can
   * hold one that looks like an address): the owner of an address can always sign up with it.
   */
  async create(u: { username?: string; email?: string; passwordHash?: string; roles?: string[]; groups?: string[]; attributes?: Record<string, unknown>; emailVerified?: boolean }): Promise<User> {
    const username = u.username ? normalizeLogin(u.username) : null;
    const email = u.email ? parseAddress(u.email) ?? null : null;
    if (u.email && !email) throw new Error('not an email address');
    if (!username && !email) throw new Error('an account needs a username or an email address');
    if (username && !USERNAME.test(username)) throw new Error(USERNAME_RULE);
    const id = randomUUID();
    const now = Date.now();
    const names: Array<[string, 'username' | 'email']> = [];
    if (email) names.push([normalizeLogin(email), 'email']);
    if (username && !names.some(([n]) => n === username)) names.push([username, 'username']);
    const exists = () => new Error('an account with that username or email already exists');
    const claimed = await this.db.run(
      `INSERT INTO logins (login, user_id, kind) VALUES ${names.map((_, i) => `($${2 * i + 2}, $1, $${2 * i + 3})`).join(', ')}
       ON CONFLICT (login) DO UPDATE SET user_id = excluded.user_id, kind = excluded.kind
       WHERE logins.kind = 'username' AND excluded.kind = 'email'`,
      [id, ...names.flat()]).catch((e) => { throw isUniqueViolation(e) ? exists() : e; });
    try {
      if (claimed !== names.length) throw exists();
      await this.db.run(
        `INSERT INTO users (id, username, email, email_verified, password_hash, roles, groups_, attributes, disabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)`,
        [id, username, email, u.emailVerified ? 1 : 0, u.passwordHash ?? null, JSON.stringify(u.roles ?? []), JSON.stringify(u.groups ?? []), JSON.stringify(u.attributes ?? {}), now]);
    } catch (e) {
      await this.db.run('DELETE FROM logins WHERE user_id = $1', [id]);
      throw isUniqueViolation(e) ? exists() : e;
    }
    return (await this.get(id))!;
  }

  async get(id: string): Promise<User | undefined> {
    const r = await this.db.one<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return r ? toUser(r) : undefined;
  }

  /** by username or email, case-insensitively */
  async findByLogin(login: string): Promise<User | undefined> {
    const r = await this.#rowByLogin(login);
    return r ? toUser(r) : undefined;
  }

  async #rowByLogin(login: string): Promise<UserRow | undefined> {
    const n = normalizeLogin(login);
    if (!n) return undefined;
    return this.db.one<UserRow>('SELECT u.* FROM logins l JOIN users u ON u.id = l.user_id WHERE l.login = $1', [n]);
  }

  async passwordHashFor(login: string): Promise<{ user: User; hash: string | null } | undefined> {
    const r = await this.#rowByLogin(login);
    return r ? { user: toUser(r), hash: r.password_hash } : undefined;
  }

  /** every account at once (tests, small stores); listings at scale use `page` */
  async list(): Promise<User[]> {
    return (await this.db.all<UserRow>('SELECT * FROM users ORDER BY created_at, id')).map(toUser);
  }

  /**
   * A page of accounts (keyset pagination: each query reads only its page from an index, however
   * many accounts there are). Without `search`: ordered by id, the cursor is the last id. With
   * `search`: the accounts one of whose login names (username or email address, normalized as at
   * sign-in) starts with it, ordered by that name, the cursor being the last name: a range scan of
   * the `logins` key in byte order (PostgreSQL: COLLATE "C", index `logins_login_c`), so `%`, `_`
   * and `\\` are plain characters. An account with two matching names appears once, at the smaller.
   */
  async page(opts: { search?: string; after?: string; limit: number }): Promise<{ items: User[]; next?: string }> {
    const lo = opts.search ? normalizeLogin(opts.search) : '';
    if (!lo) {
      const rows = await this.db.all<UserRow>('SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT $2', [opts.after ?? '', opts.limit]);
      return { items: rows.map(toUser), ...(rows.length === opts.limit ? { next: rows[rows.length - 1]!.id } : {}) };
    }
    const c = this.db.kind === 'postgres' ? ' COLLATE "C"' : '';
    const params: unknown[] = [lo];
    const p = (v: unknown) => `$${params.push(v)}`;
    // a cursor of this search starts with the prefix (and so is past its start); any other is checked as well
    const after = opts.after;
    let where = after === undefined ? `l.login${c} >= $1` : after.startsWith(lo) ? `l.login${c} > ${p(after)}` : `l.login${c} >= $1 AND l.login${c} > ${p(after)}`;
    const hi = prefixEnd(lo);
    if (hi !== undefined) where += ` AND l.login${c} < ${p(hi)}`;
    const rows = await this.db.all<UserRow & { matched: string }>(
      `SELECT u.*, l.login AS matched FROM logins l JOIN users u ON u.id = l.user_id
       WHERE ${where}
         AND NOT EXISTS (SELECT 1 FROM logins o WHERE o.user_id = l.user_id AND o.login${c} >= $1 AND o.login${c} < l.login${c})
       ORDER BY l.login${c} LIMIT ${p(opts.limit)}`, params);
    return { items: rows.map(toUser), ...(rows.length === opts.limit ? { next: rows[rows.length - 1]!.matched } : {}) };
  }

  async setPasswordHash(id: string, hash: string): Promise<void> {
    await this.db.run('UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1', [id, hash, Date.now()]);
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    await this.db.run('UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1', [id, disabled ? 1 : 0, Date.now()]);
  }

  async setRoles(id: string, roles: string[]): Promise<void> {
    await this.db.run('UPDATE users SET roles = $2, updated_at = $3 WHERE id = $1', [id, JSON.stringify(roles), Date.now()]);
  }

  /** Set what a federated sign-in maps onto the account: attributes merged, groups replaced, roles added. */
  async updateProfile(id: string, p: { attributes?: Record<string, unknown>; groups?: string[]; addRoles?: string[] }): Promise<void> {
    const u = await this.get(id);
    if (!u) return;
    const roles = [...new Set([...u.roles, ...(p.addRoles ?? [])])];
    await this.db.run('UPDATE users SET attributes = $2, groups_ = $3, roles = $4, updated_at = $5 WHERE id = $1',
      [id, JSON.stringify({ ...u.attributes, ...p.attributes }), JSON.stringify(p.groups ?? u.groups), JSON.stringify(roles), Date.now()]);
  }

  async setEmailVerified(id: string): Promise<void> {
    await this.db.run('UPDATE users SET email_verified = 1, updated_at = $2 WHERE id = $1', [id, Date.now()]);
  }

  /** Change the email address (unverified until its link is opened); false when another account has it. */
  async changeEmail(id: string, address: string): Promise<boolean> {
    const email = parseAddress(address);
    if (!email) throw new Error('not an email address');
    const login = normalizeLogin(email);
    const taken = await this.db.one<{ user_id: string }>('SELECT user_id FROM logins WHERE login = $1', [login]);
    if (taken && taken.user_id !== id) return false;
    if (!taken && await this.db.run("INSERT INTO logins (login, user_id, kind) VALUES ($1, $2, 'email') ON CONFLICT (login) DO NOTHING", [login, id]) !== 1) return false;
    await this.db.run("DELETE FROM logins WHERE user_id = $1 AND kind = 'email' AND login <> $2", [id, login]);
    await this.db.run('UPDATE users SET email = $2, email_verified = 0, updated_at = $3 WHERE id = $1', [id, email, Date.now()]);
    // links mailed to the old address (verification, password reset) must not verify or reset the new one
    await this.db.run('UPDATE account_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL', [id, Date.now()]);
    return true;
  }

  /** Lift every lockout of the account (from every client). */
  async unlock(id: string): Promise<void> {
    await this.db.run('DELETE FROM lockout_failures WHERE key IN (SELECT key FROM lockouts WHERE user_id = $1 OR key = $2)', [id, `user:${id}`]);
    await this.db.run('DELETE FROM lockouts WHERE user_id = $1 OR key = $2', [id, `user:${id}`]);
  }

  /** Revoke every grant (and so every refresh token) of the account. */
  async revokeSessions(id: string): Promise<void> {
    await this.db.run(`DELETE FROM oidc_payloads WHERE payload LIKE $1`, [`%"accountId":${JSON.stringify(id)}%`]);
  }

  /** A single-use link token (email verification, password reset); only its hash is stored. */
  async issueAccountToken(userId: string, kind: 'verify-email' | 'reset-password', ttlSeconds: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.db.run('INSERT INTO account_tokens (id, kind, user_id, expires_at) VALUES ($1, $2, $3, $4)',
      [createHash('sha256').update(token).digest('hex'), kind, userId, Date.now() + ttlSeconds * 1000]);
    return token;
  }

  /** Check a link token without spending it. */
  async peekAccountToken(token: string, kind: string): Promise<string | undefined> {
    const r = await this.db.one<{ user_id: string }>('SELECT user_id FROM account_tokens WHERE id = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3',
      [createHash('sha256').update(String(token)).digest('hex'), kind, Date.now()]);
    return r?.user_id;
  }

  /**
   * Spend a link token: the user id, once. Every other open link of the same kind for the same
   * account is spent with it, in the same statement (a completed password reset leaves no other
   * reset link usable, even one being used in parallel).
   */
  async consumeAccountToken(token: string, kind: string): Promise<string | undefined> {
    const id = createHash('sha256').update(String(token)).digest('hex');
    const now = Date.now();
    const rows = await this.db.all<{ id: string; user_id: string }>(
      `UPDATE account_tokens SET used_at = $3 WHERE kind = $2 AND used_at IS NULL
         AND user_id = (SELECT user_id FROM account_tokens WHERE id = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3)
       RETURNING id, user_id`,
      [id, kind, now]);
    return rows.find((r) => r.id === id)?.user_id;
  }
}

export type AuthFailure = 'unknown-account' | 'wrong-password' | 'locked' | 'disabled' | 'email-not-verified' | 'rate-limited';
export type AuthResult = { ok: true; user: User } | { ok: false; reason: AuthFailure; retryAfter?: number };

/**
 * The lockout key of an account (or of an unknown login name) as tried from a client address:
 * lockout counts per account and client (the IPv4 address, or the IPv6 /64), so a stranger who
 * hammers an account locks it for themselves, not for its owner elsewhere.
 */
export const lockoutKey = (subject: string, ip: string | undefined) => `${subject}@${ip ? (isIP(ip) === 6 ? subnetOf(ip) : ip) : '-'}`;

/**
 * Password sign-in with smart lockout, shared by the password grant and the sign-in page.
 *
 * First the client's failed attempts are limited per address and per network (`rate-limits.
 * sign-in`, on the counter store; a successful sign-in is given back): a password spray over many
 * accounts from one place is refused. Lockout then counts per account and client (`lockoutKey`).
 *
 * Every attempt does exactly one argon2 verification (against a dummy hash for unknown accounts
 * and locked ones), so that unknown accounts, wrong passwords and locked accounts cost the same.
 * An attempt first reserves a failure slot atomically in the database, so parallel guesses cannot
 * exceed the threshold; a correct password gives the slot back, a repeated wrong one too.
 */
export class Authenticator {
  #dummy: Promise<string>;
  /** called once per attempt with its outcome (metrics) */
  onResult?: (result: 'success' | AuthFailure, lockedNow: boolean) => void;

  constructor(
    private readonly users: UserStore,
    private readonly db: Db,
    private readonly cfg: IdentityConfig,
    private readonly secret: Buffer,
    private readonly logger: Logger,
    private readonly limits?: Limits,
  ) {
    this.#dummy = hashPassword(randomBytes(16).toString('hex'), cfg.passwords.hash);
  }

  get hashParams(): HashParams { return this.cfg.passwords.hash; }

  async authenticate(login: string, password: string, meta: { ip?: string; via: string; clientId?: string }): Promise<AuthResult> {
    const gate = this.limits && meta.ip ? await this.limits.client('sign-in', meta.ip, this.cfg['rate-limits']['sign-in']) : undefined;
    const res: AuthResult & { userId?: string; lockedNow?: boolean; until?: number } = gate && !gate.allowed
      ? { ok: false, reason: 'rate-limited', retryAfter: gate.retryAfter }
      : await this.#attempt(String(login ?? ''), String(password ?? ''), meta.ip);
    if (res.ok && gate?.allowed) await gate.refund(); // only failures count against the client
    this.onResult?.(res.ok ? 'success' : res.reason, !!(res as { lockedNow?: boolean }).lockedNow);
    const base = { audit: res.ok ? 'sign-in.success' : 'sign-in.failure', via: meta.via, ip: meta.ip, client_id: meta.clientId };
    if (res.ok) this.logger.info({ ...base, sub: res.user.id }, 'sign-in succeeded');
    else {
      this.logger.info({ ...base, reason: res.reason, sub: (res as { userId?: string }).userId, login: normalizeLogin(String(login ?? '')).slice(0, 100) }, 'sign-in failed');
      if ((res as { lockedNow?: boolean }).lockedNow) this.logger.warn({ audit: 'account.locked', sub: (res as { userId?: string }).userId, until: (res as { until?: number }).until, ip: meta.ip }, 'account locked');
    }
    return res.ok ? res : { ok: false, reason: res.reason, retryAfter: res.retryAfter };
  }

  async #attempt(login: string, password: string, ip: string | undefined): Promise<AuthResult & { userId?: string; lockedNow?: boolean; until?: number }> {
    const now = Date.now();
    const found = login && login.length <= 320 ? await this.users.passwordHashFor(login) : undefined;
    const key = lockoutKey(found ? `user:${found.user.id}` : `login:${normalizeLogin(login).slice(0, 320)}`, ip);
    const userId = found?.user.id;
    await this.db.run('INSERT INTO lockouts (key, user_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', [key, userId ?? null, now]);
    const threshold = this.cfg.lockout.threshold;
    const hash = found?.hash ?? await this.#dummy;
    // reserve a slot; when every slot is held by attempts still in flight (not a lockout yet),
    // wait for them to finish rather than refuse a sign-in that may well be correct
    let slot: { failures: number; lockouts: number } | undefined;
    for (let tries = 0; ; tries++) {
      slot = await this.db.one<{ failures: number; lockouts: number }>(
        'UPDATE lockouts SET failures = failures + 1, updated_at = $3 WHERE key = $1 AND locked_until <= $2 RETURNING failures, lockouts',
        [key, Date.now(), Date.now()]);
      if (!slot || Number(slot.failures) <= threshold) break;
      await this.#release(key);
      if (tries >= 40) break;
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
    }
    if (!slot || Number(slot.failures) > threshold) {
      await verifyPassword(await this.#dummy, password); // same work as a real attempt
      return { ok: false, reason: 'locked', userId };
    }
    const good = await verifyPassword(hash, password);
    if (good && found && found.hash) {
      if (found.user.disabled) { await this.#release(key); return { ok: false, reason: 'disabled', userId }; }
      if (this.cfg['sign-up']['require-email-verification'] && found.user.email && !found.user.emailVerified) {
        await this.#release(key);
        return { ok: false, reason: 'email-not-verified', userId };
      }
      await this.db.run('UPDATE lockouts SET failures = 0, lockouts = 0, updated_at = $2 WHERE key = $1', [key, now]);
      await this.db.run('DELETE FROM lockout_failures WHERE key = $1', [key]);
      if (good === 'legacy' || needsRehash(found.hash, this.cfg.passwords.hash)) {
        await this.users.setPasswordHash(found.user.id, await hashPassword(password, this.cfg.passwords.hash));
      }
      return { ok: true, user: found.user };
    }
    // a wrong password: the same one repeated counts once, also when the repeats arrive in
    // parallel (the database keeps one row per distinct wrong password and decides atomically)
    const fp = createHmac('sha256', this.secret).update(key).update('\0').update(normalizePassword(password)).digest('base64url').slice(0, 22);
    const fresh = await this.db.run('INSERT INTO lockout_failures (key, fp, at) VALUES ($1, $2, $3) ON CONFLICT (key, fp) DO NOTHING', [key, fp, now]);
    if (fresh === 0) {
      await this.#release(key);
      return { ok: false, reason: found ? 'wrong-password' : 'unknown-account', userId };
    }
    const distinct = await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM lockout_failures WHERE key = $1', [key]);
    if (Number(distinct?.n ?? 0) >= threshold) {
      const lockouts = Number(slot.lockouts);
      const secs = Math.min(this.cfg.lockout['max-duration'], this.cfg.lockout.duration * 2 ** Math.min(lockouts, 30));
      const until = Date.now() + secs * 1000;
      const n = await this.db.run(
        'UPDATE lockouts SET locked_until = $2, lockouts = lockouts + 1, failures = 0, updated_at = $3 WHERE key = $1 AND locked_until <= $3',
        [key, until, Date.now()]);
      await this.db.run('DELETE FROM lockout_failures WHERE key = $1', [key]);
      return { ok: false, reason: found ? 'wrong-password' : 'unknown-account', userId, lockedNow: n > 0, until };
    }
    return { ok: false, reason: found ? 'wrong-password' : 'unknown-account', userId };
  }

  async #release(key: string): Promise<void> {
    await this.db.run('UPDATE lockouts SET failures = failures - 1 WHERE key = $1 AND failures > 0', [key]);
  }

  /** Forget the distinct wrong passwords of lockout keys nobody has tried for a day (run by the cleanup timer). */
  async cleanup(): Promise<number> {
    const dayAgo = Date.now() - 86400_000;
    return this.db.run(
      'DELETE FROM lockout_failures WHERE at < $1 AND NOT EXISTS (SELECT 1 FROM lockouts l WHERE l.key = lockout_failures.key AND l.updated_at >= $1)',
      [dayAgo]);
  }

  /** Lockout state, for `gatehouse users show`: failures summed over its clients, the latest lockout end of any. */
  async lockState(userId: string): Promise<{ failures: number; lockedUntil: number }> {
    return lockStateOf(this.db, userId);
  }
}

/** An account's lockout state: failures summed over its clients, the latest lockout end of any. */
export async function lockStateOf(db: Db, userId: string): Promise<{ failures: number; lockedUntil: number }> {
  const r = await db.one<{ failures: number | null; locked_until: number | null }>(
    'SELECT SUM(failures) AS failures, MAX(locked_until) AS locked_until FROM lockouts WHERE user_id = $1 OR key = $2', [userId, `user:${userId}`]);
  return { failures: Number(r?.failures ?? 0), lockedUntil: Number(r?.locked_until ?? 0) };
}
