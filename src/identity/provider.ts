/* eslint-disable @typescript-eslint/no-explicit-any */
import { constants, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import type { LoadedKeys } from './keys.js';
import type { Authenticator, User, UserStore } from './accounts.js';
import { compareClientSecret, hashClientSecret, OIDC_SCOPES, specFromConfig, toMetadata } from './clients.js';
import { COOKIE_PREFIX, errorPage, logoutPage, messagePage, type PageContext } from './views.js';
import { apiAccess, keepsGrantedResource } from './api-access.js';

export interface ProviderDeps {
  cfg: IdentityConfig;
  keys: LoadedKeys;
  Adapter: new (name: string) => unknown;
  users: UserStore;
  auth: Authenticator;
  logger: Logger;
  page: PageContext;
  /** counts issued tokens by grant type */
  onTokenIssued?: (grantType: string) => void;
}

const OIDC = new Set(OIDC_SCOPES);

/**
 * Build an oidc-provider instance for the current keys. The process rebuilds it (and swaps it in)
 * when a key rotation is picked up; everything else lives in the database.
 */
export async function buildProvider(d: ProviderDeps): Promise<any> {
  const { default: Provider, errors, ExternalSigningKey } = await import('oidc-provider');
  // the helpers oidc-provider's own grants use (DPoP proof checks, refresh-token binding), for the password grant
  const grantHelpers = await import('oidc-provider/lib/helpers/grants.js');

  /**
   * Keys that sign on libuv's thread pool (crypto.sign with a callback) instead of the event loop:
   * RSA signing is the largest single cost of a token, and this lets a second core take it.
   */
  class PoolSigningKey extends ExternalSigningKey {
    readonly #priv: KeyObject;
    readonly #pub: KeyObject;
    readonly #opts: SignKeyObjectInput;
    constructor(jwk: JWK) {
      super();
      this.kid = jwk.kid!;
      this.alg = jwk.alg!;
      this.#priv = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      this.#pub = createPublicKey(this.#priv);
      this.#opts = jwk.alg === 'PS256' ? { key: this.#priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : jwk.alg === 'ES256' ? { key: this.#priv, dsaEncoding: 'ieee-p1363' } : { key: this.#priv };
    }
    override keyObject() { return this.#pub; }
    override sign(data: Buffer): Promise<Buffer> {
      return new Promise((res, rej) => cryptoSign('sha256', data, this.#opts, (err, sig) => (err ? rej(err) : res(sig))));
    }
  }
  const { cfg, users, logger } = d;
  const alg = cfg.tokens.algorithm;
  const apiScopes = [...new Set(cfg.apis.flatMap((a) => a.scopes))];
  const idAttrs = cfg.claims['id-token'];
  const atAttrs = cfg.claims['access-token'];

  const clients = cfg.clients.map((c) => toMetadata(specFromConfig(c), c['client-secret'] ? hashClientSecret(c['client-secret']) : null));

  // which APIs a client may get tokens for, with which scopes (every grant): see api-access.ts
  const { apiForScopes, resourceServerInfo, requireApiScope, checkRequestedScope, checkRefresh } = apiAccess(cfg, errors);

  const accountClaims = (u: User, use: string, scope: string) => {
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
  };

  const findAccount = async (_ctx: unknown, sub: string) => {
    const u = await users.get(sub);
    if (!u || u.disabled) return undefined;
    return { accountId: u.id, claims: async (use: string, scope: string) => accountClaims(u, use, scope) };
  };

  const configuration: Record<string, unknown> = {
    adapter: d.Adapter,
    clients,
    jwks: { keys: d.keys.jwks.map((k) => new PoolSigningKey(k)) },
    // every cookie is named gh-idp-* (the gateway drops those from requests to other APIs) and
    // scoped to the issuer path, so the browser never sends them to the APIs on the same origin
    cookies: {
      keys: d.keys.cookieKeys,
      names: { session: `${COOKIE_PREFIX}session`, interaction: `${COOKIE_PREFIX}interaction`, resume: `${COOKIE_PREFIX}resume` },
      long: { signed: true, httpOnly: true, sameSite: 'lax', path: d.page.base || '/' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name', 'roles', 'groups', ...idAttrs],
      email: ['email', 'email_verified'],
    },
    scopes: [...OIDC_SCOPES, ...apiScopes],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: { grant_types: ['authorization_code'], id_token_signed_response_alg: alg, response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
    enabledJWA: { idTokenSigningAlgValues: [alg], userinfoSigningAlgValues: [alg], introspectionSigningAlgValues: [alg], authorizationSigningAlgValues: [alg] },
    extraClientMetadata: { properties: ['gatehouse_roles', 'gatehouse_first_party'] },
    pkce: { required: () => true }, // PKCE for every code flow (public clients cannot do without it)
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: { enabled: true, ack: 'experimental-01' }, // pinned oidc-provider 9.13.3
      clientCredentials: { enabled: true },
      // a client sees and revokes its own tokens only; another client's token is answered as an
      // unknown one (active: false / 200), so it cannot even learn that the token exists
      introspection: { enabled: true, allowedPolicy: async (_ctx: unknown, client: any, token: any) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: any, token: any) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: any, form: string) => { ctx.type = 'html'; ctx.body = logoutPage(d.page, form); },
        postLogoutSuccessSource: async (ctx: any) => { ctx.type = 'html'; ctx.body = messagePage(d.page, 'Signed out', 'You have been signed out.'); },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx: any, _client: unknown, oneOf?: string[]) => oneOf?.[0] ?? apiForScopes(ctx.oidc.params?.scope),
        // an API granted earlier keeps being the token's audience, unless the request asks only for OpenID scopes (userinfo)
        useGrantedResource: async (ctx: any) => keepsGrantedResource(ctx.oidc.params?.scope),
        getResourceServerInfo: async (ctx: unknown, indicator: string, client: any) => {
          const rs = resourceServerInfo(indicator, client);
          checkRequestedScope(ctx, indicator, rs.scope);
          return rs;
        },
      },
    },
    formats: {
      customizers: {
        jwt: async (_ctx: unknown, token: any, jwt: any) => {
          const p = jwt.payload;
          // the last line of defence for every grant: no API token without a scope of its API
          if (token.resourceServer && !p.scope) throw new errors.InvalidScope('no scope of the requested resource was granted');
          if (p.scope) p.scp = p.scope;
          delete p.scope;
          p.azp = p.client_id;
          p.nbf = p.iat;
          if (token.accountId) {
            const u = await users.get(token.accountId);
            if (u) {
              p.roles = u.roles;
              if (u.groups.length) p.groups = u.groups;
              for (const a of atAttrs) if (u.attributes[a] !== undefined && !(a in p)) p[a] = u.attributes[a];
            }
          } else if (token.client?.gatehouse_roles?.length) {
            p.roles = token.client.gatehouse_roles;
          }
        },
      },
    },
    findAccount,
    interactions: { url: async (_ctx: unknown, interaction: any) => `${d.page.base}/interaction/${interaction.uid}` },
    renderError: async (ctx: any, out: any) => {
      ctx.type = 'html';
      ctx.body = errorPage(d.page, { message: out.error_description || 'The request could not be completed.', code: out.error });
    },
    ttl: {
      AccessToken: (_ctx: unknown, token: any) => token.resourceServer?.accessTokenTTL ?? cfg.tokens['access-token-ttl'],
      ClientCredentials: (_ctx: unknown, token: any) => token.resourceServer?.accessTokenTTL ?? cfg.tokens['access-token-ttl'],
      AuthorizationCode: 60,
      IdToken: cfg.tokens['id-token-ttl'],
      RefreshToken: cfg.tokens['refresh-token-ttl'],
      Interaction: 3600,
      Session: cfg.sessions.ttl,
      Grant: cfg.tokens['refresh-token-ttl'],
    },
    rotateRefreshToken: async (ctx: unknown) => { await checkRefresh(ctx); return true; },
    issueRefreshToken: async (_ctx: unknown, client: any) => client.grantTypeAllowed('refresh_token'),
    // tokens of a browser sign-in outlive its session only with offline_access (oidc-provider default)
    conformIdTokenClaims: true,
  };

  const provider = new Provider(cfg.issuer, configuration);
  provider.proxy = true; // forwarded headers are stripped beforehand unless they come from a trusted proxy

  // client secrets are stored as SHA-256 hashes: compare hashes in constant time (pinned oidc-provider 9.13.3 API)
  provider.Client.prototype.compareClientSecret = function (this: any, actual: unknown) {
    return compareClientSecret(this.clientSecret, actual);
  };

  // a database locked by another process (DatabaseBusy, 503) clears: say when to come back
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    await next();
    if (ctx.status === 503 && !ctx.response.get('retry-after')) ctx.set('retry-after', '1');
  });

  registerPasswordGrant(provider, errors, d, { resourceServerInfo, requireApiScope, apiForScopes, findAccount, grantHelpers });

  // audit: token issuance (no token values)
  provider.on('grant.success', (ctx: any) => {
    d.onTokenIssued?.(String(ctx.oidc.params?.grant_type ?? ''));
    logger.info({ audit: 'token.issued', grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, sub: ctx.oidc.entities?.Account?.accountId, ip: ctx.ip }, 'token issued');
  });
  provider.on('grant.error', (ctx: any, err: any) => {
    logger.info({ audit: 'token.refused', grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, error: err?.error, ip: ctx.ip }, 'token request refused');
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => logger.info({ audit: 'grant.revoked', grant: grantId }, 'grant revoked'));
  provider.on('server_error', (_ctx: unknown, err: Error) => logger.error({ err: err.message, stack: err.stack }, 'identity provider error'));
  return provider;
}

function registerPasswordGrant(provider: any, errors: any, d: ProviderDeps, h: {
  resourceServerInfo: (indicator: string, client: any) => Record<string, unknown> & { scope: string };
  requireApiScope: (indicator: string, rsScope: string, requested: Iterable<string>) => void;
  apiForScopes: (scope: unknown) => string | undefined;
  findAccount: (ctx: unknown, sub: string) => Promise<{ accountId: string; claims: (use: string, scope: string) => Promise<Record<string, unknown>> } | undefined>;
  grantHelpers: any;
}) {
  const g = h.grantHelpers;
  /** Resource-owner password grant (`grant_type=password`): only for clients that list it, subject to lockout. */
  async function passwordGrant(ctx: any) {
    const { client, params } = ctx.oidc;
    if (typeof params.username !== 'string' || params.username === '' || typeof params.password !== 'string' || params.password === '') {
      throw new errors.InvalidRequest('username and password are required');
    }
    const requested: string[] = typeof params.scope === 'string' && params.scope ? [...new Set<string>(params.scope.split(' '))] : ['openid'];
    const allowed = new Set(String(client.scope ?? '').split(' '));
    const missing = requested.filter((s) => !allowed.has(s));
    if (missing.length) throw new errors.InvalidScope('requested scope is not allowed for this client', missing.join(' '));
    if (Array.isArray(params.resource) && params.resource.length > 1) throw new errors.InvalidTarget('only one resource indicator is supported for this grant type');
    const named: unknown = Array.isArray(params.resource) ? params.resource[0] : params.resource;
    const resource: string | undefined = typeof named === 'string' ? named : h.apiForScopes(requested.join(' '));
    // refused before the password is checked: the answer says nothing about the account
    const rs = resource ? h.resourceServerInfo(resource, client) : undefined;
    if (resource && rs) h.requireApiScope(resource, rs.scope, requested);

    // a DPoP proof (RFC 9449) binds the tokens to its key, as in oidc-provider's own grants; a bad
    // or replayed proof is refused before the password is checked
    const dPoP = await g.validateDpop(provider, ctx);
    g.checkDpopRequired(provider, ctx, dPoP);
    if (dPoP) await g.checkDpopReplay(provider, ctx, dPoP, client.clientId, errors.InvalidDpopProof);

    const res = await d.auth.authenticate(params.username, params.password, { ip: ctx.ip, via: 'password-grant', clientId: client.clientId });
    if (!res.ok && res.reason === 'rate-limited') { // too many failures from this client (issue 11, finding 7)
      ctx.set('retry-after', String(res.retryAfter ?? 60));
      throw Object.assign(new errors.CustomOIDCProviderError('temporarily_unavailable', 'too many failed sign-ins from this address; try again later'), { status: 429, statusCode: 429 });
    }
    if (!res.ok) throw new errors.InvalidGrant('invalid username or password');
    const account = await h.findAccount(ctx, res.user.id);
    if (!account) throw new errors.InvalidGrant('invalid username or password');
    ctx.oidc.entity('Account', account);

    const oidcScopes = requested.filter((s) => OIDC.has(s));
    const apiScopes = rs ? requested.filter((s) => rs.scope.split(' ').includes(s)) : [];
    const grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
    if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
    if (resource) grant.addResourceScope(resource, apiScopes.join(' '));
    const grantId = await grant.save();
    ctx.oidc.entity('Grant', grant);

    const authTime = Math.floor(Date.now() / 1000);
    const at = new provider.AccessToken({ accountId: account.accountId, client, grantId, gty: 'password' });
    if (dPoP) at.setThumbprint('jkt', dPoP.thumbprint);
    if (resource && rs) {
      at.resourceServer = new provider.ResourceServer(resource, rs);
      at.scope = apiScopes.join(' ') || undefined;
    } else {
      at.scope = oidcScopes.join(' ') || undefined;
    }
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    let refreshToken: string | undefined;
    if (client.grantTypeAllowed('refresh_token')) {
      const rt = new provider.RefreshToken({
        accountId: account.accountId, client, grantId, gty: 'password', authTime, rotations: 0,
        scope: requested.join(' '), resource, expiresWithSession: false,
      });
      await g.applyRefreshTokenBindings(provider, ctx, at, rt); // a public client's refresh token is bound too
      ctx.oidc.entity('RefreshToken', rt);
      refreshToken = await rt.save();
    }

    let idToken: string | undefined;
    if (oidcScopes.includes('openid')) {
      const claims = await account.claims('id_token', oidcScopes.join(' '));
      const token = new provider.IdToken({ ...claims, auth_time: authTime }, { ctx });
      token.scope = oidcScopes.join(' ');
      idToken = await token.issue({ use: 'idtoken' });
    }

    ctx.body = {
      access_token: accessToken,
      expires_in: at.expiration,
      token_type: at.tokenType,
      scope: at.scope,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      ...(idToken ? { id_token: idToken } : {}),
    };
  }
  provider.registerGrantType('password', passwordGrant, ['username', 'password', 'scope', 'resource']);
}
