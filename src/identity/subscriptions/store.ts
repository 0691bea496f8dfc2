import { randomUUID } from 'node:crypto';
import { generateKey, hashKey, keyHint } from '../../net/api-keys.js';
import type { Db } from '../db.js';

/**
 * Subscriptions in the identity database: create, read, change state, regenerate keys, and the
 * changes since a revision (what gateways poll). Every write bumps `rev` (see migrations.ts), is
 * serialized across processes, and tells listening gateways (PostgreSQL NOTIFY).
 */

export type Scope = 'product' | 'api' | 'all';
export type State = 'submitted' | 'active' | 'suspended' | 'cancelled' | 'expired';
export type OwnerType = 'user' | 'client';
export type KeyName = 'primary' | 'secondary';

export interface Subscription {
  id: string;
  name: string | undefined;
  scope: Scope;
  target: string | undefined;
  /** `expired` when `expiresAt` has passed, whatever is stored */
  state: State;
  owner: { type: OwnerType; id: string };
  expiresAt: number | undefined;
  createdAt: number;
  updatedAt: number;
  primaryKeyHint: string;
  secondaryKeyHint: string;
}

/** A row with its key hashes, as the gateway cache needs it. */
export interface SubscriptionRow extends Subscription {
  storedState: State;
  primaryHash: string;
  secondaryHash: string;
  rev: number;
}

interface Raw {
  id: string; name: string | null; scope: string; target: string | null; state: string;
  owner_type: string; owner_id: string; primary_hash: string; secondary_hash: string;
  primary_hint: string; secondary_hint: string; expires_at: number | null;
  created_at: number; updated_at: number; rev: number;
}

export const NOTIFY_CHANNEL = 'gatehouse_subscriptions';
const COLUMNS = 'id, name, scope, target, state, owner_type, owner_id, primary_hash, secondary_hash, primary_hint, secondary_hint, expires_at, created_at, updated_at, rev';
const NEXT_REV = '(SELECT COALESCE(MAX(rev), 0) + 1 FROM subscriptions)';

function fromRaw(r: Raw, now: number): SubscriptionRow {
  const expiresAt = r.expires_at === null ? undefined : Number(r.expires_at);
  const stored = r.state as State;
  return {
    id: r.id, name: r.name ?? undefined, scope: r.scope as Scope, target: r.target ?? undefined,
    state: expiresAt !== undefined && expiresAt <= now && stored !== 'cancelled' ? 'expired' : stored,
    storedState: stored,
    owner: { type: r.owner_type as OwnerType, id: r.owner_id },
    expiresAt, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
    primaryKeyHint: r.primary_hint, secondaryKeyHint: r.secondary_hint,
    primaryHash: r.primary_hash, secondaryHash: r.secondary_hash, rev: Number(r.rev),
  };
}

/** The public view of a row (no hashes). */
export function publicView(r: SubscriptionRow): Subscription {
  return {
    id: r.id, name: r.name, scope: r.scope, target: r.target, state: r.state, owner: r.owner,
    expiresAt: r.expiresAt, createdAt: r.createdAt, updatedAt: r.updatedAt,
    primaryKeyHint: r.primaryKeyHint, secondaryKeyHint: r.secondaryKeyHint,
  };
}

export interface NewSubscription {
  name?: string;
  scope: Scope;
  target?: string;
  state: 'submitted' | 'active';
  owner: { type: OwnerType; id: string };
  expiresAt?: number;
}

export class SubscriptionStore {
  /** `onWrite`: called after each write, to tell gateways by another way than the database (Redis pub/sub) */
  constructor(readonly db: Db, private readonly onWrite?: () => void) {}

  /** Create a subscription; returns it with both keys in clear (the only time they are). */
  async create(s: NewSubscription): Promise<{ subscription: SubscriptionRow; primaryKey: string; secondaryKey: string }> {
    const id = randomUUID();
    const primaryKey = generateKey();
    const secondaryKey = generateKey();
    const now = Date.now();
    await this.write(() => this.db.run(
      `INSERT INTO subscriptions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, ${NEXT_REV})`,
      [id, s.name ?? null, s.scope, s.target ?? null, s.state, s.owner.type, s.owner.id, hashKey(primaryKey), hashKey(secondaryKey), keyHint(primaryKey), keyHint(secondaryKey), s.expiresAt ?? null, now],
    ));
    return { subscription: (await this.get(id))!, primaryKey, secondaryKey };
  }

