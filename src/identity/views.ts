import type { IdentityConfig } from './schema.js';

/**
 * Server-rendered hosted pages: plain HTML forms (usable without JavaScript), one stylesheet
 * served by the provider (no CDN, no inline script or style, so the CSP stays strict), labels on
 * every field, errors announced with role="alert" and linked to their field.
 */

export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Every cookie the identity provider sets starts with this prefix (oidc-provider's session,
 * interaction and resume cookies, their `.sig` companions, the pages' CSRF cookie), so that a
 * gateway in front can recognise them and keep them from other APIs on the same origin.
 */
export const COOKIE_PREFIX = 'gh-idp-';

export interface PageContext {
  branding: IdentityConfig['branding'];
  /** the provider's mount path, e.g. /auth */
  base: string;
}

export function stylesheet(b: IdentityConfig['branding']): string {
  const p = b['primary-colour'];
  return `*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:16px;line-height:1.5;color:#1b1f24;background:${b['background-colour']}}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:flex-start;padding:48px 16px}
main{width:100%;max-width:400px;background:#fff;border:1px solid #d5dae1;border-radius:10px;padding:32px;box-shadow:0 2px 8px rgba(20,30,50,.06)}
header.brand{display:flex;align-items:center;gap:12px;margin-bottom:20px;font-weight:600;font-size:1.05rem;color:#30363d}
header.brand img{max-height:40px;max-width:160px}
h1{font-size:1.5rem;margin:0 0 8px}
p{margin:0 0 16px}
.lead{color:#4a525c}
label{display:block;font-weight:600;margin:16px 0 6px}
.hint{display:block;font-weight:400;color:#4a525c;font-size:.875rem}
input[type=text],input[type=email],input[type=password]{width:100%;padding:10px 12px;font-size:1rem;border:1px solid #8a939e;border-radius:6px;background:#fff;color:#1b1f24}
input:focus,button:focus,a:focus{outline:3px solid ${p};outline-offset:2px}
button{display:block;width:100%;margin-top:24px;padding:11px 16px;font-size:1rem;font-weight:600;color:#fff;background:${p};border:1px solid ${p};border-radius:6px;cursor:pointer}
button.secondary{background:#fff;color:${p}}
a{color:${p}}
.alert{border-radius:6px;padding:12px 14px;margin:0 0 16px;border:1px solid}
.alert.error{background:#fdf0f0;border-color:#c62828;color:#8e1b1b}
.alert.info{background:#eef4fc;border-color:${p};color:#173f7a}
.links{margin-top:20px;display:flex;justify-content:space-between;gap:12px;font-size:.95rem;flex-wrap:wrap}
ul.scopes{padding-left:20px}
footer{margin-top:16px;font-size:.8rem;color:#4a525c}
`;
}

export function layout(ctx: PageContext, title: string, body: string): string {
  const logo = ctx.branding.logo ? `<img src="${esc(ctx.base)}/assets/logo" alt="">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · ${esc(ctx.branding.name)}</title>
<link rel="stylesheet" href="${esc(ctx.base)}/assets/style.css">
</head>
<body>
<main>
<header class="brand">${logo}<span>${esc(ctx.branding.name)}</span></header>
${body}
</main>
</body>
</html>
`;
}

const alert = (msg: string | undefined, kind: 'error' | 'info' = 'error', id = 'form-error') =>
  msg ? `<div class="alert ${kind}" id="${id}" role="${kind === 'error' ? 'alert' : 'status'}">${esc(msg)}</div>` : '';

const csrfField = (t: string) => `<input type="hidden" name="csrf" value="${esc(t)}">`;

export function signInPage(ctx: PageContext, o: { action: string; csrf: string; login?: string; error?: string; info?: string; clientName?: string; signUp?: string; reset: string; abort: string }): string {
  const describedBy = o.error ? ' aria-describedby="form-error"' : '';
  return layout(ctx, 'Sign in', `<h1>Sign in</h1>
<p class="lead">${o.clientName ? `to continue to ${esc(o.clientName)}` : 'with your account'}</p>
${alert(o.error)}${alert(o.info, 'info', 'form-info')}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="login">Username or email</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${esc(o.login)}"${describedBy}${o.login ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}${o.login ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Cancel</button></form>
<nav class="links" aria-label="Account help">
<a href="${esc(o.reset)}">Forgot your password?</a>
${o.signUp ? `<a href="${esc(o.signUp)}">Create an account</a>` : ''}
</nav>`);
}

export function consentPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; clientName: string; scopes: string[]; apis: string[] }): string {
  const items = [...o.scopes.map((s) => `<li>${esc(s)}</li>`), ...o.apis.map((a) => `<li>access to ${esc(a)}</li>`)].join('');
  return layout(ctx, 'Allow access', `<h1>Allow access?</h1>
<p class="lead"><strong>${esc(o.clientName)}</strong> asks for:</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${esc(o.action)}">${csrfField(o.csrf)}<button type="submit">Allow</button></form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Deny</button></form>`);
}

