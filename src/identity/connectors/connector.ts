import type { AuthFailure } from '../accounts.js';

/**
 * A connector signs a user in and says who they are: a VerifiedIdentity. The password connector
 * checks a local account's password; federation connectors (OpenID Connect, OAuth 2.0,
 * OAuth 1.0a, SAML 2.0) send the browser to another identity provider and verify what comes
 * back. A connector only proves an identity: which local account it maps onto (account linking,
 * just-in-time creation, the claims mapping) is decided after it, in one place shared by every
 * connector, which never links by an email address that is not verified.
 */

/** Who signed in, as the connector proved it. */
export interface VerifiedIdentity {
  /** the connector that proved it: `password`, or a configured federation id such as `google` */
  readonly connector: string;
  /** the user's stable id at the connector: the local account id (password), `sub` (OIDC), the profile id (OAuth), the NameID (SAML) */
  readonly subject: string;
  /** the local account, when the connector signs in local accounts itself (password); a federated identity has none until it is linked */
  readonly accountId?: string;
  /** the email address the connector gave, and whether the connector vouches that it belongs to the user */
  readonly email?: string;
  readonly emailVerified: boolean;
  /** the verified claims or attributes as the connector read them (input of the claims mapping); never unverified data */
  readonly claims: Readonly<Record<string, unknown>>;
  /** how the user authenticated (RFC 8176 `amr` values): `pwd` for a password */
  readonly amr: readonly string[];
}

/** An identity that is a local account already: what oidc-provider's login needs. */
export type LocalIdentity = VerifiedIdentity & { readonly accountId: string };

/** Why a federated sign-in was refused: the upstream said no, or its answer did not verify (state, nonce, signature, audience, replay). */
export type FederationFailure = 'upstream-denied' | 'invalid-response';

export type SignInResult<I extends VerifiedIdentity = VerifiedIdentity> =
  | { ok: true; identity: I }
  | { ok: false; reason: AuthFailure | FederationFailure; retryAfter?: number };

/** Who asks, for limits and audit: the client address, the entry point (`sign-in-page`, `password-grant`) and the OAuth client. */
export interface SignInMeta {
  ip: string;
  via: string;
  clientId?: string;
}

interface ConnectorInfo {
  /** unique among the configured connectors; appears in URLs, logs and the identity's `connector` */
  readonly id: string;
  readonly type: 'password' | 'oidc' | 'oauth2' | 'oauth1' | 'saml';
  /** the label of its button on the sign-in page */
  readonly displayName: string;
}

/** Signs in with credentials typed on the sign-in page or sent with a grant (the password connector). */
export interface CredentialsConnector extends ConnectorInfo {
  readonly flow: 'credentials';
  verify(credentials: { login: string; password: string }, meta: SignInMeta): Promise<SignInResult<LocalIdentity>>;
}

/** What the browser is sent to begin an upstream sign-in: a redirect, or a form it posts (SAML's HTTP-POST binding). */
export type BrowserHandoff =
  | { redirect: string }
  | { post: { action: string; fields: Readonly<Record<string, string>> } };

/**
 * What a redirect connector keeps between `begin` and `complete` (state, nonce, PKCE verifier,
 * an OAuth 1.0a request-token secret, a SAML request id). The caller stores it server-side,
 * bound to the interaction, and never sends it to the browser.
 */
export type ConnectorState = Readonly<Record<string, string>>;

/**
 * Signs in at another identity provider: begins at a URL the browser is sent to and completes
 * at this connector's callback (redirect URI, SAML ACS URL), where the upstream's answer
 * arrives as query parameters or as a posted form.
 */
export interface RedirectConnector extends ConnectorInfo {
  readonly flow: 'redirect';
  /**
   * `callback` is the URL the upstream sends the browser back to; `state` the caller's random
   * handle of this sign-in, which must come back with the answer (OAuth `state`, SAML
   * `RelayState`) so the caller can find what it kept; `hint` a login hint (`login_hint`)
   */
  begin(request: { callback: string; state: string; hint?: string }): Promise<{ handoff: BrowserHandoff; state: ConnectorState }>;
  /** verify the upstream's answer against the kept state and say who signed in */
  complete(answer: { params: URLSearchParams; state: ConnectorState }, meta: SignInMeta): Promise<SignInResult>;
}

export type Connector = CredentialsConnector | RedirectConnector;

/** oidc-provider's login result for an identity that is a local account: the account and how it signed in. */
export function loginResult(identity: LocalIdentity): { accountId: string; amr: string[] } {
  return { accountId: identity.accountId, amr: [...identity.amr] };
}

/**
 * oidc-provider's login result for a federated sign-in: the local account, and `amr` naming how
 * (`fed`) and where (`idp:<connector>`); tokens carry the connector as `idp` (provider/claims.ts).
 */
export function federatedLogin(identity: VerifiedIdentity, accountId: string): { accountId: string; amr: string[] } {
  return { accountId, amr: ['fed', `idp:${identity.connector}`] };
}

/** the connector of a sign-in, from its `amr` (undefined for a local sign-in) */
export function idpOf(amr: unknown): string | undefined {
  if (!Array.isArray(amr)) return undefined;
  const v = amr.find((a): a is string => typeof a === 'string' && a.startsWith('idp:'));
  return v?.slice(4);
}
