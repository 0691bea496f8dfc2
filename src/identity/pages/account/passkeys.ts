import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../../client-ip.js';
import type { Passkeys } from '../../mfa/passkeys.js';
import { PASSKEY_NAME_MAX } from '../../mfa/passkeys.js';
import { send, type PageKit } from '../kit.js';
import { alert, esc, layout, type PageContext } from '../layout.js';
import { passkeyCsp, passkeyForm } from '../passkey.js';
import { FieldError, type Action, type ConsoleHelpers } from './helpers.js';
import type { ConsoleSession } from './session.js';

/** the ceremony of the console is that of its browser session (not of a sign-in interaction) */
const ceremony = (s: ConsoleSession) => `account:${s.uid}`;

function addPage(ctx: PageContext, o: { a: string; csrf: string; options: string; scriptSrc: string; reauth: string; name: string; error?: string; invalid?: string }): string {
  const invalid = o.invalid === 'passkey-name' ? ' aria-invalid="true" aria-describedby="form-error name-hint"' : ' aria-describedby="name-hint"';
  const fields = `<label for="passkey-name">${ctx.t('account.add-passkey.name')}<span class="hint" id="name-hint">${ctx.t('account.add-passkey.name-hint')}</span></label>
<input id="passkey-name" name="name" type="text" maxlength="${PASSKEY_NAME_MAX}" required value="${esc(o.name)}"${invalid}>
${o.reauth}`;
  return layout(ctx, ctx.text('account.add-passkey.title'), `<h1>${ctx.t('account.add-passkey.title')}</h1>
<p class="lead">${ctx.t('account.add-passkey.lead')}</p>
${alert(o.error)}
${passkeyForm({ action: `${o.a}/passkeys/add`, csrf: o.csrf, options: o.options, kind: 'register', label: ctx.text('account.add-passkey.submit'), failed: ctx.text('account.add-passkey.failed'), scriptSrc: o.scriptSrc, fields, primary: true })}
<noscript><p class="hint">${ctx.t('account.add-passkey.no-script')}</p></noscript>
<nav class="links" aria-label="${ctx.t('nav.next')}"><a href="${esc(o.a)}">${ctx.t('account.add-passkey.back')}</a></nav>`);
}

/**
 * Passkeys of the signed-in account: add one (a WebAuthn registration run by the passkey script,
 * after re-authentication), rename one. Removal is the console's `/account/mfa/remove`.
 */
export function passkeyActions(kit: PageKit, passkeys: Passkeys, h: ConsoleHelpers, reauthField: (ctx: PageContext, id: string, hasPassword: boolean, attrs?: string) => string) {
  const { a, back, refuse, reauthenticate, hasPassword } = h;
  const script = `${kit.base}/assets/passkey.js`;

  /** GET /account/passkeys/add (and the page again after a refusal) */
  async function showAdd(s: ConsoleSession, req: IncomingMessage, res: ServerResponse, o: { status?: number; error?: string; name?: string; invalid?: string } = {}): Promise<void> {
    const options = await passkeys.registrationOptions(ceremony(s), { id: s.user.id, name: s.user.username ?? s.user.email ?? s.user.id });
    const name = o.name ?? kit.page.text('account.passkey-default', { n: (await passkeys.count(s.user.id)) + 1 });
    res.setHeader('content-security-policy', passkeyCsp(passkeys.origin + script));
    send(res, o.status ?? 200, addPage(kit.page, { a, csrf: kit.csrf.token(req, res), options, scriptSrc: script, reauth: reauthField(kit.page, 'pw-passkey', await hasPassword(s.user), o.invalid === 'pw-passkey' ? ' aria-invalid="true" aria-describedby="form-error"' : ''), name, error: o.error, invalid: o.invalid }));
  }

  const actions: Record<string, Action> = {
    async '/account/passkeys/add'(s, req, res, form) {
      const name = form.get('name') ?? '';
      try {
        await reauthenticate(s, req, form, 'pw-passkey');
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        return showAdd(s, req, res, { status: err.status, error: kit.page.text(err.key, err.vars), name, invalid: err.field });
      }
      if (!(await passkeys.register(ceremony(s), s.user.id, form.get('response') ?? '', name))) return showAdd(s, req, res, { status: 400, error: kit.page.text('account.add-passkey.failed'), name });
      kit.logger.info({ audit: 'mfa.enrolled', factor: 'passkey', via: 'account-console', sub: s.user.id, ip: clientIp(req) }, 'account console: passkey added');
      back(res, 'passkey-added');
    },
    async '/account/passkeys/rename'(s, req, res, form) {
      if (!(await passkeys.rename(s.user.id, form.get('passkey') ?? '', form.get('name') ?? ''))) refuse(404, 'account.no-passkey');
      kit.logger.info({ audit: 'mfa.passkey-renamed', sub: s.user.id, ip: clientIp(req) }, 'account console: passkey renamed');
      back(res, 'passkey-renamed');
    },
  };
  return { actions, showAdd };
}
