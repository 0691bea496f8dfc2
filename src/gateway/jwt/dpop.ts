import { createHash } from 'node:crypto';
import type { Exchange } from '../exchange.js';
import type { CounterStore } from '../../state/types.js';
import type { PolicyContext } from '../policy.js';
import { countHeader } from '../../net/headers.js';
import { keyFromJwk, KeyImportError } from './keys.js';
import { parseToken, verifySignature, type TokenFailure } from './token.js';

/**
 * DPoP proofs (RFC 9449 §4.3, §7): checking that the caller holds the key a token is bound to
 * (`cnf.jkt`) for this very request. Everything but the replay check, which needs the counter
 * store and is the caller's (`replayKey`).
 */
export interface DpopRules {
  /** algorithms a proof may be signed with (asymmetric only) */
  readonly algorithms: ReadonlySet<string>;
  /** seconds: how old a proof's iat may be */
  readonly maxAge: number;
  /** seconds of clock skew allowed on iat, both ways */
  readonly skew: number;
  /** origins (`scheme://host[:port]`) a proof's htu may name besides the request's own */
  readonly origins: readonly string[];
}

export interface ProofRequest {
  /** upper-case method */
  readonly method: string;
  /** `scheme://host[:port]` the request arrived at */
  readonly origin: string;
  /** the request target's path, as sent (no query) */
  readonly path: string;
}

export interface CheckedProof {
  readonly jti: string;
  readonly iat: number;
}

const TYPES: ReadonlySet<string> = new Set(['dpop+jwt']);
/** JWK members that only a private or secret key has: a proof carries the public key only */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** a proof larger than this is refused before parsing (a P-521 or RSA-4096 proof is well under) */
export const MAX_PROOF_SIZE = 8192;
const MAX_JTI = 512;

const fail = (detail: string): TokenFailure => ({ code: 'token-dpop-proof-invalid', detail });

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA, EC or OKP key, or undefined. */
export function jwkThumbprint(jwk: Record<string, unknown>): string | undefined {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'OKP' ? ['crv', 'kty', 'x'] : undefined;
  if (members === undefined) return undefined;
  const canonical: Record<string, string> = {};
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string') return undefined;
    canonical[m] = v;
  }
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/** base64url SHA-256 of an access token: a proof's `ath` */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/** The replay-store key of a proof: bounded length whatever the client sent. */
export function replayKey(jkt: string, jti: string): string {
  return 'dpop:' + createHash('sha256').update(`${jkt}\u0000${jti}`).digest('base64url');
}

/** `htu` compared as RFC 9449 §4.3 asks: without query and fragment, after URL normalization. */
function htuMatches(htu: unknown, req: ProofRequest, extra: readonly string[]): boolean {
  if (typeof htu !== 'string') return false;
  const u = URL.parse(htu);
  if (u === null || (u.protocol !== 'https:' && u.protocol !== 'http:')) return false;
  const target = URL.parse(req.path, 'http://x');
  if (target === null) return false;
  if (u.pathname !== target.pathname) return false;
  return u.origin === URL.parse(req.origin)?.origin || extra.includes(u.origin);
}

/**
 * Check a DPoP proof for `accessToken`, bound to `jkt`, against the request. Returns the proof's
 * jti and iat (for the replay check), or a failure whose detail is safe to send.
 */
export function checkProof(proof: string, rules: DpopRules, req: ProofRequest, accessToken: string, jkt: string, nowMs: number): CheckedProof | TokenFailure {
  if (proof.length > MAX_PROOF_SIZE) return fail('The DPoP proof is too large.');
  const t = parseToken(proof, rules.algorithms, false, TYPES);
  if ('code' in t) return fail(`The DPoP proof is not valid: ${t.detail}`);
  if (t.header.typ === undefined) return fail('The DPoP proof has no typ "dpop+jwt".');
  const jwk = t.header.jwk;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return fail('The DPoP proof has no public key (jwk) in its header.');
  const j = jwk as Record<string, unknown>;
  for (const m of PRIVATE_MEMBERS) if (j[m] !== undefined) return fail('The DPoP proof header carries a private or secret key.');
  if (jwkThumbprint(j) !== jkt) return fail('The DPoP proof key is not the key the token is bound to.');
  let key;
  try {
    key = keyFromJwk(j);
  } catch (e) {
    if (e instanceof KeyImportError) return fail('The DPoP proof key is not usable.');
    throw e;
  }
  if (!key.algs.has(t.alg)) return fail(`The DPoP proof key does not allow ${t.alg}.`);
  if (!verifySignature(t, key)) return fail('The DPoP proof signature is invalid.');
  const c = t.claims;
  if (typeof c.jti !== 'string' || c.jti === '' || c.jti.length > MAX_JTI) return fail('The DPoP proof has no valid jti.');
  if (c.htm !== req.method) return fail('The DPoP proof was made for another method (htm).');
  if (!htuMatches(c.htu, req, rules.origins)) return fail('The DPoP proof was made for another URL (htu).');
  if (typeof c.iat !== 'number' || !Number.isFinite(c.iat)) return fail('The DPoP proof has no valid iat.');
  const now = nowMs / 1000;
  if (c.iat > now + rules.skew) return fail('The DPoP proof was issued in the future (iat).');
  if (c.iat < now - rules.maxAge - rules.skew) return fail('The DPoP proof is too old (iat).');
  if (c.ath !== accessTokenHash(accessToken)) return fail('The DPoP proof was not made for this access token (ath).');
  return { jti: c.jti, iat: c.iat };
}

