import { z } from 'zod';

/**
 * `identity.federation`: the other identity providers users may sign in with. Each entry is a
 * connector (connectors/oidc.ts for OIDC and OAuth 2.0, connectors/oauth1.ts, connectors/saml.ts) with a claims mapping and the rules of
 * account linking and creation. A `preset` fills the endpoints and the claims mapping of a
 * well-known provider (federation/presets.ts); everything it fills can be set explicitly too.
 */

const CLAIM_PATH = /^[\w:.@/-]{1,200}$/;
const claimPath = z.string().regex(CLAIM_PATH, 'a claim path is names joined by dots, e.g. email or profile.emails.0');

/** http only on loopback (development and tests): a connector's endpoints and issuer are https otherwise */
const endpoint = z.url().refine((u) => {
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname) || ['localhost', '[::1]'].includes(url.hostname)));
}, 'use an https URL (http is accepted on loopback only, for development)').refine((u) => !u.includes('#'), 'no fragment');

export const federationClaimsSchema = z.strictObject({
  subject: claimPath.optional().describe('Where the user\'s stable id is (default `sub`; GitHub: `id`). Never an email address: addresses change hands.'),
  email: claimPath.optional().describe('Where the email address is (default `email`).'),
  'email-verified': z.union([claimPath, z.literal(true)]).optional().describe('Where the upstream says the address is verified (default `email_verified`), or `true` when the upstream vouches for every address it sends (a corporate IdP that issues them; SAML has no such claim). Otherwise the address counts as unverified: it never links to an account, and an account created from it does not get it.'),
  name: claimPath.optional().describe('The display name (default `name`), kept as the account attribute `name`.'),
  groups: claimPath.optional().describe('A list of groups (e.g. `groups`); sets the account\'s `groups` at each sign-in and feeds `roles-from-groups`.'),
  attributes: z.record(z.string().regex(/^[a-zA-Z_][\w.-]*$/), claimPath).optional().describe('Account attributes set from upstream claims at each sign-in: `{ local-name: upstream.path }` (use `claims.access-token` to put them in tokens).'),
}).describe('Claims mapping: where each piece of the upstream identity is (dot-separated paths into the ID token claims, userinfo or profile JSON).');

