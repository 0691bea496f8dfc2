import type { Logger } from 'pino';
import { hashBytes, sameHashBytes } from '../../net/api-keys.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Db } from '../db.js';
import type { SubscriptionNotifier } from './redis-notify.js';
import { NOTIFY_CHANNEL, SubscriptionStore, type OwnerType, type Scope, type State, type SubscriptionRow } from './store.js';

/**
 * A gateway process's copy of the subscriptions: every row, indexed by key hash, served from
 * memory. It follows the database by polling its revision (one indexed query every
 * `poll-interval`), and with PostgreSQL also by LISTEN/NOTIFY, which wakes it at once. When the
 * database cannot be read it keeps the last known state, says so (`stale()`, a log line, the
 * `gatehouse_subscriptions_store_up` metric) and tries again at the next poll.
 */

/** What the gateway reads of a subscription (structurally gateway/subscriptions/source.ts). */
export interface CachedSubscription {
  readonly id: string;
  readonly scope: Scope;
  readonly target: string | undefined;
  readonly state: State;
  readonly ownerType: OwnerType;
  readonly ownerId: string;
  readonly expiresAt: number | undefined;
  readonly name?: string;
  /** epoch ms */
  readonly createdAt?: number;
}

/** the stored hashes also as bytes (`hashBytes`), for the constant-time comparison of every lookup */
interface Entry { sub: CachedSubscription; primaryHash: string; secondaryHash: string; primaryBytes: Buffer; secondaryBytes: Buffer }

export interface CacheOptions {
  /** opens the database (and runs its migrations) */
  open: () => Promise<Db>;
  /** the database URL, for LISTEN (PostgreSQL) */
  url: string;
  pollMs: number;
  timeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /** another way to hear of changes (Redis pub/sub); closed with the cache */
  notifier?: SubscriptionNotifier;
}

export class SubscriptionCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private rev = 0;
  private everLoaded = false;
  private failing: { since: number; reason: string } | undefined;
  private store: SubscriptionStore | undefined;
  private opening: Promise<SubscriptionStore> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** a change was announced while a refresh ran: that one may have read before it, so run again */
  private again = false;
  private closed = false;
  private listener: { end(): Promise<void> } | undefined;
  private readonly up;
  private readonly count;

  constructor(private readonly opts: CacheOptions) {
    this.up = opts.metrics.gauge('gatehouse_subscriptions_store_up', '1 when the last read of the subscriptions database succeeded; 0 while gateways serve the last known subscriptions');
    this.count = opts.metrics.gauge('gatehouse_subscriptions_cached', 'Subscriptions held in memory by this gateway process');
  }

  lookup(keyHash: string, keyHashBytes?: Uint8Array): CachedSubscription | undefined {
    const e = this.byHash.get(keyHash);
    if (e === undefined) return undefined;
    // found by hash; the stored hash is still compared in constant time
    const b = keyHashBytes ?? hashBytes(keyHash);
    return sameHashBytes(b, e.primaryBytes) || sameHashBytes(b, e.secondaryBytes) ? e.sub : undefined;
  }

  loaded(): boolean { return this.everLoaded; }

  stale(): { since: number; reason: string } | undefined { return this.failing; }

  /** Load now, then poll (and listen, with PostgreSQL). */
  start(): void {
    const loop = () => {
      if (this.closed) return;
      void this.refresh().finally(() => {
        if (!this.closed) this.timer = setTimeout(loop, this.opts.pollMs);
      });
    };
    loop();
    if (this.opts.url.startsWith('postgres')) void this.listen();
    this.opts.notifier?.subscribe(() => this.poke());
  }

  /** A change was announced (NOTIFY, Redis): read it now, also when a refresh is already running. */
  poke(): void {
    if (this.running) this.again = true;
    else void this.refresh();
  }

  /** Read what changed since the last refresh; at most one at a time, bounded by `timeoutMs`. */
  refresh(): Promise<void> {
    if (this.running) return this.running;
    const run = this.bounded(this.pull()).then(() => this.ok(), (err: unknown) => this.fail(err));
    this.running = run.finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) { this.again = false; void this.refresh(); }
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.listener?.end().catch(() => {});
    await this.opts.notifier?.close();
    await this.running?.catch(() => {});
    if (this.store) await this.store.db.close().catch(() => {});
  }

  private async pull(): Promise<void> {
    this.store ??= await (this.opening ??= this.opts.open().then((db) => new SubscriptionStore(db)).finally(() => { this.opening = undefined; }));
    const rev = await this.store.revision();
    if (rev === this.rev && this.everLoaded) return;
    // the database went back in time (restored from a backup): start again from nothing
    if (rev < this.rev) { this.rev = 0; this.byHash.clear(); this.byId.clear(); }
    for (const row of await this.store.changedSince(this.rev)) {
      this.apply(row);
      if (row.rev > this.rev) this.rev = row.rev;
    }
    this.everLoaded = true;
    this.count.set(this.byId.size);
  }

  private apply(row: SubscriptionRow): void {
    const old = this.byId.get(row.id);
    if (old) { this.byHash.delete(old.primaryHash); this.byHash.delete(old.secondaryHash); }
    const e: Entry = {
      sub: { id: row.id, scope: row.scope, target: row.target, state: row.storedState, ownerType: row.owner.type, ownerId: row.owner.id, expiresAt: row.expiresAt, name: row.name, createdAt: row.createdAt },
      primaryHash: row.primaryHash,
      secondaryHash: row.secondaryHash,
      primaryBytes: hashBytes(row.primaryHash),
      secondaryBytes: hashBytes(row.secondaryHash),
    };
    this.byId.set(row.id, e);
    this.byHash.set(e.primaryHash, e);
    this.byHash.set(e.secondaryHash, e);
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs); });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  }

  private ok(): void {
    if (this.failing) this.opts.logger.info({ staleForMs: Date.now() - this.failing.since }, 'subscriptions database readable again');
    this.failing = undefined;
    this.up.set(1);
  }

  private fail(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (!this.failing) {
      this.failing = { since: Date.now(), reason };
      this.opts.logger.warn({ reason, cached: this.byId.size }, this.everLoaded
        ? 'subscriptions database unreadable: serving the last known subscriptions'
        : 'subscriptions database unreadable: subscription keys cannot be checked yet');
    }
    this.up.set(0);
  }

  /** PostgreSQL: a dedicated connection that LISTENs and refreshes on each notification; polling covers its gaps. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: this.opts.timeoutMs });
    const again = () => { if (!this.closed) setTimeout(() => void this.listen(), Math.max(this.opts.pollMs, 1000)).unref(); };
    client.on('error', () => { /* 'end' follows */ });
    client.on('end', () => { if (this.listener === handle) { this.listener = undefined; again(); } });
    client.on('notification', () => this.poke());
    const handle = { end: () => client.end() };
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      this.listener = handle;
      if (this.closed) await client.end();
    } catch {
      await client.end().catch(() => {});
      again();
    }
  }
}