/** validate-jwt's `dpop` settings */
export interface DpopConfig {
  readonly required: boolean;
  readonly 'proof-max-age': number;
  readonly algorithms: readonly string[];
  readonly origins: readonly string[];
}

export type SenderResult = TokenFailure | undefined;

/** true when the request's Authorization header uses the DPoP scheme */
export function usesDpopScheme(ex: Exchange): boolean {
  const v = ex.req.headers.authorization;
  return v !== undefined && v.length > 5 && v.charCodeAt(4) === 32 && v.slice(0, 4).toLowerCase() === 'dpop';
}

const REQUIRED_BOUND: TokenFailure = { code: 'token-dpop-required', detail: 'The token is bound to a key: send it as "Authorization: DPoP <token>" with a DPoP proof.' };
const REQUIRED_API: TokenFailure = { code: 'token-dpop-required', detail: 'This API accepts only DPoP-bound tokens.' };
const UNBOUND: TokenFailure = fail('The token is not bound to a key (no cnf.jkt); send it as a Bearer token.');
const REPLAYED: TokenFailure = fail('The DPoP proof was used before (jti).');
const UNAVAILABLE: TokenFailure = { code: 'token-dpop-unavailable', detail: 'DPoP proofs cannot be checked right now; retry shortly.' };

/**
 * The sender check of validate-jwt: a token with `cnf.jkt` passes only with the DPoP scheme and
 * one valid, unused proof of that key for this request; an unbound token passes as a Bearer
 * token unless `required`. Synchronous except for the replay check on a remote store.
 */
export function senderCheck(dpop: DpopConfig, skew: number, ctx: Pick<PolicyContext, 'store' | 'logger' | 'gateway'>): (ex: Exchange, token: string, jkt: string | undefined) => SenderResult | Promise<SenderResult> {
  const rules: DpopRules = { algorithms: new Set(dpop.algorithms), maxAge: dpop['proof-max-age'], skew, origins: dpop.origins.map((u) => new URL(u).origin) };
  const required = dpop.required;
  const windowMs = Math.max(1000, (rules.maxAge + 2 * skew) * 1000);
  // the store that remembers proofs: created on the first bound token, so a gateway that never
  // sees one never needs it
  let store: CounterStore | undefined;
  const replayStore = (): CounterStore | undefined => {
    if (store === undefined) {
      try {
        store = ctx.store();
      } catch {
        return undefined;
      }
      if (store.kind === 'memory' && ctx.gateway.workers > 1) {
        ctx.logger.warn('DPoP proofs are remembered per worker (gateway.store is memory): a proof replayed to another worker within proof-max-age is not detected; use a redis store');
      }
    }
    return store;
  };
  return (ex, token, jkt) => {
    const scheme = usesDpopScheme(ex);
    if (jkt === undefined) return scheme ? UNBOUND : required ? REQUIRED_API : undefined;
    if (!scheme) return REQUIRED_BOUND;
    const n = countHeader(ex.req.rawHeaders, 'dpop');
    if (n !== 1) return fail(n === 0 ? 'A DPoP proof (the DPoP header) is required.' : 'The request has more than one DPoP header.');
    const proof = ex.req.headers.dpop as string;
    const target = ex.req.url ?? ex.path;
    const q = target.indexOf('?');
    const host = ex.req.headers.host ?? (ex.req.headers[':authority'] as string | undefined);
    const req: ProofRequest = { method: ex.method, origin: host ? `${ex.protocol}://${host}` : '', path: q === -1 ? target : target.slice(0, q) };
    const checked = checkProof(proof, rules, req, token, jkt, Date.now());
    if ('code' in checked) return checked;
    const s = replayStore();
    if (s === undefined) return UNAVAILABLE;
    const d = s.slidingHit(replayKey(jkt, checked.jti), 1, windowMs, 1);
    if (d === null) return UNAVAILABLE;
    if (!(d instanceof Promise)) return d.allowed ? undefined : REPLAYED;
    return d.then((x) => (x === null ? UNAVAILABLE : x.allowed ? undefined : REPLAYED), () => UNAVAILABLE);
  };
}

/**
 * The key a token is bound to: `cnf.jkt`, undefined when the token is not bound, or a failure
 * for a malformed `cnf`.
 */
export function boundKey(claims: Record<string, unknown>): string | undefined | TokenFailure {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) return { code: 'token-malformed', detail: 'The token cnf claim is not an object.' };
  const jkt = (cnf as Record<string, unknown>).jkt;
  if (jkt === undefined) return undefined;
  if (typeof jkt !== 'string' || jkt === '') return { code: 'token-malformed', detail: 'The token cnf.jkt is not a key thumbprint.' };
  return jkt;
}
