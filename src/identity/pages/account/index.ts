import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../../client-ip.js';
import { checkPasswordPolicy, hashPassword } from '../../passwords.js';
import { errorPage } from '../error.js';
import { enrolPage, recoveryCodesPage } from '../mfa.js';
import { FormError, queryOf, readForm, redirect, send, type PageKit } from '../kit.js';
import { callbackOk, consoleSession, toSignIn, type ConsoleSession } from './session.js';
import { deleteAccountRows, endOtherSessions, endSession, sessionsOf } from './store.js';
import { overviewPage } from './views.js';

/** a sign-in this recent re-authenticates an account without a password */
const FRESH_MS = 5 * 60_000;

const NOTICES: Record<string, string> = {
  profile: 'Your name is saved.', email: 'Your email is changed. Open the link we sent to the new address to verify it.',
  password: 'Your password is changed. Every other session is signed out.', 'mfa-removed': 'The factor is removed.',
  'session-ended': 'That session is signed out.', unlinked: 'The sign-in is unlinked.', 'app-on': 'Your authenticator app is set up.',
};

type Action = (kit: PageKit, s: ConsoleSession, req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => Promise<void>;

/**
 * The account console at `<issuer>/account`: the signed-in user's own profile, password, second
 * factors, sessions, linked sign-ins, data and deletion. Signed in by the identity provider's
 * own browser session (a visit without one goes through sign-in and back); every form carries
 * the CSRF token; what can lock the user out or lose the account asks for the current password
 * (or, without one, a recent sign-in).
 */
export function accountConsole(kit: PageKit) {
  const a = `${kit.base}/account`;
  const db = kit.db!;
  const back = (res: ServerResponse, done: string) => redirect(res, `${a}?done=${done}`);
  const refuse = (status: number, message: string): never => { throw new FormError(status, message); };

  async function hasPassword(u: ConsoleSession['user']): Promise<boolean> {
    return !!(await kit.users.passwordHashFor(u.username ?? u.email ?? ''))?.hash;
  }

  /** the current password (or a fresh sign-in) of the signed-in user, else a refusal */
  async function reauthenticate(s: ConsoleSession, req: IncomingMessage, form: URLSearchParams): Promise<void> {
    if (await hasPassword(s.user)) {
      const password = form.get('current-password') ?? '';
      const r = password ? await kit.password.verify({ login: s.user.username ?? s.user.email!, password }, { ip: clientIp(req), via: 'account' }) : undefined;
      if (!r?.ok || r.identity.accountId !== s.user.id) {
        kit.logger.warn({ audit: 'account.reauth-failed', sub: s.user.id, ip: clientIp(req) }, 'account console: re-authentication failed');
        refuse(401, 'Your current password is needed for this, and the one entered is not right.');
      }
    } else if (Date.now() - s.loginTs > FRESH_MS) {
      refuse(401, `For this, sign in again first (${kit.issuer}/account/sign-in?fresh=1), then try again within 5 minutes.`);
    }
  }

  const actions: Record<string, Action> = {
    async '/account/profile'(_k, s, _req, res, form) {
      const name = (form.get('name') ?? '').trim().slice(0, 100);
      await kit.users.updateProfile(s.user.id, { attributes: { name: name || undefined } });
      back(res, 'profile');
    },
    async '/account/email'(_k, s, req, res, form) {
      await reauthenticate(s, req, form);
      const to = (form.get('email') ?? '').trim();
      let ok: boolean;
      try { ok = await kit.users.changeEmail(s.user.id, to); } catch { return refuse(400, 'That is not an email address.'); }
      if (!ok) refuse(409, 'That email address belongs to another account.');
      kit.logger.info({ audit: 'account.email-changed', sub: s.user.id, ip: clientIp(req) }, 'account console: email changed');
      const userId = s.user.id;
      kit.outbox.post(async () => {
        const token = await kit.users.issueAccountToken(userId, 'verify-email', 86400);
        const link = `${kit.issuer}/account/verify?token=${token}`;
        return { kind: 'verify-email', to, subject: `Verify your email for ${kit.cfg.branding.name}`, text: `Open this link to verify your email address:\n\n${link}\n\nIt is valid for 24 hours.`, link };
      });
      back(res, 'email');
    },
    async '/account/password'(_k, s, req, res, form) {
      if (!(await hasPassword(s.user))) refuse(400, 'Your account signs in without a password.');
      await reauthenticate(s, req, form);
      const next = form.get('new-password') ?? '';
      const weak = checkPasswordPolicy(next, kit.cfg.passwords, [s.user.username ?? '', s.user.email ?? ''], kit.cfg.branding.name);
      if (weak) refuse(400, `The new password is not accepted: ${weak}.`);
      await kit.users.setPasswordHash(s.user.id, await hashPassword(next, kit.cfg.passwords.hash));
      await endOtherSessions(db, s.user.id, s.uid);
      kit.logger.info({ audit: 'account.password-changed', sub: s.user.id, ip: clientIp(req) }, 'account console: password changed, other sessions ended');
      back(res, 'password');
    },
    async '/account/sessions/sign-out'(_k, s, req, res, form) {
      const uid = form.get('session') ?? '';
      if (!(await endSession(db, s.user.id, uid))) refuse(404, 'There is no such session of your account.');
      kit.logger.info({ audit: 'account.session-ended', sub: s.user.id, ip: clientIp(req) }, 'account console: session signed out');
      if (uid === s.uid) return redirect(res, `${a}/sign-in`);
      back(res, 'session-ended');
    },
    async '/account/links/unlink'(_k, s, req, res, form) {
      const store = kit.federation?.store;
      const connector = form.get('connector') ?? '';
      const links = store ? await store.linksOf(s.user.id) : [];
      if (!links.some((l) => l.connector === connector)) refuse(404, 'Your account has no such linked sign-in.');
      const passkeys = kit.mfa?.passkeysOn ? await kit.mfa.passkeys.count(s.user.id) : 0;
      if (links.length <= 1 && !(await hasPassword(s.user)) && passkeys === 0) refuse(409, 'This is the only way you can sign in: it cannot be unlinked.');
      await store!.unlink(s.user.id, connector);
      kit.logger.info({ audit: 'account.unlinked', sub: s.user.id, connector, ip: clientIp(req) }, 'account console: federated identity unlinked');
      back(res, 'unlinked');
    },
    async '/account/mfa/remove'(_k, s, req, res, form) {
      await reauthenticate(s, req, form);
      const factor = form.get('factor');
      if (factor === 'app') await kit.mfa!.store.removeTotp(s.user.id);
      else if (factor === 'passkeys') await kit.mfa!.passkeys.remove(s.user.id);
      else refuse(400, 'Unknown factor.');
      kit.logger.info({ audit: 'mfa.removed', factor, sub: s.user.id, ip: clientIp(req) }, 'account console: second factor removed');
      back(res, 'mfa-removed');
    },
    async '/account/mfa/recovery-codes'(_k, s, req, res, form) {
      await reauthenticate(s, req, form);
      const codes = await kit.mfa!.store.newRecoveryCodes(s.user.id, kit.cfg.mfa['recovery-codes']);
      kit.logger.info({ audit: 'mfa.recovery-codes', sub: s.user.id, ip: clientIp(req) }, 'account console: new recovery codes');
      send(res, 200, recoveryCodesPage(kit.page, { codes, next: a }));
    },
    async '/account/mfa/app'(_k, s, req, res, form) {
      const r = await kit.mfa!.confirmEnrolment(s.user.id, clientIp(req) ?? '', (form.get('code') ?? '').slice(0, 64));
      if (r.ok) return send(res, 200, recoveryCodesPage(kit.page, { codes: r.recoveryCodes, next: `${a}?done=app-on` }));
      if (r.reason === 'wrong') return showEnrol(s, req, res, 'That code is not right. Enter the code the app shows now.');
      refuse(r.reason === 'rate-limited' ? 429 : 409, r.reason === 'rate-limited' ? 'Too many wrong codes. Try again later.' : 'An authenticator app is already set up.');
    },
    async '/account/delete'(_k, s, req, res, form) {
      await reauthenticate(s, req, form);
      await kit.users.revokeSessions(s.user.id);
      await deleteAccountRows(db, s.user.id);
      kit.logger.info({ audit: 'account.deleted', sub: s.user.id, via: 'account-console', ip: clientIp(req) }, 'account deleted by its user');
      send(res, 200, errorPage(kit.page, { title: 'Account deleted', message: 'Your account is deleted and you are signed out everywhere.' }));
    },
  };

  async function showEnrol(s: ConsoleSession, req: IncomingMessage, res: ServerResponse, error?: string): Promise<void> {
    const e = await kit.mfa!.beginEnrolment(s.user.id, s.user.username ?? s.user.email ?? s.user.id);
    if (!e) return redirect(res, a);
    send(res, error ? 400 : 200, enrolPage(kit.page, { action: `${a}/mfa/app`, abort: `${a}/mfa/app/cancel`, csrf: kit.csrf.token(req, res), qr: e.qr, secret: e.secret, account: s.user.username ?? s.user.email ?? '', error }));
  }

  async function overview(s: ConsoleSession, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const done = queryOf(req).get('done') ?? '';
    const links = kit.federation ? await kit.federation.store.linksOf(s.user.id) : [];
    const m = kit.mfa && { app: !!(await kit.mfa.store.totp(s.user.id))?.confirmed, passkeys: await kit.mfa.passkeys.count(s.user.id), recoveryCodes: await kit.mfa.store.recoveryCodesLeft(s.user.id) };
    send(res, 200, overviewPage(kit.page, {
      user: s.user, hasPassword: await hasPassword(s.user), currentUid: s.uid, sessions: await sessionsOf(db, s.user.id), links, mfa: m,
      csrf: kit.csrf.token(req, res), notice: Object.hasOwn(NOTICES, done) ? NOTICES[done] : undefined,
    }));
  }

  async function exportData(s: ConsoleSession, res: ServerResponse): Promise<void> {
    const { user } = s;
    const data = {
      account: user,
      mfa: kit.mfa ? { app: !!(await kit.mfa.store.totp(user.id))?.confirmed, passkeys: await kit.mfa.passkeys.count(user.id), recoveryCodesLeft: await kit.mfa.store.recoveryCodesLeft(user.id) } : undefined,
      linkedIdentities: kit.federation ? await kit.federation.store.linksOf(user.id) : [],
      sessions: (await sessionsOf(db, user.id)).map(({ loginTs, amr, clients }) => ({ signedIn: new Date(loginTs).toISOString(), amr, clients })),
      exportedAt: new Date().toISOString(),
    };
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-disposition', 'attachment; filename="my-account.json"');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(data, null, 2));
  }

  /** handles `path` when it is a console page (true), else false */
  return async (req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean> => {
    if (path !== '/account' && !Object.hasOwn(actions, path) && !['/account/sign-in', '/account/callback', '/account/export', '/account/mfa/app/cancel'].includes(path)) return false;
    if (path === '/account/sign-in' && method === 'GET') { toSignIn(kit, res, queryOf(req).get('fresh') === '1'); return true; }
    if (path === '/account/callback' && method === 'GET') {
      if (callbackOk(req, res, kit, queryOf(req).get('state') ?? '')) redirect(res, a);
      else send(res, 400, errorPage(kit.page, { message: 'This sign-in did not start in this browser. Open your account page again.', code: 'account-state' }));
      return true;
    }
    const s = await consoleSession(kit, req, res);
    if (!s) { if (method === 'GET') toSignIn(kit, res); else send(res, 401, errorPage(kit.page, { message: 'You are not signed in. Open your account page again.', code: 'account-signed-out' })); return true; }
    if (method === 'GET') {
      if (path === '/account') await overview(s, req, res);
      else if (path === '/account/export') await exportData(s, res);
      else if (path === '/account/mfa/app' && kit.mfa) await showEnrol(s, req, res);
      else send(res, 405, errorPage(kit.page, { message: 'Method not allowed.' }));
      return true;
    }
    if (method !== 'POST') { send(res, 405, errorPage(kit.page, { message: 'Method not allowed.' })); return true; }
    const form = await readForm(req);
    kit.csrf.check(req, form);
    if (path === '/account/mfa/app/cancel') { redirect(res, a); return true; }
    const run = actions[path];
    if (!run || (path.startsWith('/account/mfa/') && !kit.mfa)) { send(res, 404, errorPage(kit.page, { message: 'Not found.' })); return true; }
    await run(kit, s, req, res, form);
    return true;
  };
}
