import { alert, csrfField, esc, layout, type PageContext } from './layout.js';

const codeField = (id: string, label: string, hint: string, o: { error?: boolean; numeric?: boolean; autofocus?: boolean }) =>
  `<label for="${id}">${esc(label)}<span class="hint" id="${id}-hint">${esc(hint)}</span></label>
<input id="${id}" name="code" type="text" ${o.numeric ? 'inputmode="numeric" pattern="[0-9 ]*" ' : ''}autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required aria-describedby="${id}-hint${o.error ? ' form-error' : ''}"${o.error ? ' aria-invalid="true"' : ''}${o.autofocus ? ' autofocus' : ''}>`;

interface EmailOption { send: string; verify: string; sent: boolean; to: string }

/** a code by email: the button that mails one, and once mailed the field for it */
function emailSection(ctx: PageContext, e: EmailOption, csrf: string, error: boolean): string {
  const field = e.sent ? `<p class="hint" role="status">${ctx.t('mfa.email-sent', { to: e.to })}</p>
<form method="post" action="${esc(e.verify)}" novalidate>
${csrfField(csrf)}
${codeField('email-code', ctx.text('mfa.email-code'), ctx.text('mfa.email-code-hint'), { error, numeric: true, autofocus: true })}
<button type="submit">${ctx.t('mfa.email-verify')}</button>
</form>` : '';
  return `${field}
<form method="post" action="${esc(e.send)}">${csrfField(csrf)}<button type="submit" class="secondary">${e.sent ? ctx.t('mfa.email-again') : ctx.t('mfa.email-send', { to: e.to })}</button></form>`;
}

/** the second-factor challenge: a code of the authenticator app, or a recovery code */
export function challengePage(ctx: PageContext, o: { totp?: string; recovery: string; passkey?: string; email?: EmailOption; abort: string; csrf: string; error?: string; clientName?: string }): string {
  const lead = o.totp ? 'totp' : o.passkey ? 'passkey' : 'other';
  return layout(ctx, ctx.text('mfa.title'), `<h1>${ctx.t('mfa.title')}</h1>
<p class="lead">${o.clientName ? ctx.t(`mfa.lead-${lead}-client`, { client: o.clientName }) : ctx.t(`mfa.lead-${lead}`)}</p>
${alert(o.error)}
${o.totp ? `<form method="post" action="${esc(o.totp)}" novalidate>
${csrfField(o.csrf)}
${codeField('code', ctx.text('mfa.app-code'), ctx.text('mfa.app-code-hint'), { error: !!o.error, numeric: true, autofocus: true })}
<button type="submit">${ctx.t('mfa.verify')}</button>
</form>` : ''}
${o.passkey ?? ''}
${o.email ? emailSection(ctx, o.email, o.csrf, !o.totp && !!o.error) : ''}
<details class="other">
<summary>${ctx.t('mfa.lost')}</summary>
<form method="post" action="${esc(o.recovery)}" novalidate>
${csrfField(o.csrf)}
${codeField('recovery-code', ctx.text('mfa.recovery-code'), ctx.text('mfa.recovery-hint'), {})}
<button type="submit" class="secondary">${ctx.t('mfa.use-recovery')}</button>
</form>
</details>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('common.cancel')}</button></form>`);
}

/** enrolment of an authenticator app: the QR code, the secret to type instead, and the first code */
export function enrolPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; qr: string; secret: string; account: string; error?: string; clientName?: string; passkey?: string }): string {
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout(ctx, ctx.text('mfa.enrol.title'), `<h1>${ctx.t('mfa.enrol.title')}</h1>
<p class="lead">${o.clientName ? ctx.t('mfa.enrol.lead-client', { client: o.clientName }) : ctx.t('mfa.enrol.lead')}</p>
${alert(o.error)}
<img class="qr" src="${esc(o.qr)}" width="200" height="200" alt="${ctx.t('mfa.enrol.qr-alt', { account: o.account })}">
<p>${ctx.t('mfa.enrol.manual')}<br><code class="secret" id="totp-secret">${esc(grouped)}</code></p>
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
${codeField('code', ctx.text('mfa.app-code'), ctx.text('mfa.enrol.hint'), { error: !!o.error, numeric: true, autofocus: true })}
<button type="submit">${ctx.t('mfa.enrol.submit')}</button>
</form>
${o.passkey ?? ''}
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('common.cancel')}</button></form>`);
}

/** the recovery codes, once, right after enrolment; Continue resumes the sign-in */
export function recoveryCodesPage(ctx: PageContext, o: { codes: readonly string[]; next: string }): string {
  return layout(ctx, ctx.text('mfa.codes.title'), `<h1>${ctx.t('mfa.codes.title')}</h1>
<p class="lead" role="status">${ctx.t('mfa.codes.lead')}</p>
<ul class="codes" aria-label="${ctx.t('mfa.codes.label')}">
${o.codes.map((c) => `<li><code>${esc(c)}</code></li>`).join('\n')}
</ul>
<nav class="links" aria-label="${ctx.t('nav.next')}"><a class="button" href="${esc(o.next)}">${ctx.t('mfa.codes.continue')}</a></nav>`);
}
