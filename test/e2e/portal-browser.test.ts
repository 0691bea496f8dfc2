import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CLI, ROOT, scaled, startGateway, type SupervisedGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { FAST_HASH, freePort } from '../identity/helpers.js';
import { openDb } from '../../src/identity/db.js';
import { assertAccessible } from '../helpers/axe.js';

/**
 * The developer portal and the admin console in Chromium, end to end, across two gateway
 * processes on one subscriptions database: a developer signs up in the portal, subscribes,
 * reads the reference and calls the API with the key (200); an administrator signs in to the
 * console and suspends the subscription, and the next call gets 401 on both processes within a
 * second. Both apps run under their strict CSP (no violation is reported), axe finds no serious
 * or critical violation on any page, and the pages are saved to docs/screenshots/. The portal's
 * own API refuses tokens of another audience and another developer's subscriptions.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = join(ROOT, 'docs/screenshots');
const PASSWORD = 'a long and quiet passphrase';

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the portal and console browser tests (apt-get install chromium) !!!\n`);
}

const ORDERS_OPENAPI = `
openapi: 3.1.0
info: { title: Orders API, version: 1.2.0, description: Orders of the shop. }
paths:
  /{id}:
    get:
      operationId: get-order
      summary: Read one order
      parameters:
        - { name: id, in: path, required: true, schema: { type: string }, example: "7", description: The order number. }
        - { name: fields, in: query, schema: { type: string }, description: Fields to return. }
      responses:
        "200":
          description: The order
          content: { application/json: { schema: { $ref: "#/components/schemas/Order" } } }
  /:
    post:
      operationId: create-order
      summary: Place an order
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Order" } } } }
      responses: { "201": { description: Created } }
components:
  schemas:
    Order:
      type: object
      required: [item]
      properties:
        item: { type: string, description: What is ordered. }
        quantity: { type: integer, format: int32 }
`;

const shared = () => `
products:
  - { id: starter, name: Starter, description: Every orders operation at a friendly rate., apis: [orders] }
  - { id: partner, name: Partner, apis: [orders], approval: manual }
`;

async function accessible(page: Page, name: string): Promise<void> {
  await assertAccessible(page, name, 'evaluate');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** every CSP violation a page reports */
function watchCsp(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) seen.push(m.text()); });
  return seen;
}

