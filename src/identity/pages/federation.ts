import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../client-ip.js';
import type { BrowserHandoff } from '../connectors/connector.js';
import type { Federation } from '../federation/index.js';
import { errorPage } from './error.js';
import { SAML_RESPONSE_LIMIT } from '../connectors/saml.js';
import { readForm, redirect, send, type PageKit } from './kit.js';
import { alert, csrfField, esc, layout, messagePage, PAGE_CSP, type PageContext } from './layout.js';
import type { MessageKey } from '../i18n/index.js';

const ROUTE = /^\/federation\/([a-z0-9][a-z0-9-]{0,31})\/(callback|metadata|icon|logout)$/;

/** what each refusal of a callback tells the user (the log has the reason) */
const REFUSED: Record<string, MessageKey> = {
  'unknown-connector': 'federation.invalid-link',
  'unknown-state': 'federation.unknown-state',
  'connector-mismatch': 'federation.connector-mismatch',
  'browser-mismatch': 'federation.browser-mismatch',
};

/**
 * `<base>/federation/<id>/callback`: where an upstream sends the browser back (its redirect URI).
 * Query parameters (the code flow's default response mode), or a posted form for a connector
 * with `response-mode: form_post` and SAML's HTTP-POST binding. A verified answer goes on to
 * the interaction page with a one-time handle; the redirect target is built from the kept
 * interaction, never from the request, so there is no open redirect through it.
 */
export function federationRoutes(kit: PageKit, federation: Federation) {
  return async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, method: string): Promise<boolean> => {
    const m = ROUTE.exec(path);
    if (!m) return false;
    const fc = federation.get(m[1]!);
    const saml = fc && 'metadata' in fc.connector ? fc.connector : undefined;
    if (m[2] === 'icon') {
      if (!fc?.icon || method !== 'GET') return false;
      res.setHeader('content-type', fc.icon.type);
      res.setHeader('cache-control', 'public, max-age=3600');
      // an SVG opened by itself runs no script and loads nothing
      res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
      res.setHeader('x-content-type-options', 'nosniff');
      res.end(fc.icon.body);
      return true;
    }
    if (m[2] === 'metadata') {
      if (!saml || method !== 'GET') return false;
      res.setHeader('content-type', 'application/samlmetadata+xml');
      res.end(saml.metadata(federation.callbackUrl(m[1]!)));
      return true;
    }
    if (m[2] === 'logout') {
      if (!saml) return false;
      if (method !== 'GET' && method !== 'POST') { send(res, 405, errorPage(kit.page, { message: kit.page.text('error.method') })); return true; }
      const rawQuery = method === 'GET' ? (req.url ?? '').split('?')[1] ?? '' : undefined;
      const params = method === 'POST' ? await readForm(req, SAML_RESPONSE_LIMIT + 4096) : query;
      if (params.has('SAMLResponse')) {
        // the IdP's answer to a logout started here: on to where that logout was going
        const next = await federation.samlLogoutDone(m[1]!, params, rawQuery);
        if (next) redirect(res, next);
        else send(res, 400, errorPage(kit.page, { title: kit.page.text('federation.logout-title'), message: kit.page.text('federation.logout-unknown'), code: 'federation-unknown-logout' }));
        return true;
      }
      const r = await federation.samlLogout(m[1]!, params, rawQuery, clientIp(req));
      if ('refused' in r) send(res, 400, errorPage(kit.page, { title: kit.page.text('federation.logout-failed-title'), message: kit.page.text('federation.logout-invalid'), code: 'federation-invalid-logout' }));
      else if (r.location) redirect(res, r.location);
      else send(res, 200, messagePage(kit.page, kit.page.text('logout.done-title'), kit.page.text('logout.done')));
      return true;
    }
    // the code flow answers with a GET, or posts (form_post); a SAML IdP posts its Response (HTTP-POST binding)
    const allowed = saml ? ['GET', 'POST'] : fc?.config.responseMode === 'form_post' ? ['POST'] : ['GET'];
    if (!allowed.includes(method)) { send(res, 405, errorPage(kit.page, { message: kit.page.text('error.method') })); return true; }
    const params = method === 'POST' ? await readForm(req, saml ? SAML_RESPONSE_LIMIT + 4096 : 16 * 1024) : query;
    const r = await federation.callback(req, m[1]!, params, { ip: clientIp(req), via: 'federation' });
    if ('refused' in r) send(res, 400, errorPage(kit.page, { title: kit.page.text('federation.failed-title'), message: kit.page.text(REFUSED[r.refused] ?? 'federation.failed'), code: `federation-${r.refused}` }));
    else redirect(res, r.location);
    return true;
  };
}

/**
 * send the browser to the upstream: a redirect, or (SAML's HTTP-POST binding) a form that submits
 * itself: its one inline script runs by a nonce fresh for this response, nothing else may run
 */
export function handOff(page: PageContext, res: ServerResponse, handoff: BrowserHandoff): void {
  if ('redirect' in handoff) return redirect(res, handoff.redirect);
  const nonce = randomBytes(16).toString('base64');
  const { action, fields } = handoff.post;
  res.setHeader('content-security-policy', `${PAGE_CSP}; script-src 'nonce-${nonce}'`);
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  send(res, 200, `<!doctype html>
<html lang="${esc(page.lang)}"><head><meta charset="utf-8"><title>${page.t('federation.handoff-title')}</title></head>
<body><form method="post" action="${esc(action)}">${inputs}<noscript><p>${page.t('federation.handoff-press')}</p><button type="submit">${page.t('common.continue')}</button></noscript></form>
<script nonce="${nonce}">document.forms[0].submit()</script></body></html>`);
}

/** one "Sign in with …" button per connector: forms with the CSRF token (a sign-in is never begun by a cross-site link) */
export function connectorButtons(ctx: PageContext, action: string, csrf: string, connectors: ReadonlyArray<{ id: string; displayName: string; icon?: string }>): string {
  if (!connectors.length) return '';
  const icon = (src?: string) => (src ? `<img src="${esc(src)}" alt="" width="20" height="20"> ` : '');
  return `<div class="federation" role="group" aria-label="${ctx.t('federation.others')}">
${connectors.map((c) => `<form method="post" action="${esc(action)}">${csrfField(csrf)}<input type="hidden" name="connector" value="${esc(c.id)}"><button type="submit" class="secondary">${icon(c.icon)}${ctx.t('federation.sign-in-with', { connector: c.displayName })}</button></form>`).join('\n')}
</div>`;
}

/** the confirmation that links an upstream identity to an existing account: the account's password */
export function linkPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; handle: string; connector: string; account: string; error?: string }): string {
  const describedBy = o.error ? ' aria-describedby="form-error"' : '';
  return layout(ctx, ctx.text('link.title'), `<h1>${ctx.t('link.title')}</h1>
<p class="lead">${ctx.t('link.lead', { account: o.account, connector: o.connector })}</p>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<input type="hidden" name="handle" value="${esc(o.handle)}">
<label for="password">${ctx.t('link.password', { account: o.account })}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${describedBy}>
<button type="submit">${ctx.t('link.submit')}</button>
</form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('common.cancel')}</button></form>`);
}
