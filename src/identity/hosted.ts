/* eslint-disable @typescript-eslint/no-explicit-any */
import { parseCookies } from '../net/cookies.js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import { normalizeLogin, USERNAME, USERNAME_RULE, type Authenticator, type User, type UserStore } from './accounts.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { parseAddress, type Outbox } from './email.js';
import { DatabaseBusy } from './db.js';
import type { Limits } from './ratelimit.js';
import * as v from './views.js';

export interface HostedDeps {
  cfg: IdentityConfig;
  provider: () => any;
  users: UserStore;
  auth: Authenticator;
  /** mail goes through a queue, off the request path */
  outbox: Outbox;
  logger: Logger;
  page: v.PageContext;
  csrfSecret: Buffer;
  /** absolute path of the logo, resolved against the config folder */
  logoFile?: string;
  clientIp: (req: IncomingMessage) => string;
  limits: Limits;
}

const CSRF_COOKIE = `${v.COOKIE_PREFIX}csrf`;
const FORM_LIMIT = 16 * 1024;
const LOGO_TYPES: Record<string, string> = { '.png': 'image/png', '.svg': 'image/svg+xml', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

/** Security headers of every hosted page (and of oidc-provider's own HTML). */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/**
 * The CSP of a response from oidc-provider: the page CSP plus a `script-src` with a fresh nonce
 * that no script carries, so by itself it still allows no script. oidc-provider adds the SHA-256
 * of its inline auto-submit script (response_mode=form_post, and the sign-out step when a
 * different user signs in over an existing session) to a `script-src` it finds, so exactly that
 * script runs.
 */
export const providerCsp = () => `${PAGE_CSP}; script-src 'nonce-${randomBytes(16).toString('base64')}'`;

/** a wait in words: "2 minutes" */
const waitText = (s: number) => (s < 90 ? `${s} seconds` : s < 5400 ? `${Math.ceil(s / 60)} minutes` : `${Math.ceil(s / 3600)} hours`);

class FormError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

function cookies(req: IncomingMessage): Record<string, string> {
  return parseCookies(req.headers.cookie);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new FormError(415, 'Forms must be sent as application/x-www-form-urlencoded.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) throw new FormError(413, 'The form is too large.');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The hosted pages: sign-in and consent (oidc-provider interactions), sign-up, password reset,
 * email verification. Every form carries a CSRF token bound to a SameSite=Strict cookie.
 */
export function createHostedPages(d: HostedDeps) {
  const base = d.page.base;
  const issuer = d.cfg.issuer.replace(/\/$/, '');
  const secureCookie = issuer.startsWith('https:');
  const css = v.stylesheet(d.cfg.branding);
  const logo = d.logoFile ? { body: readFileSync(d.logoFile), type: LOGO_TYPES[extname(d.logoFile).toLowerCase()] ?? 'application/octet-stream' } : undefined;
  const signUpOn = d.cfg['sign-up'].enabled;
  const minLength = d.cfg.passwords['min-length'];

  const csrfFor = (seed: string) => createHmac('sha256', d.csrfSecret).update(seed).digest('base64url');

  /** the CSRF token for this browser; sets the cookie when it has none */
  function csrfToken(req: IncomingMessage, res: ServerResponse): string {
    let seed = cookies(req)[CSRF_COOKIE];
    if (!seed || !/^[\w-]{20,64}$/.test(seed)) {
      seed = randomBytes(24).toString('base64url');
      res.appendHeader('set-cookie', `${CSRF_COOKIE}=${seed}; Path=${base || '/'}; HttpOnly; SameSite=Strict${secureCookie ? '; Secure' : ''}`);
      (req as any)[CSRF_COOKIE] = seed;
    }
    return csrfFor(seed);
  }

  function checkCsrf(req: IncomingMessage, form: URLSearchParams): void {
    const seed = cookies(req)[CSRF_COOKIE];
    const sent = form.get('csrf') ?? '';
    const ok = !!seed && sent.length > 0 && (() => {
      const a = Buffer.from(csrfFor(seed)), b = Buffer.from(sent);
      return a.length === b.length && timingSafeEqual(a, b);
    })();
    if (!ok) {
      d.logger.warn({ audit: 'csrf.refused', path: req.url, ip: d.clientIp(req) }, 'form refused: missing or wrong CSRF token');
      throw new FormError(403, 'This form has expired or was not sent from this site. Go back, reload the page and try again.');
    }
  }

  function send(res: ServerResponse, status: number, html: string): void {
    res.statusCode = status;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end(html);
  }

  const redirect = (res: ServerResponse, to: string) => { res.statusCode = 303; res.setHeader('location', to); res.end(); };

  /** a same-site path to go back to after sign-up (an interaction), never another origin */
  const safeReturn = (s: string | null): string | undefined => (s && s.startsWith(`${base}/interaction/`) && /^[\w/-]+$/.test(s) ? s : undefined);

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined, method: string) {
    const provider = d.provider();
    let details: any;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      return send(res, 400, v.errorPage(d.page, { title: 'Sign-in expired', message: 'This sign-in attempt has expired. Go back to the application and start again.', code: 'interaction-expired' }));
    }
    if (details.uid !== uid) return send(res, 400, v.errorPage(d.page, { message: 'This sign-in link does not match your browser session.', code: 'interaction-mismatch' }));
    const client = await provider.Client.find(details.params.client_id);
    const clientName = client?.clientName ?? details.params.client_id;
    const self = `${base}/interaction/${uid}`;
    const links = { reset: `${base}/account/reset`, signUp: signUpOn ? `${base}/account/sign-up?return=${encodeURIComponent(self)}` : undefined, abort: `${self}/abort` };

    if (method === 'GET' && !action) {
      if (details.prompt.name === 'login') {
        const info = new URL(req.url ?? '/', 'http://x').searchParams.get('created') ? 'Your account was created. Sign in to continue.' : undefined;
        return send(res, 200, v.signInPage(d.page, { action: `${self}/login`, csrf: csrfToken(req, res), clientName, info, ...links }));
      }
      if (details.prompt.name === 'consent') {
        if (client?.gatehouse_first_party !== false) return finishConsent(provider, req, res, details);
        const missing = details.prompt.details;
        return send(res, 200, v.consentPage(d.page, {
          action: `${self}/confirm`, abort: links.abort, csrf: csrfToken(req, res), clientName,
          scopes: missing.missingOIDCScope ?? [], apis: Object.keys(missing.missingResourceScopes ?? {}),
        }));
      }
      return send(res, 400, v.errorPage(d.page, { message: 'This step of sign-in is not supported.', code: 'unsupported-prompt' }));
    }
    if (method !== 'POST') return send(res, 405, v.errorPage(d.page, { message: 'Method not allowed.' }));
    const form = await readForm(req);
    checkCsrf(req, form);
    if (action === 'abort') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled' }, { mergeWithLastSubmission: false });
    }
    if (action === 'login' && details.prompt.name === 'login') {
      const login = form.get('login') ?? '';
      const result = await d.auth.authenticate(login, form.get('password') ?? '', { ip: d.clientIp(req), via: 'sign-in-page', clientId: details.params.client_id });
      if (!result.ok && result.reason === 'rate-limited') {
        res.setHeader('retry-after', String(result.retryAfter ?? 60));
        return send(res, 429, v.signInPage(d.page, {
          action: `${self}/login`, csrf: csrfToken(req, res), clientName, login: login.slice(0, 320),
          error: `Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfter ?? 60)}.`, ...links,
        }));
      }
      if (!result.ok) {
        // one message for unknown accounts, wrong passwords and locked accounts
        return send(res, 200, v.signInPage(d.page, {
          action: `${self}/login`, csrf: csrfToken(req, res), clientName, login: login.slice(0, 320),
          error: 'The username or password is incorrect, or the account is temporarily locked.', ...links,
        }));
      }
      return provider.interactionFinished(req, res, { login: { accountId: result.user.id, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
    }
    if (action === 'confirm' && details.prompt.name === 'consent') return finishConsent(provider, req, res, details);
    return send(res, 400, v.errorPage(d.page, { message: 'This step of sign-in is no longer current. Go back and try again.', code: 'interaction-step' }));
  }

  async function finishConsent(provider: any, req: IncomingMessage, res: ServerResponse, details: any) {
    const { prompt: { details: missing }, params, session } = details;
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes as Record<string, string[]>)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }

  async function signUp(req: IncomingMessage, res: ServerResponse, method: string) {
    const url = new URL(req.url ?? '/', 'http://x');
    const action = `${base}/account/sign-up${url.search}`;
    const back = safeReturn(url.searchParams.get('return'));
    if (method === 'GET') return send(res, 200, v.signUpPage(d.page, { action, csrf: csrfToken(req, res), minLength, signIn: back }));
    const form = await readForm(req);
    checkCsrf(req, form);
    const gate = await d.limits.client('sign-up', d.clientIp(req), d.cfg['rate-limits']['sign-up']);
    if (!gate.allowed) {
      d.logger.warn({ audit: 'sign-up.limited', limit: gate.limit, ip: d.clientIp(req) }, 'sign-up over the rate limit');
      res.setHeader('retry-after', String(gate.retryAfter));
      return send(res, 429, v.signUpPage(d.page, { action, csrf: csrfToken(req, res), minLength, signIn: back, error: `Too many sign-ups from your network. Try again in ${waitText(gate.retryAfter)}.` }));
    }
    const typed = (form.get('email') ?? '').trim();
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const again = (error: string, errorField?: string) =>
      send(res, 400, v.signUpPage(d.page, { action, csrf: csrfToken(req, res), minLength, signIn: back, email: typed, username, error, errorField }));
    const email = parseAddress(typed);
    if (!email) return again('Enter a valid email address.', 'email');
    if (username && !USERNAME.test(normalizeLogin(username))) return again(USERNAME_RULE.replace(/^./, (c) => c.toUpperCase()) + '.', 'username');
    const policy = checkPasswordPolicy(password, d.cfg.passwords, [email, username, email.split('@')[0]!], d.cfg.branding.name);
    if (policy) return again(policy, 'password');
    // hash first on every path, so that a taken email or username costs the same time as a new account
    const passwordHash = await hashPassword(password, d.cfg.passwords.hash);
    const created = () => {
      if (back) return redirect(res, `${back}?created=1`);
      return send(res, 201, v.messagePage(d.page, 'Account created', 'Your account was created. We sent a link to verify your email address.'));
    };
    /** the address has an account: answer as for a new account (no enumeration by sign-up) and tell the owner instead */
    const addressTaken = async (owner: User) => {
      const link = `${issuer}/account/reset`;
      d.outbox.post({ kind: 'account-exists', to: owner.email!, subject: `Sign-up attempt at ${d.cfg.branding.name}`, text: `Someone (maybe you) tried to create an account with this address, which already has one.\nForgot your password? ${link}`, link });
      d.logger.info({ audit: 'sign-up.existing-email', sub: owner.id, ip: d.clientIp(req) }, 'sign-up with an existing email address');
      return created();
    };
    const ownerOf = async (address: string) => {
      const u = await d.users.findByLogin(address);
      return u && u.email === address ? u : undefined;
    };
    const existing = await ownerOf(email);
    if (existing) return addressTaken(existing);
    /**
     * A taken username gets the same answer as a new account; the submitted address is told by
     * email that no account was made, and the owner of the username is told of the attempt.
     */
    const usernameTaken = async (owner: { id: string; email: string | null } | undefined) => {
      const signUpLink = `${issuer}/account/sign-up`;
      d.outbox.post({ kind: 'sign-up-username-taken', to: email, subject: `Your ${d.cfg.branding.name} account was not created`, text: `Someone (maybe you) tried to create an account with this address and a username that is already in use, so no account was created.\nTo create one, sign up again with another username (or none, to sign in with your email): ${signUpLink}\nIf this was not you, ignore this email.`, link: signUpLink });
      if (owner?.email) {
        const link = `${issuer}/account/reset`;
        d.outbox.post({ kind: 'account-exists', to: owner.email, subject: `Sign-up attempt at ${d.cfg.branding.name}`, text: `Someone (maybe you) tried to create an account with your username, which is already taken; nothing changed on your account.\nForgot your password? ${link}`, link });
      }
      d.logger.info({ audit: 'sign-up.existing-username', sub: owner?.id, ip: d.clientIp(req) }, 'sign-up with a username that is taken');
      return created();
    };
    if (username) {
      const owner = await d.users.findByLogin(username);
      if (owner) return usernameTaken(owner);
    }
    let user;
    try {
      user = await d.users.create({ email, username: username || undefined, passwordHash, roles: d.cfg['sign-up']['default-roles'] });
    } catch (e) {
      // lost a race with another sign-up for the same name (the database decided): the same answers as above
      if (/already exists/.test((e as Error).message)) {
        const owner = await ownerOf(email);
        return owner ? addressTaken(owner) : usernameTaken(username ? await d.users.findByLogin(username) : undefined);
      }
      return again((e as Error).message.replace(/^./, (c) => c.toUpperCase()) + '.', /username/.test((e as Error).message) ? 'username' : 'email');
    }
    d.logger.info({ audit: 'account.created', sub: user.id, via: 'sign-up', ip: d.clientIp(req) }, 'account created');
    const userId = user.id, to = user.email!;
    // the link token is made off the request path too: a new account answers like a taken one
    d.outbox.post(async () => {
      const token = await d.users.issueAccountToken(userId, 'verify-email', 86400);
      const link = `${issuer}/account/verify?token=${token}`;
      return { kind: 'verify-email', to, subject: `Verify your email for ${d.cfg.branding.name}`, text: `Open this link to verify your email address:\n\n${link}\n\nIt is valid for 24 hours.`, link };
    });
    return created();
  }

  async function verify(req: IncomingMessage, res: ServerResponse, method: string) {
    const action = `${base}/account/verify`;
    if (method === 'GET') {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
      return send(res, 200, v.verifyPage(d.page, { action, csrf: csrfToken(req, res), token }));
    }
    const form = await readForm(req);
    checkCsrf(req, form);
    const userId = await d.users.consumeAccountToken(form.get('token') ?? '', 'verify-email');
    if (!userId) return send(res, 400, v.errorPage(d.page, { title: 'Link expired', message: 'This verification link is invalid, expired or already used.', code: 'link-invalid' }));
    await d.users.setEmailVerified(userId);
    d.logger.info({ audit: 'email.verified', sub: userId }, 'email verified');
    return send(res, 200, v.messagePage(d.page, 'Email verified', 'Thank you: your email address is verified.'));
  }

  async function resetRequest(req: IncomingMessage, res: ServerResponse, method: string) {
    const action = `${base}/account/reset`;
    if (method === 'GET') return send(res, 200, v.resetRequestPage(d.page, { action, csrf: csrfToken(req, res) }));
    const form = await readForm(req);
    checkCsrf(req, form);
    const email = parseAddress(form.get('email'));
    if (!email) return send(res, 400, v.resetRequestPage(d.page, { action, csrf: csrfToken(req, res), error: 'Enter a valid email address.' }));
    // limits per address and per client, counted before anything else; over a limit, the usual answer and no mail
    const lim = d.cfg['rate-limits']['password-reset'];
    const ip = d.clientIp(req);
    const [byAddress, byClient] = await Promise.all([
      d.limits.address('reset', email, lim['per-address'], lim.window),
      d.limits.client('reset', ip, { 'per-ip': lim['per-ip'], 'per-subnet': lim['per-subnet'], window: lim.window }),
    ]);
    // whether the address has an account is found out off the request path, with the mail: the
    // answer takes the same path (and time) either way
    const limited = !byAddress.allowed ? byAddress.limit : !byClient.allowed ? byClient.limit : undefined;
    d.outbox.post(async () => {
      const user = await d.users.findByLogin(email);
      const known = user && user.email === email ? user : undefined;
      if (limited) {
        d.logger.warn({ audit: 'password.reset-limited', limit: limited, sub: known?.id, ip }, 'password reset request over the rate limit: nothing sent');
        return undefined;
      }
      if (!known || known.disabled) return undefined;
      const token = await d.users.issueAccountToken(known.id, 'reset-password', 3600);
      // the link is built from the configured issuer, never from request headers
      const link = `${issuer}/account/reset/confirm?token=${token}`;
      d.logger.info({ audit: 'password.reset-requested', sub: known.id, ip }, 'password reset requested');
      return { kind: 'reset-password', to: email, subject: `Reset your ${d.cfg.branding.name} password`, text: `Open this link to choose a new password:\n\n${link}\n\nIt is valid for 1 hour. If you did not ask for it, ignore this email.`, link };
    });
    // the same answer whether or not the account exists
    return send(res, 200, v.resetRequestPage(d.page, { action, csrf: csrfToken(req, res), info: 'If an account uses that address, we sent it a link to reset the password.' }));
  }

  async function resetConfirm(req: IncomingMessage, res: ServerResponse, method: string) {
    const action = `${base}/account/reset/confirm`;
    if (method === 'GET') {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
      return send(res, 200, v.resetFormPage(d.page, { action, csrf: csrfToken(req, res), token, minLength }));
    }
    const form = await readForm(req);
    checkCsrf(req, form);
    const token = form.get('token') ?? '';
    const password = form.get('password') ?? '';
    const peek = await d.users.peekAccountToken(token, 'reset-password');
    if (!peek) return send(res, 400, v.errorPage(d.page, { title: 'Link expired', message: 'This reset link is invalid, expired or already used. Ask for a new one.', code: 'link-invalid' }));
    const u = await d.users.get(peek);
    const policy = checkPasswordPolicy(password, d.cfg.passwords, [u?.email ?? '', u?.email?.split('@')[0] ?? '', u?.username ?? ''], d.cfg.branding.name);
    if (policy) return send(res, 400, v.resetFormPage(d.page, { action, csrf: csrfToken(req, res), token, minLength, error: policy }));
    const userId = await d.users.consumeAccountToken(token, 'reset-password');
    if (!userId) return send(res, 400, v.errorPage(d.page, { title: 'Link expired', message: 'This reset link is invalid, expired or already used. Ask for a new one.', code: 'link-invalid' }));
    await d.users.setPasswordHash(userId, await hashPassword(password, d.cfg.passwords.hash));
    await d.users.unlock(userId);
    await d.users.revokeSessions(userId);
    // a reset link proves control of the mailbox
    await d.users.setEmailVerified(userId);
    d.logger.info({ audit: 'password.changed', sub: userId, via: 'reset', ip: d.clientIp(req) }, 'password changed');
    return send(res, 200, v.messagePage(d.page, 'Password changed', 'Your password was changed. Sign in again from your application.'));
  }

  /** Handle a hosted-page request; `path` is below the mount path. Returns false when it is not ours. */
  return async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    try {
      if (path === '/assets/style.css') {
        res.setHeader('content-type', 'text/css; charset=utf-8');
        res.setHeader('cache-control', 'public, max-age=3600');
        res.end(css);
        return true;
      }
      if (path === '/assets/logo' && logo) {
        res.setHeader('content-type', logo.type);
        res.setHeader('cache-control', 'public, max-age=3600');
        res.end(logo.body);
        return true;
      }
      const m = /^\/interaction\/([\w-]{1,64})(?:\/(login|confirm|abort))?$/.exec(path);
      if (m) { await interaction(req, res, m[1]!, m[2], method); return true; }
      if (path === '/account/sign-up' && signUpOn) { await signUp(req, res, method); return true; }
      if (path === '/account/verify') { await verify(req, res, method); return true; }
      if (path === '/account/reset') { await resetRequest(req, res, method); return true; }
      if (path === '/account/reset/confirm') { await resetConfirm(req, res, method); return true; }
      return false;
    } catch (err) {
      if (res.headersSent) { res.destroy(); return true; }
      if (err instanceof DatabaseBusy) {
        d.logger.warn({ path }, 'hosted page refused: the database is locked by another process');
        res.setHeader('retry-after', String(err.retryAfter));
        send(res, 503, v.errorPage(d.page, { title: 'Try again in a moment', message: 'We are busy right now. Try again in a moment.', code: 'busy' }));
      } else if (err instanceof FormError) {
        send(res, err.status, v.errorPage(d.page, { title: 'Request refused', message: err.message, code: err.status === 403 ? 'csrf' : 'bad-form' }));
      } else {
        d.logger.error({ err: (err as Error).message, stack: (err as Error).stack, path }, 'hosted page failed');
        send(res, 500, v.errorPage(d.page, { message: 'Something went wrong on our side. Try again in a moment.', code: 'server-error' }));
      }
      return true;
    }
  };
}
