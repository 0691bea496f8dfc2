import type { IdentityConfig } from '../schema.js';
import { OIDC_SCOPES } from '../clients.js';
import { COOKIE_PREFIX, type PageContext } from '../pages/layout.js';
import { logoutPages } from '../pages/logout.js';
import { keepsGrantedResource, type ApiAccess } from './api-access.js';
import type { OidcClient, OidcContext, OidcToken } from './oidc.js';
import { ACR_VALUES } from '../mfa/policy.js';

/**
 * oidc-provider's configuration, by concern. Each function returns one part; provider.ts joins
 * them with the parts that need the running instance (keys, adapter, grants, steps).
 */

/**
 * Every cookie is named gh-idp-* (the gateway drops those from requests to other APIs) and
 * scoped to the issuer path, so the browser never sends them to the APIs on the same origin.
 */
export function cookies(cookieKeys: string[], page: PageContext) {
  return {
    keys: cookieKeys,
    names: { session: `${COOKIE_PREFIX}session`, interaction: `${COOKIE_PREFIX}interaction`, resume: `${COOKIE_PREFIX}resume` },
    long: { signed: true, httpOnly: true, sameSite: 'lax', path: page.base || '/' },
    short: { signed: true, httpOnly: true, sameSite: 'lax' },
  };
}

/** What the provider speaks: scopes and claims, response types, client authentication, algorithms, PKCE. */
export function protocol(cfg: IdentityConfig) {
  const alg = cfg.tokens.algorithm;
  const apiScopes = [...new Set(cfg.apis.flatMap((a) => a.scopes))];
  return {
    claims: {
      // how the user signed in and the level reached (steps/mfa.ts): in every ID token
      openid: ['sub', 'acr', 'amr'],
      profile: ['preferred_username', 'name', 'roles', 'groups', ...cfg.claims['id-token']],
      email: ['email', 'email_verified'],
    },
    scopes: [...OIDC_SCOPES, ...apiScopes],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: { grant_types: ['authorization_code'], id_token_signed_response_alg: alg, response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
    enabledJWA: { idTokenSigningAlgValues: [alg], userinfoSigningAlgValues: [alg], introspectionSigningAlgValues: [alg], authorizationSigningAlgValues: [alg] },
    extraClientMetadata: { properties: ['gatehouse_roles', 'gatehouse_first_party', 'gatehouse_mfa'] },
    // what a sign-in proved: one factor, or more (steps/mfa.ts); a client asks for more with acr_values
    acrValues: [...ACR_VALUES],
    // idp_hint names a connector of identity.federation, domain_hint one of its home-realm
    // domains: the sign-in page goes there at once
    extraParams: ['idp_hint', 'domain_hint'],
    pkce: { required: () => true }, // PKCE for every code flow (public clients cannot do without it)
    conformIdTokenClaims: true,
  };
}

/** a client sees and revokes its own tokens only */
const ownTokensOnly = async (_ctx: unknown, client: OidcClient, token: OidcToken) => token.clientId === client.clientId;

/** The features turned on, and their hooks. */
export function features(page: PageContext, access: ApiAccess) {
  return {
    devInteractions: { enabled: false },
    externalSigningSupport: { enabled: true, ack: 'experimental-01' }, // pinned oidc-provider 9.13.3
    clientCredentials: { enabled: true },
    // another client's token is answered as an unknown one (active: false / 200), so it cannot even learn that the token exists
    introspection: { enabled: true, allowedPolicy: ownTokensOnly },
    revocation: { enabled: true, allowedPolicy: ownTokensOnly },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true, ...logoutPages(page) },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx: OidcContext, _client: unknown, oneOf?: string[]) => oneOf?.[0] ?? access.apiForScopes(ctx.oidc.params?.scope),
      // an API granted earlier keeps being the token's audience, unless the request asks only for OpenID scopes (userinfo)
      useGrantedResource: async (ctx: OidcContext) => keepsGrantedResource(ctx.oidc.params?.scope),
      getResourceServerInfo: async (ctx: OidcContext, indicator: string, client: OidcClient) => {
        const rs = access.resourceServerInfo(indicator, client);
        access.checkRequestedScope(ctx, indicator, rs.scope);
        return rs;
      },
    },
  };
}

/** How long each artifact lives. */
export function lifetimes(cfg: IdentityConfig) {
  const accessTokenTtl = (_ctx: unknown, token: OidcToken) => token.resourceServer?.accessTokenTTL ?? cfg.tokens['access-token-ttl'];
  return {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: cfg.tokens['id-token-ttl'],
    RefreshToken: cfg.tokens['refresh-token-ttl'],
    Interaction: 3600,
    Session: cfg.sessions.ttl,
    Grant: cfg.tokens['refresh-token-ttl'],
  };
}

/**
 * Refresh tokens: rotated on every use, after the check that the new access token keeps a scope
 * of its API; issued only to clients allowed the refresh_token grant. Tokens of a browser
 * sign-in outlive its session only with offline_access (oidc-provider default).
 */
export function refreshTokens(access: ApiAccess) {
  return {
    rotateRefreshToken: async (ctx: OidcContext) => { await access.checkRefresh(ctx); return true; },
    issueRefreshToken: async (_ctx: unknown, client: OidcClient) => client.grantTypeAllowed('refresh_token'),
  };
}
