import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { ResolvedConnector } from '../federation/presets.js';
import { appleClientAuth } from './apple.js';
import { identityFromClaims, profileObject } from './claims.js';
import type { ConnectorState, RedirectConnector, SignInResult } from './connector.js';

/**
 * OpenID Connect and OAuth 2.0 upstreams through openid-client: the authorization code flow with
 * PKCE (S256) and `state` (the caller's handle of the sign-in), for OIDC with a `nonce`, and the
 * ID token checked by openid-client (signature by the upstream's JWKS, `iss` = the configured
 * issuer, `aud` = our client id, `nonce`, `exp`; the `iss` authorization response parameter of
 * RFC 9207 when the upstream sends or announces it, which refuses a mix-up).
 */

/** seconds any call to the upstream may take (discovery, token, userinfo, profile) */
const UPSTREAM_TIMEOUT = 10;

const insecure = (url: string | undefined) => !!url && url.startsWith('http:'); // loopback only (schema)

/** how we authenticate at the upstream's token endpoint (private_key_jwt: a JWT assertion signed with our key, RFC 7523) */
async function auth(c: ResolvedConnector, key?: ClientKey): Promise<client.ClientAuth> {
  switch (c.clientAuth) {
    case 'apple_client_secret': return appleClientAuth(key!, c.teamId!);
    case 'private_key_jwt': return client.PrivateKeyJwt({ key: await importPKCS8(key!.pem, key!.alg), kid: key!.kid });
    case 'client_secret_post': return client.ClientSecretPost(c.clientSecret!);
    case 'client_secret_basic': return client.ClientSecretBasic(c.clientSecret!);
    default: return client.None();
  }
}

/** RFC 7638: the SHA-256 of the public JWK's required members, in lexicographic order */
export function thumbprint(jwk: Record<string, unknown>): string {
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  return createHash('sha256').update(JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))).digest('base64url');
}

/** a private key that signs our client assertions: PKCS#8 PEM, its JWS algorithm, and its key id at the upstream */
export interface ClientKey { pem: string; alg: string; kid: string }

/**
 * Read `client-key-file` (a PEM private key: RSA, EC P-256/P-384 or Ed25519), once at start: a
 * missing or unusable key is a start-up error naming the connector, never a failed sign-in later.
 * Its key id is `client-key-id`, or the JWK thumbprint (RFC 7638) of its public key.
 */
export function loadClientKey(c: ResolvedConnector, configDir: string): ClientKey | undefined {
  if (c.clientAuth !== 'private_key_jwt' && c.clientAuth !== 'apple_client_secret') return undefined;
  const file = isAbsolute(c.clientKeyFile!) ? c.clientKeyFile! : resolve(configDir, c.clientKeyFile!);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (err) {
    throw new Error(`identity.federation ${c.id}: client-key-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not a PEM private key'} (a PKCS#8 or PKCS#1 PEM; e.g. openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)`, { cause: err });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const alg = key.asymmetricKeyType === 'rsa' ? 'RS256' : key.asymmetricKeyType === 'ed25519' ? 'EdDSA'
    : curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : undefined;
  if (!alg) throw new Error(`identity.federation ${c.id}: client-key-file ${file}: use an RSA, EC P-256/P-384 or Ed25519 key (found ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''})`);
  if (c.clientAuth === 'apple_client_secret' && alg !== 'ES256') throw new Error(`identity.federation ${c.id}: client-key-file ${file}: Sign in with Apple keys are EC P-256 (.p8 from Certificates, Identifiers & Profiles → Keys)`);
  const kid = c.clientKeyId ?? thumbprint(createPublicKey(key).export({ format: 'jwk' }));
  return { pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), alg, kid };
}

