import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigInvalid } from '../../config/errors.js';
import type { LoadedGatehouseConfig } from '../config.js';
import { appCsp, brandCss, staticApp } from '../portal/static.js';

/**
 * The admin console, served on the admin listener under `console.path`
 * (docs/guides/developer-portal.md): a browser app (web/console/) that signs in with code + PKCE
 * and calls the management API with the token. It holds no power of its own: the management API
 * checks every call against `management.auth`, which the console therefore requires.
 */

export interface Console {
  /** answer `req` when it is the console's; false when it is not */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createConsole(loaded: LoadedGatehouseConfig): Console | undefined {
  const cfg = loaded.config;
  const c = cfg.console;
  if (c === undefined || !c.enabled) return undefined;
  if (cfg.management?.auth === undefined || cfg.management.enabled === false) {
    throw new ConfigInvalid([loaded.locate(['console'], 'the console signs administrators in: it needs the management API with `management.auth` (issuer, audiences, admin role)')]);
  }
  const issuer = c.issuer ?? cfg.identity?.issuer ?? cfg.management.auth.issuer;
  const brand = cfg.identity?.branding;
  const settings = { issuer, clientId: c['client-id'], scope: c.scope, title: 'Admin console', brand: brand?.name ?? 'Gatehouse', adminRole: cfg.management.auth['admin-role'] };
  const files = staticApp('console', appCsp(issuer), {
    '/config.json': { type: 'application/json', body: JSON.stringify(settings) },
    '/brand.css': { type: 'text/css; charset=utf-8', body: brandCss({ 'primary-colour': brand?.['primary-colour'] ?? '#1f5fbf', 'background-colour': brand?.['background-colour'] ?? '#f4f6fa' }) },
  });
  const prefix = c.path;
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
      const rest = path.slice(prefix.length);
      const served = rest !== '' && (req.method === 'GET' || req.method === 'HEAD') && files.serve(res, rest);
      if (rest === '') res.writeHead(308, { location: `${prefix}/` }).end();
      else if (!served) res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not-found"}');
      return true;
    },
  };
}
