import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../client-ip.js';
import type { BrowserHandoff } from '../connectors/connector.js';
import type { Federation } from '../federation/index.js';
import { errorPage } from './error.js';
import { SAML_RESPONSE_LIMIT } from '../connectors/saml.js';
import { readForm, redirect, send, type PageKit } from './kit.js';
import { alert, csrfField, esc, layout, messagePage, PAGE_CSP, type PageContext } from './layout.js';

const ROUTE = /^\/federation\/([a-z0-9][a-z0-9-]{0,31})\/(callback|metadata|icon|logout)$/;

/** what each refusal of a callback tells the user (the log has the reason) */
const REFUSED: Record<string, string> = {
  'unknown-connector': 'This sign-in link is not valid.',
  'unknown-state': 'This sign-in was completed already or has expired. Go back to the application and start again.',
  'connector-mismatch': 'This answer does not belong to the sign-in that was started. Go back to the application and start again.',
  'browser-mismatch': 'This sign-in was started in another browser. Go back to the application and start again.',
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
      if (method !== 'GET' && method !== 'POST') { send(res, 405, errorPage(kit.page, { message: 'Method not allowed.' })); return true; }
      const rawQuery = method === 'GET' ? (req.url ?? '').split('?')[1] ?? '' : undefined;
      const params = method === 'POST' ? await readForm(req, SAML_RESPONSE_LIMIT + 4096) : query;
      if (params.has('SAMLResponse')) {
        // the IdP's answer to a logout started here: on to where that logout was going
        const next = await federation.samlLogoutDone(m[1]!, params, rawQuery);
        if (next) redirect(res, next);
        else send(res, 400, errorPage(kit.page, { title: 'Sign-out', message: 'This sign-out was completed already or has expired.', code: 'federation-unknown-logout' }));
        return true;
      }
      const r = await federation.samlLogout(m[1]!, params, rawQuery, clientIp(req));
      if ('refused' in r) send(res, 400, errorPage(kit.page, { title: 'Sign-out failed', message: 'This sign-out request is not valid.', code: 'federation-invalid-logout' }));
      else if (r.location) redirect(res, r.location);
      else send(res, 200, messagePage(kit.page, 'Signed out', 'You have been signed out.'));
      return true;
    }
    // the code flow answers with a GET, or posts (form_post); a SAML IdP posts its Response (HTTP-POST binding)
    const allowed = saml ? ['GET', 'POST'] : fc?.config.responseMode === 'form_post' ? ['POST'] : ['GET'];
    if (!allowed.includes(method)) { send(res, 405, errorPage(kit.page, { message: 'Method not allowed.' })); return true; }
    const params = method === 'POST' ? await readForm(req, saml ? SAML_RESPONSE_LIMIT + 4096 : 16 * 1024) : query;
    const r = await federation.callback(req, m[1]!, params, { ip: clientIp(req), via: 'federation' });
    if ('refused' in r) send(res, 400, errorPage(kit.page, { title: 'Sign-in failed', message: REFUSED[r.refused] ?? 'This sign-in failed.', code: `federation-${r.refused}` }));
    else redirect(res, r.location);
    return true;
  };
}

/**
 * send the browser to the upstream: a redirect, or (SAML's HTTP-POST binding) a form that submits
 * itself: its one inline script runs by a nonce fresh for this response, nothing else may run
 */
export function handOff(res: ServerResponse, handoff: BrowserHandoff): void {
  if ('redirect' in handoff) return redirect(res, handoff.redirect);
  const nonce = randomBytes(16).toString('base64');
  const { action, fields } = handoff.post;
  res.setHeader('content-security-policy', `${PAGE_CSP}; script-src 'nonce-${nonce}'`);
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  send(res, 200, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><form method="post" action="${esc(action)}">${inputs}<noscript><p>Press Continue to sign in.</p><button type="submit">Continue</button></noscript></form>
<script nonce="${nonce}">document.forms[0].submit()</script></body></html>`);
}

/** one "Sign in with …" button per connector: forms with the CSRF token (a sign-in is never begun by a cross-site link) */
export function connectorButtons(action: string, csrf: string, connectors: ReadonlyArray<{ id: string; displayName: string; icon?: string }>): string {
  if (!connectors.length) return '';
  const icon = (src?: string) => (src ? `<img src="${esc(src)}" alt="" width="20" height="20"> ` : '');
  return `<div class="federation" role="group" aria-label="Other ways to sign in">
${connectors.map((c) => `<form method="post" action="${esc(action)}">${csrfField(csrf)}<input type="hidden" name="connector" value="${esc(c.id)}"><button type="submit" class="secondary">${icon(c.icon)}Sign in with ${esc(c.displayName)}</button></form>`).join('\n')}
</div>`;
}

/** the confirmation that links an upstream identity to an existing account: the account's password */
export function linkPage(ctx: PageContext, o: { action: string; abort: string; csrf: string; handle: string; connector: string; account: string; error?: string }): string {
  const describedBy = o.error ? ' aria-describedby="form-error"' : '';
  return layout(ctx, 'Link your account', `<h1>Link your account</h1>
<p class="lead">An account for ${esc(o.account)} exists already. To sign in to it with ${esc(o.connector)} from now on, enter its password once.</p>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<input type="hidden" name="handle" value="${esc(o.handle)}">
<label for="password">Password of ${esc(o.account)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${describedBy}>
<button type="submit">Link and sign in</button>
</form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Cancel</button></form>`);
}
