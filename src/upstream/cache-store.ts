import { createHash } from 'node:crypto';
import { UpstreamConfigError } from './targets.js';

/**
 * Where cached responses live. A value is the response body as a Buffer plus JSON-serializable
 * metadata; `get`/`set` may answer synchronously (memory) or with a Promise (Redis: one GET, one
 * SET with PX). A store never throws and never rejects: an unreachable store is a miss, and a
 * failed `set` is a response not cached. `encodeValue`/`decodeValue` give the one-buffer form a
 * remote store keeps.
 */

export type MaybeAsync<T> = T | Promise<T>;

export interface CacheMeta {
  status: number;
  /** stored response headers, lower-case names (hop-by-hop and Age removed) */
  headers: Record<string, string | string[]>;
  /** epoch ms when the request to the backend went out / the response arrived */
  requestTime: number;
  responseTime: number;
  /** RFC 9111 corrected_initial_age, seconds */
  initialAgeSec: number;
  /** freshness lifetime, seconds */
  lifetimeSec: number;
  /** set on the entry at the primary key when the response varies: the response lives at the secondary key */
  vary?: string[];
}

export interface CacheValue {
  meta: CacheMeta;
  body: Buffer;
}

export interface CacheStore {
  readonly kind: string;
  get(key: string): MaybeAsync<CacheValue | undefined>;
  /** keep `value` under `key` for at most `ttlMs` */
  set(key: string, value: CacheValue, ttlMs: number): MaybeAsync<void>;
  delete(key: string): MaybeAsync<void>;
  close(): Promise<void>;
}

/** `[u32 metadata length][metadata JSON][body]`: a value as one buffer (for Redis and the like). */
export function encodeValue(v: CacheValue): Buffer {
  const meta = Buffer.from(JSON.stringify(v.meta));
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(meta.length, 0);
  return Buffer.concat([head, meta, v.body]);
}

/** The value of `encodeValue`, or undefined for anything else (a corrupt or foreign entry is a miss). */
export function decodeValue(b: Buffer): CacheValue | undefined {
  if (b.length < 4) return undefined;
  const n = b.readUInt32BE(0);
  if (4 + n > b.length) return undefined;
  try {
    const meta = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as CacheMeta;
    if (typeof meta?.status !== 'number' || typeof meta.headers !== 'object' || typeof meta.responseTime !== 'number') return undefined;
    return { meta, body: b.subarray(4 + n) };
  } catch {
    return undefined;
  }
}

export interface MemoryCacheOptions {
  /** total size bound: bodies, headers and keys (approximately) */
  maxBytes: number;
  /** entries larger than this are not stored (default: maxBytes / 8) */
  maxEntryBytes?: number;
  now?: () => number;
}

interface Slot {
  value: CacheValue;
  expires: number;
  bytes: number;
}

/** Per-entry overhead counted besides body, headers and key (Map slot, objects). */
const OVERHEAD = 200;

/**
 * In-process store bounded by bytes, least recently used evicted first (a Map in use order: a
 * hit moves its entry to the end). Expired entries are dropped when read and evicted by LRU
 * otherwise; no timer.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly map = new Map<string, Slot>();
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly now: () => number;
  private used = 0;

  constructor(opts: MemoryCacheOptions) {
    if (!(opts.maxBytes >= 1024)) throw new UpstreamConfigError('the memory cache needs at least 1 KiB');
    this.maxBytes = opts.maxBytes;
    this.maxEntryBytes = Math.min(opts.maxEntryBytes ?? Math.floor(opts.maxBytes / 8), opts.maxBytes);
    this.now = opts.now ?? Date.now;
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): CacheValue | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.expires <= this.now()) {
      this.remove(key, slot);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.value;
  }

  set(key: string, value: CacheValue, ttlMs: number): void {
    const old = this.map.get(key);
    if (old !== undefined) this.remove(key, old);
    if (!(ttlMs > 0)) return;
    const bytes = sizeOf(key, value);
    if (bytes > this.maxEntryBytes) return;
    this.map.set(key, { value, expires: this.now() + ttlMs, bytes });
    this.used += bytes;
    for (const [k, s] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.remove(k, s);
    }
  }

  delete(key: string): void {
    const slot = this.map.get(key);
    if (slot !== undefined) this.remove(key, slot);
  }

  async close(): Promise<void> {
    this.map.clear();
    this.used = 0;
  }

  private remove(key: string, slot: Slot): void {
    this.map.delete(key);
    this.used -= slot.bytes;
  }
}

function sizeOf(key: string, v: CacheValue): number {
  let h = 0;
  for (const name in v.meta.headers) {
    const x = v.meta.headers[name]!;
    h += name.length + (typeof x === 'string' ? x.length : x.reduce((n, s) => n + s.length, 0));
  }
  return OVERHEAD + key.length * 2 + v.body.length + h * 2 + (v.meta.vary?.join('').length ?? 0) * 2;
}

/** Buffers under keys with a TTL, never throwing (src/state's blob stores fit it). */
export interface BlobStore {
  readonly kind: string;
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A cache over a remote blob store (Redis): each value one buffer (`encodeValue`), a foreign or
 * corrupt one a miss. Keys are hashed (SHA-256): what a key is made of (headers, the caller's
 * Authorization) never appears in the store's key names.
 */
export class RemoteCacheStore implements CacheStore {
  constructor(private readonly blobs: BlobStore) {}

  get kind(): string {
    return this.blobs.kind;
  }

  async get(key: string): Promise<CacheValue | undefined> {
    const b = await this.blobs.get(hashed(key));
    return b === undefined ? undefined : decodeValue(b);
  }

  set(key: string, value: CacheValue, ttlMs: number): Promise<void> {
    return this.blobs.set(hashed(key), encodeValue(value), ttlMs);
  }

  delete(key: string): Promise<void> {
    return this.blobs.delete(hashed(key));
  }

  close(): Promise<void> {
    return this.blobs.close();
  }
}

function hashed(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
