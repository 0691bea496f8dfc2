import { onlyParams, redact } from './url.js';
import type { StoreKind } from './kind.js';
import type { Counter, Gauge } from 'prom-client';
import type { CounterStore, QuotaDecision, QuotaLimits, SlidingDecision } from './types.js';
import { periodEnd, periodIndex } from './types.js';

/**
 * The embedded counter store: exact within one process, bounded in memory.
 *
 * - Counters live in one Map per (algorithm, period) with a FIFO expiry queue beside it (see
 *   Bucket): sweeping is O(expired), never a scan of live keys.
 * - A key's state disappears when its window (rate limits) or period (quotas) has passed: a
 *   sweep runs on every write (a few heads) and on a timer (`sweep-interval`, default 1 s).
 * - `max-keys` (default 500,000, about 160 MB at worst) caps the number of live keys. A new key beyond the cap
 *   evicts the oldest key of the largest Map, counted in
 *   `gatehouse_store_evictions_total`. Eviction forgets that caller's usage: it errs towards
 *   admitting, the price of a bound under a flood of distinct keys (spoofed IPs).
 */
export interface MemoryStoreOptions {
  maxKeys?: number;
  /** clock in epoch ms (tests pass a fake clock) */
  now?: () => number;
  /** timer sweep interval in ms (0: no timer) */
  sweepIntervalMs?: number;
  evictions?: Pick<Counter<string>, 'inc'>;
  keysGauge?: Pick<Gauge<string>, 'set'>;
}

/** Sliding-window log of one key: admitted timestamps (ms) and, when not all 1, their weights. */
class Log {
  t: number[];
  w: number[] | null = null;
  /** index of the oldest live entry */
  h = 0;
  sum = 0;
  /** entries dropped from the front of `t` so far: entry j has the stable number off + j */
  constructor(first: number) {
    this.t = [first]; // exactly one slot: most keys of a flood never get a second entry
  }
  off = (logSerial = (logSerial + 1) % 2 ** 20) * 2 ** 32; // a recreated key never matches an old token
}
let logSerial = 0;

class Quota {
  constructor(public p: number, public c: number, public b: number) {}
}

/**
 * The counters of one (algorithm, period): a Map for lookups and a FIFO queue of
 * (key, expiry when queued) for sweeping and eviction. Every live key has exactly one queue
 * entry, added when the key is created. The sweep pops the head while it has expired: an
 * entry whose key has been written since is queued again with its new expiry, so a key
 * disappears at most one window after its last write and the sweep never scans live keys.
 * (Map iteration order is not used: deleting from the front of a V8 Map leaves holes that
 * every new iteration walks again.)
 */
class Bucket<V> {
  readonly map = new Map<string, V>();
  private qk: Array<string | undefined> = [];
  private qe: number[] = [];
  private qh = 0;
  constructor(readonly expiry: (v: V) => number) {}

  add(key: string, v: V): void {
    this.map.set(key, v);
    this.qk.push(key);
    this.qe.push(this.expiry(v));
  }

  /** Delete up to `budget` expired keys; returns how many. */
  sweep(now: number, budget: number): number {
    let n = 0;
    const { qk, qe, map } = this;
    while (this.qh < qk.length && n < budget && qe[this.qh]! <= now) {
      const key = qk[this.qh]!;
      qk[this.qh++] = undefined;
      const v = map.get(key);
      if (v === undefined) continue;
      const e = this.expiry(v);
      if (e <= now) {
        map.delete(key);
        n++;
      } else {
        qk.push(key);
        qe.push(e);
      }
    }
    this.compact();
    return n;
  }

  /** Delete the least recently queued key; false when empty. */
  evictOne(): boolean {
    const { qk, map } = this;
    while (this.qh < qk.length) {
      const key = qk[this.qh]!;
      qk[this.qh++] = undefined;
      if (map.delete(key)) {
        this.compact();
        return true;
      }
    }
    return false;
  }

  private compact(): void {
    if (this.qh > 1024 && this.qh * 2 > this.qk.length) {
      this.qk = this.qk.slice(this.qh);
      this.qe = this.qe.slice(this.qh);
      this.qh = 0;
    } else if (this.qh === this.qk.length && this.qh > 0) {
      this.qk = [];
      this.qe = [];
      this.qh = 0;
    }
  }
}