export function signUpPage(ctx: PageContext, o: { action: string; csrf: string; username?: string; email?: string; error?: string; errorField?: string; minLength: number; signIn?: string }): string {
  const d = (f: string) => (o.error && (o.errorField === f || !o.errorField) ? ' aria-describedby="form-error" aria-invalid="true"' : '');
  return layout(ctx, 'Create an account', `<h1>Create an account</h1>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required value="${esc(o.email)}"${d('email')}>
<label for="username">Username <span class="hint">Optional; you can sign in with your email instead.</span></label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" value="${esc(o.username)}"${d('username')}>
<label for="password">Password <span class="hint" id="password-hint">At least ${o.minLength} characters, not a common password.</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${o.minLength}"${o.error && o.errorField === 'password' ? ' aria-describedby="form-error password-hint" aria-invalid="true"' : ' aria-describedby="password-hint"'}>
<button type="submit">Create account</button>
</form>
${o.signIn ? `<nav class="links" aria-label="Account help"><a href="${esc(o.signIn)}">Back to sign in</a></nav>` : ''}`);
}

export function resetRequestPage(ctx: PageContext, o: { action: string; csrf: string; error?: string; info?: string }): string {
  return layout(ctx, 'Reset your password', `<h1>Reset your password</h1>
<p class="lead">Enter the email address of your account and we will send you a link.</p>
${alert(o.error)}${alert(o.info, 'info', 'form-info')}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Send reset link</button>
</form>`);
}

export function resetFormPage(ctx: PageContext, o: { action: string; csrf: string; token: string; error?: string; minLength: number }): string {
  return layout(ctx, 'Choose a new password', `<h1>Choose a new password</h1>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<input type="hidden" name="token" value="${esc(o.token)}">
<label for="password">New password <span class="hint" id="password-hint">At least ${o.minLength} characters, not a common password.</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${o.minLength}" aria-describedby="${o.error ? 'form-error ' : ''}password-hint">
<button type="submit">Set password</button>
</form>`);
}

export function verifyPage(ctx: PageContext, o: { action: string; csrf: string; token: string }): string {
  return layout(ctx, 'Verify your email', `<h1>Verify your email</h1>
<p class="lead">Confirm that this email address belongs to you.</p>
<form method="post" action="${esc(o.action)}">
${csrfField(o.csrf)}
<input type="hidden" name="token" value="${esc(o.token)}">
<button type="submit">Verify email address</button>
</form>`);
}

export function messagePage(ctx: PageContext, title: string, message: string, link?: { href: string; text: string }): string {
  return layout(ctx, title, `<h1>${esc(title)}</h1>
<p class="lead" role="status">${esc(message)}</p>
${link ? `<nav class="links" aria-label="Next"><a href="${esc(link.href)}">${esc(link.text)}</a></nav>` : ''}`);
}

export function errorPage(ctx: PageContext, o: { title?: string; message: string; code?: string }): string {
  return layout(ctx, o.title ?? 'Something went wrong', `<h1>${esc(o.title ?? 'Something went wrong')}</h1>
<div class="alert error" role="alert">${esc(o.message)}</div>
${o.code ? `<footer>Error code: <code>${esc(o.code)}</code></footer>` : ''}`);
}

/** oidc-provider's logout confirmation; `form` is its own form (with its xsrf field), kept hidden-free. */
export function logoutPage(ctx: PageContext, form: string): string {
  return layout(ctx, 'Sign out', `<h1>Sign out?</h1>
<p class="lead">Do you want to sign out of ${esc(ctx.branding.name)}?</p>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`);
}
