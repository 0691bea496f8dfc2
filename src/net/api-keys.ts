import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Subscription keys: 256 random bits, shown to their owner once (at creation or regeneration) and
 * stored only as their SHA-256. A key is looked up by its hash and the stored hash is then
 * compared in constant time. The identity store makes keys, the gateway checks them: both use
 * this module, so the format and the hash cannot drift apart.
 */

/** every key starts with this, so that secret scanners can find leaked keys */
export const KEY_PREFIX = 'ghk_';
/** the length of a key made by `generateKey` (prefix + 43 base64url characters) */
export const KEY_LENGTH = KEY_PREFIX.length + 43;

/** A new key: `ghk_` + 32 random bytes in base64url. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The stored form of a key: lower-case hex SHA-256 of its UTF-8 bytes. */
export function hashKey(key: string): string {
  // one-shot: no Hash object per call (a subscription-key check runs this on every request)
  return hash('sha256', key, 'hex');
}

/** The bytes `sameHashBytes` compares: a hex hash as Latin-1 (one byte per hex digit). */
export function hashBytes(hexHash: string): Buffer {
  return Buffer.from(hexHash, 'latin1');
}

/** True when `a` and `b` (hex hashes of equal length) are equal; the time taken does not depend on where they differ. */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

/** `sameHash` on the bytes of two hashes (`hashBytes`), made once and kept: nothing is allocated per comparison. */
export function sameHashBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The last four characters of a key, kept in clear so that an owner can tell keys apart. */
export function keyHint(key: string): string {
  return key.slice(-4);
}