const SWEEP_PER_WRITE = 2;
const SWEEP_PER_TICK = 200_000;

export class MemoryStore implements CounterStore {
  readonly kind = 'memory' as const;
  readonly maxKeys: number;
  private readonly now: () => number;
  private readonly logs = new Map<number, Bucket<Log>>();
  private readonly quotas = new Map<string, Bucket<Quota>>();
  private readonly buckets: Array<Bucket<Log> | Bucket<Quota>> = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly evictions: MemoryStoreOptions['evictions'];
  private readonly keysGauge: MemoryStoreOptions['keysGauge'];

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxKeys = opts.maxKeys ?? 500_000;
    this.now = opts.now ?? Date.now;
    this.evictions = opts.evictions;
    this.keysGauge = opts.keysGauge;
    const every = opts.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(SWEEP_PER_TICK), every);
      this.timer.unref();
    }
  }

  ready(): boolean {
    return true;
  }

  started(): boolean {
    return true;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** number of live keys (expired ones may linger until swept) */
  get keys(): number {
    return this.size;
  }

  /** Remove expired keys, at most `budget` of them. Returns how many were removed. */
  sweep(budget = Infinity): number {
    const now = this.now();
    let removed = 0;
    for (const b of this.buckets) {
      removed += this.sweepBucket(b as Bucket<unknown>, now, budget - removed);
      if (removed >= budget) break;
    }
    this.keysGauge?.set(this.size);
    return removed;
  }

  private sweepBucket<V>(b: Bucket<V>, now: number, budget: number): number {
    const n = b.sweep(now, budget);
    this.size -= n;
    return n;
  }

  /** Make room for one new key. */
  private reserve(): void {
    if (this.size < this.maxKeys) return;
    let largest: Bucket<unknown> | undefined;
    for (const b of this.buckets) if (!largest || b.map.size > largest.map.size) largest = b as Bucket<unknown>;
    if (!largest || !largest.evictOne()) return;
    this.size--;
    this.evictions?.inc();
  }

  private logBucket(periodMs: number): Bucket<Log> {
    let b = this.logs.get(periodMs);
    if (!b) {
      b = new Bucket<Log>((l) => (l.t.length === 0 ? 0 : l.t[l.t.length - 1]! + periodMs));
      this.logs.set(periodMs, b);
      this.buckets.push(b);
    }
    return b;
  }

  private quotaBucket(l: QuotaLimits): Bucket<Quota> {
    const id = `${l.periodMs}:${l.anchorMs}`;
    let b = this.quotas.get(id);
    if (!b) {
      b = new Bucket<Quota>((q) => periodEnd(q.p, l));
      this.quotas.set(id, b);
      this.buckets.push(b);
    }
    return b;
  }

  slidingHit(key: string, limit: number, periodMs: number, weight: number): SlidingDecision {
    const now = this.now();
    const b = this.logBucket(periodMs);
    let log = b.map.get(key);
    if (log !== undefined) expire(log, now - periodMs);
    const used = log === undefined ? 0 : log.sum;
    if (used + weight > limit) {
      return { allowed: false, used, waitMs: waitFor(log!, used + weight - limit, periodMs, now, weight > limit), token: '' };
    }
    if (weight === 0) {
      return { allowed: true, used, waitMs: log && log.h < log.t.length ? log.t[log.h]! + periodMs - now : periodMs, token: '' };
    }
    if (log === undefined) {
      this.reserve();
      log = new Log(now);
      this.size++;
      b.add(key, log);
    } else {
      log.t.push(now);
    }
    if (weight !== 1) (log.w ??= new Array<number>(log.t.length - 1).fill(1)).push(weight);
    else if (log.w !== null) log.w.push(1);
    log.sum += weight;
    this.sweepBucket(b as Bucket<unknown>, now, SWEEP_PER_WRITE);
    return { allowed: true, used: log.sum, waitMs: log.t[log.h]! + periodMs - now, token: `${log.off + log.t.length - 1}:${weight}` };
  }

  slidingRefund(key: string, periodMs: number, token: string): void {
    const log = this.logs.get(periodMs)?.map.get(key);
    if (log === undefined || token === '') return;
    const i = token.indexOf(':');
    const j = Number(token.slice(0, i)) - log.off;
    const weight = Number(token.slice(i + 1));
    if (!(j >= log.h && j < log.t.length)) return; // already left the window
    const w = log.w === null ? 1 : log.w[j]!;
    if (w !== weight) return; // already refunded
    (log.w ??= new Array<number>(log.t.length).fill(1))[j] = 0;
    log.sum -= weight;
  }

  quotaHit(key: string, l: QuotaLimits, addCalls: number): QuotaDecision {
    const now = this.now();
    const p = periodIndex(now, l);
    const b = this.quotaBucket(l);
    let q = b.map.get(key);
    const fresh = q === undefined || q.p !== p;
    const c = fresh ? 0 : q!.c;
    const bytes = fresh ? 0 : q!.b;
    const resetMs = periodEnd(p, l) - now;
    if ((l.calls !== undefined && c + addCalls > l.calls) || (l.bytes !== undefined && bytes >= l.bytes)) {
      return { allowed: false, calls: c, bytes, resetMs, period: p };
    }
    if (q === undefined) {
      this.reserve();
      q = new Quota(p, 0, 0);
      this.size++;
      b.add(key, q);
    } else if (fresh) {
      q.p = p; q.c = 0; q.b = 0;
    }
    q.c += addCalls;
    this.sweepBucket(b as Bucket<unknown>, now, SWEEP_PER_WRITE);
    return { allowed: true, calls: q.c, bytes: q.b, resetMs, period: p };
  }

  quotaAdd(key: string, l: QuotaLimits, period: number, calls: number, bytes: number): void {
    const q = this.quotas.get(`${l.periodMs}:${l.anchorMs}`)?.map.get(key);
    if (q === undefined || q.p !== period) return;
    q.c = Math.max(0, q.c + calls);
    q.b += bytes;
  }
}