/** the openid-client configuration, made once (discovery fetched lazily; a failed one is tried again at the next sign-in) */
function configuration(c: ResolvedConnector, key?: ClientKey): () => Promise<client.Configuration> {
  let pending: Promise<client.Configuration> | undefined;
  return () => {
    pending ??= (async () => {
      let cfg: client.Configuration;
      if (c.type === 'oidc') {
        cfg = await client.discovery(new URL(c.issuer!), c.clientId, undefined, await auth(c, key), { timeout: UPSTREAM_TIMEOUT, execute: insecure(c.issuer) ? [client.allowInsecureRequests] : [] });
      } else {
        // an OAuth 2.0 provider has no discovery: its endpoints from the config. `issuer` (when
        // set) is checked against the `iss` authorization response parameter (RFC 9207)
        const meta: client.ServerMetadata = {
          issuer: c.issuer ?? new URL(c.authorizationEndpoint!).origin,
          authorization_endpoint: c.authorizationEndpoint,
          token_endpoint: c.tokenEndpoint,
          ...(c.issuer ? { authorization_response_iss_parameter_supported: true } : {}),
        };
        cfg = new client.Configuration(meta, c.clientId, undefined, await auth(c, key));
        if ([c.authorizationEndpoint, c.tokenEndpoint, c.userinfoEndpoint].some(insecure)) client.allowInsecureRequests(cfg);
      }
      cfg.timeout = UPSTREAM_TIMEOUT;
      return cfg;
    })();
    pending.catch(() => { pending = undefined; });
    return pending;
  };
}

/** why openid-client refused an answer, for the log (never a code, token or secret: openid-client's messages name checks) */
function why(err: unknown): { code?: string; error?: string; message: string } {
  const e = err as { code?: string; error?: string; message?: string };
  return { code: e.code, error: typeof e.error === 'string' ? e.error.slice(0, 100) : undefined, message: String(e.message ?? err).slice(0, 300) };
}

export function oauthConnector(c: ResolvedConnector, logger: Logger, key?: ClientKey): RedirectConnector {
  const config = configuration(c, key);
  const oidc = c.type === 'oidc';

  async function begin({ callback, state, hint }: { callback: string; state: string; hint?: string }) {
    const cfg = await config();
    const kept: Record<string, string> = { callback, handle: state };
    const params: Record<string, string> = { redirect_uri: callback, state, response_type: 'code' };
    if (c.scopes.length) params.scope = c.scopes.join(' ');
    if (c.pkce) {
      kept.verifier = client.randomPKCECodeVerifier();
      params.code_challenge = await client.calculatePKCECodeChallenge(kept.verifier);
      params.code_challenge_method = 'S256';
    }
    if (oidc) params.nonce = kept.nonce = client.randomNonce();
    if (c.responseMode) params.response_mode = c.responseMode;
    if (hint) params.login_hint = hint;
    return { handoff: { redirect: client.buildAuthorizationUrl(cfg, params).href }, state: kept as ConnectorState };
  }

  async function complete({ params, state }: { params: URLSearchParams; state: ConnectorState }, expectedState: string): Promise<SignInResult> {
    if (params.has('error')) {
      logger.info({ connector: c.id, error: params.get('error')!.slice(0, 100) }, 'upstream refused the sign-in');
      return { ok: false, reason: 'upstream-denied' };
    }
    let claims: Record<string, unknown>;
    try {
      const cfg = await config();
      // the answer as it arrived: the query of a redirect, or a posted form (form_post)
      let current: URL | Request = new URL(state.callback!);
      if (c.responseMode === 'form_post') current = new Request(current, { method: 'POST', body: params, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      else current.search = params.toString();
      const tokens = await client.authorizationCodeGrant(cfg, current, {
        expectedState, pkceCodeVerifier: state.verifier, ...(oidc ? { expectedNonce: state.nonce, idTokenExpected: true } : {}),
      });
      if (oidc) {
        claims = { ...tokens.claims() };
        if (claims[c.claims.email.split('.')[0]!] === undefined && cfg.serverMetadata().userinfo_endpoint) {
          const info = await client.fetchUserInfo(cfg, tokens.access_token, String(claims.sub));
          claims = { ...info, ...claims }; // the ID token's claims win
        }
      } else {
        const res = await client.fetchProtectedResource(cfg, tokens.access_token, new URL(c.userinfoEndpoint!), 'GET', undefined, new Headers({ accept: 'application/json' }));
        if (!res.ok) throw new Error(`the profile endpoint answered ${res.status}`);
        claims = await profileObject(res);
      }
    } catch (err) {
      logger.warn({ connector: c.id, ...why(err) }, 'upstream answer refused');
      return { ok: false, reason: 'invalid-response' };
    }
    const identity = identityFromClaims(c, claims, ['fed']);
    if (!identity) {
      logger.warn({ connector: c.id, claim: c.claims.subject }, 'upstream answer has no subject');
      return { ok: false, reason: 'invalid-response' };
    }
    return { ok: true, identity };
  }

  return {
    id: c.id,
    type: c.type,
    flow: 'redirect',
    displayName: c.displayName,
    begin,
    complete: ({ params, state }) => complete({ params, state }, state.handle ?? ''),
  };
}
