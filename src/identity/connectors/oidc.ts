import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { ResolvedConnector } from '../federation/presets.js';
import { boundedJson, identityFromClaims } from './claims.js';
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

function auth(c: ResolvedConnector): client.ClientAuth {
  return c.clientSecret ? client.ClientSecretBasic(c.clientSecret) : client.None();
}

/** the openid-client configuration, made once (discovery fetched lazily; a failed one is tried again at the next sign-in) */
function configuration(c: ResolvedConnector): () => Promise<client.Configuration> {
  let pending: Promise<client.Configuration> | undefined;
  return () => {
    pending ??= (async () => {
      let cfg: client.Configuration;
      if (c.type === 'oidc') {
        cfg = await client.discovery(new URL(c.issuer!), c.clientId, undefined, auth(c), { timeout: UPSTREAM_TIMEOUT, execute: insecure(c.issuer) ? [client.allowInsecureRequests] : [] });
      } else {
        // an OAuth 2.0 provider has no discovery: its endpoints from the config. `issuer` (when
        // set) is checked against the `iss` authorization response parameter (RFC 9207)
        const meta: client.ServerMetadata = {
          issuer: c.issuer ?? new URL(c.authorizationEndpoint!).origin,
          authorization_endpoint: c.authorizationEndpoint,
          token_endpoint: c.tokenEndpoint,
          ...(c.issuer ? { authorization_response_iss_parameter_supported: true } : {}),
        };
        cfg = new client.Configuration(meta, c.clientId, undefined, auth(c));
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

export function oauthConnector(c: ResolvedConnector, logger: Logger): RedirectConnector {
  const config = configuration(c);
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
      const current = new URL(state.callback!);
      current.search = params.toString();
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
        const body = await boundedJson(res);
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('the profile endpoint did not answer a JSON object');
        claims = body as Record<string, unknown>;
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