/** Drop entries at or before `cutoff` (an entry counts while now < ts + period). */
function expire(log: Log, cutoff: number): void {
  const t = log.t;
  let h = log.h;
  while (h < t.length && t[h]! <= cutoff) {
    log.sum -= log.w === null ? 1 : log.w[h]!;
    h++;
  }
  if (h === t.length) {
    log.off += t.length;
    t.length = 0;
    if (log.w !== null) log.w = null;
    log.h = 0;
    log.sum = 0;
    return;
  }
  if (h > 64 && h * 2 > t.length) {
    log.t = t.slice(h);
    if (log.w !== null) log.w = log.w.slice(h);
    log.off += h;
    h = 0;
  }
  log.h = h;
}

/** ms until at least `need` units have left the window. */
function waitFor(log: Log, need: number, periodMs: number, now: number, never: boolean): number {
  if (never) return Infinity;
  let freed = 0;
  for (let i = log.h; i < log.t.length; i++) {
    freed += log.w === null ? 1 : log.w[i]!;
    if (freed >= need) return log.t[i]! + periodMs - now;
  }
  return periodMs;
}

/** `memory` or `memory?max-keys=N`: in-process, bounded (default 500,000 keys). */
export const memoryStoreKind: StoreKind = {
  schemes: ['memory'],
  usage: 'memory[?max-keys=N]',
  create({ url, base, params }, { metrics }) {
    if (base !== 'memory') throw new Error(`store "${redact(url)}": use "memory" or "memory?max-keys=N"`);
    onlyParams(url, params, ['max-keys']);
    const maxKeys = params.has('max-keys') ? Number(params.get('max-keys')) : undefined;
    if (maxKeys !== undefined && !(Number.isInteger(maxKeys) && maxKeys >= 1)) {
      throw new Error(`store "${url}": max-keys must be a positive integer`);
    }
    return new MemoryStore({
      maxKeys,
      evictions: metrics.counter('gatehouse_store_evictions_total', 'Keys evicted from the memory counter store because it reached max-keys'),
      keysGauge: metrics.gauge('gatehouse_store_keys', 'Live keys in the memory counter store (updated on sweep)'),
    });
  },
};
