import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/identity/db.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { scaled, startGateway, type SupervisedGateway } from '../helpers/gateway.js';
import { managementClient } from '../helpers/management.js';

/**
 * policy-xml at the product scope (global → product → API, `<base/>` at each), and what
 * expressions see of the subscription: context.Product and context.Subscription. One gateway on
 * a SQLite subscriptions database.
 */

const PRODUCT = `<policies>
  <inbound>
    <base />
    <set-header name="X-Product" exists-action="override"><value>@(context.Product.Id)</value></set-header>
    <set-header name="X-Subscription" exists-action="override"><value>@(context.Subscription.Id)</value></set-header>
    <set-header name="X-Sub-Fields" exists-action="override"><value>@(context.Subscription.Name + "|" + (context.Subscription.Key == context.Request.Headers.GetValueOrDefault("X-Expect-Key", "")) + "|" + context.Subscription.CreatedDate.Year + "|" + (context.Subscription.EndDate == null))</value></set-header>
    <rate-limit calls="3" renewal-period="60" />
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const SECRET = Buffer.alloc(32, 9);
function hs256(claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const API = `<policies>
  <inbound>
    <base />
    <choose><when condition="@(context.Request.Headers.ContainsKey("Authorization"))">
      <validate-jwt header-name="Authorization"><issuer-signing-keys><key>${SECRET.toString('base64')}</key></issuer-signing-keys></validate-jwt>
    </when></choose>
    <set-header name="X-User" exists-action="override"><value>@(context.User.Id + "|" + context.User.Email + "|" + context.User.FirstName + "|" + context.User.Identities.Count())</value></set-header>
    <set-header name="X-Api-Sees-Product" exists-action="override"><value>@(context.Product == null ? "none" : context.Product.Name)</value></set-header>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

describe('policy-xml at the product scope', () => {
  let backend: TestBackend;
  let gw: SupervisedGateway;
  let db: Db;

  before(async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-apim-subs-')), 'identity.db')}`;
    db = await openDb(url, '/');
    const now = Date.now();
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['u-alice', 'alice', now]);
    backend = await startBackend();
    gw = await startGateway(`gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  b: { url: ${backend.url} }
products:
  - id: gold
    name: Gold
    apis: [orders]
    policy-xml: product.xml
apis:
  - name: orders
    path: /orders
    backend: b
    policy-xml: api.xml
subscriptions:
  database: ${url}
  poll-interval: 100ms
`, { files: { 'product.xml': PRODUCT, 'api.xml': API } });
    for (const deadline = Date.now() + scaled(10_000); Date.now() < deadline;) {
      const r = await fetch(`${gw.adminUrl}/readyz`);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
    await db?.close();
  });

  it('runs the product document between the global and the API scope; expressions see the product and the subscription', async () => {
    const mgmt = managementClient(gw.adminUrl);
    const sub = await mgmt('POST', '/management/subscriptions', { scope: 'product', target: 'gold', owner: { type: 'user', id: 'u-alice' }, name: 'alice gold' });
    assert.equal(sub.status, 201);
    const id = (sub.body.subscription as { id: string }).id;
    const key = (sub.body as { primaryKey: string }).primaryKey;
    const call = () => fetch(`${gw.url}/orders/1`, { headers: { 'ocp-apim-subscription-key': key, 'x-expect-key': key } });
    let r = await call();
    for (const deadline = Date.now() + scaled(2000); r.status !== 200 && Date.now() < deadline;) { await r.arrayBuffer(); await new Promise((res) => setTimeout(res, 50)); r = await call(); }
    assert.equal(r.status, 200);
    const echo = await r.json() as { headers: Record<string, string> };
    assert.equal(echo.headers['x-product'], 'gold');
    assert.equal(echo.headers['x-subscription'], id);
    assert.equal(echo.headers['x-sub-fields'], `alice gold|True|${new Date().getUTCFullYear()}|True`);
    assert.equal(echo.headers['ocp-apim-subscription-key'], undefined, 'the key is not forwarded');
    assert.equal(echo.headers['x-user'], 'u-alice|||0', 'without a token: the owner id only');
    const token = (sub: string) => hs256({ sub, email: `${sub}@example.com`, given_name: 'Alice', exp: Math.floor(Date.now() / 1000) + 300 });
    const withToken = await fetch(`${gw.url}/orders/1`, { headers: { 'ocp-apim-subscription-key': key, authorization: `Bearer ${token('u-alice')}` } });
    assert.equal((await withToken.json() as { headers: Record<string, string> }).headers['x-user'], 'u-alice|u-alice@example.com|Alice|1');
    const other = await fetch(`${gw.url}/orders/1`, { headers: { 'ocp-apim-subscription-key': key, authorization: `Bearer ${token('mallory')}` } });
    assert.equal((await other.json() as { headers: Record<string, string> }).headers['x-user'], 'u-alice|||0', "another user's token does not name the subscription's owner");
    assert.equal(echo.headers['x-api-sees-product'], 'Gold');
    const limited = await call();
    assert.equal(limited.status, 429, 'rate-limit counts per subscription');
    assert.equal((await limited.json() as { statusCode: number }).statusCode, 429);
  });

  it('a request without a key is refused before any policy, in the service error body', async () => {
    const r = await fetch(`${gw.url}/orders/1`);
    assert.equal(r.status, 401);
    const body = await r.json() as { statusCode: number; message: string };
    assert.equal(body.statusCode, 401);
  });
});
