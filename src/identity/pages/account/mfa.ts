import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../../client-ip.js';
import type { Mfa } from '../../mfa/index.js';
import { enrolPage, recoveryCodesPage } from '../mfa.js';
import { redirect, send, type PageKit } from '../kit.js';
import type { Action, ConsoleHelpers } from './helpers.js';
import type { ConsoleSession } from './session.js';

/** second factors of the signed-in account: enrol an authenticator app, remove a factor, new recovery codes */
export function mfaActions(kit: PageKit, mfa: Mfa, h: ConsoleHelpers) {
  const { a, back, refuse, reauthenticate } = h;
  async function showEnrol(s: ConsoleSession, req: IncomingMessage, res: ServerResponse, error?: string): Promise<void> {
    const e = await mfa.beginEnrolment(s.user.id, s.user.username ?? s.user.email ?? s.user.id);
    if (!e) return redirect(res, a);
    send(res, error ? 400 : 200, enrolPage(kit.page, { action: `${a}/mfa/app`, abort: `${a}/mfa/app/cancel`, csrf: kit.csrf.token(req, res), qr: e.qr, secret: e.secret, account: s.user.username ?? s.user.email ?? '', error }));
  }

  const actions: Record<string, Action> = {
    async '/account/mfa/remove'(s, req, res, form) {
      await reauthenticate(s, req, form);
      const factor = form.get('factor');
      if (factor !== 'app' && factor !== 'passkey') refuse(400, 'account.unknown-factor');
      if (factor === 'app') await mfa.store.removeTotp(s.user.id);
      else if (!(await mfa.passkeys.removeOne(s.user.id, form.get('passkey') ?? ''))) refuse(404, 'account.no-passkey');
      kit.logger.info({ audit: 'mfa.removed', factor, sub: s.user.id, ip: clientIp(req) }, 'account console: second factor removed');
      back(res, 'mfa-removed');
    },
    async '/account/mfa/recovery-codes'(s, req, res, form) {
      await reauthenticate(s, req, form);
      const codes = await mfa.store.newRecoveryCodes(s.user.id, kit.cfg.mfa['recovery-codes']);
      kit.logger.info({ audit: 'mfa.recovery-codes', sub: s.user.id, ip: clientIp(req) }, 'account console: new recovery codes');
      send(res, 200, recoveryCodesPage(kit.page, { codes, next: a }));
    },
    async '/account/mfa/app'(s, req, res, form) {
      const r = await mfa.confirmEnrolment(s.user.id, clientIp(req) ?? '', (form.get('code') ?? '').slice(0, 64));
      if (r.ok) return send(res, 200, recoveryCodesPage(kit.page, { codes: r.recoveryCodes, next: `${a}?done=app-on` }));
      if (r.reason === 'wrong') return showEnrol(s, req, res, kit.page.text('account.app-wrong'));
      refuse(r.reason === 'rate-limited' ? 429 : 409, r.reason === 'rate-limited' ? 'account.app-rate-limited' : 'account.app-exists');
    },
  };
  return { actions, showEnrol };
}
