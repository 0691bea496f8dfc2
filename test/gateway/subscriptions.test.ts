import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadConfigText } from '../../src/app/config.js';
import { gatewaySchema } from '../../src/app/schema.js';
import { ConfigInvalid } from '../../src/config/errors.js';
import { buildRuntime } from '../../src/gateway/compile/index.js';
import { upstreamRequestHeaders } from '../../src/gateway/headers.js';
import type { CompiledOperation } from '../../src/gateway/runtime.js';
import { checkSubscription } from '../../src/gateway/subscriptions/check.js';
import type { SubscriptionRecord, SubscriptionSource } from '../../src/gateway/subscriptions/source.js';
import { compileTemplate } from '../../src/gateway/template.js';
import { generateKey, hashBytes, hashKey, KEY_LENGTH, sameHash, sameHashBytes } from '../../src/net/api-keys.js';
import { Metrics } from '../../src/observability/metrics.js';
import { testExchange } from '../helpers/exchange.js';

/** Products as a policy scope, the key check's decisions, and the key format. */

const BASE = `
backends: { b: { url: "http://127.0.0.1:9" } }
policies:
  inbound:
    - ip-filter: { action: forbid, addresses: [203.0.113.7] }
`;

const deps = () => ({ logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) });

async function compile(yaml: string, subscriptions?: SubscriptionSource) {
  const loaded = loadConfigText(BASE + yaml, '/cfg/gatehouse.yaml', {});
  return buildRuntime(loaded, { ...deps(), subscriptions }, gatewaySchema.parse({}));
}

