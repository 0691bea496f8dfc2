import { alert, csrfField, esc, layout, type PageContext } from './layout.js';

const codeField = (id: string, label: string, hint: string, o: { error?: boolean; numeric?: boolean; autofocus?: boolean }) =>
  `<label for="${id}">${esc(label)}<span class="hint" id="${id}-hint">${esc(hint)}</span></label>
<input id="${id}" name="code" type="text" ${o.numeric ? 'inputmode="numeric" pattern="[0-9 ]*" ' : ''}autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required aria-describedby="${id}-hint${o.error ? ' form-error' : ''}"${o.error ? ' aria-invalid="true"' : ''}${o.autofocus ? ' autofocus' : ''}>`;

interface EmailOption { send: string; verify: string; sent: boolean; to: string }

/** a code by email: the button that mails one, and once mailed the field for it */
function emailSection(e: EmailOption, csrf: string, error: boolean): string {
  const field = e.sent ? `<p class="hint" role="status">We sent a 6-digit code to ${esc(e.to)}. It works once, for 10 minutes.</p>
<form method="post" action="${esc(e.verify)}" novalidate>
${csrfField(csrf)}
${codeField('email-code', 'Code from your email', 'Check your inbox (and spam folder).', { error, numeric: true, autofocus: true })}
<button type="submit">Verify emailed code</button>
</form>` : '';
  return `${field}
<form method="post" action="${esc(e.send)}">${csrfField(csrf)}<button type="submit" class="secondary">${e.sent ? 'Email me a new code' : `Email a code to ${esc(e.to)}`}</button></form>`;
}

/** the second-factor challenge: a code of the authenticator app, or a recovery code */
export function challengePage(ctx: PageContext, o: { totp?: string; recovery: string; passkey?: string; email?: EmailOption; abort: string; csrf: string; error?: string; clientName?: string }): string {
  const lead = o.totp ? 'enter the 6-digit code your authenticator app shows for this account' : o.passkey ? 'use your passkey' : 'confirm it is you';
  return layout(ctx, 'Two-step verification', `<h1>Two-step verification</h1>
<p class="lead">${o.clientName ? `To continue to ${esc(o.clientName)}, ${lead}` : `${lead[0]!.toUpperCase()}${lead.slice(1)}`}.</p>
${alert(o.error)}
${o.totp ? `<form method="post" action="${esc(o.totp)}" novalidate>
${csrfField(o.csrf)}
${codeField('code', 'Code from your app', 'It changes every 30 seconds.', { error: !!o.error, numeric: true, autofocus: true })}
<button type="submit">Verify</button>
</form>` : ''}
${o.passkey ?? ''}
${o.email ? emailSection(o.email, o.csrf, !o.totp && !!o.error) : ''}
<details class="other">
<summary>Lost your device? Use a recovery code</summary>
<form method="post" action="${esc(o.recovery)}" novalidate>
${csrfField(o.csrf)}
${codeField('recovery-code', 'Recovery code', 'One of the codes you saved when you set up two-step verification. Each works once.', {})}
<button type="submit" class="secondary">Use recovery code</button>
</form>
</details>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Cancel</button></form>`);
}

/** enrolment of an authenticator app: the QR code, the secret to type instead, and the first code */
export function enrolPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; qr: string; secret: string; account: string; error?: string; clientName?: string; passkey?: string }): string {
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout(ctx, 'Set up two-step verification', `<h1>Set up two-step verification</h1>
<p class="lead">${o.clientName ? `${esc(o.clientName)} asks for` : 'Your account needs'} a second step at sign-in. Scan this code with an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis).</p>
${alert(o.error)}
<img class="qr" src="${esc(o.qr)}" width="200" height="200" alt="QR code to add ${esc(o.account)} to an authenticator app">
<p>Cannot scan it? Enter this key in the app instead:<br><code class="secret" id="totp-secret">${esc(grouped)}</code></p>
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
${codeField('code', 'Code from your app', 'Enter the 6-digit code the app now shows, to confirm it is set up.', { error: !!o.error, numeric: true, autofocus: true })}
<button type="submit">Turn on two-step verification</button>
</form>
${o.passkey ?? ''}
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Cancel</button></form>`);
}

/** the recovery codes, once, right after enrolment; Continue resumes the sign-in */
export function recoveryCodesPage(ctx: PageContext, o: { codes: readonly string[]; next: string }): string {
  return layout(ctx, 'Save your recovery codes', `<h1>Save your recovery codes</h1>
<p class="lead" role="status">Two-step verification is on. If you lose your device, each of these codes lets you sign in once. Store them somewhere safe: they are not shown again.</p>
<ul class="codes" aria-label="Recovery codes">
${o.codes.map((c) => `<li><code>${esc(c)}</code></li>`).join('\n')}
</ul>
<nav class="links" aria-label="Next"><a class="button" href="${esc(o.next)}">I have saved them, continue</a></nav>`);
}
