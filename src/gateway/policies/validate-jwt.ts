import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { definePolicy, type PolicyContext } from '../policy.js';
import type { Exchange, Claims } from '../exchange.js';
import { type Reply } from '../reply.js';
import { problem } from '../problems.js';
import { ConfigError } from '../../config/errors.js';
import { duration, size } from '../../config/units.js';
import { ALGORITHM_NAMES, DEFAULT_ALGORITHMS, algSpec } from '../jwt/algorithms.js';
import { keyFromJwk, keyFromPem, keyFromSecret, KeyImportError, type VerifyKey } from '../jwt/keys.js';
import { acquireSource, expectedIssuer, type RemoteSourceOptions } from '../jwt/remote-source.js';
import { fixedKeySource, type KeySource } from '../jwt/source.js';
import { FetchError } from '../../net/fetch.js';
import { TokenValidator, type ValidationResult } from '../jwt/validator.js';
import { TokenCache } from '../jwt/cache.js';
import { RequiredClaims, compileClaimRules } from '../jwt/claims.js';
import type { TokenCode, TokenFailure } from '../jwt/token.js';
import { bearerChallenge, deepFreeze, dpopChallenge } from '../jwt/http.js';
import { boundKey, senderCheck } from '../jwt/dpop.js';
import { tokenPlace } from '../jwt/extract.js';
import { applyClaimHeaders, claimForwarding, tokenRemover, type ClaimHeaders } from '../jwt/forward.js';
import { HeaderName, Realm, VariableName, errorStatus } from './kit/fields.js';

const Algorithm = z.enum(ALGORITHM_NAMES as [string, ...string[]]);
const ProofAlgorithm = z.enum(DEFAULT_ALGORITHMS as [string, ...string[]]);

const isOrigin = (u: string) => {
  const p = URL.parse(u);
  return p !== null && (p.protocol === 'https:' || p.protocol === 'http:') && p.pathname === '/' && !u.endsWith('//') && p.search === '' && p.hash === '' && p.username === '' && p.password === '';
};

const Dpop = z.strictObject({
  required: z.boolean().default(false).describe('accept only DPoP-bound tokens; by default a bound token needs a proof and an unbound one passes as a Bearer token'),
  'proof-max-age': duration({ min: 1, max: 300 }).default(60).describe('how old a proof (its iat) may be; proofs are remembered this long (plus clock-skew) to refuse a second use'),
  algorithms: z.array(ProofAlgorithm).min(1).default([...DEFAULT_ALGORITHMS]).describe('algorithms a proof may be signed with (asymmetric only)'),
  origins: z.array(z.url().refine(isOrigin, 'an origin: http(s)://host[:port], no path, query or credentials')).default([])
    .describe('public origins (https://api.example.com) a proof\'s htu may name besides the one the request arrived at (listener scheme and Host): list them when a proxy in front changes the scheme or host'),
}).describe('DPoP (RFC 9449). A token bound to a key (`cnf.jkt`) is accepted only as `Authorization: DPoP <token>` with one DPoP proof of that key for this request (htm, htu, iat, ath) that was not used before (remembered in `gateway.store`); presented as a Bearer token it is refused.');

const IssuerSigningKey = z.strictObject({
  kid: z.string().min(1).optional().describe('key id: a token naming this kid is checked with this key (a key without kid is tried for every token)'),
  alg: Algorithm.optional().describe('the one algorithm this key may verify (default: every algorithm its type allows)'),
  jwk: z.record(z.string(), z.unknown()).optional().describe('a public JWK (RSA, EC or OKP)'),
  pem: z.string().optional().describe('a PEM public key or certificate'),
  file: z.string().optional().describe('a file with a PEM key, a JWK or a JWKS (relative to the config file)'),
  secret: z.string().optional().describe('a base64 HMAC secret for HS256/384/512 (at least 32/48/64 bytes)'),
});

