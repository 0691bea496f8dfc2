import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ConfigInvalid } from '../../config/errors.js';
import type { Db } from '../../identity/db.js';
import { DatabaseBusy } from '../../identity/db.js';
import { listenOn, type PublicApp } from '../../edge/server.js';
import { normalizeTarget } from '../../gateway/normalize.js';
import type { LoadedGatehouseConfig } from '../config.js';
import { ManagementProblem, sendJson, sendProblem as sendProblemWithId } from '../management/http.js';
import type { ProblemCode } from '../../gateway/problems.js';
import { SubscriptionApi } from '../management/subscriptions.js';
import { openSubscriptionsDb, subscriptionsDatabase } from '../subscriptions.js';
import { PortalApi } from './api.js';
import { developerVerifier } from './auth.js';
import { buildCatalog } from './catalog.js';
import { appCsp, brandCss, staticApp } from './static.js';

/**
 * The developer portal under `portal.path` (docs/guides/developer-portal.md): the browser app
 * (web/portal/), its settings (config.json, brand.css) and its API (api/..., see api.ts). Served
 * by each gateway process on its public listeners before routing, or, with `portal.listen`, on a
 * listener of its own that an API route publishes (then the gateway's policies apply to it). The
 * subscriptions database is opened on first use (and again after a failure).
 */

export interface Portal extends PublicApp { close(): Promise<void> }

/** The portal of `loaded`, or undefined when it has none or turns it off; a portal it cannot run is refused, located. */
export function createPortal(loaded: LoadedGatehouseConfig, logger: Logger): Portal | undefined {
  const cfg = loaded.config;
  const portal = cfg.portal;
  if (portal === undefined || !portal.enabled) return undefined;
  const url = subscriptionsDatabase(loaded);
  const issuer = portal.issuer ?? cfg.identity?.issuer;
  if (url === undefined) throw new ConfigInvalid([loaded.locate(['portal'], 'the portal offers products: add `products` (and a `subscriptions.database` or an `identity` section)')]);
  if (issuer === undefined) throw new ConfigInvalid([loaded.locate(['portal'], 'set `portal.issuer` (the identity provider developers sign in with), or add an `identity` section')]);
  // on the gateway's listeners the portal answers before routing; on its own, an API routes to it
  const clash = portal.listen ? undefined : cfg.apis.find((a) => a.path === portal.path || a.path.startsWith(`${portal.path}/`));
  if (clash) throw new ConfigInvalid([loaded.locate(['portal', 'path'], `the API "${clash.name}" is served under ${clash.path}: give the portal a path of its own`)]);

  const brand = { ...cfg.identity?.branding, ...portal.branding };
  const settings = { issuer, clientId: portal['client-id'], scope: portal.scope, title: portal.title, brand: brand.name ?? 'Gatehouse' };
  const files = staticApp('portal', appCsp(issuer), {
    '/config.json': { type: 'application/json', body: JSON.stringify(settings) },
    '/brand.css': { type: 'text/css; charset=utf-8', body: brandCss({ 'primary-colour': brand['primary-colour'] ?? '#1f5fbf', 'background-colour': brand['background-colour'] ?? '#f4f6fa' }) },
  });
  let db: Promise<Db> | undefined;
  const subscriptions = async () => {
    db ??= openSubscriptionsDb(loaded, url).catch((err: unknown) => { db = undefined; throw err; });
    const d = await db;
    return { db: d, api: new SubscriptionApi(d, cfg.products ?? [], cfg.apis.map((a) => a.name)) };
  };
  const api = new PortalApi(buildCatalog(loaded, logger), subscriptions, developerVerifier(issuer, portal.audience), portal['max-subscriptions']);
  const prefix = portal.path;

  const serveApi = async (req: IncomingMessage, res: ServerResponse, rest: string) => {
    // the id the response header carries (set by the listener) is the one in the problem
    const sendProblem = (r: ServerResponse, code: ProblemCode, detail: string) => sendProblemWithId(r, code, detail, String(r.getHeader('x-request-id') ?? randomUUID()));
    try {
      const seg = rest.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
      const r = await api.route(req, seg);
      sendJson(res, r.status, r.body);
    } catch (err) {
      if (err instanceof ManagementProblem) sendProblem(res, err.code, err.detail);
      else if (err instanceof URIError) sendProblem(res, 'portal-not-found', 'The path is not valid.');
      else {
        if (!(err instanceof DatabaseBusy)) logger.error({ err }, 'portal request failed');
        sendProblem(res, 'portal-unavailable', 'The identity provider\'s keys or the subscriptions database did not answer; try again.');
      }
    }
  };

  return {
    prefix,
    async handle(req, res, path) {
      const rest = path.slice(prefix.length);
      if (rest === '') { res.writeHead(308, { location: `${prefix}/` }).end(); return; }
      if (rest.startsWith('/api/') || rest === '/api') return serveApi(req, res, rest.slice(4));
      if ((req.method === 'GET' || req.method === 'HEAD') && files.serve(res, rest)) return;
      sendProblemWithId(res, 'portal-not-found', 'No such page of the portal.', String(res.getHeader('x-request-id') ?? randomUUID()));
    },
    async close() {
      const d = await db?.catch(() => undefined);
      await d?.close();
    },
  };
}

/** The portal on a listener of its own (`portal.listen`), for an API route to publish. */
export async function listenPortal(portal: Portal, listen: { http: number; host: string }, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const n = normalizeTarget(req.url ?? '/');
    if (!n.ok || (n.path !== portal.prefix && !n.path.startsWith(`${portal.prefix}/`))) { sendProblemWithId(res, 'portal-not-found', 'No such page of the portal.'); return; }
    res.setHeader('x-request-id', randomUUID());
    portal.handle(req, res, n.path).catch((err: unknown) => {
      logger.error({ err }, 'portal request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await listenOn(server, listen.http, listen.host);
  logger.info({ listener: 'portal', port: (server.address() as AddressInfo).port, host: listen.host }, 'listening');
  return server;
}