describe('developer portal and admin console in Chromium, two gateway processes', { skip: !existsSync(CHROMIUM) }, () => {
  let backend: TestBackend;
  let a: SupervisedGateway;
  let b: SupervisedGateway;
  let browser: Browser;
  let base: string;
  let adminBase: string;
  let key = '';
  /** a second developer's portal token */
  let eve = '';

  const addUser = async (username: string, roles: string[] = []) => {
    const p = execFile(process.execPath, [CLI, 'users', 'add', '--config', a.configFile, '--username', username, '--email', `${username}@example.com`, '--password-stdin', ...(roles.length ? ['--roles', roles.join(',')] : [])]);
    p.stdin!.end(PASSWORD + '\n');
    assert.equal(await new Promise((r) => p.on('close', r)), 0, `users add ${username}`);
  };
  const passwordToken = async (username: string, scope: string) => {
    const r = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', client_id: 'portal-cli', username, password: PASSWORD, scope }) });
    assert.equal(r.status, 200, await r.clone().text());
    return ((await r.json()) as { access_token: string }).access_token;
  };
  const portalApi = (path: string, token?: string, method = 'GET', body?: unknown) => fetch(`${base}/portal/api/${path}`, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  /** call until `status` comes back, at most `ms` (scaled); the last status */
  const until = async (gw: SupervisedGateway, status: number, ms: number) => {
    const deadline = Date.now() + scaled(ms);
    for (;;) {
      const r = await fetch(`${gw.url}/orders/7`, { headers: { 'ocp-apim-subscription-key': key } });
      await r.arrayBuffer();
      if (r.status === status || Date.now() > deadline) return r.status;
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    backend = await startBackend();
    const [gwPort, idPort, adminPort, portalPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    adminBase = `http://127.0.0.1:${adminPort}`;
    const issuer = `${base}/auth`;
    const database = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-portal-')), 'identity.db')}`;
    const files = { 'orders.yaml': ORDERS_OPENAPI };
    // the database first, so that the two processes do not both migrate it
    await (await openDb(database, '/')).close();
    const starting = startGateway(`
gateway:
  listen: { http: ${gwPort} }
  admin: { listen: ${adminPort} }
backends:
  b: { url: "${backend.url}" }
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
${shared()}
apis:
  - { name: identity, path: /auth, backend: identity, public: true }
  - { name: orders, path: /orders, backend: b, openapi: ./orders.yaml }
subscriptions: { poll-interval: 100ms }
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: "${database}"
  apis:
    - { audience: "api://gatehouse-portal", scopes: [portal] }
    - { audience: "api://gatehouse-admin", scopes: [gatehouse.manage] }
  clients:
    - { client-id: portal, public: true, redirect-uris: ["${base}/portal/"], scopes: [portal] }
    - { client-id: console, public: true, redirect-uris: ["${adminBase}/console/"], scopes: [gatehouse.manage] }
    - { client-id: portal-cli, public: true, grant-types: [password], scopes: [portal, gatehouse.manage] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
  branding: { name: Acme APIs, primary-colour: "#0b5394" }
portal:
  client-id: portal
  audience: api://gatehouse-portal
  max-subscriptions: 2
console:
  client-id: console
management:
  auth:
    openid-config: ${issuer}/.well-known/openid-configuration
    issuer: ${issuer}
    audiences: [api://gatehouse-admin]
`, { files, waitFor: ['http', 'admin', 'identity'] });
    // the second process serves the portal on a listener of its own, behind an API route: the
    // global policies run for it
    const startingB = startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  b: { url: "${backend.url}" }
  portal: { url: "http://127.0.0.1:${portalPort}/portal" }
${shared()}
policies:
  outbound:
    - set-header: { name: X-Through, value: gateway }
apis:
  - { name: orders, path: /orders, backend: b, openapi: ./orders.yaml }
  - { name: portal, path: /portal, backend: portal, public: true }
subscriptions: { database: "${database}", poll-interval: 100ms }
portal: { listen: { http: ${portalPort} }, issuer: "${issuer}", client-id: portal, audience: api://gatehouse-portal }
`, { files, waitFor: ['http', 'admin', 'portal'] });
    const launching = chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    [a, b, browser] = await Promise.all([starting, startingB, launching]);
    await addUser('root', ['gatehouse-admin']);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await backend?.close();
  });

  let portal: BrowserContext;
  let page: Page;
  let csp: string[];

  it('a developer signs up through the portal, reads the reference, subscribes, tries the API and calls it on both processes', async () => {
    portal = await browser.newContext();
    page = await portal.newPage();
    csp = watchCsp(page);
    const res = await page.goto(`${base}/portal/`);
    assert.match(res!.headers()['content-security-policy'] ?? '', /script-src 'self';/);
    await page.waitForSelector('body[data-ready]');
    assert.equal(await page.textContent('#brand'), 'Acme APIs · Developer portal', 'the branding of the hosted pages');
    await page.waitForSelector('h2:has-text("Orders API")');
    await accessible(page, 'portal-apis');

    await page.getByRole('button', { name: 'Sign in or sign up' }).click();
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email', { exact: true }).fill('dev@example.com');
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Username or email').fill('dev@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('button:has-text("Sign out")');
    assert.equal(new URL(page.url()).search, '', 'the code is gone from the address bar');

    await page.getByRole('link', { name: 'Orders API' }).click();
    await page.waitForSelector('h3:has-text("/orders/{id}")');
    assert.ok(await page.isVisible('text=What is ordered.'), 'the schema of the body is rendered from its $ref');
    await accessible(page, 'portal-reference');

    await page.getByRole('link', { name: 'Products' }).click();
    await page.waitForSelector('h2:has-text("Partner")');
    await accessible(page, 'portal-products');
    await page.getByRole('button', { name: 'Subscribe to Starter' }).click();
    await page.waitForSelector('[data-key=primary]');
    key = (await page.textContent('[data-key=primary]'))!;
    assert.match(key, /^ghk_/);
    assert.ok(await page.isVisible('td:has-text("active")'), 'an automatic product is active at once');
    await accessible(page, 'portal-keys');
    // a new secondary key from the page: shown once, the primary untouched
    await page.getByRole('button', { name: 'Regenerate the secondary key of Starter' }).click();
    await page.waitForSelector('[data-key=secondary]');
    // the page renders again after the answer: the old key leaves with that render
    await page.waitForSelector('[data-key=primary]', { state: 'detached', timeout: 5000 }).catch(() => undefined);
    assert.equal(await page.locator('[data-key=primary]').count(), 0, 'only the new key is shown');

    await page.goto(`${base}/portal/#/apis/orders/get-order`);
    await page.waitForSelector('h3:has-text("/orders/{id}")');
    const form = page.getByRole('form', { name: 'Try GET /orders/{id}' });
    assert.equal(await form.getByLabel('Subscription key').inputValue(), key, 'the fresh key is offered');
    await form.getByRole('button', { name: 'Send GET' }).click();
    await form.locator('[role=status]').waitFor();
    assert.match((await form.locator('[role=status]').textContent())!, /^200 /);
    const echoed = JSON.parse((await form.locator('pre').textContent())!) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, '/7');
    assert.ok(echoed.headers.authorization?.startsWith('Bearer '), 'the developer\'s token went along');
    assert.equal(echoed.headers['ocp-apim-subscription-key'], undefined, 'the key did not');
    await accessible(page, 'portal-try-it');

    for (const gw of [a, b]) assert.equal(await until(gw, 200, 1000), 200, `${gw.url} accepts the key`);
    assert.deepEqual(csp, [], 'the portal runs under its CSP');
  });

  it('the portal API refuses no token and a token for another audience, and hides other developers\' subscriptions', async () => {
    assert.equal((await portalApi('subscriptions')).status, 401);
    await addUser('eve');
    const adminAudience = await passwordToken('eve', 'gatehouse.manage');
    const r = await portalApi('subscriptions', adminAudience);
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'portal-unauthorized');

    eve = await passwordToken('eve', 'portal');
    const mine = await portalApi('subscriptions', eve);
    assert.deepEqual(((await mine.json()) as { items: unknown[] }).items, [], 'eve sees none of the developer\'s');
    const admin = await passwordToken('root', 'gatehouse.manage');
    const all = await (await fetch(`${adminBase}/management/subscriptions`, { headers: { authorization: `Bearer ${admin}` } })).json() as { items: Array<{ id: string }> };
    const theirs = all.items[0]!.id;
    for (const [method, path] of [['POST', `subscriptions/${theirs}/keys/primary/regenerate`], ['POST', `subscriptions/${theirs}/cancel`]] as const) {
      const x = await portalApi(path, eve, method);
      assert.equal(x.status, 404, `${method} ${path} by another developer`);
      assert.equal(((await x.json()) as { code: string }).code, 'portal-not-found');
    }
    assert.equal(await until(a, 200, 0), 200, 'the developer\'s key still works: nothing was regenerated');
    const other = await portalApi('subscriptions', eve, 'POST', { product: 'nope' });
    assert.equal(other.status, 400);
    // a manual product starts submitted; no developer holds more than portal.max-subscriptions
    const partner = await portalApi('subscriptions', eve, 'POST', { product: 'partner', name: 'eve partner' });
    assert.equal(((await partner.json()) as { subscription: { state: string } }).subscription.state, 'submitted');
    const own = await portalApi('subscriptions', eve, 'POST', { product: 'starter', name: 'eve starter' });
    assert.equal(own.status, 201);
    const made = (await own.json()) as { subscription: { id: string }; secondaryKey: string };
    const again = await portalApi(`subscriptions/${made.subscription.id}/keys/secondary/regenerate`, eve, 'POST');
    assert.equal(again.status, 200, 'a developer regenerates their own key');
    assert.notEqual(((await again.json()) as { key: string }).key, made.secondaryKey);
    const third = await portalApi('subscriptions', eve, 'POST', { product: 'starter', name: 'eve starter' });
    assert.equal(third.status, 400);
    assert.match(((await third.json()) as { detail: string }).detail, /at most|most the portal allows/);
    // the portal on its own listener, through the second process's pipeline
    const through = await fetch(`${b.url}/portal/api/subscriptions`, { headers: { authorization: `Bearer ${eve}` } });
    assert.equal(through.status, 200);
    assert.equal(through.headers.get('x-through'), 'gateway', 'the global policies ran');
    assert.equal(((await through.json()) as { items: unknown[] }).items.length, 2, 'the same developer, the same subscriptions');
    const page = await fetch(`${b.url}/portal/`);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    // an ambiguous path is never the portal's: the pipeline refuses it
    assert.equal((await fetch(`${base}/portal/%2e%2e/api/apis`)).status, 404);
    assert.equal((await fetch(`${base}/portal/api%2fapis`)).status, 400);
  });

  it('an administrator signs in to the console and suspends the subscription: both processes refuse the key within a second', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const seen = watchCsp(p);
    await p.goto(`${adminBase}/console/`);
    await p.waitForSelector('body[data-ready]');
    await accessible(p, 'console-sign-in');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByLabel('Username or email').fill('root');
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForSelector('table:has-text("Starter")');
    await accessible(p, 'console-subscriptions');
    await p.getByRole('button', { name: 'Suspend Starter' }).click();
    await p.waitForSelector('td:has-text("suspended")');
    for (const gw of [a, b]) assert.equal(await until(gw, 401, 1000), 401, `${gw.url} refuses the suspended key within 1 s`);
    await accessible(p, 'console-suspended');
    await p.getByRole('link', { name: 'Products' }).click();
    await p.waitForSelector('table:has-text("Partner")');
    await accessible(p, 'console-products');

    await p.getByRole('link', { name: 'Users' }).click();
    await p.getByLabel('Search users (name or email)').fill('eve');
    await p.getByRole('button', { name: 'Search', exact: true }).click();
    await p.getByRole('button', { name: 'Lock eve' }).click();
    await p.waitForSelector('td:has-text("locked")');
    assert.equal((await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', client_id: 'portal-cli', username: 'eve', password: PASSWORD, scope: 'portal' }) })).status, 400, 'a locked account gets no token');
    assert.equal((await portalApi('subscriptions', eve)).status, 401, 'nor does the token it got before do anything in the portal');
    await accessible(p, 'console-users');

    await p.getByRole('link', { name: 'Clients' }).click();
    await p.getByLabel('Client id').fill('reports');
    await p.getByLabel('Scopes (comma-separated)').fill('gatehouse.manage');
    await p.getByRole('button', { name: 'Create client' }).click();
    await p.waitForSelector('.secret');
    await accessible(p, 'console-clients');

    for (const [link, shown, name] of [
      ['APIs', 'h2:has-text("orders")', 'console-apis'], ['Backend health', 'td:has-text("healthy")', 'console-backends'],
      ['Recent errors', 'td:has-text("subscription-inactive")', 'console-errors'], ['Signing keys', 'td:has-text("RS256")', 'console-keys'],
      ['Audit log', 'td:has-text("subscription.suspend")', 'console-audit'],
    ]) {
      await p.getByRole('link', { name: link }).click();
      await p.waitForSelector(shown!);
      await accessible(p, name!);
    }
    assert.deepEqual(seen, [], 'the console runs under its CSP');
    await ctx.close();
    await portal.close();
  });
});
