import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DatabaseBusy } from '../../identity/db.js';
import { redisNotifier } from '../../identity/subscriptions/redis-notify.js';
import type { LoadedGatehouseConfig } from '../config.js';
import { subscriptionsDatabase } from '../subscriptions.js';
import { authenticator, type Authenticator } from './auth.js';
import { clientRoutes } from './clients.js';
import { gatewayRoutes } from './gateway.js';
import { ManagementProblem, sendJson, sendProblem } from './http.js';
import { keyRoutes } from './keys.js';
import { MANAGEMENT_OPENAPI } from './openapi.js';
import { RouteTable, ok } from './routing.js';
import { ManagementServices, type GatewayViews } from './services.js';
import { subscriptionRoutes } from './subscriptions.js';
import { userRoutes } from './users.js';

/**
 * The management API, /management/... on the admin listener (docs/management-api.md; the
 * contract is ./openapi.ts): products, subscriptions and the audit log; users, clients and signing
 * keys of the identity provider; the gateway's APIs, backends and recent errors. Each resource's
 * routes are in its own file; this one authenticates, dispatches and answers errors.
 */

export interface Management {
  /** answer `req` when it is a management request; false when it is not one */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

const PREFIX = '/management';

/** Where the management API keeps its data: the subscriptions database, else the identity database. */
export function managementDatabase(loaded: LoadedGatehouseConfig): string | undefined {
  return subscriptionsDatabase(loaded) ?? loaded.config.identity?.database;
}

export interface ManagementOptions {
  /** the running gateway's views (backends, routes, configuration, recent errors) */
  views?: GatewayViews;
}

/** The management API of `loaded`, or undefined when the file has no database for it or turns it off. */
export function createManagement(loaded: LoadedGatehouseConfig, logger: Logger, opts: ManagementOptions = {}): Management | undefined {
  const url = managementDatabase(loaded);
  if (url === undefined || loaded.config.management?.enabled === false) return undefined;
  const auth: Authenticator = authenticator(loaded.config.management?.auth);
  // with a Redis counter store, subscription changes are also published to the gateways
  const notifier = redisNotifier(loaded.config.gateway?.store, logger.child({ component: 'management' }));
  const svc = new ManagementServices(loaded, url, logger, opts.views ?? {}, notifier && (() => notifier.publish()));
  const table = new RouteTable([
    { method: 'GET', path: '/openapi.json', handler: async () => ok(MANAGEMENT_OPENAPI) },
    ...subscriptionRoutes(svc),
    ...userRoutes(svc),
    ...clientRoutes(svc),
    ...keyRoutes(svc),
    ...gatewayRoutes(svc),
  ]);

  return {
    async handle(req, res) {
      const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false;
      try {
        const who = await auth(req);
        if (!who.ok) { sendProblem(res, who.code, who.detail); return true; }
        const segments = path.slice(PREFIX.length).split('/').filter(Boolean).map((s) => decodeURIComponent(s));
        const { route, params } = table.find(req.method ?? 'GET', segments);
        const r = await route.handler({ req, params, query: new URLSearchParams(query), actor: who.actor });
        if (r.body === undefined) res.writeHead(r.status, { 'cache-control': 'no-store' }).end();
        else sendJson(res, r.status, r.body);
      } catch (err) {
        if (err instanceof ManagementProblem) sendProblem(res, err.code, err.detail);
        else if (err instanceof URIError) sendProblem(res, 'management-not-found', 'The path is not valid.');
        else {
          if (!(err instanceof DatabaseBusy)) logger.error({ err }, 'management request failed');
          sendProblem(res, 'management-unavailable', 'The database did not answer; try again.');
        }
      }
      return true;
    },
    async close() {
      await svc.close();
      await notifier?.close();
    },
  };
}
