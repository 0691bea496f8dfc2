import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Db } from '../../identity/db.js';
import { DatabaseBusy } from '../../identity/db.js';
import type { LoadedGatehouseConfig } from '../config.js';
import { openSubscriptionsDb, subscriptionsDatabase } from '../subscriptions.js';
import { authenticator, type Authenticator } from './auth.js';
import { ManagementProblem, readJson, sendJson, sendProblem } from './http.js';
import { MANAGEMENT_OPENAPI } from './openapi.js';
import { SubscriptionApi, type Action } from './subscriptions.js';

/**
 * The management API, /management/... on the admin listener (docs/management-api.md; the
 * contract is ./openapi.ts). Products come from the configuration; subscriptions and the audit
 * log from the identity database, opened on first use (and again after a failure).
 */

export interface Management {
  /** answer `req` when it is a management request; false when it is not one */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

const PREFIX = '/management';
const ACTIONS = new Set<string>(['approve', 'suspend', 'reactivate', 'cancel']);

/** The management API of `loaded`, or undefined when the file uses no subscriptions or turns it off. */
export function createManagement(loaded: LoadedGatehouseConfig, logger: Logger): Management | undefined {
  const cfg = loaded.config;
  const url = subscriptionsDatabase(loaded);
  if (url === undefined || cfg.management?.enabled === false) return undefined;
  const auth: Authenticator = authenticator(cfg.management?.auth);
  const products = cfg.products ?? [];
  const productView = (p: (typeof products)[number]) => JSON.parse(JSON.stringify({ id: p.id, name: p.name, description: p.description, apis: p.apis, approval: p.approval, subscriptionRequired: p['subscription-required'] })) as unknown;
  let db: Promise<Db> | undefined;
  const api = async () => {
    db ??= openSubscriptionsDb(loaded, url).catch((err: unknown) => { db = undefined; throw err; });
    return new SubscriptionApi(await db, products, cfg.apis.map((a) => a.name));
  };

  const route = async (req: IncomingMessage, path: string, q: URLSearchParams, actor: string): Promise<{ status: number; body: unknown }> => {
    const m = req.method ?? 'GET';
    const seg = path.slice(PREFIX.length).split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const ok = (body: unknown, status = 200) => ({ status, body });
    if (m === 'GET' && seg.length === 1 && seg[0] === 'openapi.json') return ok(MANAGEMENT_OPENAPI);
    if (m === 'GET' && seg[0] === 'products' && seg.length === 1) return ok({ items: products.map(productView) });
    if (m === 'GET' && seg[0] === 'products' && seg.length === 2) {
      const p = products.find((x) => x.id === seg[1]);
      if (!p) throw new ManagementProblem('management-not-found', `No product "${seg[1]}".`);
      return ok(productView(p));
    }
    if (seg[0] === 'audit' && seg.length === 1 && m === 'GET') return ok(await (await api()).auditPage(q));
    if (seg[0] !== 'subscriptions') throw new ManagementProblem('management-not-found', 'No such management resource; see /management/openapi.json.');
    const s = await api();
    if (seg.length === 1 && m === 'GET') return ok(await s.list(q));
    if (seg.length === 1 && m === 'POST') return ok(await s.create(await readJson(req), actor), 201);
    if (seg.length === 2 && m === 'GET') return ok(await s.get(seg[1]!));
    if (seg.length === 3 && m === 'POST' && ACTIONS.has(seg[2]!)) return ok(await s.transition(seg[1]!, seg[2] as Action, actor));
    if (seg.length === 5 && m === 'POST' && seg[2] === 'keys' && seg[4] === 'regenerate') return ok(await s.regenerate(seg[1]!, seg[3]!, actor));
    throw new ManagementProblem('management-not-found', 'No such management resource or method; see /management/openapi.json.');
  };

  return {
    async handle(req, res) {
      const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false;
      try {
        const who = await auth(req);
        if (!who.ok) { sendProblem(res, who.code, who.detail); return true; }
        const r = await route(req, path, new URLSearchParams(query), who.actor);
        sendJson(res, r.status, r.body);
      } catch (err) {
        if (err instanceof ManagementProblem) sendProblem(res, err.code, err.detail);
        else if (err instanceof URIError) sendProblem(res, 'management-not-found', 'The path is not valid.');
        else {
          if (!(err instanceof DatabaseBusy)) logger.error({ err }, 'management request failed');
          sendProblem(res, 'management-unavailable', 'The subscriptions database did not answer; try again.');
        }
      }
      return true;
    },
    async close() {
      const d = await db?.catch(() => undefined);
      await d?.close();
    },
  };
}
