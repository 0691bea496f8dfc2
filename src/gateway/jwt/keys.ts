import { createPublicKey, createHash, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ALGORITHMS, MIN_RSA_BITS, algSpec, type KeyKind } from './algorithms.js';

/**
 * A key that verifies token signatures, imported once (at load or JWKS refresh) into a
 * node:crypto KeyObject (or a Buffer for HMAC secrets) so the hot path does no parsing.
 */
export interface VerifyKey {
  /** `kid` of the JWK or configured; undefined when none */
  readonly kid: string | undefined;
  readonly kind: KeyKind;
  /** algorithms this key may verify: from its type/curve/size, narrowed by JWK `alg` */
  readonly algs: ReadonlySet<string>;
  readonly key: KeyObject | Buffer;
  /** the issuer bound to this key (a discovery document's `issuer`), if any */
  readonly issuer: string | undefined;
  /** stable identity of the key material (for rotation diffs and logs) */
  readonly fingerprint: string;
  /** false once the key has left its JWKS: cached tokens it verified are no longer served */
  active: boolean;
}

export class KeyImportError extends Error {}

const CURVE_ALG: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

function narrow(all: string[], alg: unknown, what: string): Set<string> {
  if (alg === undefined) return new Set(all);
  if (typeof alg !== 'string' || !all.includes(alg)) {
    throw new KeyImportError(`${what} cannot be used with alg ${JSON.stringify(alg)}; it allows ${all.join(', ')}`);
  }
  return new Set([alg]);
}

/** The algorithms an asymmetric public key allows, or a KeyImportError. */
function asymmetricAlgs(key: KeyObject, alg: unknown): { kind: KeyKind; algs: Set<string> } {
  if (key.type !== 'public') throw new KeyImportError('not a public key');
  const t = key.asymmetricKeyType;
  if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new KeyImportError(`RSA key of ${bits} bits refused: at least ${MIN_RSA_BITS} bits are required`);
    return { kind: 'RSA', algs: narrow(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'], alg, 'an RSA key') };
  }
  if (t === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new KeyImportError(`RSA key of ${bits} bits refused: at least ${MIN_RSA_BITS} bits are required`);
    return { kind: 'RSA', algs: narrow(['PS256', 'PS384', 'PS512'], alg, 'an RSA-PSS key') };
  }
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const a = CURVE_ALG[curve];
    if (a === undefined) throw new KeyImportError(`EC curve ${curve || '(unknown)'} is not supported; use P-256, P-384 or P-521`);
    return { kind: 'EC', algs: narrow([a], alg, `a ${curve} key`) };
  }
  if (t === 'ed25519' || t === 'ed448') {
    return { kind: 'OKP', algs: narrow(['EdDSA'], alg === 'Ed25519' && t === 'ed25519' ? 'EdDSA' : alg, `an ${t} key`) };
  }
  throw new KeyImportError(`key type ${t ?? '(unknown)'} is not supported for signatures`);
}

function fingerprintOf(key: KeyObject | Buffer): string {
  // a secret gets a random id: even a hash of it is never logged
  if (Buffer.isBuffer(key)) return `secret-${randomUUID().slice(0, 8)}`;
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 22);
}

function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new KeyImportError(`JWK "${name}" must be a string`);
  return v;
}

/**
 * Import a public JWK (RSA, EC, OKP). Symmetric (`oct`) keys are refused here: a secret is never
 * taken from a JWKS document (which is public) — configure it with `secret`.
 * Keys with `use` other than `sig`, or `key_ops` without `verify`, are refused.
 */
export function keyFromJwk(jwk: unknown, opts: { issuer?: string; kid?: string; alg?: string } = {}): VerifyKey {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new KeyImportError('a JWK must be a JSON object');
  const j = jwk as Record<string, unknown>;
  if (j.kty === 'oct') throw new KeyImportError('symmetric (oct) JWKs are not accepted; configure an HMAC secret with `secret`');
  if (j.kty !== 'RSA' && j.kty !== 'EC' && j.kty !== 'OKP') throw new KeyImportError(`unsupported JWK kty ${JSON.stringify(j.kty)}`);
  const use = optionalString(j.use, 'use');
  if (use !== undefined && use !== 'sig') throw new KeyImportError(`JWK with use "${use}" is not a signature key`);
  if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes('verify'))) {
    throw new KeyImportError('JWK key_ops does not include "verify"');
  }
  const kid = opts.kid ?? optionalString(j.kid, 'kid');
  const jwkAlg = optionalString(j.alg, 'alg');
  if (opts.alg !== undefined && jwkAlg !== undefined && opts.alg !== jwkAlg) {
    throw new KeyImportError(`configured alg ${opts.alg} differs from the JWK's alg ${jwkAlg}`);
  }
  // only the public members go to node (a JWKS that leaks `d` must not make us hold a private key)
  const pub: Record<string, unknown> = { kty: j.kty };
  for (const m of j.kty === 'RSA' ? ['n', 'e'] : ['crv', 'x', 'y']) if (j[m] !== undefined) pub[m] = j[m];
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new KeyImportError(`invalid ${String(j.kty)} JWK: ${(e as Error).message}`);
  }
  const { kind, algs } = asymmetricAlgs(key, opts.alg ?? jwkAlg);
  return { kid, kind, algs, key, issuer: opts.issuer, fingerprint: fingerprintOf(key), active: true };
}

/** Import a PEM public key, certificate, or private key (its public half is used). */
export function keyFromPem(pem: string, opts: { kid?: string; alg?: string } = {}): VerifyKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new KeyImportError(`not a PEM public key or certificate: ${(e as Error).message}`);
  }
  const { kind, algs } = asymmetricAlgs(key, opts.alg);
  return { kid: opts.kid, kind, algs, key, issuer: undefined, fingerprint: fingerprintOf(key), active: true };
}

/**
 * An HMAC secret given as base64 (or base64url). It may verify every HS* algorithm whose minimum
 * length (the digest size, RFC 7518 §3.2) it meets, narrowed by `alg`.
 */
export function keyFromSecret(b64: string, opts: { kid?: string; alg?: string } = {}): VerifyKey {
  const text = b64.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new KeyImportError('the secret must be base64 encoded');
  const secret = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const all = ['HS256', 'HS384', 'HS512'].filter((a) => secret.length >= ALGORITHMS[a]!.minSecret!);
  if (all.length === 0) throw new KeyImportError(`the secret is ${secret.length} bytes; HS256 needs at least 32 (RFC 7518 §3.2)`);
  if (opts.alg !== undefined && !all.includes(opts.alg)) {
    const spec = algSpec(opts.alg);
    throw new KeyImportError(spec?.kind === 'oct'
      ? `the secret is ${secret.length} bytes; ${opts.alg} needs at least ${spec.minSecret}`
      : `a secret cannot be used with ${opts.alg}`);
  }
  const algs = opts.alg !== undefined ? new Set([opts.alg]) : new Set(all);
  return { kid: opts.kid, kind: 'oct', algs, key: secret, issuer: undefined, fingerprint: fingerprintOf(secret), active: true };
}