export const federationSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'an id is 1–32 lower-case letters, digits or -').refine((s) => s !== 'password', 'password is the local connector')
    .describe('The connector\'s id: in its callback URL (`<issuer>/federation/<id>/callback`), logs, the `idp` claim of tokens and the `idp_hint` parameter.'),
  type: z.enum(['oidc', 'oauth2', 'oauth1', 'saml']).describe('`oidc`: OpenID Connect (discovery, code + PKCE, state, nonce, ID token validation). `oauth2`: OAuth 2.0 authorization code, then a profile (userinfo) endpoint. `oauth1`: OAuth 1.0a (RFC 5849, HMAC-SHA1): request token, authorization, access token, then a signed call to the profile endpoint. `saml`: SAML 2.0 service provider (HTTP-Redirect AuthnRequest, HTTP-POST response to `<issuer>/federation/<id>/callback`, SP metadata at `<issuer>/federation/<id>/metadata`).'),
  preset: z.enum(['google', 'microsoft', 'apple', 'github', 'facebook', 'x']).optional().describe('Fills the endpoints, scopes and claims mapping of a well-known provider (see docs/guides/federation.md); `microsoft` with `tenant`.'),
  tenant: z.string().regex(/^[\w.-]{1,100}$/).optional().describe('Microsoft Entra ID: the tenant id or domain (work accounts of one tenant), or `consumers` (personal accounts).'),
  icon: z.string().regex(/\.(png|svg|jpe?g|webp)$/i, 'an icon is a .png, .svg, .jpg or .webp file').optional().describe('An image file (PNG, SVG, JPEG, WebP; at most 64 KiB; relative to the config file) shown on the connector\'s button, served from `<issuer>/federation/<id>/icon`. Read at start.'),
  'display-name': z.string().min(1).max(60).optional().describe('The label of its button on the sign-in page ("Sign in with <display-name>"); defaults to the preset\'s name or the id.'),
  issuer: endpoint.optional().describe('OIDC: the issuer; its discovery document is fetched from `<issuer>/.well-known/openid-configuration` and must name exactly this issuer.'),
  'request-token-endpoint': endpoint.optional().describe('OAuth 1.0a: where the request token is asked for (signed, with `oauth_callback`).'),
  'authorization-endpoint': endpoint.optional().describe('OAuth 2.0, OAuth 1.0a: where the browser is sent to sign in.'),
  'token-endpoint': endpoint.optional().describe('OAuth 2.0: where the code is exchanged. OAuth 1.0a: where the request token and verifier are exchanged for an access token.'),
  'userinfo-endpoint': endpoint.optional().describe('OAuth 2.0, OAuth 1.0a: the profile endpoint called with the access token (OIDC: read from discovery; called when the ID token lacks a mapped claim).'),
  'client-id': z.string().min(1).max(500).optional().describe('OIDC, OAuth 2.0: the client id registered at the upstream provider. OAuth 1.0a: the consumer key (X: the API key).'),
  'client-secret': z.string().min(1).optional().describe('The client secret registered at the upstream provider (use `${ENV:NAME}`; never logged, redacted by the admin `/config`). Sent with client_secret_basic, or as `client-auth` says. OAuth 1.0a: the consumer secret, which signs every request and is never sent.'),
  'client-auth': z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).optional().describe('OIDC, OAuth 2.0: how we authenticate at the upstream\'s token endpoint (default `client_secret_basic` with a `client-secret`, none without). `private_key_jwt`: a JWT assertion signed with `client-key-file` (RFC 7523); register its public key at the upstream.'),
  'client-key-file': z.string().min(1).optional().describe('With `client-auth: private_key_jwt` (or `team-id`): a PEM private key (RSA, EC P-256/P-384 or Ed25519; relative to the config file), read at start. Never logged.'),
  'team-id': z.string().regex(/^[A-Z0-9]{10}$/, 'an Apple Team ID: 10 upper-case letters or digits').optional().describe('Sign in with Apple: your Team ID. With it, Gatehouse makes the client secret JWT itself from `client-key-file` (the Sign in with Apple key, `.p8`) and `client-key-id` (its Key ID); no `client-secret`.'),
  'client-key-id': z.string().min(1).max(200).optional().describe('The `kid` of `client-key-file` as registered at the upstream (default: its JWK thumbprint, RFC 7638).'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/)).optional().describe('Scopes asked for (OIDC default: openid email profile).'),
  'idp-sso-url': endpoint.optional().describe('SAML: the IdP\'s single sign-on service (HTTP-Redirect binding).'),
  'idp-entity-id': z.string().min(1).max(500).optional().describe('SAML: the IdP\'s entity id; the response\'s Issuer must be it.'),
  'idp-certificates': z.array(z.string().min(1)).min(1).optional().describe('SAML: the IdP\'s signing certificates (PEM or bare base64; two during a rotation). Every response must carry a valid signature by one of them on the assertion (and on the response with `want-response-signed`).'),
  'sp-entity-id': z.string().min(1).max(500).optional().describe('SAML: this service provider\'s entity id, the audience its assertions must name (default `<issuer>/federation/<id>/metadata`).'),
  'sp-private-key': z.string().min(1).optional().describe('SAML: a PEM private key that signs the AuthnRequests (use `${ENV:NAME}`; never logged). Without it requests are unsigned.'),
  'sp-certificate': z.string().min(1).optional().describe('SAML: the certificate of `sp-private-key`, published in the SP metadata.'),
  'idp-metadata-url': endpoint.optional().describe('SAML: the IdP\'s metadata URL (https; http on loopback only; at most 1 MiB, 10 s). Gives the SSO and SLO services and the signing certificates (instead of `idp-sso-url` and `idp-certificates`); fetched at start and every `idp-metadata-refresh` seconds, keeping the last good metadata when a refresh fails. With several entities in it, `idp-entity-id` picks one.'),
  'idp-metadata-file': z.string().min(1).optional().describe('SAML: the IdP\'s metadata as a file (relative to the config file), read at start, instead of `idp-sso-url` and `idp-certificates`.'),
  'idp-metadata-refresh': z.number().int().min(1).max(86_400).default(3600).describe('SAML: seconds between two fetches of `idp-metadata-url` (a certificate rollover at the IdP is picked up within it).'),
  'idp-slo-url': endpoint.optional().describe('SAML: the IdP\'s single logout service (HTTP-Redirect binding); read from the metadata when it has one. Without it, signing out of Gatehouse does not sign out at the IdP.'),
  'sp-encryption-key': z.string().min(1).optional().describe('SAML: the PEM private key (or a file holding it, relative to the config file) that decrypts encrypted assertions; its certificate (`sp-encryption-certificate`) is published in the SP metadata for the IdP to encrypt to.'),
  'sp-encryption-certificate': z.string().min(1).optional().describe('SAML: the certificate of `sp-encryption-key` (PEM, or a file holding it).'),
  'want-assertions-encrypted': z.boolean().default(false).describe('SAML: refuse assertions that are not encrypted (needs `sp-encryption-key`). Off: both are accepted.'),
  'authn-request-binding': z.enum(['redirect', 'post']).default('redirect').describe('SAML: how the AuthnRequest goes to `idp-sso-url`: `redirect` (HTTP-Redirect, deflated in the query) or `post` (HTTP-POST: an auto-submitted form, not compressed, allowed by the page\'s CSP through a per-response nonce).'),
  'want-response-signed': z.boolean().default(true).describe('SAML: require a signature on the Response too (the assertion\'s is always required).'),
  'clock-skew': z.number().int().min(0).max(300).default(60).describe('SAML: seconds of clock difference allowed on NotBefore / NotOnOrAfter.'),
  pkce: z.boolean().default(true).describe('Send a PKCE S256 challenge (OIDC: always). Turn off only for an OAuth 2.0 provider that refuses it.'),
  'response-mode': z.enum(['form_post']).optional().describe('OIDC, OAuth 2.0: `form_post` asks the upstream to post its answer to the callback (OAuth 2.0 Form Post Response Mode; Apple requires it). Default: the answer in the query of a redirect.'),
  domains: z.array(z.string().toLowerCase().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a domain name such as contoso.com')).default([])
    .describe('Home-realm discovery: the email domains whose users sign in here (a corporate IdP). An authorization request with `domain_hint=<domain>` or a `login_hint` address of the domain, or such an address typed on the sign-in page, goes straight to this connector; the password of a local account is then not asked for.'),
  claims: federationClaimsSchema.optional(),
  'roles-from-groups': z.record(z.string().min(1), z.array(z.string().min(1))).default({}).describe('Roles given for upstream groups: `{ upstream-group: [role, ...] }`, added at each sign-in.'),
  accounts: z.strictObject({
    create: z.boolean().default(false).describe('Create a local account at the first sign-in of an upstream identity that is linked to none (just in time). Off: only identities linked to an account sign in.'),
    link: z.enum(['confirm', 'verified-email', 'never']).default('confirm').describe('When the upstream gives a **verified** email address that a local account has: `confirm` asks the user to sign in to that account with its password once, then links; `verified-email` links at once (only for a provider you trust to verify addresses of your domain, e.g. your corporate IdP); `never` does not link. An unverified address never links.'),
    'default-roles': z.array(z.string().min(1)).default([]).describe('Roles of accounts created by this connector.'),
  }).default({ create: false, link: 'confirm', 'default-roles': [] }).describe('Which local account an upstream identity signs in to.'),
}).superRefine((f, ctx) => {
  const missing = (key: string, why: string) => ctx.addIssue({ code: 'custom', path: [key], message: `${f.type} connector ${f.id} needs ${key} (${why})` });
  if (f.preset === 'microsoft' && !f.tenant) missing('tenant', 'the tenant id or domain, or consumers for personal accounts');
  if (f.type !== 'saml' && !f['client-id']) missing('client-id', 'registered at the upstream');
  if (f['team-id']) {
    if (!f['client-key-file']) missing('client-key-file', 'the Sign in with Apple key (.p8) that signs the client secret');
    if (!f['client-key-id']) missing('client-key-id', 'the Key ID of that key');
    if (f['client-secret'] || f['client-auth']) ctx.addIssue({ code: 'custom', path: ['team-id'], message: `${f.type} connector ${f.id}: with team-id the client secret is made from the key; remove client-secret and client-auth` });
  }
  if (f['client-auth'] === 'private_key_jwt' && !f['client-key-file']) missing('client-key-file', 'the private key of private_key_jwt');
  if (f['client-auth']?.startsWith('client_secret') && !f['client-secret']) missing('client-secret', `the secret of ${f['client-auth']}`);
  if (f['client-auth'] && (f.type === 'oauth1' || f.type === 'saml')) ctx.addIssue({ code: 'custom', path: ['client-auth'], message: `${f.type} connector ${f.id}: client-auth is for OIDC and OAuth 2.0 connectors` });
  if (f.type === 'oauth1' && !f['client-secret']) missing('client-secret', 'the consumer secret, which signs every request');
  if (f.preset) return;
  if (f.type === 'oidc' && !f.issuer) missing('issuer', 'or a preset');
  if (f.type === 'saml') {
    const metadata = f['idp-metadata-url'] ? 'idp-metadata-url' : f['idp-metadata-file'] ? 'idp-metadata-file' : undefined;
    if (!metadata) for (const k of ['idp-sso-url', 'idp-entity-id', 'idp-certificates'] as const) if (!f[k]) missing(k, 'from the IdP\'s metadata, or set idp-metadata-url');
    for (const k of ['idp-sso-url', 'idp-certificates', ...(metadata === 'idp-metadata-url' ? ['idp-metadata-file'] as const : [])] as const) {
      if (metadata && f[k]) ctx.addIssue({ code: 'custom', path: [k], message: `saml connector ${f.id}: ${k} comes from ${metadata}; remove one of them` });
    }
    if (!!f['sp-private-key'] !== !!f['sp-certificate']) missing(f['sp-private-key'] ? 'sp-certificate' : 'sp-private-key', 'both or neither');
    if (!!f['sp-encryption-key'] !== !!f['sp-encryption-certificate']) missing(f['sp-encryption-key'] ? 'sp-encryption-certificate' : 'sp-encryption-key', 'both or neither');
    if (f['want-assertions-encrypted'] && !f['sp-encryption-key']) missing('sp-encryption-key', 'want-assertions-encrypted needs a decryption key');
  }
  if (f.type === 'oauth2' || f.type === 'oauth1') {
    for (const k of ['authorization-endpoint', 'token-endpoint', 'userinfo-endpoint'] as const) if (!f[k]) missing(k, 'or a preset');
  }
  if (f.type === 'oauth1' && !f['request-token-endpoint']) missing('request-token-endpoint', 'or a preset');
});

export type FederationConfig = z.output<typeof federationSchema>;
export type FederationClaims = z.output<typeof federationClaimsSchema>;
