import { clientIp } from '../../client-ip.js';
import { parseAddress } from '../../email.js';
import { checkPasswordPolicy, hashPassword } from '../../passwords.js';
import { errorPage } from '../error.js';
import { redirect, send, type PageKit } from '../kit.js';
import type { Action, ConsoleHelpers } from './helpers.js';
import { deleteAccountRows, endOtherSessions, endSession } from './store.js';
import { verifyMail } from '../sign-up.js';

/** profile, email, password and deletion of the signed-in account */
export function profileActions(kit: PageKit, h: ConsoleHelpers): Record<string, Action> {
  const { db, back, refuse, hasPassword, reauthenticate } = h;
  return {
    async '/account/profile'(s, _req, res, form) {
      const name = (form.get('name') ?? '').trim().slice(0, 100);
      await kit.users.updateProfile(s.user.id, { attributes: { name: name || undefined } });
      back(res, 'profile');
    },
    async '/account/email'(s, req, res, form) {
      const to = (form.get('email') ?? '').trim();
      if (!parseAddress(to)) refuse(400, 'common.invalid-email', undefined, 'email');
      await reauthenticate(s, req, form, 'pw-email');
      let ok: boolean;
      try { ok = await kit.users.changeEmail(s.user.id, to); } catch { return refuse(400, 'common.invalid-email', undefined, 'email'); }
      if (!ok) refuse(409, 'account.email-taken', undefined, 'email');
      kit.logger.info({ audit: 'account.email-changed', sub: s.user.id, ip: clientIp(req) }, 'account console: email changed');
      const userId = s.user.id;
      kit.outbox.post(verifyMail(kit, userId, to));
      back(res, 'email');
    },
    async '/account/password'(s, req, res, form) {
      if (!(await hasPassword(s.user))) refuse(400, 'account.no-password');
      await reauthenticate(s, req, form, 'pw-current');
      const next = form.get('new-password') ?? '';
      const weak = checkPasswordPolicy(next, kit.cfg.passwords, [s.user.username ?? '', s.user.email ?? ''], kit.cfg.branding.name, kit.page.text);
      if (weak) refuse(400, 'account.weak-password', { reason: weak.replace(/\.$/, '') }, 'new-password');
      await kit.users.setPasswordHash(s.user.id, await hashPassword(next, kit.cfg.passwords.hash));
      await endOtherSessions(db, s.user.id, s.uid);
      kit.logger.info({ audit: 'account.password-changed', sub: s.user.id, ip: clientIp(req) }, 'account console: password changed, other sessions ended');
      back(res, 'password');
    },
    async '/account/delete'(s, req, res, form) {
      await reauthenticate(s, req, form, 'pw-delete');
      await kit.users.revokeSessions(s.user.id);
      await deleteAccountRows(db, s.user.id);
      kit.logger.info({ audit: 'account.deleted', sub: s.user.id, via: 'account-console', ip: clientIp(req) }, 'account deleted by its user');
      send(res, 200, errorPage(kit.page, { title: kit.page.text('account.deleted-title'), message: kit.page.text('account.deleted') }));
    },
  };
}

/** the account's sessions and linked sign-ins */
export function accessActions(kit: PageKit, h: ConsoleHelpers): Record<string, Action> {
  const { a, db, back, refuse, hasPassword } = h;
  return {
    async '/account/sessions/sign-out'(s, req, res, form) {
      const uid = form.get('session') ?? '';
      if (!(await endSession(db, s.user.id, uid))) refuse(404, 'account.no-session');
      kit.logger.info({ audit: 'account.session-ended', sub: s.user.id, ip: clientIp(req) }, 'account console: session signed out');
      if (uid === s.uid) return redirect(res, `${a}/sign-in`);
      back(res, 'session-ended');
    },
    async '/account/links/unlink'(s, req, res, form) {
      const store = kit.federation?.store;
      const connector = form.get('connector') ?? '';
      const links = store ? await store.linksOf(s.user.id) : [];
      if (!links.some((l) => l.connector === connector)) refuse(404, 'account.no-link');
      const passkeys = kit.mfa?.passkeysOn ? await kit.mfa.passkeys.count(s.user.id) : 0;
      if (links.length <= 1 && !(await hasPassword(s.user)) && passkeys === 0) refuse(409, 'account.only-sign-in');
      await store!.unlink(s.user.id, connector);
      kit.logger.info({ audit: 'account.unlinked', sub: s.user.id, connector, ip: clientIp(req) }, 'account console: federated identity unlinked');
      back(res, 'unlinked');
    },
  };
}
