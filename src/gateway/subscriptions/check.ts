import { hashBytes, hashKey } from '../../net/api-keys.js';
import type { Exchange } from '../exchange.js';
import { stripQueryParam } from '../jwt/http.js';
import { problem } from '../problems.js';
import type { Reply } from '../reply.js';
import type { CompiledApi, CompiledOperation, Pipeline } from '../runtime.js';
import type { SubscriptionSource } from './source.js';

/**
 * The subscription-key check of one request (the `subscription` stage). The key is read from the
 * API's header or query parameter and removed from what reaches the backend, whatever the
 * outcome; then it is looked up by hash in the in-memory cache. A missing, unknown (or not for this
 * API), or inactive key each gets its own 401 problem. A key of a subscription to a product
 * selects that product's pipeline (global → product → API → operation), compiled at load.
 */

/** What compiling an API decided about its subscription keys. */
export interface SubscriptionPlan {
  required: boolean;
  /** lower-case header name */
  header: string;
  query: string;
  /** the products that list this API */
  products: ReadonlySet<string>;
  /** the API's pipeline per product (for APIs without operations) */
  pipelines: ReadonlyMap<string, Pipeline>;
}

/** What a request knows of its subscription, for templates (`{subscription.id}`, ...). */
export interface RequestSubscription {
  readonly id: string;
  /** the product of a product subscription */
  readonly product: string | undefined;
  /** the owner, when it is a user */
  readonly userId: string | undefined;
  readonly name?: string;
  readonly createdAt?: number;
  readonly expiresAt?: number;
  /** the key the request carried (context.Subscription.Key) */
  readonly key?: string;
}

/** keys longer than this are not hashed: they cannot be ours */
const MAX_KEY = 512;

/**
 * The hashes of keys that were accepted lately, by key: a key sent again is not hashed again. Only
 * the hash is remembered, never whether the key is valid: every request still finds the
 * subscription by hash in the source's current state and compares the stored hash in constant
 * time, so a suspended, revoked or regenerated key is refused as soon as the source knows of it.
 * Only keys that matched a subscription are added (unknown keys cannot fill it); a key that no
 * longer matches goes at its next use; past `MEMO_SIZE` the oldest goes.
 */
interface KeyHash { readonly hex: string; readonly bytes: Buffer }
const MEMO_SIZE = 10_000;
const memo = new Map<string, KeyHash>();

function remember(key: string, h: KeyHash): void {
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value!);
  memo.set(key, h);
}

/** The key of the request (removed from the backend's request), `''` when none, or an ambiguity problem. */
function takeKey(plan: SubscriptionPlan, ex: Exchange): string | Reply {
  let key = '';
  let count = 0;
  const h = ex.req.headers[plan.header];
  // (the header is not in ex.upstreamHeaders: forwardRules.dropHeader keeps it out)
  if (typeof h === 'string') {
    count = 1;
    key = h;
  } else if (h !== undefined) {
    count = h.length;
    key = h[0] ?? '';
  }
  if (ex.query !== '') {
    const q = ex.queryParams.getAll(plan.query);
    if (q.length > 0) {
      ex.backendQuery = stripQueryParam(ex.backendQuery ?? ex.query, plan.query);
      count += q.length;
      if (key === '') key = q[0]!;
    }
  }
  if (count > 1) return problem('subscription-key-ambiguous', 'Send the subscription key once, in the header or in the query, not both.');
  return key;
}

/**
 * Check the request's subscription key. Returns a problem, or the pipeline to run (`current`
 * unless the subscription's product has its own).
 */
export function checkSubscription(api: CompiledApi, plan: SubscriptionPlan, source: SubscriptionSource | undefined, ex: Exchange, current: Pipeline): Reply | Pipeline {
  const key = takeKey(plan, ex);
  if (typeof key !== 'string') return key;
  if (key === '') {
    return plan.required ? problem('subscription-key-missing', `This API needs a subscription key in the ${plan.header} header or the ${plan.query} query parameter.`) : current;
  }
  if (source === undefined || !source.loaded()) {
    return problem('subscription-store-unavailable', 'Subscription keys cannot be checked yet.', { headers: { 'retry-after': '1' } });
  }
  let sub;
  if (key.length <= MAX_KEY) {
    const known = memo.get(key);
    const hex = known?.hex ?? hashKey(key);
    const bytes = known?.bytes ?? hashBytes(hex);
    sub = source.lookup(hex, bytes);
    if (sub !== undefined && known === undefined) remember(key, { hex, bytes });
    // a key that no longer matches (revoked, regenerated) is not kept in memory
    else if (sub === undefined && known !== undefined) memo.delete(key);
  }
  if (sub === undefined || !(sub.scope === 'all' || (sub.scope === 'api' ? sub.target === api.name : plan.products.has(sub.target!)))) {
    return problem('subscription-key-invalid', 'The subscription key is not valid for this API.');
  }
  if (sub.state !== 'active' || (sub.expiresAt !== undefined && sub.expiresAt <= Date.now())) {
    const state = sub.state === 'active' ? 'expired' : sub.state;
    return problem('subscription-inactive', `The subscription is ${state}.`);
  }
  const product = sub.scope === 'product' ? sub.target : undefined;
  ex.subscription = { id: sub.id, product, userId: sub.ownerType === 'user' ? sub.ownerId : undefined, name: sub.name, createdAt: sub.createdAt, expiresAt: sub.expiresAt, key };
  if (product === undefined) return current;
  const op = ex.operation as CompiledOperation | undefined;
  return (op === undefined ? plan.pipelines.get(product) : op.byProduct?.get(product)) ?? current;
}
