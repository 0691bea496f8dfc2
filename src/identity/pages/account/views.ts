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

const when = (ms: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : 'unknown');

/** re-authentication inside a form: the current password, or (an account without one) a recent sign-in */
export const reauth = (id: string, hasPassword: boolean, attrs = '') => (hasPassword
  ? `<label for="${id}">Current password</label><input id="${id}" name="current-password" type="password" autocomplete="current-password" required${attrs}>`
  : '<p class="hint">You signed in without a password: this needs a sign-in in the last 5 minutes.</p>');

const post = (action: string, csrf: string, body: string, button: string, secondary = true) =>
  `<form method="post" action="${esc(action)}">${csrfField(csrf)}${body}<button type="submit"${secondary ? ' class="secondary"' : ''}>${esc(button)}</button></form>`;

/** the passkeys of the account: name, when added and last used; rename, remove (re-authentication), add */
function passkeysSection(a: string, o: Overview, passkeys: PasskeyInfo[]): string {
  if (!passkeys.length && !o.passkeysOn) return '';
  const items = passkeys.map((p, i) => {
    const label = p.name ?? `Passkey ${i + 1}`;
    return `<li><strong>${esc(label)}</strong><span class="hint">Added ${esc(when(p.createdAt))}, last used ${esc(p.lastUsedAt ? when(p.lastUsedAt) : 'never')}</span>
${post(`${a}/passkeys/rename`, o.csrf, `<input type="hidden" name="passkey" value="${esc(p.id)}"><label for="pk-name-${i}">New name for ${esc(label)}</label><input id="pk-name-${i}" name="name" type="text" maxlength="60" required value="${esc(label)}">`, `Rename ${label}`)}
${post(`${a}/mfa/remove`, o.csrf, `<input type="hidden" name="factor" value="passkey"><input type="hidden" name="passkey" value="${esc(p.id)}">${reauth(`pw-pk${i}`, o.hasPassword)}`, `Remove ${label}`)}</li>`;
  }).join('\n');
  return `<section aria-labelledby="h-passkeys"><h2 id="h-passkeys">Passkeys</h2>
${passkeys.length ? `<ul class="passkeys">${items}</ul>` : '<p>No passkeys yet. A passkey signs you in without a password.</p>'}
${o.passkeysOn ? `<p><a href="${esc(a)}/passkeys/add">Add a passkey</a></p>` : ''}
</section>`;
}

export function overviewPage(ctx: PageContext, o: Overview): string {
  const a = `${ctx.base}/account`;
  const u = o.user;
  const name = typeof u.attributes.name === 'string' ? u.attributes.name : '';
  const sessions = o.sessions.map((s, i) => `<li>Signed in ${esc(when(s.loginTs))}${s.amr.length ? ` (${esc(s.amr.join(', '))})` : ''}${s.uid === o.currentUid ? ' <strong>this browser</strong>' : ''}
${post(`${a}/sessions/sign-out`, o.csrf, `<input type="hidden" name="session" value="${esc(s.uid)}">`, `Sign out session ${i + 1}`)}</li>`).join('\n');
  const links = o.links.map((l) => `<li>${esc(l.connector)}${l.email ? ` (${esc(l.email)})` : ''}
${post(`${a}/links/unlink`, o.csrf, `<input type="hidden" name="connector" value="${esc(l.connector)}">`, `Unlink ${l.connector}`)}</li>`).join('\n');
  const m = o.mfa;
  const mfa = m ? `<section aria-labelledby="h-mfa"><h2 id="h-mfa">Two-step verification</h2>
<ul>
<li>Authenticator app: ${m.app ? 'on' : 'not set up'}</li>
<li>Passkeys: ${m.passkeys.length}</li>
<li>Recovery codes left: ${m.recoveryCodes}</li>
</ul>
${m.app ? post(`${a}/mfa/remove`, o.csrf, `<input type="hidden" name="factor" value="app">${reauth('pw-app', o.hasPassword)}`, 'Remove authenticator app') : `<p><a href="${esc(a)}/mfa/app">Set up an authenticator app</a></p>`}
${m.app || m.passkeys.length ? post(`${a}/mfa/recovery-codes`, o.csrf, reauth('pw-rc', o.hasPassword), 'New recovery codes') : ''}
</section>
${passkeysSection(a, o, m.passkeys)}` : '';
  return layout(ctx, 'Your account', `<h1>Your account</h1>
<p class="lead">Signed in as ${esc(u.username ?? u.email)}.</p>
${alert(o.notice, 'info', 'notice')}${alert(o.error)}
<section aria-labelledby="h-profile"><h2 id="h-profile">Profile</h2>
${post(`${a}/profile`, o.csrf, `<label for="name">Display name</label><input id="name" name="name" type="text" autocomplete="name" maxlength="100" value="${esc(name)}"${mark(o, 'name')}>`, 'Save name', false)}
${o.hasPassword ? post(`${a}/email`, o.csrf, `<label for="email">Email<span class="hint" id="email-hint">Now ${esc(u.email ?? 'none')}${u.email ? (u.emailVerified ? ' (verified)' : ' (not verified)') : ''}. We send a link to the new address to verify it.</span></label><input id="email" name="email" type="email" autocomplete="email" required${mark(o, 'email', 'email-hint')}>${reauth('pw-email', true, mark(o, 'pw-email'))}`, 'Change email') : ''}
</section>
${o.hasPassword ? `<section aria-labelledby="h-password"><h2 id="h-password">Password</h2>
${post(`${a}/password`, o.csrf, `${reauth('pw-current', true, mark(o, 'pw-current'))}<label for="new-password">New password</label><input id="new-password" name="new-password" type="password" autocomplete="new-password" required${mark(o, 'new-password')}>`, 'Change password', false)}
<p class="hint">Changing it signs you out everywhere else.</p></section>` : ''}
${mfa}
<section aria-labelledby="h-sessions"><h2 id="h-sessions">Where you are signed in</h2><ul>${sessions}</ul></section>
${o.links.length ? `<section aria-labelledby="h-links"><h2 id="h-links">Linked sign-ins</h2><ul>${links}</ul></section>` : ''}
<section aria-labelledby="h-data"><h2 id="h-data">Your data</h2><p><a href="${esc(a)}/export">Download my data (JSON)</a></p></section>
<section aria-labelledby="h-delete"><h2 id="h-delete">Delete account</h2>
${post(`${a}/delete`, o.csrf, `<p>This deletes your account and signs you out of every application. It cannot be undone.</p>${reauth('pw-delete', o.hasPassword, mark(o, 'pw-delete'))}`, 'Delete my account')}
</section>`);
}
