import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeLogin, USERNAME, type User } from '../accounts.js';
import { clientIp } from '../client-ip.js';
import { parseAddress, type Mail } from '../email.js';
import { checkPasswordPolicy, hashPassword } from '../passwords.js';
import { readForm, redirect, send, waitText, type Flow, type PageKit } from './kit.js';
import { alert, COOKIE_PREFIX, csrfField, esc, layout, messagePage, type PageContext } from './layout.js';
import { parseCookies } from '../../net/cookies.js';
import { checkFields, renderFields } from '../sign-up/fields.js';

export function signUpPage(ctx: PageContext, o: { action: string; csrf: string; username?: string; email?: string; error?: string; errorField?: string; minLength: number; signIn?: string; extra?: string }): string {
  const d = (f: string) => (o.error && (o.errorField === f || !o.errorField) ? ' aria-describedby="form-error" aria-invalid="true"' : '');
  return layout(ctx, ctx.text('sign-up.title'), `<h1>${ctx.t('sign-up.title')}</h1>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="email">${ctx.t('common.email')}</label>
<input id="email" name="email" type="email" autocomplete="email" required value="${esc(o.email)}"${d('email')}>
<label for="username">${ctx.t('sign-up.username')} <span class="hint">${ctx.t('sign-up.username-hint')}</span></label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" value="${esc(o.username)}"${d('username')}>
<label for="password">${ctx.t('common.password')} <span class="hint" id="password-hint">${ctx.t('password.hint', { n: o.minLength })}</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${o.minLength}"${o.error && o.errorField === 'password' ? ' aria-describedby="form-error password-hint" aria-invalid="true"' : ' aria-describedby="password-hint"'}>
${o.extra ?? ''}
<button type="submit">${ctx.t('sign-up.submit')}</button>
</form>
${o.signIn ? `<nav class="links" aria-label="${ctx.t('nav.account-help')}"><a href="${esc(o.signIn)}">${ctx.t('sign-up.back')}</a></nav>` : ''}`);
}

/** the name a new account signs in with, kept for the next sign-in form (a day, this browser only) */
const LAST_LOGIN_COOKIE = `${COOKIE_PREFIX}login`;

/** the sign-in name kept at sign-up, if any */
export function rememberedLogin(req: IncomingMessage): string | undefined {
  const v = parseCookies(req.headers.cookie)[LAST_LOGIN_COOKIE];
  if (!v) return undefined;
  try { return decodeURIComponent(v).slice(0, 320) || undefined; } catch { return undefined; }
}

/** keep the name the account signs in with for the sign-in form (the answer is the same whether or not an account was made) */
function rememberLogin(kit: PageKit, res: ServerResponse, login: string): void {
  res.appendHeader('set-cookie', `${LAST_LOGIN_COOKIE}=${encodeURIComponent(login)}; Path=${kit.base || '/'}; HttpOnly; SameSite=Lax; Max-Age=86400${kit.issuer.startsWith('https:') ? '; Secure' : ''}`);
}

/** a same-site path to go back to after sign-up (an interaction), never another origin */
const safeReturn = (base: string, s: string | null): string | undefined => (s && s.startsWith(`${base}/interaction/`) && /^[\w/-]+$/.test(s) ? s : undefined);

const capitalized = (s: string) => s.replace(/^./, (c) => c.toUpperCase());

/**
 * `/account/sign-up` (when `sign-up.enabled`): create an account with an email address, an
 * optional username and a password. Limited per client; the password policy applies; and an
 * address or username that is taken gets exactly the answer of a new account (the owners are
 * told by mail), so sign-up reveals no account.
 */
export const signUp: Flow = async (kit, req, res, method) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const action = `${kit.base}/account/sign-up${url.search}`;
  const back = safeReturn(kit.base, url.searchParams.get('return'));
  const su = kit.cfg['sign-up'];
  const page = (status: number, o: { email?: string; username?: string; error?: string; errorField?: string; values?: Record<string, string>; fieldErrors?: Record<string, string> } = {}) =>
    send(res, status, signUpPage(kit.page, { action, csrf: kit.csrf.token(req, res), minLength: kit.minLength, signIn: back, extra: renderFields(su.fields, su.terms, o.values, o.fieldErrors, kit.page.text), ...o }));
  if (method === 'GET') return page(200);
  const form = await readForm(req);
  kit.csrf.check(req, form);
  const gate = await kit.limits.client('sign-up', clientIp(req), kit.cfg['rate-limits']['sign-up']);
  if (!gate.allowed) {
    kit.logger.warn({ audit: 'sign-up.limited', limit: gate.limit, ip: clientIp(req) }, 'sign-up over the rate limit');
    res.setHeader('retry-after', String(gate.retryAfter));
    return page(429, { error: kit.page.text('sign-up.rate-limited', { wait: waitText(kit.page, gate.retryAfter) }) });
  }
  const typed = (form.get('email') ?? '').trim();
  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const fields = checkFields(su.fields, su.terms, form, Date.now(), kit.page.text);
  const again = (error: string, errorField?: string) => page(400, { email: typed, username, error, errorField, values: fields.values });
  if (fields.unknown !== undefined) {
    kit.logger.warn({ audit: 'sign-up.unknown-field', field: fields.unknown.slice(0, 64), ip: clientIp(req) }, 'sign-up form with a field that is not configured');
    return again(kit.page.text('sign-up.unknown-field'), 'form');
  }
  if (Object.keys(fields.errors).length) {
    const n = Object.keys(fields.errors).length;
    const badAddress = !parseAddress(typed);
    const error = (badAddress ? `${kit.page.text('common.invalid-email')} ` : '') + (n === 1 ? kit.page.text('sign-up.check-one') : kit.page.text('sign-up.check-many', { n }));
    return page(400, { email: typed, username, error, errorField: badAddress ? 'email' : 'fields', values: fields.values, fieldErrors: fields.errors });
  }
  const email = parseAddress(typed);
  if (!email) return again(kit.page.text('common.invalid-email'), 'email');
  if (username && !USERNAME.test(normalizeLogin(username))) return again(kit.page.text('sign-up.username-rule'), 'username');
  const policy = checkPasswordPolicy(password, kit.cfg.passwords, [email, username, email.split('@')[0]!], kit.cfg.branding.name, kit.page.text);
  if (policy) return again(policy, 'password');
  // hash first on every path, so that a taken email or username costs the same time as a new account
  const passwordHash = await hashPassword(password, kit.cfg.passwords.hash);
  return register({ kit, req, res, back, email, username, attributes: fields.attributes }, passwordHash, again);
};

