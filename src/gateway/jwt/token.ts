import { createHmac, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { AlgSpec } from './algorithms.js';
import { algSpec } from './algorithms.js';
import type { VerifyKey } from './keys.js';

/** Stable reason codes of token validation (problem `code`, logs, metrics). */
export type TokenCode =
  | 'token-missing' | 'token-expired' | 'token-not-yet-valid' | 'token-signature-invalid'
  | 'token-audience-invalid' | 'token-issuer-invalid' | 'token-algorithm-not-allowed'
  | 'token-malformed' | 'token-claim-not-allowed' | 'token-too-large' | 'token-ambiguous'
  | 'token-keys-unavailable'
  | 'token-dpop-required' | 'token-dpop-proof-invalid' | 'token-dpop-unavailable';

export interface TokenFailure {
  readonly code: TokenCode;
  /** safe for clients: says what failed, never echoes key material */
  readonly detail: string;
}

/** A compact JWS split and decoded, not yet verified. */
export interface ParsedToken {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly alg: string;
  readonly spec: AlgSpec;
  readonly kid: string | undefined;
  /** `base64url(header).base64url(payload)` as bytes */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

/** pseudo-algorithm of an unsigned token, only ever produced when require-signed-tokens is false */
export const UNSIGNED: AlgSpec = Object.freeze({ name: 'none', kind: 'oct', hash: null });

const fail = (code: TokenCode, detail: string): TokenFailure => ({ code, detail });

/** base64url alphabet only, and not a length that no encoding produces (4n+1). */
function isB64Url(s: string): boolean {
  if (s.length % 4 === 1) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return false;
  }
  return true;
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

const TYPES = new Set(['jwt', 'at+jwt', 'application/jwt', 'application/at+jwt']);

/**
 * Split and decode a compact JWS. Structural checks only; the signature is checked by
 * `verifySignature` with a key the caller chose. `allowed` is the configured allow-list.
 *
 * Refused here: anything but three base64url segments (JWE has five), a header or payload that
 * is not a JSON object, `alg: none` in any spelling, an algorithm outside the allow-list, a
 * `crit` header (no extension is understood), a `typ` other than JWT / at+jwt (or `types`), an empty
 * signature. `jku`, `x5u`, `jwk` and `x5c` headers are ignored: keys come from configuration only.
 */
export function parseToken(token: string, allowed: ReadonlySet<string>, allowUnsigned = false, types: ReadonlySet<string> = TYPES): ParsedToken | TokenFailure {
  const d1 = token.indexOf('.');
  const d2 = d1 === -1 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 === -1) return fail('token-malformed', 'The token is not a compact JWS (three dot-separated parts).');
  if (token.indexOf('.', d2 + 1) !== -1) {
    return fail('token-malformed', 'The token has more than three parts; encrypted (JWE) tokens are not accepted.');
  }
  const h = token.slice(0, d1);
  const p = token.slice(d1 + 1, d2);
  const s = token.slice(d2 + 1);
  if (h === '' || p === '' || !isB64Url(h) || !isB64Url(p) || !isB64Url(s)) {
    return fail('token-malformed', 'The token is not valid base64url.');
  }
  const header = decodeJsonObject(h);
  if (header === undefined) return fail('token-malformed', 'The token header is not a JSON object.');
  const alg = header.alg;
  if (typeof alg !== 'string') return fail('token-malformed', 'The token header has no algorithm.');
  if (alg.toLowerCase() === 'none') {
    if (!(allowUnsigned && alg === 'none' && s === '')) return fail('token-algorithm-not-allowed', 'Unsigned tokens (alg "none") are not accepted.');
  }
  const spec = alg === 'none' ? UNSIGNED : algSpec(alg);
  if (spec === undefined || (spec !== UNSIGNED && !allowed.has(alg))) return fail('token-algorithm-not-allowed', `Tokens signed with ${safe(alg)} are not accepted.`);
  if (header.crit !== undefined) return fail('token-malformed', 'The token has critical header parameters that are not understood.');
  if (header.typ !== undefined && (typeof header.typ !== 'string' || !types.has(header.typ.toLowerCase()))) {
    return fail('token-malformed', types === TYPES ? 'The token type is not JWT or at+jwt.' : `The token type is not ${[...types].join(' or ')}.`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') return fail('token-malformed', 'The token kid is not a string.');
  if (s === '' && spec !== UNSIGNED) return fail('token-signature-invalid', 'The token has no signature.');
  const claims = decodeJsonObject(p);
  if (claims === undefined) return fail('token-malformed', 'The token payload is not a JSON object.');
  return {
    header, claims, alg, spec, kid: header.kid as string | undefined,
    signingInput: Buffer.from(token.slice(0, d2), 'latin1'),
    signature: Buffer.from(s, 'base64url'),
  };
}

/** A short, printable excerpt of a client-supplied string for a message. */
export function safe(v: string): string {
  const cut = v.length > 32 ? `${v.slice(0, 32)}…` : v;
  return JSON.stringify(cut.replace(/[^\x20-\x7e]/g, '?'));
}

/**
 * Check the signature with node:crypto. The caller guarantees `key.algs.has(parsed.alg)`: the
 * algorithm is the key's, never the token's alone. Never throws.
 */
export function verifySignature(t: ParsedToken, key: VerifyKey): boolean {
  const spec = t.spec;
  try {
    switch (spec.kind) {
      case 'oct': {
        const mac = createHmac(spec.hash!, key.key as Buffer).update(t.signingInput).digest();
        return mac.length === t.signature.length && timingSafeEqual(mac, t.signature);
      }
      case 'EC':
        if (t.signature.length !== spec.sigLength) return false;
        return cryptoVerify(spec.hash, t.signingInput, { key: key.key as KeyObject, dsaEncoding: 'ieee-p1363' }, t.signature);
      case 'RSA':
        return cryptoVerify(spec.hash, t.signingInput, { key: key.key as KeyObject, padding: spec.padding, saltLength: spec.saltLength }, t.signature);
      case 'OKP':
        return cryptoVerify(null, t.signingInput, key.key as KeyObject, t.signature);
    }
  } catch {
    return false;
  }
  return false;
}
