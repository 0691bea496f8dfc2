import { clientIp } from '../client-ip.js';
import type { UserStore } from '../accounts.js';
import { parseAddress, type Mail } from '../email.js';
import { checkPasswordPolicy, hashPassword } from '../passwords.js';
import { errorPage } from './error.js';
import { queryOf, readForm, send, type Flow, type PageKit } from './kit.js';
import { alert, csrfField, esc, layout, messagePage, type PageContext } from './layout.js';
import { ENGLISH, fill, type MessageKey, type Vars } from '../i18n/index.js';

/** plain-text messages in one language */
type Say = (key: MessageKey, vars?: Vars) => string;

export function resetRequestPage(ctx: PageContext, o: { action: string; csrf: string; error?: string; info?: string }): string {
  return layout(ctx, ctx.text('reset.title'), `<h1>${ctx.t('reset.title')}</h1>
<p class="lead">${ctx.t('reset.lead')}</p>
${alert(o.error)}${alert(o.info, 'info', 'form-info')}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="email">${ctx.t('common.email')}</label>
<input id="email" name="email" type="email" autocomplete="email" required${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
<button type="submit">${ctx.t('reset.submit')}</button>
</form>`);
}

export function resetFormPage(ctx: PageContext, o: { action: string; csrf: string; token: string; error?: string; minLength: number }): string {
  return layout(ctx, ctx.text('reset.new-title'), `<h1>${ctx.t('reset.new-title')}</h1>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<input type="hidden" name="token" value="${esc(o.token)}">
<label for="password">${ctx.t('reset.new-password')} <span class="hint" id="password-hint">${ctx.t('password.hint', { n: o.minLength })}</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${o.minLength}" aria-describedby="${o.error ? 'form-error ' : ''}password-hint"${o.error ? ' aria-invalid="true"' : ''}>
<button type="submit">${ctx.t('reset.set')}</button>
</form>`);
}

/**
 * `/account/reset`: ask for a reset link by email address. The answer is the same whether or
 * not the address has an account, and takes the same path: the look-up happens off the request
 * path, with the mail. Limits per address and per client are counted first; over one, the
 * usual answer and no mail.
 */
export const resetRequest: Flow = async (kit, req, res, method) => {
  const action = `${kit.base}/account/reset`;
  if (method === 'GET') return send(res, 200, resetRequestPage(kit.page, { action, csrf: kit.csrf.token(req, res) }));
  const form = await readForm(req);
  kit.csrf.check(req, form);
  const email = parseAddress(form.get('email'));
  if (!email) return send(res, 400, resetRequestPage(kit.page, { action, csrf: kit.csrf.token(req, res), error: kit.page.text('common.invalid-email') }));
  const lim = kit.cfg['rate-limits']['password-reset'];
  const ip = clientIp(req);
  const [byAddress, byClient] = await Promise.all([
    kit.limits.address('reset', email, lim['per-address'], lim.window),
    kit.limits.client('reset', ip, { 'per-ip': lim['per-ip'], 'per-subnet': lim['per-subnet'], window: lim.window }),
  ]);
  const limited = !byAddress.allowed ? byAddress.limit : !byClient.allowed ? byClient.limit : undefined;
  const say = kit.page.fixed();
  kit.outbox.post(() => resetMail(kit, email, ip, limited, say));
  // the same answer whether or not the account exists
  return send(res, 200, resetRequestPage(kit.page, { action, csrf: kit.csrf.token(req, res), info: kit.page.text('reset.sent') }));
};

/** the reset mail of `email`, made in the background: none for an unknown, disabled or limited address */
async function resetMail(kit: PageKit, email: string, ip: string, limited: string | undefined, say: Say) {
  const user = await kit.users.findByLogin(email);
  const known = user && user.email === email ? user : undefined;
  if (limited) {
    kit.logger.warn({ audit: 'password.reset-limited', limit: limited, sub: known?.id, ip }, 'password reset request over the rate limit: nothing sent');
    return undefined;
  }
  if (!known || known.disabled) return undefined;
  kit.logger.info({ audit: 'password.reset-requested', sub: known.id, ip }, 'password reset requested');
  return resetMailOf(kit.users, { id: known.id, email }, kit.issuer, kit.cfg.branding.name, say);
}

/**
 * The reset mail of an account: a single-use link, valid for an hour, built from the configured
 * issuer (without a trailing slash), never from request headers. Also sent by the management API.
 */
export async function resetMailOf(users: UserStore, user: { id: string; email: string }, issuer: string, brand: string, say: Say = (key, vars) => fill(ENGLISH[key]!, vars)): Promise<Mail> {
  const token = await users.issueAccountToken(user.id, 'reset-password', 3600);
  const link = `${issuer}/account/reset/confirm?token=${token}`;
  return { kind: 'reset-password', to: user.email, subject: say('mail.reset.subject', { name: brand }), text: say('mail.reset.text', { link }), link };
}

const linkInvalid = (kit: PageKit) => errorPage(kit.page, { title: kit.page.text('reset.link-title'), message: kit.page.text('reset.link-invalid'), code: 'link-invalid' });

/**
 * `/account/reset/confirm`: the link of the reset mail. A new password that passes the policy
 * spends the link (and every other reset link of the account), unlocks the account, revokes its
 * sessions and marks its address verified (the link proves control of the mailbox).
 */
export const resetConfirm: Flow = async (kit, req, res, method) => {
  const action = `${kit.base}/account/reset/confirm`;
  const minLength = kit.minLength;
  if (method === 'GET') {
    const token = queryOf(req).get('token') ?? '';
    return send(res, 200, resetFormPage(kit.page, { action, csrf: kit.csrf.token(req, res), token, minLength }));
  }
  const form = await readForm(req);
  kit.csrf.check(req, form);
  const token = form.get('token') ?? '';
  const password = form.get('password') ?? '';
  const peek = await kit.users.peekAccountToken(token, 'reset-password');
  if (!peek) return send(res, 400, linkInvalid(kit));
  const u = await kit.users.get(peek);
  const policy = checkPasswordPolicy(password, kit.cfg.passwords, [u?.email ?? '', u?.email?.split('@')[0] ?? '', u?.username ?? ''], kit.cfg.branding.name, kit.page.text);
  if (policy) return send(res, 400, resetFormPage(kit.page, { action, csrf: kit.csrf.token(req, res), token, minLength, error: policy }));
  const userId = await kit.users.consumeAccountToken(token, 'reset-password');
  if (!userId) return send(res, 400, linkInvalid(kit));
  await kit.users.setPasswordHash(userId, await hashPassword(password, kit.cfg.passwords.hash));
  await kit.users.unlock(userId);
  await kit.users.revokeSessions(userId);
  await kit.users.setEmailVerified(userId);
  kit.logger.info({ audit: 'password.changed', sub: userId, via: 'reset', ip: clientIp(req) }, 'password changed');
  return send(res, 200, messagePage(kit.page, kit.page.text('reset.done-title'), kit.page.text('reset.done'), { href: `${kit.base}/account`, text: kit.page.text('common.to-account') }));
};
