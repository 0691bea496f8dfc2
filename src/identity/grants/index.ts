import type { GrantType } from './grant.js';
import { passwordGrant } from './password.js';

/** The grant types Gatehouse adds to oidc-provider's (authorization_code, client_credentials, refresh_token). */
export const GRANTS: readonly GrantType[] = [passwordGrant];
