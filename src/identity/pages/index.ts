import type { IncomingMessage, ServerResponse } from 'node:http';
import { assets } from './assets.js';
import { createCsrf } from './csrf.js';
import { pageFailed } from './error.js';
import { federationRoutes } from './federation.js';
import { interactions } from './interaction.js';
import { queryOf, type Flow, type PageDeps, type PageKit } from './kit.js';
import { resetConfirm, resetRequest } from './password-reset.js';
import { signIn } from './sign-in.js';
import { passkeyLogin } from './passkey-sign-in.js';
import { signUp } from './sign-up.js';
import { verifyEmail } from './verify-email.js';
import { accountConsole } from './account/index.js';

export type { PageDeps } from './kit.js';

/**
 * The hosted pages: sign-in and the steps after it (oidc-provider interactions), sign-up, email
 * verification, password reset, and their assets. Every form carries a CSRF token bound to a
 * SameSite=Strict cookie. Returns the handler of a request below the mount path (`path`), which
 * says false when the path is not a page (oidc-provider answers it).
 */
export function createHostedPages(d: PageDeps) {
  const issuer = d.cfg.issuer.replace(/\/$/, '');
  const kit: PageKit = {
    ...d,
    base: d.page.base,
    issuer,
    csrf: createCsrf(d.csrfSecret, { base: d.page.base, secureCookie: issuer.startsWith('https:'), logger: d.logger }),
    minLength: d.cfg.passwords['min-length'],
    signUpOn: d.cfg['sign-up'].enabled,
  };
  const files = assets(d.cfg.branding, d.logoFile, d.customCssFile);
  const interaction = interactions(kit, [signIn(d.password, d.federation, d.passkeys && passkeyLogin(kit, d.passkeys)), ...d.steps]);
  const federation = d.federation ? federationRoutes(kit, d.federation) : undefined;
  const accountPages = d.db ? accountConsole(kit) : undefined;
  const flows = new Map<string, Flow>([
    ...(kit.signUpOn ? [['/account/sign-up', signUp] as const] : []),
    ['/account/verify', verifyEmail],
    ['/account/reset', resetRequest],
    ['/account/reset/confirm', resetConfirm],
  ]);

  return async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    try {
      if (path === '/assets/style.css') { files.css(res); return true; }
      if (path === '/assets/passkey.js') { files.passkey(res); return true; }
      if (path === '/assets/custom.css' && files.custom) { files.custom(res); return true; }
      if (path === '/assets/logo' && files.logo) { files.logo(res); return true; }
      if (await interaction(req, res, path, method)) return true;
      if (federation && await federation(req, res, path, queryOf(req), method)) return true;
      if (accountPages && await accountPages(req, res, path, method)) return true;
      const flow = flows.get(path);
      if (!flow) return false;
      await flow(kit, req, res, method);
      return true;
    } catch (err) {
      pageFailed(kit, res, path, err);
      return true;
    }
  };
}