export const ValidateJwtConfig = z.strictObject({
  'header-name': HeaderName.optional().describe('request header carrying the token (default Authorization)'),
  'query-parameter-name': z.string().min(1).optional().describe('query parameter carrying the token, instead of a header'),
  'cookie-name': z.string().min(1).optional().describe('cookie carrying the token, instead of a header'),
  'require-scheme': z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]*$/).default('Bearer').describe('authorization scheme before the token in the header, matched case-insensitively ("" for a bare token)'),
  'max-token-size': size({ min: 64, max: 65536 }).default(8192).describe('tokens larger than this are refused before any parsing'),
  'openid-config': z.union([z.string(), z.array(z.string()).min(1)]).optional().describe('OpenID Connect discovery URL(s); their JWKS provide the signing keys'),
  'issuer-signing-keys': z.array(IssuerSigningKey).default([]).describe('signing keys configured directly: JWK, PEM, file or base64 HMAC secret'),
  audiences: z.array(z.string().min(1)).default([]).describe('accepted audiences (any of); empty: aud is not checked'),
  issuers: z.array(z.string().min(1)).default([]).describe('accepted issuers (any of); with openid-config, the discovery issuer must be one of them'),
  'require-expiration-time': z.boolean().default(true).describe('refuse tokens without exp'),
  'require-signed-tokens': z.boolean().default(true).describe('refuse unsigned tokens (alg none); leave true'),
  'clock-skew': duration({ max: 300 }).default(0).describe('tolerance for exp, nbf and iat (max 300s)'),
  algorithms: z.array(Algorithm).min(1).optional().describe('accepted algorithms (default: RS*, PS*, ES*, EdDSA, and HS* when a secret is configured)'),
  'required-claims': RequiredClaims,
  'failed-validation-httpcode': errorStatus(401, 'status for a missing or invalid token'),
  'failed-validation-error-message': z.string().optional().describe('detail sent instead of the specific reason (the reason code is always sent)'),
  'claims-failure-httpcode': errorStatus(403, 'status for a valid token that fails required-claims'),
  realm: Realm,
  'output-token-variable-name': VariableName.optional().describe('also store the claims under this variable name for later policies'),
  'forward-claims': z.record(z.string().min(1), HeaderName).default({}).describe('claim → backend header (e.g. sub: X-User-Id); the header is always removed from the incoming request first'),
  'forward-token': z.boolean().default(true).describe('false: remove the token from the request sent to the backend'),
  'keys-cache-duration': duration({ min: 1, max: 86400 * 7 }).default(3600).describe('how long fetched keys are cached (Cache-Control max-age honoured within bounds)'),
  'keys-refresh-cooldown': duration({ min: 0, max: 3600 }).default(30).describe('minimum time between key fetches caused by unknown kids or failures; one exception per window lets a kid published just after such a fetch in early (a sixth of it later, at most 5 s; never while more than 8 distinct unknown kids arrive)'),
  'keys-max-stale': duration({ min: 1 }).default(86400).describe('how long the last good keys keep working while fetches fail'),
  'keys-fetch-timeout': duration({ min: 0.1, max: 60 }).default(5).describe('timeout of a discovery or JWKS fetch'),
  'keys-max-size': size({ min: 1024, max: 10 * 1024 * 1024 }).default(256 * 1024).describe('size limit of a discovery or JWKS document'),
  'allow-insecure-http': z.boolean().default(false).describe('allow http discovery URLs on non-loopback hosts (never in production)'),
  dpop: Dpop.default({ required: false, 'proof-max-age': 60, algorithms: [...DEFAULT_ALGORITHMS], origins: [] }),
  'token-cache': z.strictObject({
    'max-entries': z.number().int().min(0).default(10000).describe('verified tokens kept (0 disables the cache)'),
    'max-size': size().default(16 * 1024 * 1024).describe('bytes of verified tokens kept'),
  }).default({ 'max-entries': 10000, 'max-size': 16 * 1024 * 1024 }).describe('verified-token cache of this policy'),
});
export type ValidateJwtConfig = z.output<typeof ValidateJwtConfig>;

