import type { User } from '../../accounts.js';
import { alert, csrfField, esc, layout, type PageContext } from '../layout.js';
import type { SessionInfo } from './store.js';
import type { PasskeyInfo } from '../../mfa/passkeys.js';

/** what the overview shows */
export interface Overview {
  user: User;
  hasPassword: boolean;
  currentUid: string;
  sessions: SessionInfo[];
  links: Array<{ connector: string; email: string | null }>;
  mfa?: { app: boolean; passkeys: PasskeyInfo[]; recoveryCodes: number };
  /** passkeys can be added here (WebAuthn on: the issuer is on a host name) */
  passkeysOn?: boolean;
  csrf: string;
  notice?: string;
  error?: string;
  /** the id of the field the error is about: marked invalid and linked to the message */
  invalid?: string;
}

/** a field's attributes: marked invalid and described by the error message when it is the one refused */
const mark = (o: Overview, id: string, describedBy?: string) => (o.invalid === id
  ? ` aria-invalid="true" aria-describedby="form-error${describedBy ? ` ${describedBy}` : ''}"`
  : describedBy ? ` aria-describedby="${describedBy}"` : '');

const when = (ctx: PageContext, ms: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : ctx.text('account.unknown-time'));

/** re-authentication inside a form: the current password, or (an account without one) a recent sign-in */
export const reauth = (ctx: PageContext, id: string, hasPassword: boolean, attrs = '') => (hasPassword
  ? `<label for="${id}">${ctx.t('account.current-password')}</label><input id="${id}" name="current-password" type="password" autocomplete="current-password" required${attrs}>`
  : `<p class="hint">${ctx.t('account.recent-sign-in')}</p>`);

const post = (action: string, csrf: string, body: string, button: string, secondary = true) =>
  `<form method="post" action="${esc(action)}">${csrfField(csrf)}${body}<button type="submit"${secondary ? ' class="secondary"' : ''}>${esc(button)}</button></form>`;

/** the passkeys of the account: name, when added and last used; rename, remove (re-authentication), add */
function passkeysSection(ctx: PageContext, a: string, o: Overview, passkeys: PasskeyInfo[]): string {
  if (!passkeys.length && !o.passkeysOn) return '';
  const items = passkeys.map((p, i) => {
    const label = p.name ?? ctx.text('account.passkey-default', { n: i + 1 });
    const dates = ctx.t('account.passkey-dates', { added: when(ctx, p.createdAt), used: p.lastUsedAt ? when(ctx, p.lastUsedAt) : ctx.text('account.mfa-never') });
    return `<li><strong>${esc(label)}</strong><span class="hint">${dates}</span>
${post(`${a}/passkeys/rename`, o.csrf, `<input type="hidden" name="passkey" value="${esc(p.id)}"><label for="pk-name-${i}">${ctx.t('account.passkey-new-name', { name: label })}</label><input id="pk-name-${i}" name="name" type="text" maxlength="60" required value="${esc(label)}">`, ctx.text('account.passkey-rename', { name: label }))}
${post(`${a}/mfa/remove`, o.csrf, `<input type="hidden" name="factor" value="passkey"><input type="hidden" name="passkey" value="${esc(p.id)}">${reauth(ctx, `pw-pk${i}`, o.hasPassword)}`, ctx.text('account.passkey-remove', { name: label }))}</li>`;
  }).join('\n');
  return `<section aria-labelledby="h-passkeys"><h2 id="h-passkeys">${ctx.t('account.passkeys')}</h2>
${passkeys.length ? `<ul class="passkeys">${items}</ul>` : `<p>${ctx.t('account.passkeys-none')}</p>`}
${o.passkeysOn ? `<p><a href="${esc(a)}/passkeys/add">${ctx.t('account.passkey-add')}</a></p>` : ''}
</section>`;
}

