import type { User, UserStore } from '../accounts.js';
import { idpOf } from '../connectors/connector.js';
import { acrOf } from '../mfa/policy.js';
import type { OidcAccount, OidcContext, OidcErrors, OidcToken } from './oidc.js';

/** The claims of an account in the ID token and userinfo: by scope, plus the configured attributes. */
export function accountClaims(u: User, use: string, scope: string, idAttrs: readonly string[]): Record<string, unknown> {
  const scopes = new Set(String(scope ?? '').split(' '));
  const claims: Record<string, unknown> = { sub: u.id };
  if (scopes.has('profile') || use === 'userinfo' || use === 'id_token') {
    if (u.username) claims.preferred_username = u.username;
    if (typeof u.attributes.name === 'string') claims.name = u.attributes.name;
    claims.roles = u.roles;
    claims.groups = u.groups;
    for (const a of idAttrs) if (u.attributes[a] !== undefined) claims[a] = u.attributes[a];
  }
  if (scopes.has('email') && u.email) { claims.email = u.email; claims.email_verified = u.emailVerified; }
  return claims;
}

export type FindAccount = (ctx: unknown, sub: string) => Promise<OidcAccount | undefined>;

/** oidc-provider's `findAccount`: a disabled or deleted account is no account. */
export function accountFinder(users: UserStore, idAttrs: readonly string[]): FindAccount {
  return async (_ctx, sub) => {
    const u = await users.get(sub);
    if (!u || u.disabled) return undefined;
    return { accountId: u.id, claims: async (use, scope) => accountClaims(u, use, scope, idAttrs) };
  };
}

/**
 * The JWT access token's claims (oidc-provider's `formats.customizers.jwt`), for every grant:
 * `scp` for `scope`, `azp`, `nbf`; the account's roles, groups and configured attributes, or a
 * client's app roles for client_credentials.
 */
export function accessTokenClaims(users: UserStore, atAttrs: readonly string[], errors: OidcErrors) {
  return async (ctx: OidcContext, token: OidcToken, jwt: { payload: Record<string, unknown> }) => {
    const p = jwt.payload;
    // the last line of defence for every grant: no API token without a scope of its API
    if (token.resourceServer && !p.scope) throw new errors.InvalidScope('no scope of the requested resource was granted');
    if (p.scope) p.scp = p.scope;
    delete p.scope;
    p.azp = p.client_id;
    p.nbf = p.iat;
    if (token.accountId) {
      // a federated sign-in: the connector it came through (its amr, kept by the code and the refresh token)
      const e = ctx.oidc?.entities;
      const source = e?.AuthorizationCode ?? e?.RefreshToken;
      const idp = idpOf(source?.amr);
      if (idp) p.idp = idp;
      // how the user signed in (RFC 8176 amr) and the level reached (acr): an API can ask for a second factor
      const amr = source?.amr ?? (String(token.gty ?? '').includes('password') ? ['pwd'] : undefined);
      if (amr) { p.amr = amr; p.acr = source?.acr ?? acrOf(amr); }
      const u = await users.get(token.accountId);
      if (u) {
        p.roles = u.roles;
        if (u.groups.length) p.groups = u.groups;
        for (const a of atAttrs) if (u.attributes[a] !== undefined && !(a in p)) p[a] = u.attributes[a];
      }
    } else if (token.client?.gatehouse_roles?.length) {
      p.roles = token.client.gatehouse_roles;
    }
  };
}
