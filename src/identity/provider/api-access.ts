import type { IdentityConfig } from '../schema.js';
import { OIDC_SCOPES } from '../clients.js';
import type { OidcClient, OidcContext, OidcErrors } from './oidc.js';

const OIDC = new Set(OIDC_SCOPES);
const scopesOf = (v: unknown): string[] => (typeof v === 'string' && v ? v.split(' ') : []);

/**
 * oidc-provider's useGrantedResource: an API granted earlier stays the token's audience unless
 * the request asks for OpenID scopes only (a userinfo token).
 */
export function keepsGrantedResource(scopeParam: unknown): boolean {
  return !(typeof scopeParam === 'string' && scopeParam.split(' ').every((x) => OIDC.has(x)));
}

/**
 * Which APIs a client may get tokens for, and with which scopes, for every grant. A client may
 * get a token for an API only if it holds at least one of the API's scopes (`invalid_target`
 * otherwise), and every token for an API carries at least one of them (`invalid_scope`
 * otherwise), checked where each grant names its scopes, before anything is issued or spent.
 * `errors` are oidc-provider's.
 */
export function apiAccess(cfg: IdentityConfig, errors: OidcErrors) {
  const apiByAudience = new Map(cfg.apis.map((a) => [a.audience, a]));

  /** an API whose scopes the request asks for: tokens are for it even without `resource` */
  const apiForScopes = (scope: unknown): string | undefined => {
    if (typeof scope !== 'string') return undefined;
    const asked = scope.split(' ');
    return cfg.apis.find((a) => a.scopes.some((s) => asked.includes(s)))?.audience;
  };

  /**
   * oidc-provider's resource server of an API for a client (every grant goes through here): no
   * token, and so no audience and no roles, for an API the client holds no scope of. The
   * scopes it may get are the ones it holds.
   */
  const resourceServerInfo = (indicator: string, client: OidcClient | undefined) => {
    const api = apiByAudience.get(indicator);
    if (!api) throw new errors.InvalidTarget('unknown resource indicator');
    const held = new Set(String(client?.scope ?? '').split(' '));
    const scope = api.scopes.filter((s) => held.has(s));
    if (scope.length === 0) throw new errors.InvalidTarget('this client is not allowed tokens for this resource');
    return {
      scope: scope.join(' '),
      audience: api.audience,
      accessTokenTTL: api['access-token-ttl'] ?? cfg.tokens['access-token-ttl'],
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: cfg.tokens.algorithm } },
    };
  };

  /** A token for an API carries at least one of its scopes: refused (invalid_scope) otherwise. */
  const requireApiScope = (indicator: string, rsScope: string, requested: Iterable<string>) => {
    const offered = new Set(rsScope.split(' '));
    for (const s of requested) if (offered.has(s)) return;
    throw new errors.InvalidScope(`ask for at least one scope of ${indicator} (${rsScope})`);
  };

  /**
   * The authorization request and the client_credentials grant name the token's scopes in
   * `scope`: an API among their resources needs one of them.
   */
  const checkRequestedScope = (ctx: OidcContext, indicator: string, rsScope: string) => {
    const route = ctx?.oidc?.route;
    const direct = route === 'authorization' || route === 'pushed_authorization_request'
      || (route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials');
    if (direct) requireApiScope(indicator, rsScope, scopesOf(ctx.oidc.params?.scope));
  };

  /**
   * Refresh: run from the last hook before the refresh token is spent (oidc-provider's
   * rotateRefreshToken), it checks that the new access token will carry a scope of its API,
   * resolving the resource as oidc-provider does next, so a refused refresh leaves the refresh
   * token usable.
   */
  const checkRefresh = async (ctx: OidcContext) => {
    const rt = ctx.oidc.entities?.RefreshToken;
    if (!rt) return;
    const params = ctx.oidc.params ?? {};
    const scope = params.scope ? new Set<string>(scopesOf(params.scope)) : rt.scopes;
    let resource: unknown = params.resource;
    if (resource === undefined && rt.resource) {
      if (keepsGrantedResource(params.scope) || !scope.has('openid')) resource = rt.resource;
    }
    if (Array.isArray(resource)) resource = resource.length === 1 ? resource[0] : undefined;
    if (typeof resource !== 'string') return;
    const rs = resourceServerInfo(resource, ctx.oidc.client);
    const grantScopes = new Set(scopesOf(ctx.oidc.entities?.Grant?.getResourceScope?.(resource)));
    requireApiScope(resource, rs.scope, [...scope].filter((s) => grantScopes.has(s)));
  };

  return { apiForScopes, resourceServerInfo, requireApiScope, checkRequestedScope, checkRefresh };
}

/** which APIs a client may get tokens for, with which scopes: shared by the provider's hooks and the grants */
export type ApiAccess = ReturnType<typeof apiAccess>;
