import type { FederationClaims, FederationConfig } from './schema.js';

/**
 * Presets: the endpoints, scopes and claims mapping of well-known providers, as config sugar.
 * `resolveConnector` merges a preset under what the config sets, so every value can be
 * overridden, and says what a connector finally uses.
 */
interface Preset {
  type: 'oidc' | 'oauth2' | 'oauth1';
  name: string;
  issuer?: (tenant?: string) => string;
  /** OAuth 1.0a */
  requestToken?: string;
  authorization?: string;
  token?: string;
  userinfo?: string;
  scopes: string[];
  /** `form_post`: the upstream posts its answer to the callback (OAuth 2.0 Form Post Response Mode) */
  responseMode?: 'form_post';
  claims: FederationClaims;
}

/** Microsoft's tenant of personal accounts: its issuer names the id, not `consumers` */
const MS_CONSUMERS = '9188040d-6c67-4c5b-b112-36a304b66dad';

export const PRESETS: Readonly<Record<NonNullable<FederationConfig['preset']>, Preset>> = {
  google: {
    type: 'oidc', name: 'Google', issuer: () => 'https://accounts.google.com',
    scopes: ['openid', 'email', 'profile'], claims: {},
  },
  microsoft: {
    // one tenant (work accounts) or consumers (personal accounts): the multi-tenant `common`
    // endpoint names no single issuer, and ID tokens are checked against exactly one
    type: 'oidc', name: 'Microsoft', issuer: (tenant) => `https://login.microsoftonline.com/${tenant === 'consumers' ? MS_CONSUMERS : tenant}/v2.0`,
    // Entra ID does not vouch for `email` (any tenant admin can set it): no email_verified claim to map
    scopes: ['openid', 'email', 'profile'], claims: { 'email-verified': 'xms_edov' },
  },
  apple: {
    // Sign in with Apple: the answer is posted (Apple requires form_post when scopes are asked
    // for); email_verified comes as the string "true". The client secret is a JWT (ES256) signed
    // with the key made for the Services ID, valid at most six months (docs/guides/federation.md)
    type: 'oidc', name: 'Apple', issuer: () => 'https://appleid.apple.com',
    scopes: ['openid', 'email', 'name'], responseMode: 'form_post', claims: {},
  },
  github: {
    type: 'oauth2', name: 'GitHub',
    authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token', userinfo: 'https://api.github.com/user',
    // the profile's public email is not said to be verified: it never links an account
    scopes: ['read:user', 'user:email'], claims: { subject: 'id', name: 'name', attributes: { github_login: 'login' } },
  },
  facebook: {
    type: 'oauth2', name: 'Facebook',
    authorization: 'https://www.facebook.com/v19.0/dialog/oauth', token: 'https://graph.facebook.com/v19.0/oauth/access_token', userinfo: 'https://graph.facebook.com/me?fields=id,name,email',
    scopes: ['email', 'public_profile'], claims: { subject: 'id' },
  },
  x: {
    // OAuth 1.0a ("Sign in with X"): authenticate signs in a user who authorized the app once
    // without asking again. The id as a string (id_str): the number exceeds 2^53. The address
    // comes only with "Request email addresses from users" enabled for the app, and X gives it
    // only when it is verified (null otherwise)
    type: 'oauth1', name: 'X',
    requestToken: 'https://api.x.com/oauth/request_token', authorization: 'https://api.x.com/oauth/authenticate', token: 'https://api.x.com/oauth/access_token',
    userinfo: 'https://api.x.com/1.1/account/verify_credentials.json?include_email=true&skip_status=true',
    scopes: [], claims: { subject: 'id_str', name: 'name', 'email-verified': true, attributes: { x_screen_name: 'screen_name' } },
  },
};

