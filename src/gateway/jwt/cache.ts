import type { VerifyKey } from './keys.js';

/**
 * Verified-token cache of ONE validate-jwt configuration: a token that passed this
 * configuration's signature, time, issuer, audience and claim checks, so its signature is checked
 * once. Bounded by entries and bytes (oldest out first). An entry is served until the token's
 * `exp` and only while the key that verified it is still in its key set.
 */
export interface CachedToken<V> {
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
    const e = this.map.get(token);
    if (e === undefined) return undefined;
    if (now < e.until && e.key.active) return e.value;
    this.delete(token, e);
    return undefined;
  }

  set(token: string, until: number, key: VerifyKey, value: V, valueBytes: number): void {
    if (this.maxEntries === 0) return;
    const bytes = token.length * 2 + valueBytes + 64;
    if (bytes > this.maxBytes) return;
    const prev = this.map.get(token);
    if (prev !== undefined) this.delete(token, prev);
    this.map.set(token, { until, key, value, bytes });
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

  private delete(token: string, e: CachedToken<V>): void {
    this.map.delete(token);
    this.bytes -= e.bytes;
  }
}
