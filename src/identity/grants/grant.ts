import type { PasswordConnector } from '../connectors/password.js';
import type { Mfa } from '../mfa/index.js';
import type { ApiAccess } from '../provider/api-access.js';
import type { FindAccount } from '../provider/claims.js';
import type { OidcContext, OidcErrors, OidcProvider } from '../provider/oidc.js';

/** What a grant handler works with: the provider and its errors, oidc-provider's own grant helpers, and Gatehouse's policies. */
export interface GrantKit {
  provider: OidcProvider;
  errors: OidcErrors;
  /** the helpers oidc-provider's own grants use (DPoP proof checks, refresh-token binding) */
  helpers: typeof import('oidc-provider/lib/helpers/grants.js');
  /** which APIs a client may get tokens for, with which scopes */
  access: ApiAccess;
  findAccount: FindAccount;
  password: PasswordConnector;
  /** second factors: the password grant has none, so it is refused where one is needed */
  mfa?: Mfa;
}

/** A grant type of the token endpoint that oidc-provider does not have built in. */
export interface GrantType {
  /** the `grant_type` value */
  readonly type: string;
  /** the request parameters it reads (oidc-provider passes only these) */
  readonly parameters: readonly string[];
  handler(kit: GrantKit): (ctx: OidcContext) => Promise<void>;
}
