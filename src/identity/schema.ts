import { z } from 'zod';
import { duration } from '../config/units.js';
import { federationSchema } from './federation/schema.js';
import { presetMismatch } from './federation/presets.js';
import { signUpFieldsSchema, termsSchema } from './sign-up/fields.js';
import { messageProblem } from './i18n/load.js';

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password'] as const;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** the OpenID scopes, which have built-in descriptions on the consent page (pages/consent.ts) */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];

const scope = z.string().regex(SCOPE_TOKEN, 'a scope is one token of printable characters, no spaces or quotes');

/** multi-factor authentication for a client or an API (docs/guides/mfa.md) */
export const MFA_POLICIES = ['off', 'optional', 'required'] as const;
const mfaPolicy = z.enum(MFA_POLICIES);

const API_SCOPES = 'an API needs at least one scope: a client may get tokens for an API only by holding one of its scopes';

export const identityApiSchema = z.strictObject({
  audience: z.string().min(1).describe('The API\'s identifier: the `aud` of its access tokens and the `resource` a client asks for (e.g. `api://orders`).'),
  scopes: z.array(scope, { error: (iss) => (iss.input === undefined ? API_SCOPES : undefined) }).min(1, API_SCOPES).describe('Scopes this API defines (at least one; a scope belongs to one API). A client may get tokens for this API only if its `scopes` include one of them, and every token for it carries at least one. A client asking for one of them without `resource` gets a token for this API.'),
  'access-token-ttl': duration({ min: 10, max: 86400 }).optional().describe('Access token lifetime for this API; defaults to `tokens.access-token-ttl`.'),
  mfa: mfaPolicy.optional().describe('Multi-factor authentication for sign-ins that get tokens for this API: `off`, `optional` (accounts with a second factor use it) or `required` (every account; one without a factor enrols at sign-in). When set, the stricter of the client\'s and the API\'s policy applies; unset, the client\'s alone.'),
});

export const identityClientSchema = z.strictObject({
  'client-id': z.string().min(1).max(200).regex(/^[\w.:~-]+$/, 'letters, digits and . _ : ~ - only').describe('The client\'s identifier.'),
  'client-secret': z.string().min(16, 'a client secret needs at least 16 characters (use `gatehouse clients add` to generate 256 random bits)').optional()
    .describe('The client\'s secret (use `${ENV:NAME}`). Confidential clients only; stored and compared as a SHA-256 hash.'),
  public: z.boolean().default(false).describe('A public client (a CLI, a browser app) has no secret; the code flow requires PKCE for it.'),
  'grant-types': z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']).describe('Grants the client may use. `password` is the resource-owner password grant, allowed only for clients that list it.'),
  'redirect-uris': z.array(z.url()).default([]).describe('Exact redirect URIs for the authorization code flow.'),
  'post-logout-redirect-uris': z.array(z.url()).default([]).describe('Where RP-initiated logout may send the browser back to.'),
  scopes: z.array(scope).default([]).describe('API scopes the client may ask for; they are also what decides which APIs it may get tokens for (those defining one of them). `openid profile email offline_access` are always allowed for user-facing grants.'),
  roles: z.array(z.string().min(1)).default([]).describe('App roles put in the `roles` claim of client_credentials tokens.'),
  'first-party': z.boolean().default(true).describe('First-party clients skip the consent page.'),
  name: z.string().optional().describe('Display name on the consent page.'),
  home: z.url().regex(/^https?:/, 'an http(s) URL').optional().describe('The application\'s home page (`client_uri`): an error page about one of its requests links back to it (else to the account console).'),
  mfa: mfaPolicy.optional().describe('Multi-factor authentication for this client\'s sign-ins: `off` (password only, also for accounts that have a second factor), `optional` (accounts with a second factor use it) or `required` (every account; one without a factor enrols at sign-in). Defaults to `mfa.policy`. A client with `required` cannot use the password grant.'),
});

