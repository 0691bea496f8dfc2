import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import type { LoadedKeys } from './keys.js';
import type { UserStore } from './accounts.js';
import { compareClientSecret, hashClientSecret, specFromConfig, toMetadata } from './clients.js';
import type { PasswordConnector } from './connectors/password.js';
import { GRANTS } from './grants/index.js';
import { loadOidcProvider } from './provider/oidc.js';
import { renderError } from './pages/error.js';
import type { PageContext } from './pages/layout.js';
import { interactionPolicy } from './steps/index.js';
import type { InteractionStep } from './steps/step.js';
import type { Mfa } from './mfa/index.js';
import { apiAccess } from './provider/api-access.js';
import { auditEvents } from './provider/audit.js';
import { accessTokenClaims, accountFinder } from './provider/claims.js';
import { cookies, features, lifetimes, protocol, refreshTokens } from './provider/configuration.js';
import type { OidcProvider } from './provider/oidc.js';
import { poolSigningKeys } from './provider/signing-key.js';
import { consoleClient } from './pages/account/session.js';

export interface ProviderDeps {
  cfg: IdentityConfig;
  keys: LoadedKeys;
  Adapter: new (name: string) => unknown;
  users: UserStore;
  password: PasswordConnector;
  logger: Logger;
  page: PageContext;
  /** the interaction steps after sign-in, in order (steps/index.ts) */
  steps: readonly InteractionStep[];
  /** second factors: the password grant refuses accounts and policies that need one */
  mfa?: Mfa;
  /** counts issued tokens by grant type */
  onTokenIssued?: (grantType: string) => void;
  /** after a confirmed logout ended the session: another place to send the browser first (a SAML IdP's single logout), which then continues to `next` */
  afterLogout?: (accountId: string | undefined, amr: unknown, next: string) => Promise<string | undefined>;
}

/**
 * Build an oidc-provider instance for the current keys. The process rebuilds it (and swaps it in)
 * when a key rotation is picked up; everything else lives in the database.
 */
export async function buildProvider(d: ProviderDeps): Promise<OidcProvider> {
  const { default: Provider, errors, ExternalSigningKey, interactionPolicy: policies } = await loadOidcProvider();
  const helpers = await import('oidc-provider/lib/helpers/grants.js');
  const { cfg, page } = d;
  // which APIs a client may get tokens for, with which scopes (every grant): see provider/api-access.ts
  const access = apiAccess(cfg, errors);
  const findAccount = accountFinder(d.users, cfg.claims['id-token']);

  const provider = new Provider(cfg.issuer, {
    adapter: d.Adapter,
    // the configured clients, and the account console's own (pages/account/session.ts)
    clients: [...cfg.clients.map((c) => toMetadata(specFromConfig(c), c['client-secret'] ? hashClientSecret(c['client-secret']) : null)), consoleClient(cfg.issuer, cfg.branding.name)],
    jwks: { keys: poolSigningKeys(ExternalSigningKey, d.keys.jwks) },
    cookies: cookies(d.keys.cookieKeys, page),
    ...protocol(cfg),
    features: features(page, access),
    formats: { customizers: { jwt: accessTokenClaims(d.users, cfg.claims['access-token'], errors) } },
    findAccount,
    // sign-in, then the steps after it in list order (steps/index.ts); their pages are the hosted pages
    interactions: { policy: interactionPolicy(policies.base(), d.steps), url: async (_ctx: unknown, interaction: { uid: string }) => `${page.base}/interaction/${interaction.uid}` },
    renderError: renderError(page, d.logger),
    // the languages of the hosted pages, for clients that send ui_locales
    discovery: { ui_locales_supported: [...page.i18n.languages] },
    ttl: lifetimes(cfg),
    ...refreshTokens(access),
  });
  provider.proxy = true; // forwarded headers are stripped beforehand unless they come from a trusted proxy

  // client secrets are stored as SHA-256 hashes: compare hashes in constant time (pinned oidc-provider 9.13.3 API)
  provider.Client.prototype.compareClientSecret = function (actual: unknown) {
    return compareClientSecret(this.clientSecret, actual);
  };

  // a database locked by another process (DatabaseBusy, 503) clears: say when to come back
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 503 && !ctx.response.get('retry-after')) ctx.set('retry-after', '1');
  });

  // a session signed in through a SAML IdP with single logout: sign out there too, then go on
  if (d.afterLogout) {
    const afterLogout = d.afterLogout;
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.status !== 303 || ctx.oidc?.route !== 'end_session_confirm' || !ctx.oidc.params?.logout) return;
      const session = (ctx.oidc as { session?: { accountId?: string; amr?: unknown } }).session;
      const to = await afterLogout(session?.accountId, session?.amr, ctx.response.get('location'));
      if (to) ctx.set('location', to);
    });
  }

  for (const grant of GRANTS) {
    provider.registerGrantType(grant.type, grant.handler({ provider, errors, helpers, access, findAccount, password: d.password, mfa: d.mfa }), [...grant.parameters]);
  }
  auditEvents(provider, d.logger, d.onTokenIssued);
  return provider;
}