/** What a cache hit restores: the claims and the backend header values derived from them. */
interface Accepted {
  claims: Claims;
  headers: ClaimHeaders;
  /** the key the token is bound to (cnf.jkt): every request needs a proof of it */
  jkt: string | undefined;
}

function loadStaticKeys(config: ValidateJwtConfig, ctx: PolicyContext): VerifyKey[] {
  const out: VerifyKey[] = [];
  config['issuer-signing-keys'].forEach((entry, i) => {
    const path = ['issuer-signing-keys', i];
    const given = (['jwk', 'pem', 'file', 'secret'] as const).filter((k) => entry[k] !== undefined);
    if (given.length !== 1) throw new ConfigError('give exactly one of jwk, pem, file or secret', path);
    const opts = { kid: entry.kid, alg: entry.alg };
    try {
      if (entry.jwk !== undefined) out.push(keyFromJwk(entry.jwk, opts));
      else if (entry.pem !== undefined) out.push(keyFromPem(entry.pem, opts));
      else if (entry.secret !== undefined) out.push(keyFromSecret(entry.secret, opts));
      else {
        let text: string;
        try {
          text = readFileSync(resolve(ctx.configDir, entry.file!), 'utf8');
        } catch (e) {
          throw new ConfigError(`cannot read ${entry.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [...path, 'file']);
        }
        if (text.trimStart().startsWith('{')) {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw new ConfigError(`${entry.file} is not valid JSON`, [...path, 'file']);
          }
          const keys = (json as { keys?: unknown }).keys;
          if (Array.isArray(keys)) for (const k of keys) out.push(keyFromJwk(k, { alg: entry.alg, kid: entry.kid ?? undefined }));
          else out.push(keyFromJwk(json, opts));
        } else {
          out.push(keyFromPem(text, opts));
        }
      }
    } catch (e) {
      if (e instanceof KeyImportError) throw new ConfigError(e.message, path);
      throw e;
    }
  });
  return out;
}

function resolveAlgorithms(config: ValidateJwtConfig, keys: VerifyKey[]): Set<string> {
  const secretAlgs = new Set<string>();
  for (const k of keys) if (k.kind === 'oct') for (const a of k.algs) secretAlgs.add(a);
  if (config.algorithms === undefined) return new Set([...DEFAULT_ALGORITHMS, ...secretAlgs]);
  config.algorithms.forEach((a, i) => {
    if (algSpec(a)?.kind === 'oct' && !secretAlgs.has(a)) {
      throw new ConfigError(`${a} needs an HMAC secret (issuer-signing-keys: - secret: ...) long enough for it`, ['algorithms', i]);
    }
  });
  return new Set(config.algorithms);
}

/**
 * In `gatehouse test`: the test keys, when this validate-jwt accepts the issuer they stand in for
 * (one of `issuers`, or the issuer the discovery URL implies). Never set outside the test runner.
 */
function standInSource(config: ValidateJwtConfig, ctx: PolicyContext, url?: string): KeySource | undefined {
  const s = ctx.standInKeys;
  if (s === undefined) return undefined;
  const accepts = config.issuers.length > 0 ? config.issuers.includes(s.issuer) : url !== undefined && expectedIssuer(url) === s.issuer;
  return accepts ? fixedKeySource(s.keys) : undefined;
}

/** The key sources of `openid-config`: one per discovery URL and options, shared by every validate-jwt of the config. */
function remoteSources(config: ValidateJwtConfig, ctx: PolicyContext): KeySource[] {
  const urls = config['openid-config'] === undefined ? [] : Array.isArray(config['openid-config']) ? config['openid-config'] : [config['openid-config']];
  return urls.map((url, i) => {
    const path = Array.isArray(config['openid-config']) ? ['openid-config', i] : ['openid-config'];
    if (config.issuers.length === 0 && expectedIssuer(url) === undefined) {
      throw new ConfigError('the issuer cannot be derived from this URL (it does not end in /.well-known/openid-configuration); list it under issuers', path);
    }
    const standIn = standInSource(config, ctx, url);
    if (standIn !== undefined) return standIn;
    const opts: RemoteSourceOptions = {
      discoveryUrl: url,
      issuers: config.issuers,
      cacheDuration: config['keys-cache-duration'],
      cooldown: config['keys-refresh-cooldown'],
      maxStale: config['keys-max-stale'],
      timeout: config['keys-fetch-timeout'],
      maxBytes: config['keys-max-size'],
      allowInsecureHttp: config['allow-insecure-http'],
    };
    const source = ctx.shared(`validate-jwt:keys:${JSON.stringify(opts)}`, () => {
      try {
        const { source: s, release } = acquireSource(opts, ctx.logger, ctx.metrics);
        ctx.onClose(release);
        // the first fetch once the gateway listens (it may fetch from itself)
        ctx.onStart(() => s.start());
        return s;
      } catch (e) {
        if (e instanceof FetchError) throw new ConfigError(e.message, path);
        throw e;
      }
    });
    ctx.readiness(`validate-jwt keys ${url}`, () => source.available);
    return source;
  });
}

/** The token validator of one validate-jwt: its keys, algorithms and the checks of the token's claims. */
function tokenValidator(config: ValidateJwtConfig, ctx: PolicyContext): TokenValidator {
  const staticKeys = loadStaticKeys(config, ctx);
  const sources = remoteSources(config, ctx);
  const standIn = config['openid-config'] === undefined ? standInSource(config, ctx) : undefined;
  if (standIn !== undefined) sources.push(standIn);
  if (sources.length === 0 && staticKeys.length === 0) throw new ConfigError('give openid-config or issuer-signing-keys: without keys no token can be valid');
  if (!config['require-signed-tokens']) ctx.logger.warn('require-signed-tokens is false: unsigned tokens are accepted');
  if (config.audiences.length === 0) ctx.logger.warn('validate-jwt without audiences accepts tokens issued for any audience');
  return new TokenValidator({
    algorithms: resolveAlgorithms(config, staticKeys),
    audiences: config.audiences,
    issuers: config.issuers,
    requireExpirationTime: config['require-expiration-time'],
    requireSignedTokens: config['require-signed-tokens'],
    clockSkew: config['clock-skew'],
    staticKeys,
    sources,
  });
}

/** The refusals of one validate-jwt: problem+json with an RFC 6750 (Bearer) or RFC 9449 (DPoP) challenge. */
function rejecter(config: ValidateJwtConfig, realm: string): (code: TokenCode, detail: string) => Reply {
  const failStatus = config['failed-validation-httpcode'];
  const claimsStatus = config['claims-failure-httpcode'];
  const customMessage = config['failed-validation-error-message'];
  const proofAlgs = config.dpop.algorithms.join(' ');
  const missingReply = problem('token-missing', customMessage ?? 'A bearer token is required.', { status: failStatus,
    headers: { 'www-authenticate': `Bearer realm="${realm}"` },
  });
  return (code, detail) => {
    if (code === 'token-keys-unavailable') {
      return problem(code, 'The token signing keys are not available yet; retry shortly.', { headers: { 'retry-after': '5' } });
    }
    if (code === 'token-dpop-unavailable') return problem(code, detail, { headers: { 'retry-after': '1' } });
    if (code === 'token-missing') return missingReply;
    const text = customMessage ?? detail;
    if (code === 'token-dpop-required' || code === 'token-dpop-proof-invalid') {
      const error = code === 'token-dpop-required' ? 'invalid_token' : 'invalid_dpop_proof';
      return problem(code, text, { status: failStatus, headers: { 'www-authenticate': dpopChallenge(realm, proofAlgs, error, text) } });
    }
    const ambiguous = code === 'token-ambiguous';
    const status = ambiguous ? 400 : code === 'token-claim-not-allowed' ? claimsStatus : failStatus;
    const error = ambiguous ? 'invalid_request' : code === 'token-claim-not-allowed' ? 'insufficient_scope' : 'invalid_token';
    return problem(code, text, { status, headers: { 'www-authenticate': bearerChallenge(realm, error, text) } });
  };
}

export const validateJwt = definePolicy({
  name: 'validate-jwt',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline', provides: ['claims'] },
  description:
    'Validates a JWT access token (signature, expiry, issuer, audience, required claims) against keys from an OpenID Connect ' +
    'discovery URL or configured keys. A missing or invalid token is answered 401 (a token without the required claims 403) ' +
    'with a problem+json body and an RFC 6750 WWW-Authenticate challenge; nothing reaches the backend. The claims are ' +
    'available to later policies and templates as {jwt.<claim>}.',
  example: `validate-jwt:
  openid-config: https://login.example.com/.well-known/openid-configuration
  audiences: [api://orders]
  required-claims:
    - { name: scp, match: any, separator: " ", values: [orders.read] }
  forward-claims: { sub: X-User-Id }`,
  schema: ValidateJwtConfig,
  create(config, ctx) {
    // where the token comes from, what checks it, what goes to the backend, how refusals look
    const place = tokenPlace(config);
    const validator = tokenValidator(config, ctx);
    const checkClaims = compileClaimRules(config['required-claims']);
    const checkSender = senderCheck(config.dpop, config['clock-skew'], ctx);
    const cache = new TokenCache<Accepted>(config['token-cache']['max-entries'], config['token-cache']['max-size']);
    const forwarding = claimForwarding(config['forward-claims'], place.header);
    const removeToken = config['forward-token'] ? undefined : tokenRemover(place);
    const varName = config['output-token-variable-name'];
    const reject = rejecter(config, config.realm ?? ctx.api?.name ?? 'gatehouse');
    const unavailable = reject('token-keys-unavailable', '');

    const accept = (ex: Exchange, a: Accepted): undefined => {
      ex.claims = a.claims;
      if (varName !== undefined) ex.setVar(varName, a.claims);
      applyClaimHeaders(ex.upstreamHeaders, a.headers);
      removeToken?.(ex);
      return undefined;
    };

    /** the sender check (DPoP), then `accept` */
    const admit = (ex: Exchange, token: string, a: Accepted): Reply | undefined | Promise<Reply | undefined> => {
      const s = checkSender(ex, token, a.jkt);
      if (s === undefined) return accept(ex, a);
      if (!(s instanceof Promise)) return reject(s.code, s.detail);
      return s.then((f) => (f === undefined ? accept(ex, a) : reject(f.code, f.detail)));
    };

    /** a token just validated: its claims checked, then cached with what it forwards */
    const finish = (ex: Exchange, token: string, r: ValidationResult): Reply | undefined | Promise<Reply | undefined> => {
      if ('code' in r) return reject((r as TokenFailure).code, (r as TokenFailure).detail);
      const jkt = boundKey(r.claims);
      if (typeof jkt === 'object') return reject(jkt.code, jkt.detail);
      const failedClaim = checkClaims(r.claims);
      if (failedClaim !== undefined) {
        return reject('token-claim-not-allowed', `The token's ${failedClaim.slice(0, 80)} claim does not allow this request.`);
      }
      // the claims object is shared by every request that presents this token: make it immutable
      deepFreeze(r.claims);
      const headers = forwarding.headersFor(r.claims);
      const a: Accepted = { claims: r.claims, headers, jkt };
      cache.set(token, r.until, r.key, a, token.length + forwarding.sizeOf(headers));
      return admit(ex, token, a);
    };

    return (ex) => {
      const token = place.extract(ex);
      if (typeof token !== 'string') return reject(token.code, token.detail);
      if (token.length > place.maxSize) return reject('token-too-large', place.tooLarge.detail);
      const now = Date.now();
      const hit = cache.get(token, now);
      if (hit !== undefined) return admit(ex, token, hit);
      if (place.header !== undefined && /[\s,]/.test(token)) return reject('token-malformed', place.shape);
      if (!validator.keysAvailable()) return unavailable;
      const r = validator.validate(token, now);
      if (r instanceof Promise) return r.then((v) => finish(ex, token, v), () => unavailable);
      return finish(ex, token, r);
    };
  },
});