  async get(id: string): Promise<SubscriptionRow | undefined> {
    const r = await this.db.one<Raw>(`SELECT ${COLUMNS} FROM subscriptions WHERE id = $1`, [id]);
    return r ? fromRaw(r, Date.now()) : undefined;
  }

  /** A page of subscriptions ordered by id, optionally of one owner or state. */
  async list(opts: { after?: string; limit: number; ownerType?: OwnerType; ownerId?: string; state?: State }): Promise<SubscriptionRow[]> {
    const where: string[] = ['id > $1'];
    const params: unknown[] = [opts.after ?? ''];
    if (opts.ownerType) { params.push(opts.ownerType); where.push(`owner_type = $${params.length}`); }
    if (opts.ownerId) { params.push(opts.ownerId); where.push(`owner_id = $${params.length}`); }
    if (opts.state && opts.state !== 'expired') { params.push(opts.state); where.push(`state = $${params.length}`); }
    params.push(opts.limit);
    const rows = await this.db.all<Raw>(`SELECT ${COLUMNS} FROM subscriptions WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.length}`, params);
    const now = Date.now();
    return rows.map((r) => fromRaw(r, now)).filter((r) => opts.state === undefined || r.state === opts.state);
  }

  /**
   * Move a subscription from one of `from` to `to`. Returns the row before and after, 'conflict'
   * when its state is not one of `from`, undefined when there is no such subscription.
   */
  async transition(id: string, from: readonly State[], to: State): Promise<{ before: SubscriptionRow; after: SubscriptionRow } | 'conflict' | undefined> {
    const before = await this.get(id);
    if (!before) return undefined;
    if (!from.includes(before.storedState)) return 'conflict';
    const marks = from.map((_s, i) => `$${i + 4}`).join(', ');
    const changed = await this.write(() => this.db.run(
      `UPDATE subscriptions SET state = $1, updated_at = $2, rev = ${NEXT_REV} WHERE id = $3 AND state IN (${marks})`,
      [to, Date.now(), id, ...from],
    ));
    // another writer changed it between the read and the update
    if (changed === 0) return 'conflict';
    return { before, after: (await this.get(id))! };
  }

  /** Replace one key; the old one stops working as soon as gateways see the change. */
  async regenerate(id: string, which: KeyName): Promise<{ before: SubscriptionRow; after: SubscriptionRow; key: string } | undefined> {
    const before = await this.get(id);
    if (!before) return undefined;
    const key = generateKey();
    const col = which === 'primary' ? 'primary' : 'secondary';
    const changed = await this.write(() => this.db.run(
      `UPDATE subscriptions SET ${col}_hash = $1, ${col}_hint = $2, updated_at = $3, rev = ${NEXT_REV} WHERE id = $4`,
      [hashKey(key), keyHint(key), Date.now(), id],
    ));
    if (changed === 0) return undefined;
    return { before, after: (await this.get(id))!, key };
  }

  /** The highest revision: what a gateway compares with the one it has seen. */
  async revision(): Promise<number> {
    const r = await this.db.one<{ rev: number | null }>('SELECT MAX(rev) AS rev FROM subscriptions');
    return Number(r?.rev ?? 0);
  }

  /** Rows changed after revision `rev` (every row for 0). */
  async changedSince(rev: number): Promise<SubscriptionRow[]> {
    const rows = await this.db.all<Raw>(`SELECT ${COLUMNS} FROM subscriptions WHERE rev > $1 ORDER BY rev`, [rev]);
    const now = Date.now();
    return rows.map((r) => fromRaw(r, now));
  }

  /** One write at a time across processes (rev order = commit order), then NOTIFY (PostgreSQL). */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    const out = await this.db.exclusive(fn);
    if (this.db.kind === 'postgres') await this.db.run(`SELECT pg_notify('${NOTIFY_CHANNEL}', '')`).catch(() => {});
    this.onWrite?.();
    return out;
  }
}