async function problems(yaml: string): Promise<string[]> {
  try {
    const rt = await compile(yaml);
    await rt.close();
  } catch (err) {
    if (err instanceof ConfigInvalid) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

const PRODUCTS = `
products:
  - id: gold
    name: Gold
    apis: [orders]
    policies: { inbound: [base, { check-header: { name: X-Gold, failed-check-httpcode: 403, failed-check-error-message: no } }] }
  - { id: free, name: Free, apis: [orders], subscription-required: false }
apis:
  - name: orders
    path: /orders
    backend: b
    policies: { inbound: [base, { set-header: { name: X-Api, value: "1" } }] }
    operations:
      - { id: get, method: GET, path: "/{id}", policies: { inbound: [base, { rewrite-uri: { template: /x } }] } }
`;

/** an in-memory source, as the identity store's cache is seen by the gateway */
function source(subs: Record<string, SubscriptionRecord>): SubscriptionSource {
  const byHash = new Map(Object.entries(subs).map(([k, s]) => [hashKey(k), s]));
  return { lookup: (h) => byHash.get(h), loaded: () => true, stale: () => undefined };
}

const sub = (o: Partial<SubscriptionRecord>): SubscriptionRecord => ({ id: 's1', scope: 'product', target: 'gold', state: 'active', ownerType: 'user', ownerId: 'u1', expiresAt: undefined, ...o });

describe('products as a policy scope', () => {
  it('runs global → product → API → operation for a product subscription, and global → API → operation otherwise', async () => {
    const rt = await compile(PRODUCTS);
    const api = rt.apis[0]!;
    const op = api.operations!.match('GET', '/7')!.op as CompiledOperation;
    assert.deepEqual(op.pipeline.inbound.map((s) => s.name), ['ip-filter', 'set-header', 'rewrite-uri']);
    assert.deepEqual(op.byProduct!.get('gold')!.inbound.map((s) => s.name), ['ip-filter', 'check-header', 'set-header', 'rewrite-uri']);
    assert.deepEqual(op.byProduct!.get('free')!.inbound.map((s) => s.name), ['ip-filter', 'set-header', 'rewrite-uri']);
    assert.equal(api.subscription!.required, true, 'one product that lists the API requires keys');
    assert.equal(api.subscription!.header, 'ocp-apim-subscription-key');
    await rt.close();
  });

  it('reports unknown APIs, duplicate ids, an API dropping the product scope, and cors in a product', async () => {
    const found = await problems(`
products:
  - { id: p, name: P, apis: [ordrs], policies: { inbound: [base, { cors: { allowed-origins: ["*"] } }] } }
  - { id: p, name: P again, apis: [orders], policies: { inbound: [base, { set-header: { name: X-P, value: "1" } }] } }
apis:
  - name: orders
    path: /orders
    backend: b
    policies: { inbound: [{ set-header: { name: X-Api, value: "1" } }] }
`);
    const all = found.join('\n');
    assert.match(all, /products\[0\]\.apis\[0\]: no API named "ordrs"; did you mean "orders"\?/);
    assert.match(all, /products\[1\]\.id: another product already has the id "p"/);
    assert.match(all, /products\[0\]\.policies\.inbound: cors applies before the subscription key is read/);
    assert.match(all, /apis\[0\]\.policies\.inbound: this section omits `base`/);
    assert.equal(found.filter((l) => l.includes('omits `base`')).length, 1, 'said once, not once per product');
  });
});

describe('the subscription-key check', () => {
  const run = async (headers: Record<string, string>, query = '', subs: Record<string, SubscriptionRecord> = {}) => {
    const rt = await compile(PRODUCTS, source(subs));
    const api = rt.apis[0]!;
    const m = api.operations!.match('GET', '/7')!;
    const ex = testExchange({ headers, query, path: '/orders/7', upstream: false, api, operation: m.op });
    // the backend's headers as the route stage builds them: the key header is left out there
    ex.upstreamHeaders = upstreamRequestHeaders(ex, false, '127.0.0.1', api.forwardRules);
    const r = checkSubscription(api, api.subscription!, source(subs), ex, m.op.pipeline);
    await rt.close();
    return { r, ex, op: m.op as CompiledOperation };
  };
  const code = (r: unknown) => (r as { code?: string }).code;
  const KEY = generateKey();

  it('answers a missing, unknown, wrong-scope, suspended and expired key each with its own code', async () => {
    assert.equal(code((await run({})).r), 'subscription-key-missing');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': generateKey() })).r), 'subscription-key-invalid');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': KEY }, '', { [KEY]: sub({ scope: 'api', target: 'billing' }) })).r), 'subscription-key-invalid');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': KEY }, '', { [KEY]: sub({ target: 'other-product' }) })).r), 'subscription-key-invalid');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': KEY }, '', { [KEY]: sub({ state: 'suspended' }) })).r), 'subscription-inactive');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': KEY }, '', { [KEY]: sub({ expiresAt: Date.now() - 1 }) })).r), 'subscription-inactive');
  });

  it('selects the product pipeline, sets the template values and removes the key from header and query', async () => {
    const { r, ex, op } = await run({ 'ocp-apim-subscription-key': KEY }, 'a=1', { [KEY]: sub({}) });
    assert.equal(r, op.byProduct!.get('gold'));
    assert.equal(ex.upstreamHeaders['ocp-apim-subscription-key'], undefined);
    assert.equal(ex.upstreamHeaders['x-forwarded-for'], '127.0.0.1', 'the other headers are built as ever');
    assert.equal(compileTemplate('{subscription.id}/{subscription.product}/{user.id}', { claimsAvailable: false }).render(ex), 's1/gold/u1');
    const q = await run({}, `a=1&subscription-key=${KEY}&b=2`, { [KEY]: sub({ scope: 'all', target: undefined, ownerType: 'client' }) });
    assert.equal(q.r, q.op.pipeline, 'a subscription to all APIs runs the chain without a product');
    assert.equal(q.ex.backendQuery, 'a=1&b=2');
    assert.equal(compileTemplate('{user.id}', { claimsAvailable: false }).render(q.ex), undefined, 'a client owner is no user');
  });

  it('remembers the hash of an accepted key, never its validity: suspended or removed afterwards, it is refused at once', async () => {
    const key = generateKey();
    assert.equal(code((await run({ 'ocp-apim-subscription-key': key }, '', { [key]: sub({}) })).r), undefined);
    assert.equal(code((await run({ 'ocp-apim-subscription-key': key }, '', { [key]: sub({ state: 'suspended' }) })).r), 'subscription-inactive');
    assert.equal(code((await run({ 'ocp-apim-subscription-key': key })).r), 'subscription-key-invalid');
    // the source gets the hash and its bytes, and does the constant-time comparison itself
    const seen: [string, Uint8Array | undefined][] = [];
    const spy: SubscriptionSource = { lookup: (h, b) => { seen.push([h, b]); return undefined; }, loaded: () => true, stale: () => undefined };
    const rt = await compile(PRODUCTS, spy);
    const api = rt.apis[0]!;
    const ex = testExchange({ headers: { 'ocp-apim-subscription-key': key }, upstream: true, api });
    assert.equal(code(checkSubscription(api, api.subscription!, spy, ex, api.pipeline)), 'subscription-key-invalid');
    await rt.close();
    assert.equal(seen[0]![0], hashKey(key));
    assert.deepEqual(seen[0]![1], hashBytes(hashKey(key)));
  });

  it('refuses a key given twice', async () => {
    assert.equal(code((await run({ 'ocp-apim-subscription-key': KEY }, `subscription-key=${KEY}`, { [KEY]: sub({}) })).r), 'subscription-key-ambiguous');
    assert.equal(code((await run({}, `subscription-key=${KEY}&subscription-key=${KEY}`, { [KEY]: sub({}) })).r), 'subscription-key-ambiguous');
  });

  it('answers 503, and the gateway is not ready, while the subscriptions were never loaded', async () => {
    const never: SubscriptionSource = { lookup: () => undefined, loaded: () => false, stale: () => ({ since: 0, reason: 'down' }) };
    const rt = await compile(PRODUCTS, never);
    const api = rt.apis[0]!;
    const ex = testExchange({ headers: { 'ocp-apim-subscription-key': KEY }, upstream: true, api });
    assert.equal(code(checkSubscription(api, api.subscription!, never, ex, api.pipeline)), 'subscription-store-unavailable');
    assert.ok(rt.notReady().includes('subscriptions'));
    await rt.close();
  });

  it('unknown subscription placeholders are config errors', () => {
    assert.throws(() => compileTemplate('{subscription.secret}', { claimsAvailable: false }), /unknown placeholder/);
    assert.throws(() => compileTemplate('{user.name}', { claimsAvailable: false }), /unknown placeholder/);
  });
});

describe('subscription keys', () => {
  it('are 256-bit random base64url strings with a prefix, all different', () => {
    const keys = new Set(Array.from({ length: 1000 }, generateKey));
    assert.equal(keys.size, 1000);
    for (const k of keys) {
      assert.equal(k.length, KEY_LENGTH);
      assert.match(k, /^ghk_[A-Za-z0-9_-]{43}$/);
    }
  });

  it('are stored as SHA-256 and compared whole (equal, one character off, other lengths)', () => {
    const h = hashKey('ghk_x');
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(sameHash(h, hashKey('ghk_x')), true);
    assert.equal(sameHash(h, h.slice(0, 63) + (h[63] === '0' ? '1' : '0')), false);
    assert.equal(sameHash(h, h.slice(0, 32)), false);
    assert.equal(sameHash(h, ''), false);
    assert.equal(sameHashBytes(hashBytes(h), hashBytes(hashKey('ghk_x'))), true);
    assert.equal(sameHashBytes(hashBytes(h), hashBytes(hashKey('ghk_y'))), false);
    assert.equal(sameHashBytes(hashBytes(h), hashBytes(h.slice(0, 32))), false);
  });
});
