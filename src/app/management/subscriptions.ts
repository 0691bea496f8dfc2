import { z } from 'zod';
import type { Db } from '../../identity/db.js';
import { AuditLog } from '../../identity/subscriptions/audit.js';
import { publicView, SubscriptionStore, type KeyName, type State, type SubscriptionRow } from '../../identity/subscriptions/store.js';
import type { ProductConfig } from '../../gateway/subscriptions/products.js';
import { ManagementProblem, pageOf, readJson } from './http.js';
import { ok, type Route } from './routing.js';
import type { ManagementServices } from './services.js';

/**
 * The subscription operations of the management API: list, read, create, change state,
 * regenerate a key, and the audit log. Every write is audited (the actor, the action, the
 * subscription before and after; never a key).
 */

export type Action = 'approve' | 'suspend' | 'reactivate' | 'cancel';

const TRANSITIONS: Record<Action, { from: readonly State[]; to: State }> = {
  approve: { from: ['submitted'], to: 'active' },
  suspend: { from: ['active'], to: 'suspended' },
  reactivate: { from: ['suspended'], to: 'active' },
  cancel: { from: ['submitted', 'active', 'suspended'], to: 'cancelled' },
};

const newSubscription = z.strictObject({
  scope: z.enum(['product', 'api', 'all']),
  target: z.string().min(1).max(200).optional(),
  owner: z.strictObject({ type: z.enum(['user', 'client']), id: z.string().min(1).max(200) }),
  name: z.string().max(200).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

const STATES = new Set(['submitted', 'active', 'suspended', 'cancelled', 'expired']);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A subscription as the API shows it (ISO dates, no hashes). */
export function view(r: SubscriptionRow): Record<string, unknown> {
  const v = publicView(r);
  return JSON.parse(JSON.stringify({ ...v, expiresAt: iso(v.expiresAt), createdAt: iso(v.createdAt), updatedAt: iso(v.updatedAt) })) as Record<string, unknown>;
}

export class SubscriptionApi {
  private readonly store: SubscriptionStore;
  private readonly audit: AuditLog;

  constructor(private readonly db: Db, private readonly products: readonly ProductConfig[], private readonly apis: readonly string[], onWrite?: () => void) {
    this.store = new SubscriptionStore(db, onWrite);
    this.audit = new AuditLog(db);
  }

  async list(q: URLSearchParams): Promise<unknown> {
    const { limit, after } = pageOf(q);
    const state = q.get('state') ?? undefined;
    if (state !== undefined && !STATES.has(state)) throw new ManagementProblem('management-request-invalid', `state is one of ${[...STATES].join(', ')}.`);
    const ownerType = q.get('owner-type') ?? undefined;
    if (ownerType !== undefined && ownerType !== 'user' && ownerType !== 'client') throw new ManagementProblem('management-request-invalid', 'owner-type is user or client.');
    const rows = await this.store.list({ after, limit, state: state as State | undefined, ownerType, ownerId: q.get('owner-id') ?? undefined });
    return { items: rows.map(view), ...(rows.length === limit ? { next: rows[rows.length - 1]!.id } : {}) };
  }

  async get(id: string): Promise<unknown> {
    return view(await this.found(id));
  }

  async create(body: unknown, actor: string): Promise<unknown> {
    const parsed = newSubscription.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ManagementProblem('management-request-invalid', `${i.path.join('.') || 'body'}: ${i.message}`);
    }
    const s = parsed.data;
    let state: 'submitted' | 'active' = 'active';
    if (s.scope === 'all' && s.target !== undefined) throw new ManagementProblem('management-request-invalid', 'a subscription to all APIs has no target.');
    if (s.scope === 'product') {
      const p = this.products.find((x) => x.id === s.target);
      if (!p) throw new ManagementProblem('management-request-invalid', `target: no product "${s.target ?? ''}" in the configuration.`);
      if (p.approval === 'manual') state = 'submitted';
    }
    if (s.scope === 'api' && !this.apis.includes(s.target ?? '')) throw new ManagementProblem('management-request-invalid', `target: no API "${s.target ?? ''}" in the configuration.`);
    const owner = s.owner.type === 'user'
      ? await this.db.one('SELECT id FROM users WHERE id = $1', [s.owner.id])
      : await this.db.one('SELECT client_id FROM clients WHERE client_id = $1', [s.owner.id]);
    if (!owner) throw new ManagementProblem('management-request-invalid', `owner: no ${s.owner.type} "${s.owner.id}" in the identity database.`);
    const expiresAt = s.expiresAt === undefined ? undefined : Date.parse(s.expiresAt);
    const made = await this.store.create({ name: s.name, scope: s.scope, target: s.target, state, owner: s.owner, expiresAt });
    const after = view(made.subscription);
    await this.audit.append({ actor, action: 'subscription.create', target: { type: 'subscription', id: made.subscription.id }, before: null, after });
    return { subscription: after, primaryKey: made.primaryKey, secondaryKey: made.secondaryKey };
  }

  async transition(id: string, action: Action, actor: string): Promise<unknown> {
    const t = TRANSITIONS[action];
    const r = await this.store.transition(id, t.from, t.to);
    if (r === undefined) throw new ManagementProblem('management-not-found', `No subscription "${id}".`);
    if (r === 'conflict') {
      const now = await this.found(id);
      throw new ManagementProblem('management-conflict', `The subscription is ${now.storedState}; ${action} applies to ${t.from.join(' or ')} subscriptions.`);
    }
    const after = view(r.after);
    await this.audit.append({ actor, action: `subscription.${action}`, target: { type: 'subscription', id }, before: view(r.before), after });
    return after;
  }

  async regenerate(id: string, which: string, actor: string): Promise<unknown> {
    if (which !== 'primary' && which !== 'secondary') throw new ManagementProblem('management-not-found', 'The keys are primary and secondary.');
    const r = await this.store.regenerate(id, which as KeyName);
    if (r === undefined) throw new ManagementProblem('management-not-found', `No subscription "${id}".`);
    const after = view(r.after);
    await this.audit.append({ actor, action: `subscription.regenerate-${which}-key`, target: { type: 'subscription', id }, before: view(r.before), after });
    return { subscription: after, key: r.key };
  }

  async auditPage(q: URLSearchParams): Promise<unknown> {
    const { limit, after } = pageOf(q);
    const from = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(from) || from < 0) throw new ManagementProblem('management-request-invalid', 'after is the `next` of the previous page.');
    const items = await this.audit.page(from, limit);
    return {
      items: items.map((e) => ({ ...e, at: iso(e.at) })),
      ...(items.length === limit ? { next: String(items[items.length - 1]!.seq) } : {}),
    };
  }

  private async found(id: string): Promise<SubscriptionRow> {
    const r = await this.store.get(id);
    if (!r) throw new ManagementProblem('management-not-found', `No subscription "${id}".`);
    return r;
  }
}