export function overviewPage(ctx: PageContext, o: Overview): string {
  const a = `${ctx.base}/account`;
  const u = o.user;
  const name = typeof u.attributes.name === 'string' ? u.attributes.name : '';
  const sessions = o.sessions.map((s, i) => `<li>${ctx.t('account.session', { when: when(ctx, s.loginTs) })}${s.amr.length ? ` (${esc(s.amr.join(', '))})` : ''}${s.uid === o.currentUid ? ` <strong>${ctx.t('account.this-browser')}</strong>` : ''}
${post(`${a}/sessions/sign-out`, o.csrf, `<input type="hidden" name="session" value="${esc(s.uid)}">`, ctx.text('account.sign-out-session', { n: i + 1 }))}</li>`).join('\n');
  const links = o.links.map((l) => `<li>${esc(l.connector)}${l.email ? ` (${esc(l.email)})` : ''}
${post(`${a}/links/unlink`, o.csrf, `<input type="hidden" name="connector" value="${esc(l.connector)}">`, ctx.text('account.unlink', { connector: l.connector }))}</li>`).join('\n');
  const m = o.mfa;
  const mfa = m ? `<section aria-labelledby="h-mfa"><h2 id="h-mfa">${ctx.t('account.mfa')}</h2>
<ul>
<li>${ctx.t(m.app ? 'account.mfa-app-on' : 'account.mfa-app-off')}</li>
<li>${ctx.t('account.mfa-passkeys', { n: m.passkeys.length })}</li>
<li>${ctx.t('account.mfa-codes-left', { n: m.recoveryCodes })}</li>
</ul>
${m.app ? post(`${a}/mfa/remove`, o.csrf, `<input type="hidden" name="factor" value="app">${reauth(ctx, 'pw-app', o.hasPassword)}`, ctx.text('account.mfa-remove-app')) : `<p><a href="${esc(a)}/mfa/app">${ctx.t('account.mfa-set-up-app')}</a></p>`}
${m.app || m.passkeys.length ? post(`${a}/mfa/recovery-codes`, o.csrf, reauth(ctx, 'pw-rc', o.hasPassword), ctx.text('account.mfa-new-codes')) : ''}
</section>
${passkeysSection(ctx, a, o, m.passkeys)}` : '';
  const emailHint = !u.email ? 'account.email-hint' : u.emailVerified ? 'account.email-hint-verified' : 'account.email-hint-unverified';
  return layout(ctx, ctx.text('account.title'), `<h1>${ctx.t('account.title')}</h1>
<p class="lead">${ctx.t('account.signed-in-as', { user: u.username ?? u.email ?? '' })}</p>
${alert(o.notice, 'info', 'notice')}${alert(o.error)}
<section aria-labelledby="h-profile"><h2 id="h-profile">${ctx.t('account.profile')}</h2>
${post(`${a}/profile`, o.csrf, `<label for="name">${ctx.t('account.name')}</label><input id="name" name="name" type="text" autocomplete="name" maxlength="100" value="${esc(name)}"${mark(o, 'name')}>`, ctx.text('account.save-name'), false)}
${o.hasPassword ? post(`${a}/email`, o.csrf, `<label for="email">${ctx.t('common.email')}<span class="hint" id="email-hint">${ctx.t(emailHint, { email: u.email ?? ctx.text('account.email-none') })}</span></label><input id="email" name="email" type="email" autocomplete="email" required${mark(o, 'email', 'email-hint')}>${reauth(ctx, 'pw-email', true, mark(o, 'pw-email'))}`, ctx.text('account.change-email')) : ''}
</section>
${o.hasPassword ? `<section aria-labelledby="h-password"><h2 id="h-password">${ctx.t('account.password')}</h2>
${post(`${a}/password`, o.csrf, `${reauth(ctx, 'pw-current', true, mark(o, 'pw-current'))}<label for="new-password">${ctx.t('account.new-password')}</label><input id="new-password" name="new-password" type="password" autocomplete="new-password" required${mark(o, 'new-password')}>`, ctx.text('account.change-password'), false)}
<p class="hint">${ctx.t('account.password-hint')}</p></section>` : ''}
${mfa}
<section aria-labelledby="h-sessions"><h2 id="h-sessions">${ctx.t('account.sessions')}</h2><ul>${sessions}</ul></section>
${o.links.length ? `<section aria-labelledby="h-links"><h2 id="h-links">${ctx.t('account.links')}</h2><ul>${links}</ul></section>` : ''}
<section aria-labelledby="h-data"><h2 id="h-data">${ctx.t('account.data')}</h2><p><a href="${esc(a)}/export">${ctx.t('account.download')}</a></p></section>
<section aria-labelledby="h-delete"><h2 id="h-delete">${ctx.t('account.delete')}</h2>
${post(`${a}/delete`, o.csrf, `<p>${ctx.t('account.delete-warning')}</p>${reauth(ctx, 'pw-delete', o.hasPassword, mark(o, 'pw-delete'))}`, ctx.text('account.delete-submit'))}
</section>`);
}
