import { IDENTITY_COOKIE_PREFIX } from '../../net/cookies.js';
import { randomBytes } from 'node:crypto';
import type { IdentityConfig } from '../schema.js';
import { currentLanguage, type I18n, type MessageKey, type Vars } from '../i18n/index.js';
import type { LayoutTemplate } from '../i18n/templates.js';

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
export const COOKIE_PREFIX = IDENTITY_COOKIE_PREFIX;

export interface PageContext {
  branding: IdentityConfig['branding'];
  /** the provider's mount path, e.g. /auth */
  base: string;
  i18n: I18n;
  /** the language of the current request */
  readonly lang: string;
  /** message `key` in the request's language, as HTML (escaped; `raw` placeholders stay) */
  t(key: MessageKey, vars?: Vars): string;
  /** message `key` in the request's language, as plain text */
  text(key: MessageKey, vars?: Vars): string;
  /** the plain-text messages of the current language, kept for later (a mail made off the request path) */
  fixed(): (key: MessageKey, vars?: Vars) => string;
  /** an operator's layout (`branding.templates-dir`/layout.html) */
  template?: LayoutTemplate;
  /** `branding.custom-css` is set: its stylesheet follows the built-in one */
  customCss?: boolean;
}

/** the page context of the hosted pages: the language of each call is that of the request it serves */
export function pageContext(o: { branding: IdentityConfig['branding']; base: string; i18n: I18n; template?: LayoutTemplate; customCss?: boolean }): PageContext {
  const lang = () => currentLanguage() ?? o.i18n.fallback;
  return {
    ...o,
    get lang() { return lang(); },
    t: (key, vars) => o.i18n.t(lang(), key, vars),
    text: (key, vars) => o.i18n.text(lang(), key, vars),
    fixed() { const l = lang(); return (key, vars) => o.i18n.text(l, key, vars); },
  };
}

/** Security headers of every hosted page (and of oidc-provider's own HTML). */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/**
 * The CSP of a response from oidc-provider: the page CSP plus a `script-src` with a fresh nonce
 * that no script carries, so by itself it still allows no script. oidc-provider adds the SHA-256
 * of its inline auto-submit script (response_mode=form_post, and the sign-out step when a
 * different user signs in over an existing session) to a `script-src` it finds, so exactly that
 * script runs.
 */
export const providerCsp = () => `${PAGE_CSP}; script-src 'nonce-${randomBytes(16).toString('base64')}'`;

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
input[type=text],input[type=email],input[type=password],input[type=tel],input[type=date],select{width:100%;padding:10px 12px;font-size:1rem;border:1px solid #8a939e;border-radius:6px;background:#fff;color:#1b1f24}
input:focus,button:focus,a:focus{outline:3px solid ${p};outline-offset:2px}
button{display:block;width:100%;margin-top:24px;padding:11px 16px;font-size:1rem;font-weight:600;color:#fff;background:${p};border:1px solid ${p};border-radius:6px;cursor:pointer}
button.secondary{background:#fff;color:${p}}
a{color:${p}}
label.check{display:flex;gap:8px;align-items:baseline;font-weight:400}
.field-error{color:#8e1b1b;font-size:.9rem;margin:4px 0 0}
[aria-invalid=true]{border-color:#c62828}
.alert{border-radius:6px;padding:12px 14px;margin:0 0 16px;border:1px solid}
.alert.error{background:#fdf0f0;border-color:#c62828;color:#8e1b1b}
.alert.info{background:#eef4fc;border-color:${p};color:#173f7a}
.links{margin-top:20px;display:flex;justify-content:space-between;gap:12px;font-size:.95rem;flex-wrap:wrap}
ul.scopes{padding-left:20px}
img.qr{display:block;margin:0 auto 16px;background:#fff}
code.secret{font-size:1.05rem;letter-spacing:.05em;word-break:break-all}
ul.codes{columns:2;list-style:none;padding:12px 16px;border:1px dashed #8a939e;border-radius:6px;font-size:1.05rem}
details.other{margin-top:20px}
details.other summary{cursor:pointer;color:${p}}
a.button{display:block;width:100%;padding:11px 16px;text-align:center;font-weight:600;color:#fff;background:${p};border-radius:6px;text-decoration:none}
footer{margin-top:16px;font-size:.8rem;color:#4a525c}
`;
}

export function layout(ctx: PageContext, title: string, body: string): string {
  const logo = ctx.branding.logo ? `<img src="${esc(ctx.base)}/assets/logo" alt="">` : '';
  const head = `<link rel="stylesheet" href="${esc(ctx.base)}/assets/style.css">${ctx.customCss ? `\n<link rel="stylesheet" href="${esc(ctx.base)}/assets/custom.css">` : ''}`;
  if (ctx.template) return ctx.template.render({ lang: ctx.lang, title, name: ctx.branding.name, base: ctx.base }, { logo, head, body }, (key) => ctx.t(key));
  return `<!doctype html>
<html lang="${esc(ctx.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · ${esc(ctx.branding.name)}</title>
${head}
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

export const alert = (msg: string | undefined, kind: 'error' | 'info' = 'error', id = 'form-error') =>
  msg ? `<div class="alert ${kind}" id="${id}" role="${kind === 'error' ? 'alert' : 'status'}">${esc(msg)}</div>` : '';

export const csrfField = (t: string) => `<input type="hidden" name="csrf" value="${esc(t)}">`;

export function messagePage(ctx: PageContext, title: string, message: string, link?: { href: string; text: string }): string {
  return layout(ctx, title, `<h1>${esc(title)}</h1>
<p class="lead" role="status">${esc(message)}</p>
${link ? `<nav class="links" aria-label="${ctx.t('nav.next')}"><a href="${esc(link.href)}">${esc(link.text)}</a></nav>` : ''}`);
}