/** What a connector uses: the config over its preset over the defaults. */
export interface ResolvedConnector {
  id: string;
  type: 'oidc' | 'oauth2' | 'oauth1' | 'saml';
  displayName: string;
  /** the icon file of the button, as configured */
  icon?: string;
  issuer?: string;
  requestTokenEndpoint?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  clientId: string;
  clientSecret?: string;
  /** how we authenticate at the token endpoint */
  /** `apple_client_secret`: Sign in with Apple's client secret JWT, made from `client-key-file` and `team-id` */
  clientAuth: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'apple_client_secret' | 'none';
  teamId?: string;
  clientKeyFile?: string;
  clientKeyId?: string;
  scopes: string[];
  /** OIDC, OAuth 2.0: `form_post` when the upstream posts its answer (default: the query) */
  responseMode?: 'form_post';
  /** home-realm discovery: email domains that sign in here */
  domains: string[];
  pkce: boolean;
  claims: Required<Omit<FederationClaims, 'groups' | 'attributes'>> & Pick<FederationClaims, 'groups'> & { attributes: Record<string, string> };
  saml?: {
    ssoUrl?: string; sloUrl?: string; idpEntityId?: string; idpCertificates?: string[]; metadataUrl?: string; metadataFile?: string; metadataRefresh: number;
    spEntityId?: string; privateKey?: string; certificate?: string; encryptionKey?: string; encryptionCertificate?: string; wantEncrypted: boolean;
    wantResponseSigned: boolean; clockSkew: number; requestBinding: 'redirect' | 'post';
  };
  rolesFromGroups: Record<string, string[]>;
  accounts: FederationConfig['accounts'];
}

/** a preset given with the other type is a config error: say which */
export function presetMismatch(f: Pick<FederationConfig, 'type' | 'preset'>): string | undefined {
  const p = f.preset && PRESETS[f.preset];
  return p && p.type !== f.type ? `preset ${f.preset} is a ${p.type} provider: use type: ${p.type}` : undefined;
}

export function resolveConnector(f: FederationConfig): ResolvedConnector {
  const p = f.preset ? PRESETS[f.preset] : undefined;
  const claims = { ...p?.claims, ...f.claims };
  return {
    id: f.id,
    type: f.type,
    displayName: f['display-name'] ?? p?.name ?? f.id,
    icon: f.icon,
    issuer: f.issuer ?? p?.issuer?.(f.tenant),
    requestTokenEndpoint: f['request-token-endpoint'] ?? p?.requestToken,
    authorizationEndpoint: f['authorization-endpoint'] ?? p?.authorization,
    tokenEndpoint: f['token-endpoint'] ?? p?.token,
    userinfoEndpoint: f['userinfo-endpoint'] ?? p?.userinfo,
    clientId: f['client-id'] ?? '',
    clientSecret: f['client-secret'],
    clientAuth: f['team-id'] ? 'apple_client_secret' : f['client-auth'] ?? (f['client-secret'] ? 'client_secret_basic' : 'none'),
    teamId: f['team-id'],
    clientKeyFile: f['client-key-file'],
    clientKeyId: f['client-key-id'],
    scopes: f.scopes ?? p?.scopes ?? (f.type === 'oidc' ? ['openid', 'email', 'profile'] : []),
    domains: f.domains,
    responseMode: f['response-mode'] ?? p?.responseMode,
    pkce: f.type === 'oidc' ? true : f.pkce,
    claims: {
      subject: claims.subject ?? (f.type === 'saml' ? 'nameID' : 'sub'),
      email: claims.email ?? 'email',
      'email-verified': claims['email-verified'] ?? 'email_verified',
      name: claims.name ?? 'name',
      groups: claims.groups,
      attributes: { ...p?.claims.attributes, ...f.claims?.attributes },
    },
    rolesFromGroups: f['roles-from-groups'],
    accounts: f.accounts,
    saml: f.type === 'saml' ? {
      ssoUrl: f['idp-sso-url'], sloUrl: f['idp-slo-url'], idpEntityId: f['idp-entity-id'], idpCertificates: f['idp-certificates'],
      metadataUrl: f['idp-metadata-url'], metadataFile: f['idp-metadata-file'], metadataRefresh: f['idp-metadata-refresh'], spEntityId: f['sp-entity-id'],
      privateKey: f['sp-private-key'], certificate: f['sp-certificate'], encryptionKey: f['sp-encryption-key'], encryptionCertificate: f['sp-encryption-certificate'],
      wantEncrypted: f['want-assertions-encrypted'], wantResponseSigned: f['want-response-signed'], clockSkew: f['clock-skew'],
      requestBinding: f['authn-request-binding'],
    } : undefined,
  };
}
