import type { VerifyKey } from './keys.js';

/**
 * Verified-token cache of ONE validate-jwt configuration: a token that passed this
 * configuration's signature, time, issuer, audience and claim checks, so its signature is checked
 * once. Bounded by entries and bytes (oldest out first). An entry is served until the token's
 * `exp` and only while the key that verified it is still in its key set.
 *
 * Entries are found by the token's last segment (its signature) and served only when the whole
 * token is equal: the lookup hashes a third of the token instead of all of it (issue 19: the hash
 * was most of a cache hit's cost), and a token that shares a signature with a cached one but
 * differs anywhere else is a miss, validated in full.
 */
export interface CachedToken<V> {
  /** the whole token */
  readonly token: string;
  /** epoch ms after which the entry is dead */
  readonly until: number;
  readonly key: VerifyKey;
  readonly value: V;
  readonly bytes: number;
}

export class TokenCache<V> {
  private readonly map = new Map<string, CachedToken<V>>();
  private bytes = 0;

  constructor(readonly maxEntries: number, readonly maxBytes: number) {}

  get size(): number {
    return this.map.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get(token: string, now: number): V | undefined {
    const id = idOf(token);
    const e = this.map.get(id);
    if (e === undefined || e.token !== token) return undefined;
    if (now < e.until && e.key.active) return e.value;
    this.delete(id, e);
    return undefined;
  }

  set(token: string, until: number, key: VerifyKey, value: V, valueBytes: number): void {
    if (this.maxEntries === 0) return;
    const bytes = token.length * 2 + valueBytes + 64;
    if (bytes > this.maxBytes) return;
    const id = idOf(token);
    const prev = this.map.get(id);
    if (prev !== undefined) this.delete(id, prev);
    this.map.set(id, { token, until, key, value, bytes });
    this.bytes += bytes;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value, this.map.get(oldest.value)!);
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  private delete(id: string, e: CachedToken<V>): void {
    this.map.delete(id);
    this.bytes -= e.bytes;
  }
}

/** the last segment of a compact JWS (the signature), or the whole token when that is short or missing */
function idOf(token: string): string {
  const dot = token.lastIndexOf('.');
  return dot < 0 || token.length - dot <= 16 ? token : token.slice(dot + 1);
}