/** The products (read from the configuration), the subscriptions and the audit log. */
export function subscriptionRoutes(svc: ManagementServices): Route[] {
  const cfg = svc.loaded.config;
  const products = cfg.products ?? [];
  const productView = (p: (typeof products)[number]) => JSON.parse(JSON.stringify({ id: p.id, name: p.name, description: p.description, apis: p.apis, approval: p.approval, subscriptionRequired: p['subscription-required'] })) as unknown;
  const api = async () => new SubscriptionApi(await svc.database(), products, cfg.apis.map((a) => a.name), svc.onSubscriptionWrite);
  const action = (a: Action): Route => ({ method: 'POST', path: `/subscriptions/{id}/${a}`, handler: async (c) => ok(await (await api()).transition(c.params.id!, a, c.actor)) });
  return [
    { method: 'GET', path: '/products', handler: async () => ok({ items: products.map(productView) }) },
    {
      method: 'GET', path: '/products/{id}', handler: async (c) => {
        const p = products.find((x) => x.id === c.params.id);
        if (!p) throw new ManagementProblem('management-not-found', `No product "${c.params.id!}".`);
        return ok(productView(p));
      },
    },
    { method: 'GET', path: '/audit', handler: async (c) => ok(await (await api()).auditPage(c.query)) },
    { method: 'GET', path: '/subscriptions', handler: async (c) => ok(await (await api()).list(c.query)) },
    { method: 'POST', path: '/subscriptions', handler: async (c) => ok(await (await api()).create(await readJson(c.req), c.actor), 201) },
    { method: 'GET', path: '/subscriptions/{id}', handler: async (c) => ok(await (await api()).get(c.params.id!)) },
    action('approve'), action('suspend'), action('reactivate'), action('cancel'),
    { method: 'POST', path: '/subscriptions/{id}/keys/{which}/regenerate', handler: async (c) => ok(await (await api()).regenerate(c.params.id!, c.params.which!, c.actor)) },
  ];
}
