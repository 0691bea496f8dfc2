import type { IncomingMessage } from 'node:http';
import type { Db } from '../../identity/db.js';
import { SubscriptionStore, type KeyName } from '../../identity/subscriptions/store.js';
import { ManagementProblem, readJson } from '../management/http.js';
import { SubscriptionApi, view } from '../management/subscriptions.js';
import type { Developer } from './auth.js';
import type { Catalog } from './catalog.js';

/**
 * The portal's own API (`<portal>/api/...`): the catalog for anyone, and a developer's
 * self-service for the holder of their access token. A developer sees, makes and changes only
 * subscriptions they own (owner `user` = the token's `sub`); anyone else's answers 404, the same
 * as one that does not exist, so ids cannot be probed. Writes are audited with the actor
 * `portal:<sub>`. A locked account's token, valid until it expires, is refused here at once.
 *
 *   GET  api/apis                                       published APIs
 *   GET  api/apis/{name}                                one, with its OpenAPI document
 *   GET  api/products                                   products on offer
 *   GET  api/me                                         who the token says the developer is
 *   GET  api/subscriptions                              the developer's subscriptions
 *   POST api/subscriptions { product }                  subscribe: auto → active, manual → submitted; both keys, shown once
 *   POST api/subscriptions/{id}/keys/{which}/regenerate a new key, shown once
 *   POST api/subscriptions/{id}/cancel                  cancel
 */

export type Answer = { status: number; body: unknown };
const notFound = (detail: string) => new ManagementProblem('portal-not-found', detail);
const invalid = (detail: string) => new ManagementProblem('portal-request-invalid', detail);

export class PortalApi {
  constructor(
    private readonly catalog: Catalog,
    private readonly subscriptions: () => Promise<{ db: Db; api: SubscriptionApi }>,
    private readonly developer: (req: IncomingMessage) => Promise<Developer>,
    private readonly maxSubscriptions: number,
  ) {}

  async route(req: IncomingMessage, seg: string[]): Promise<Answer> {
    const m = req.method ?? 'GET';
    const ok = (body: unknown, status = 200) => ({ status, body });
    if (m === 'GET' && seg[0] === 'apis' && seg.length === 1) {
      return ok({ items: [...this.catalog.apis.values()].map(({ openapi, ...a }) => ({ ...a, title: title(openapi) ?? a.name, documented: openapi !== undefined })) });
    }
    if (m === 'GET' && seg[0] === 'apis' && seg.length === 2) {
      const a = this.catalog.apis.get(seg[1]!);
      if (!a) throw notFound(`No published API "${seg[1]}".`);
      return ok(a);
    }
    if (m === 'GET' && seg[0] === 'products' && seg.length === 1) return ok({ items: [...this.catalog.products.values()] });
    // from here on: the developer's own
    const who = await this.developer(req);
    if (!who.ok) throw new ManagementProblem('portal-unauthorized', who.detail);
    const owner = who.sub;
    if (m === 'GET' && seg[0] === 'me' && seg.length === 1) {
      return ok({ sub: owner, name: who.claims.name ?? who.claims.preferred_username ?? who.claims.email ?? owner });
    }
    if (seg[0] !== 'subscriptions') throw notFound('No such portal resource.');
    const { db, api } = await this.subscriptions();
    // a token outlives a lock: a locked (or deleted) account changes nothing and reads nothing
    const account = await db.one<{ disabled: number }>('SELECT disabled FROM users WHERE id = $1', [owner]);
    if (!account || Number(account.disabled) !== 0) throw new ManagementProblem('portal-unauthorized', 'This account is locked or no longer exists.');
    if (m === 'GET' && seg.length === 1) {
      const rows = await new SubscriptionStore(db).list({ limit: 200, ownerType: 'user', ownerId: owner });
      return ok({ items: rows.map(view) });
    }
    if (m === 'POST' && seg.length === 1) {
      const body = await readJson(req, 'portal-request-invalid') as { product?: unknown; name?: unknown };
      if (typeof body !== 'object' || body === null || typeof body.product !== 'string') throw invalid('Send { "product": "<id>" }.');
      if (!this.catalog.products.has(body.product)) throw invalid(`The portal offers no product "${body.product}".`);
      const held = await new SubscriptionStore(db).list({ limit: 1000, ownerType: 'user', ownerId: owner });
      if (held.filter((x) => x.storedState !== 'cancelled').length >= this.maxSubscriptions) throw invalid(`You hold ${this.maxSubscriptions} subscriptions, the most the portal allows: cancel one first.`);
      const name = typeof body.name === 'string' ? body.name.slice(0, 200) : undefined;
      try {
        return ok(await api.create({ scope: 'product', target: body.product, owner: { type: 'user', id: owner }, name }, `portal:${owner}`), 201);
      } catch (err) {
        if (err instanceof ManagementProblem && err.code === 'management-request-invalid') throw invalid('Your account is not in this identity provider\'s database; sign in with an account of this provider.');
        throw err;
      }
    }
    const id = seg[1]!;
    const mine = await new SubscriptionStore(db).get(id);
    if (!mine || mine.owner.type !== 'user' || mine.owner.id !== owner) throw notFound(`You have no subscription "${id}".`);
    if (m === 'POST' && seg.length === 5 && seg[2] === 'keys' && seg[4] === 'regenerate') {
      if (seg[3] !== 'primary' && seg[3] !== 'secondary') throw notFound('The keys are primary and secondary.');
      return ok(await api.regenerate(id, seg[3] as KeyName, `portal:${owner}`));
    }
    if (m === 'POST' && seg.length === 3 && seg[2] === 'cancel') return ok(await api.transition(id, 'cancel', `portal:${owner}`));
    throw notFound('No such portal resource.');
  }
}

function title(doc: Record<string, unknown> | undefined): string | undefined {
  const info = doc?.info as { title?: unknown } | undefined;
  return typeof info?.title === 'string' ? info.title : undefined;
}
