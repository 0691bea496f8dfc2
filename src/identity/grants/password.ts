import { OIDC_SCOPES } from '../clients.js';
import { ACR } from '../mfa/policy.js';
import type { OidcAccount, OidcClient, OidcContext, OidcToken } from '../provider/oidc.js';
import type { GrantKit, GrantType } from './grant.js';

const OIDC = new Set(OIDC_SCOPES);

/** what the request asks for, checked before the password is */
interface Asked {
  username: string;
  password: string;
  requested: string[];
  resource?: string;
  rs?: Record<string, unknown> & { scope: string };
}

/**
 * Resource-owner password grant (`grant_type=password`): only for clients that list it, through
 * the password connector (smart lockout, per-client limits). Everything the answer could refuse
 * without the password (parameters, scopes, resource, DPoP proof) is refused before the
 * password is checked, so such answers say nothing about the account.
 */
export const passwordGrant: GrantType = {
  type: 'password',
  parameters: ['username', 'password', 'scope', 'resource'],
  handler: (kit) => async (ctx) => {
    const asked = checkRequest(kit, ctx);
    // a DPoP proof (RFC 9449) binds the tokens to its key, as in oidc-provider's own grants; a bad
    // or replayed proof is refused before the password is checked
    const { provider, helpers: g } = kit;
    const client = ctx.oidc.client!;
    const dPoP = await g.validateDpop(provider, ctx);
    g.checkDpopRequired(provider, ctx, dPoP);
    if (dPoP) await g.checkDpopReplay(provider, ctx, dPoP, client.clientId, kit.errors.InvalidDpopProof);
    // a policy that requires a second factor is refused before the password is checked: the answer says nothing about it
    if (kit.mfa && kit.mfa.policyOf(client.gatehouse_mfa, { scope: asked.requested.join(' '), resource: asked.resource }) === 'required') {
      throw new kit.errors.CustomOIDCProviderError('invalid_grant', 'this client or API requires a second factor: use the authorization code flow');
    }
    const account = await signIn(kit, ctx, asked);
    await issue(kit, ctx, asked, account, dPoP?.thumbprint);
  },
};

function checkRequest({ errors, access }: GrantKit, ctx: OidcContext): Asked {
  const client = ctx.oidc.client!;
  const params = ctx.oidc.params ?? {};
  const { username, password, scope } = params;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new errors.InvalidRequest('username and password are required');
  }
  const requested: string[] = typeof scope === 'string' && scope ? [...new Set<string>(scope.split(' '))] : ['openid'];
  const allowed = new Set(String(client.scope ?? '').split(' '));
  const missing = requested.filter((s) => !allowed.has(s));
  if (missing.length) throw new errors.InvalidScope('requested scope is not allowed for this client', missing.join(' '));
  if (Array.isArray(params.resource) && params.resource.length > 1) throw new errors.InvalidTarget('only one resource indicator is supported for this grant type');
  const named: unknown = Array.isArray(params.resource) ? params.resource[0] : params.resource;
  const resource: string | undefined = typeof named === 'string' ? named : access.apiForScopes(requested.join(' '));
  // refused before the password is checked: the answer says nothing about the account
  const rs = resource ? access.resourceServerInfo(resource, client) : undefined;
  if (resource && rs) access.requireApiScope(resource, rs.scope, requested);
  return { username, password, requested, resource, rs };
}

/** the password connector's answer: the account, or the grant's refusal */
async function signIn({ errors, password, findAccount, mfa }: GrantKit, ctx: OidcContext, asked: Asked): Promise<OidcAccount> {
  const client = ctx.oidc.client!;
  const res = await password.verify({ login: asked.username, password: asked.password }, { ip: ctx.ip, via: 'password-grant', clientId: client.clientId });
  if (!res.ok && res.reason === 'rate-limited') { // too many failures from this client (issue 11, finding 7)
    ctx.set('retry-after', String(res.retryAfter ?? 60));
    throw Object.assign(new errors.CustomOIDCProviderError('temporarily_unavailable', 'too many failed sign-ins from this address; try again later'), { status: 429, statusCode: 429 });
  }
  if (!res.ok) throw new errors.InvalidGrant('invalid username or password');
  const account = await findAccount(ctx, res.identity.accountId);
  if (!account) throw new errors.InvalidGrant('invalid username or password');
  // an account with a second factor cannot use this grant (it has no second step); the answer is
  // the usual one, so it does not confirm the password to whoever lacks the second factor
  if (mfa && !(await mfa.passwordGrantAllowed(client.gatehouse_mfa, { scope: asked.requested.join(' '), resource: asked.resource }, account.accountId))) {
    ctx.oidc.entity('Account', account);
    throw new errors.InvalidGrant('invalid username or password');
  }
  ctx.oidc.entity('Account', account);
  return account;
}

/** the grant, the access token (for the API, or OpenID scopes only), a refresh token when the client may have one, an ID token with `openid` */
async function issue(kit: GrantKit, ctx: OidcContext, asked: Asked, account: OidcAccount, jkt: string | undefined): Promise<void> {
  const { provider } = kit;
  const client = ctx.oidc.client!;
  const { requested, resource, rs } = asked;
  const accountId = account.accountId;
  const oidcScopes = requested.filter((s) => OIDC.has(s));
  const apiScopes = rs ? requested.filter((s) => rs.scope.split(' ').includes(s)) : [];
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  if (resource) grant.addResourceScope(resource, apiScopes.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const authTime = Math.floor(Date.now() / 1000);
  const at = new provider.AccessToken({ accountId, client, grantId, gty: 'password' });
  if (jkt) at.setThumbprint('jkt', jkt);
  if (resource && rs) {
    at.resourceServer = new provider.ResourceServer(resource, rs);
    at.scope = apiScopes.join(' ') || undefined;
  } else {
    at.scope = oidcScopes.join(' ') || undefined;
  }
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();
  const refreshToken = await refresh(kit, ctx, client, at, { accountId, grantId, authTime, scope: requested.join(' '), resource });
  const idToken = await idTokenOf(ctx, kit, account, oidcScopes, authTime);

  ctx.body = {
    access_token: accessToken,
    expires_in: at.expiration,
    token_type: at.tokenType,
    scope: at.scope,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}

async function refresh(kit: GrantKit, ctx: OidcContext, client: OidcClient, at: OidcToken, o: { accountId: string; grantId: string; authTime: number; scope: string; resource?: string }): Promise<string | undefined> {
  if (!client.grantTypeAllowed('refresh_token')) return undefined;
  const rt = new kit.provider.RefreshToken({ ...o, client, gty: 'password', rotations: 0, expiresWithSession: false });
  await kit.helpers.applyRefreshTokenBindings(kit.provider, ctx, at, rt); // a public client's refresh token is bound too
  ctx.oidc.entity('RefreshToken', rt);
  return rt.save();
}

async function idTokenOf(ctx: OidcContext, kit: GrantKit, account: OidcAccount, oidcScopes: string[], authTime: number): Promise<string | undefined> {
  if (!oidcScopes.includes('openid')) return undefined;
  const claims = await account.claims('id_token', oidcScopes.join(' '));
  const token = new kit.provider.IdToken({ ...claims, auth_time: authTime, amr: ['pwd'], acr: ACR.single }, { ctx });
  token.scope = oidcScopes.join(' ');
  return token.issue({ use: 'idtoken' });
}
