import { constants } from 'node:crypto';

/**
 * JWS algorithms Gatehouse verifies (RFC 7518 §3, RFC 8037), and how node:crypto verifies each.
 * The algorithm a token may use is decided by the KEY that verifies it (its type, curve, size and
 * JWK `alg`), intersected with the configured allow-list; the token's header only selects among
 * those. `none` is never in this table.
 */
export type KeyKind = 'RSA' | 'EC' | 'OKP' | 'oct';

export interface AlgSpec {
  readonly name: string;
  readonly kind: KeyKind;
  /** digest for crypto.verify / createHmac; null for EdDSA */
  readonly hash: string | null;
  /** RSA padding (PKCS#1 v1.5 or PSS) */
  readonly padding?: number;
  /** PSS salt length = digest length (RFC 7518 §3.5) */
  readonly saltLength?: number;
  /** EC: the named curve node reports, and the exact raw (r||s) signature length */
  readonly curve?: string;
  readonly sigLength?: number;
  /** HMAC: minimum secret length in bytes (RFC 7518 §3.2: at least the digest size) */
  readonly minSecret?: number;
}

const RSA_PKCS1 = constants.RSA_PKCS1_PADDING;
const RSA_PSS = constants.RSA_PKCS1_PSS_PADDING;

export const ALGORITHMS: Readonly<Record<string, AlgSpec>> = Object.freeze({
  RS256: { name: 'RS256', kind: 'RSA', hash: 'sha256', padding: RSA_PKCS1 },
  RS384: { name: 'RS384', kind: 'RSA', hash: 'sha384', padding: RSA_PKCS1 },
  RS512: { name: 'RS512', kind: 'RSA', hash: 'sha512', padding: RSA_PKCS1 },
  PS256: { name: 'PS256', kind: 'RSA', hash: 'sha256', padding: RSA_PSS, saltLength: 32 },
  PS384: { name: 'PS384', kind: 'RSA', hash: 'sha384', padding: RSA_PSS, saltLength: 48 },
  PS512: { name: 'PS512', kind: 'RSA', hash: 'sha512', padding: RSA_PSS, saltLength: 64 },
  ES256: { name: 'ES256', kind: 'EC', hash: 'sha256', curve: 'prime256v1', sigLength: 64 },
  ES384: { name: 'ES384', kind: 'EC', hash: 'sha384', curve: 'secp384r1', sigLength: 96 },
  ES512: { name: 'ES512', kind: 'EC', hash: 'sha512', curve: 'secp521r1', sigLength: 132 },
  EdDSA: { name: 'EdDSA', kind: 'OKP', hash: null },
  HS256: { name: 'HS256', kind: 'oct', hash: 'sha256', minSecret: 32 },
  HS384: { name: 'HS384', kind: 'oct', hash: 'sha384', minSecret: 48 },
  HS512: { name: 'HS512', kind: 'oct', hash: 'sha512', minSecret: 64 },
} satisfies Record<string, AlgSpec>);

export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as readonly string[];

/** The default allow-list: every asymmetric algorithm. HS* only when configured with a secret. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** RSA keys under this many bits are refused (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

/** `Object.hasOwn` lookup so that `__proto__`, `constructor`... are never algorithms. */
export function algSpec(name: unknown): AlgSpec | undefined {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(ALGORITHMS, name) ? ALGORITHMS[name] : undefined;
}
