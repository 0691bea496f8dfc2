import { createHash } from 'node:crypto';
import type { Db } from '../db.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/**
 * What a federated sign-in keeps between its steps, in the database (so a sign-in begun at one
 * process completes at another): `begin` (state, nonce, PKCE verifier, bound to the interaction
 * and the browser), `outcome` (the verified identity, for the interaction page) and `link` (an
 * identity waiting for the account owner's confirmation). Rows are keyed by the SHA-256 of their
 * random handle (the database holds no usable handle) and spent once by a conditional UPDATE,
 * so a replayed callback or page finds nothing, also under concurrency.
 */
export interface KeptStep {
  connector: string;
  uid: string;
  /** SHA-256 of the browser-binding cookie (begin rows) */
  browser?: string;
  data: Record<string, unknown>;
}

type StepKind = 'begin' | 'outcome' | 'link' | 'saml-session' | 'slo';

export class FederationStore {
  constructor(private readonly db: Db) {}

  async put(kind: StepKind, handle: string, step: KeptStep, ttlSeconds: number): Promise<void> {
    await this.db.run('INSERT INTO federation_states (id, kind, connector, uid, browser, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [sha256(handle), kind, step.connector, step.uid, step.browser ?? null, JSON.stringify(step.data), Date.now() + ttlSeconds * 1000]);
  }

  /** put, replacing what `handle` held (a value kept per account, such as its last SAML session) */
  async replace(kind: StepKind, handle: string, step: KeptStep, ttlSeconds: number): Promise<void> {
    await this.db.run('DELETE FROM federation_states WHERE id = $1 AND kind = $2', [sha256(handle), kind]);
    await this.put(kind, handle, step, ttlSeconds);
  }

  /** the step kept under `handle`, once: a second take (a replay) finds nothing */
  async take(kind: StepKind, handle: string): Promise<KeptStep | undefined> {
    if (!handle || handle.length > 200) return undefined;
    const now = Date.now();
    const r = await this.db.one<{ connector: string; uid: string; browser: string | null; data: string }>(
      `UPDATE federation_states SET consumed_at = $3 WHERE id = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3
       RETURNING connector, uid, browser, data`, [sha256(handle), kind, now]);
    return r ? { connector: r.connector, uid: r.uid, browser: r.browser ?? undefined, data: JSON.parse(r.data) } : undefined;
  }

  /** true the first time `key` is seen (within `ttlSeconds`): one-time values such as SAML assertion IDs, across processes */
  async once(key: string, ttlSeconds: number): Promise<boolean> {
    const n = await this.db.run(`INSERT INTO federation_states (id, kind, connector, uid, data, expires_at, consumed_at) VALUES ($1, 'seen', '', '', '{}', $2, $3)
      ON CONFLICT (id) DO NOTHING`, [sha256(key), Date.now() + ttlSeconds * 1000, Date.now()]);
    return n === 1;
  }

  /** the local account an upstream identity is linked to */
  async linked(connector: string, subject: string): Promise<string | undefined> {
    const r = await this.db.one<{ user_id: string }>('SELECT user_id FROM federated_identities WHERE connector = $1 AND subject = $2', [connector, subject]);
    return r?.user_id;
  }

  /** link an upstream identity to an account; false when the identity is linked already (to any account) */
  async link(connector: string, subject: string, userId: string, email?: string): Promise<boolean> {
    const now = Date.now();
    const n = await this.db.run(`INSERT INTO federated_identities (connector, subject, user_id, email, created_at, last_sign_in) VALUES ($1, $2, $3, $4, $5, $5)
      ON CONFLICT (connector, subject) DO NOTHING`, [connector, subject, userId, email ?? null, now]);
    return n === 1;
  }

  async signedIn(connector: string, subject: string): Promise<void> {
    await this.db.run('UPDATE federated_identities SET last_sign_in = $3 WHERE connector = $1 AND subject = $2', [connector, subject, Date.now()]);
  }

  /**
   * End the provider sessions of `userId` that signed in through `connector` (a SAML IdP's
   * single logout): oidc-provider's Session rows, whose payload names the account and, in `amr`,
   * the connector (ids of both are plain: a UUID, and [a-z0-9-]). The number ended.
   */
  async endSessions(userId: string, connector: string): Promise<number> {
    if (!/^[\w-]+$/.test(userId) || !/^[a-z0-9-]+$/.test(connector)) return 0;
    return this.db.run("DELETE FROM oidc_payloads WHERE type = 'Session' AND payload LIKE $1 AND payload LIKE $2",
      [`%"accountId":"${userId}"%`, `%"idp:${connector}"%`]);
  }

  /** the identities linked to an account (for `gatehouse users show`) */
  async linksOf(userId: string): Promise<Array<{ connector: string; subject: string; email: string | null; createdAt: number; lastSignIn: number | null }>> {
    const rows = await this.db.all<{ connector: string; subject: string; email: string | null; created_at: number; last_sign_in: number | null }>(
      'SELECT connector, subject, email, created_at, last_sign_in FROM federated_identities WHERE user_id = $1 ORDER BY connector, subject', [userId]);
    return rows.map((r) => ({ connector: r.connector, subject: r.subject, email: r.email, createdAt: Number(r.created_at), lastSignIn: r.last_sign_in === null ? null : Number(r.last_sign_in) }));
  }

  /** remove the account's link to `connector`; the number of links removed */
  async unlink(userId: string, connector: string): Promise<number> {
    return this.db.run('DELETE FROM federated_identities WHERE user_id = $1 AND connector = $2', [userId, connector]);
  }
}