const hashSchema = z.strictObject({
  'memory-cost': z.number().int().min(1024).max(4 * 1024 * 1024).default(19456).describe('argon2id memory in KiB (OWASP: 19456 = 19 MiB).'),
  'time-cost': z.number().int().min(1).max(20).default(2).describe('argon2id iterations (OWASP: 2).'),
  parallelism: z.number().int().min(1).max(16).default(1).describe('argon2id lanes (OWASP: 1).'),
});

/** a limit per client address and per client network (IPv4 /24, IPv6 /64) */
const clientLimit = (perIp: number, perSubnet: number, window: number) => z.strictObject({
  'per-ip': z.number().int().min(1).max(1_000_000).default(perIp).describe('Per client address.'),
  'per-subnet': z.number().int().min(1).max(10_000_000).default(perSubnet).describe('Per client network: IPv4 /24, IPv6 /64.'),
  window: duration({ min: 1, max: 86400 }).default(window).describe('Length of the sliding window, up to 24h.'),
}).default({ 'per-ip': perIp, 'per-subnet': perSubnet, window });

const languageTag = z.string().regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'a language tag, e.g. en, de, pt-BR');
const colour = z.string().regex(/^#[0-9a-fA-F]{3,8}$/, 'a colour is #rgb or #rrggbb');

export const identitySchema = z.strictObject({
  listen: z.strictObject({
    http: z.number().int().min(0).max(65535).default(4000).describe('TCP port of the identity listener (0 picks a free one).'),
    host: z.string().default('127.0.0.1').describe('Address to bind; loopback by default (the gateway forwards `/auth/...` to it).'),
  }).default({ http: 4000, host: '127.0.0.1' }).describe('Where the identity provider listens.'),
  issuer: z.url().refine((u) => !/[?#]/.test(u), 'the issuer has no query or fragment')
    .describe('The public URL of the provider (e.g. `https://api.example.com/auth`). Its path is where the provider is mounted, and every URL it generates starts with it.'),
  'trusted-proxies': z.array(z.string()).default(['127.0.0.1/8', '::1/128']).describe('Addresses or CIDR ranges whose X-Forwarded-For is believed (for audit and lockout); requests from anyone else have their X-Forwarded-* headers removed.'),
  database: z.string().regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'use sqlite:./path/to/file.db or postgres://user@host/db')
    .default('sqlite:./data/identity.db').describe('`sqlite:./data/identity.db` (relative to the config file) or `postgres://user@host/db`.'),
  'database-busy-timeout': duration({ min: 0.01, max: 60 }).default(3)
    .describe('SQLite: how long a request waits (asynchronously: other requests and the gateway go on) while another process holds the database\'s write lock; then it is answered 503 with Retry-After.'),
  apis: z.array(identityApiSchema).default([]).describe('APIs the provider issues JWT access tokens for.'),
  clients: z.array(identityClientSchema).default([]).describe('Clients defined in config (read-only for `gatehouse clients`).'),
  scopes: z.record(scope, z.strictObject({
    description: z.string().min(1).max(200).describe('What the scope lets a client do, in words for the user (e.g. `Read your orders`).'),
  })).default({}).describe('What the consent page says for each scope: `{ orders.read: { description: "Read your orders" } }`. A scope defined by an API (`apis[].scopes`) or an OpenID scope (openid, profile, email, address, phone, offline_access: those have built-in descriptions this overrides). A scope without one is shown by its name.'),
  tokens: z.strictObject({
    'access-token-ttl': duration({ min: 10, max: 86400 }).default(3600).describe('Access token lifetime, 10s–24h. JWT access tokens cannot be revoked before they expire: keep this short.'),
    'refresh-token-ttl': duration({ min: 60 }).default(14 * 86400).describe('Refresh token lifetime; refresh tokens rotate on use, and reuse of a spent one revokes the grant.'),
    'id-token-ttl': duration({ min: 10, max: 86400 }).default(3600).describe('ID token lifetime.'),
    algorithm: z.enum(['RS256', 'PS256', 'ES256']).default('RS256').describe('Signing algorithm of access and ID tokens.'),
  }).default({ 'access-token-ttl': 3600, 'refresh-token-ttl': 14 * 86400, 'id-token-ttl': 3600, algorithm: 'RS256' }).describe('Token lifetimes and signing.'),
  keys: z.strictObject({
    'encryption-key': z.string().min(16).optional().describe('Secret that encrypts signing and cookie keys at rest (use `${ENV:NAME}`). Required with PostgreSQL; with SQLite a key file `<database>.key` is created beside the database when absent.'),
    'rotation-overlap': duration({ min: 0 }).default(3600).describe('How long a new signing key is published in the JWKS before it signs (gateways cache JWKS this long).'),
    'poll-interval': duration({ min: 1, max: 3600 }).default(30).describe('How often a running process checks the database for rotated keys.'),
  }).default({ 'rotation-overlap': 3600, 'poll-interval': 30 }).describe('Signing and cookie keys.'),
  lockout: z.strictObject({
    threshold: z.number().int().min(1).max(1000).default(10).describe('Failed sign-ins (distinct wrong passwords) before the account is locked.'),
    duration: duration({ min: 1 }).default(60).describe('First lockout duration; it doubles on each repeated lockout.'),
    'max-duration': duration({ min: 1 }).default(3600).describe('Cap of the growing lockout duration.'),
  }).default({ threshold: 10, duration: 60, 'max-duration': 3600 }).describe('Smart lockout for the password grant and the sign-in page.'),
  passwords: z.strictObject({
    'min-length': z.number().int().min(8).max(128).default(8).describe('Minimum password length.'),
    'refuse-common': z.boolean().default(true).describe('Refuse guessable passwords: each new password is scored by zxcvbn-ts against about 49,000 breached and common passwords (also in l33t, with digits or symbols added), dictionary words, keyboard patterns, repeats, dates and the account\'s own names.'),
    'min-score': z.number().int().min(0).max(4).default(2).describe('With `refuse-common`: the lowest zxcvbn score accepted (0 too guessable … 4 very unguessable). 2 keeps out what an online attacker would try first while accepting random strings of 8 characters.'),
    hash: hashSchema.default({ 'memory-cost': 19456, 'time-cost': 2, parallelism: 1 }).describe('argon2id parameters; hashes are upgraded on the next sign-in when they change.'),
  }).default({ 'min-length': 8, 'refuse-common': true, 'min-score': 2, hash: { 'memory-cost': 19456, 'time-cost': 2, parallelism: 1 } }).describe('Password policy and hashing (passwords are compared in Unicode NFKC).'),
  'rate-limits': z.strictObject({
    store: z.string().regex(/^(memory(\?.*)?|rediss?:\/\/.+|redis-cluster:\/\/.+)$/, 'use memory, redis://host:port or redis-cluster://host:port,...').default('memory')
      .describe('Counter store of these limits, as `gateway.store`: `memory` (one process) or `redis://...` / `redis-cluster://...`, so that every identity process counts together. Give it its own `?prefix=`.'),
    'sign-in': clientLimit(30, 100, 300).describe('Failed sign-ins (sign-in page and password grant) per client address and per network (IPv4 /24, IPv6 /64) in a sliding window; successful ones do not count. Over it: 429 with Retry-After (the page: the form again with the message).'),
    'sign-up': clientLimit(10, 30, 3600).describe('Sign-up forms sent per client address and per network; over it: 429 with Retry-After.'),
    'password-reset': z.strictObject({
      'per-address': z.number().int().min(1).max(1000).default(5).describe('Reset requests per email address (known or not) per window; more are answered with the usual page and send nothing.'),
      'per-ip': z.number().int().min(1).max(100000).default(20).describe('Reset requests per client address per window (higher than per-address: offices share an address).'),
      'per-subnet': z.number().int().min(1).max(1000000).default(60).describe('Reset requests per client network (IPv4 /24, IPv6 /64) per window.'),
      window: duration({ min: 1, max: 86400 }).default(900).describe('Length of the sliding window, up to 24h.'),
    }).default({ 'per-address': 5, 'per-ip': 20, 'per-subnet': 60, window: 900 }).describe('Limits of the password-reset request form.'),
    mfa: clientLimit(30, 100, 300).describe('Wrong second-factor codes (authenticator app, recovery code) per client address and per network; over it: 429 with Retry-After. Wrong codes also lock the account\'s second factor as `lockout` says.'),
    mail: z.strictObject({
      'per-address': z.number().int().min(1).max(10000).default(10).describe('Mails of any kind (verification, reset, notices) to one address per window; more are dropped and logged (`mail.limited`).'),
      window: duration({ min: 1, max: 7 * 86400 }).default(3600).describe('Length of the sliding window.'),
    }).default({ 'per-address': 10, window: 3600 }).describe('Mail sent to one address.'),
  }).default({
    store: 'memory',
    'sign-in': { 'per-ip': 30, 'per-subnet': 100, window: 300 },
    'sign-up': { 'per-ip': 10, 'per-subnet': 30, window: 3600 },
    'password-reset': { 'per-address': 5, 'per-ip': 20, 'per-subnet': 60, window: 900 },
    mfa: { 'per-ip': 30, 'per-subnet': 100, window: 300 },
    mail: { 'per-address': 10, window: 3600 },
  }).describe('Anti-automation limits of sign-in, sign-up, password reset and mail, counted in a counter store (see `store`).'),
  'sign-up': z.strictObject({
    enabled: z.boolean().default(true).describe('Show the sign-up page.'),
    'require-email-verification': z.boolean().default(false).describe('Refuse sign-in until the email address is verified.'),
    'default-roles': z.array(z.string()).default([]).describe('Roles given to accounts created by sign-up.'),
    fields: signUpFieldsSchema,
    terms: termsSchema.optional(),
  }).default({ enabled: true, 'require-email-verification': false, 'default-roles': [], fields: [] }).describe('Self-service sign-up.'),
  claims: z.strictObject({
    'access-token': z.array(z.string().regex(/^[a-zA-Z_][\w.-]*$/)).default([]).describe('Account attributes copied into access tokens as claims of the same name (besides `roles` and `groups`).'),
    'id-token': z.array(z.string().regex(/^[a-zA-Z_][\w.-]*$/)).default([]).describe('Account attributes returned in the ID token and userinfo.'),
  }).default({ 'access-token': [], 'id-token': [] }).describe('Custom claims from account attributes.'),
  email: z.strictObject({
    transport: z.string().regex(/^(log|smtps?:\/\/.+)$/, 'use log or smtp://user:pass@host:port').default('log').describe('`log` writes links to the log (development); `smtp://...` sends mail through nodemailer.'),
    from: z.string().default('Gatehouse <no-reply@localhost>').describe('Sender address.'),
    'queue-size': z.number().int().min(1).max(1_000_000).default(1000).describe('Mail waiting to be sent (queued, in flight or waiting to retry) at most; more is dropped and logged. Pages never wait for mail.'),
  }).default({ transport: 'log', from: 'Gatehouse <no-reply@localhost>', 'queue-size': 1000 }).describe('Email for verification and password-reset links, sent from a queue off the request path (failed deliveries are retried for about 30 s, and the queue is drained at shutdown).'),
  branding: z.strictObject({
    name: z.string().default('Gatehouse').describe('Product name shown on hosted pages.'),
    logo: z.string().optional().describe('Path to a logo image (PNG, SVG, JPEG; relative to the config file), served from the provider.'),
    'primary-colour': colour.default('#1f5fbf').describe('Colour of buttons and links.'),
    'background-colour': colour.default('#f4f6fa').describe('Page background colour.'),
    'custom-css': z.string().optional().describe('Path to a stylesheet (relative to the config file), served at `<issuer>/assets/custom.css` and linked after the built-in one, so its rules win. The CSP stays `style-src \'self\'`: no inline style.'),
    languages: z.array(languageTag).min(1).default(['en', 'de', 'es']).describe('Languages of the hosted pages, the account console and the mails. Built in: `en`, `de`, `es`; another needs its messages (`messages-dir`). A page is in the first of the authorization request\'s `ui_locales` that is enabled, else the best match of Accept-Language (`de-AT` → `de`), else `default-language`.'),
    'default-language': languageTag.default('en').describe('The language when the browser asks for none of `languages`.'),
    messages: z.record(languageTag, z.record(z.string(), z.string())).optional().describe('Text of your own over the built-in messages, per language: `{ de: { sign-in.title: Anmelden } }`. The keys are those of src/identity/i18n/en.ts (an unknown key is an error); placeholders such as `{client}` are filled in.'),
    'messages-dir': z.string().optional().describe('A folder of message files, one per language (`de.json`, `fr.yaml`: a map of message key to text), over the built-in messages; `messages` goes over them. An unknown key is an error at its file:line:column.'),
    'templates-dir': z.string().optional().describe('A folder with `layout.html`, the page frame of every hosted page (see docs/identity.md, "Branding and languages", for its placeholders).'),
  }).default({ name: 'Gatehouse', 'primary-colour': '#1f5fbf', 'background-colour': '#f4f6fa', languages: ['en', 'de', 'es'], 'default-language': 'en' }).describe('Look and language of the hosted pages.'),
  federation: z.array(federationSchema).default([]).describe('Other identity providers users may sign in with (OpenID Connect, OAuth 2.0, OAuth 1.0a, SAML 2.0): one "Sign in with …" button each on the sign-in page. See docs/guides/federation.md.'),
  mfa: z.strictObject({
    policy: mfaPolicy.default('optional').describe('The policy of clients and APIs that set none: `off`, `optional` (accounts with a second factor are asked for it) or `required` (every account; one without a factor enrols at sign-in).'),
    'totp-issuer': z.string().min(1).max(100).optional().describe('The issuer name an authenticator app shows beside the account; defaults to `branding.name`.'),
    'recovery-codes': z.number().int().min(4).max(20).default(10).describe('Recovery codes made at enrolment (each works once; shown once, stored hashed).'),
    'email-codes': z.boolean().default(false).describe('One-time codes by email as a second factor: an account with a verified email address can have a 6-digit code mailed to it (valid 10 minutes, once). On, such accounts count as having a second factor, so `optional` asks them for one too.'),
    passkeys: z.boolean().default(true).describe('Passkeys (WebAuthn): enrolled as a second factor, and a "Sign in with a passkey" button on the sign-in page (passwordless; a passkey with user verification counts as two factors). Browsers refuse passkeys for an issuer whose host is an IP address, and outside https (except localhost).'),
  }).default({ policy: 'optional', 'recovery-codes': 10, 'email-codes': false, passkeys: true }).describe('Multi-factor authentication: authenticator apps (TOTP, RFC 6238), passkeys (WebAuthn), email codes and recovery codes. See docs/guides/mfa.md.'),
  sessions: z.strictObject({
    ttl: duration({ min: 60 }).default(14 * 86400).describe('Browser session lifetime.'),
  }).default({ ttl: 14 * 86400 }).describe('Browser sessions.'),
}).superRefine((c, ctx) => {
  const ids = new Set<string>();
  c.clients.forEach((cl, i) => {
    if (ids.has(cl['client-id'])) ctx.addIssue({ code: 'custom', path: ['clients', i, 'client-id'], message: `duplicate client-id ${cl['client-id']}` });
    ids.add(cl['client-id']);
    // the account console's own client (pages/account/session.ts)
    if (cl['client-id'] === 'gatehouse-account') ctx.addIssue({ code: 'custom', path: ['clients', i, 'client-id'], message: 'gatehouse-account is reserved for the account console: choose another client-id' });
    if (cl.public && cl['client-secret']) ctx.addIssue({ code: 'custom', path: ['clients', i, 'client-secret'], message: 'a public client has no secret' });
    if (!cl.public && !cl['client-secret']) ctx.addIssue({ code: 'custom', path: ['clients', i], message: 'a confidential client needs client-secret (or set public: true)' });
    if (cl.public && cl['grant-types'].includes('client_credentials')) ctx.addIssue({ code: 'custom', path: ['clients', i, 'grant-types'], message: 'client_credentials needs a confidential client' });
    if (cl['grant-types'].includes('authorization_code') && cl['redirect-uris'].length === 0) ctx.addIssue({ code: 'custom', path: ['clients', i, 'redirect-uris'], message: 'authorization_code needs at least one redirect URI' });
    if (cl.mfa === 'required' && cl['grant-types'].includes('password')) ctx.addIssue({ code: 'custom', path: ['clients', i, 'mfa'], message: 'a client with mfa: required cannot use the password grant (it has no second step): remove password from grant-types' });
    if (cl['grant-types'].every((g) => g === 'client_credentials') && cl.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['clients', i, 'scopes'], message: 'a client_credentials client needs scopes: they name the APIs it may get tokens for' });
  });
  const fedIds = new Set<string>();
  const realms = new Map<string, string>();
  c.federation.forEach((f, i) => {
    if (fedIds.has(f.id)) ctx.addIssue({ code: 'custom', path: ['federation', i, 'id'], message: `duplicate federation id ${f.id}` });
    fedIds.add(f.id);
    const wrong = presetMismatch(f);
    if (wrong) ctx.addIssue({ code: 'custom', path: ['federation', i, 'type'], message: wrong });
    f.domains.forEach((d, j) => {
      const other = realms.get(d);
      if (other) ctx.addIssue({ code: 'custom', path: ['federation', i, 'domains', j], message: `the domain ${d} is the home realm of connector ${other} already` });
      realms.set(d, f.id);
    });
  });
  const auds = new Set<string>();
  const scopeOwner = new Map<string, string>();
  c.apis.forEach((a, i) => {
    if (auds.has(a.audience)) ctx.addIssue({ code: 'custom', path: ['apis', i, 'audience'], message: `duplicate audience ${a.audience}` });
    auds.add(a.audience);
    a.scopes.forEach((sc, j) => {
      const owner = scopeOwner.get(sc);
      if (owner !== undefined && owner !== a.audience) ctx.addIssue({ code: 'custom', path: ['apis', i, 'scopes', j], message: `scope ${sc} already belongs to ${owner}: a scope names one API (it decides which APIs a client may reach)` });
      scopeOwner.set(sc, a.audience);
    });
  });
  const b = c.branding;
  if (!b.languages.some((l) => l.toLowerCase() === b['default-language'].toLowerCase())) ctx.addIssue({ code: 'custom', path: ['branding', 'default-language'], message: `the default language must be one of languages (${b.languages.join(', ')})` });
  for (const [lang, messages] of Object.entries(b.messages ?? {})) {
    for (const [key, text] of Object.entries(messages)) {
      const problem = messageProblem(key, text);
      if (problem) ctx.addIssue({ code: 'custom', path: ['branding', 'messages', lang, key], message: problem });
    }
  }
  for (const sc of Object.keys(c.scopes)) {
    if (!scopeOwner.has(sc) && !OIDC_SCOPES.includes(sc)) ctx.addIssue({ code: 'custom', path: ['scopes', sc], message: `scope ${sc} is not defined by any API (apis[].scopes) nor an OpenID scope: its description would never be shown` });
  }
  if (c.database.startsWith('postgres') && !c.keys['encryption-key']) {
    ctx.addIssue({ code: 'custom', path: ['keys', 'encryption-key'], message: 'PostgreSQL needs keys.encryption-key (e.g. "${ENV:GATEHOUSE_KEY_SECRET}") so every process can decrypt the shared keys' });
  }
});

export type IdentityConfig = z.output<typeof identitySchema>;
export type IdentityClientConfig = z.output<typeof identityClientSchema>;