/** a sign-up form that passed every check */
interface Attempt { kit: PageKit; req: IncomingMessage; res: ServerResponse; back?: string; email: string; username: string; attributes: Record<string, string | boolean> }

/** create the account, or answer as if it was created when its address or username is taken */
async function register(a: Attempt, passwordHash: string, again: (error: string, errorField?: string) => void): Promise<void> {
  const { kit, email, username } = a;
  const existing = await ownerOf(kit, email);
  if (existing) return addressTaken(a, existing);
  if (username) {
    const owner = await kit.users.findByLogin(username);
    if (owner) return usernameTaken(a, owner);
  }
  let user;
  try {
    user = await kit.users.create({ email, username: username || undefined, passwordHash, roles: kit.cfg['sign-up']['default-roles'], attributes: a.attributes });
  } catch (e) {
    const message = (e as Error).message;
    // lost a race with another sign-up for the same name (the database decided): the same answers as above
    if (/already exists/.test(message)) {
      const owner = await ownerOf(kit, email);
      return owner ? addressTaken(a, owner) : usernameTaken(a, username ? await kit.users.findByLogin(username) : undefined);
    }
    return again(capitalized(message) + '.', /username/.test(message) ? 'username' : 'email');
  }
  kit.logger.info({ audit: 'account.created', sub: user.id, via: 'sign-up', ip: clientIp(a.req) }, 'account created');
  const userId = user.id, to = user.email!;
  // the link token is made off the request path too: a new account answers like a taken one
  kit.outbox.post(verifyMail(kit, userId, to));
  return created(a);
}

/**
 * The verification mail of a new address, in the language of the request that asked for it (the
 * link token is made off the request path).
 */
export function verifyMail(kit: PageKit, userId: string, to: string): () => Promise<Mail> {
  const say = kit.page.fixed();
  return async () => {
    const token = await kit.users.issueAccountToken(userId, 'verify-email', 86400);
    const link = `${kit.issuer}/account/verify?token=${token}`;
    return { kind: 'verify-email', to, subject: say('mail.verify.subject', { name: kit.cfg.branding.name }), text: say('mail.verify.text', { link }), link };
  };
}

/** the account whose address `address` is (not one whose username merely looks like it) */
async function ownerOf(kit: PageKit, address: string): Promise<User | undefined> {
  const u = await kit.users.findByLogin(address);
  return u && u.email === address ? u : undefined;
}

/** the answer of a new account: back to the sign-in it came from, or a page */
function created({ kit, res, back, email, username }: Attempt): void {
  rememberLogin(kit, res, username || email);
  if (back) return redirect(res, `${back}?created=1`);
  return send(res, 201, messagePage(kit.page, kit.page.text('sign-up.created-title'), kit.page.text('sign-up.created')));
}

/** the address has an account: answer as for a new account (no enumeration by sign-up) and tell the owner instead */
function addressTaken(a: Attempt, owner: User): void {
  const { kit } = a;
  const link = `${kit.issuer}/account/reset`;
  const name = kit.cfg.branding.name;
  kit.outbox.post({ kind: 'account-exists', to: owner.email!, subject: kit.page.text('mail.exists.subject', { name }), text: kit.page.text('mail.exists.text', { link }), link });
  kit.logger.info({ audit: 'sign-up.existing-email', sub: owner.id, ip: clientIp(a.req) }, 'sign-up with an existing email address');
  return created(a);
}

/**
 * A taken username gets the same answer as a new account; the submitted address is told by
 * email that no account was made, and the owner of the username is told of the attempt.
 */
function usernameTaken(a: Attempt, owner: { id: string; email: string | null } | undefined): void {
  const { kit } = a;
  const name = kit.cfg.branding.name;
  const signUpLink = `${kit.issuer}/account/sign-up`;
  kit.outbox.post({ kind: 'sign-up-username-taken', to: a.email, subject: kit.page.text('mail.username-taken.subject', { name }), text: kit.page.text('mail.username-taken.text', { link: signUpLink }), link: signUpLink });
  if (owner?.email) {
    const link = `${kit.issuer}/account/reset`;
    kit.outbox.post({ kind: 'account-exists', to: owner.email, subject: kit.page.text('mail.exists.subject', { name }), text: kit.page.text('mail.username-owner.text', { link }), link });
  }
  kit.logger.info({ audit: 'sign-up.existing-username', sub: owner?.id, ip: clientIp(a.req) }, 'sign-up with a username that is taken');
  return created(a);
}
