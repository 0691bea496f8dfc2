import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { openDb } from '../../src/identity/db.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { runCli, scaled, startGateway, type SupervisedGateway } from '../helpers/gateway.js';
import { managementClient } from '../helpers/management.js';

/**
 * `gatehouse apim import`: an export in the APIOps extractor layout, written here, becomes a
 * gatehouse.yaml that `validate` and `apim check` accept, and that a real gateway runs: a policy
 * of each scope (global, product, API, operation, fragment) shows in what the backend receives.
 */

const SECRET = 's3cr3t-from-the-vault';
const doc = (inbound: string, backend = '<base />') =>
  `<policies>\n  <inbound>\n    <base />\n    ${inbound}\n  </inbound>\n  <backend>\n    ${backend}\n  </backend>\n  <outbound>\n    <base />\n  </outbound>\n  <on-error>\n    <base />\n  </on-error>\n</policies>\n`;

function writeExport(root: string, backendUrl: string, extra: Record<string, string> = {}): void {
  const files: Record<string, string> = {
    'policy.xml': doc('<set-header name="X-Global" exists-action="override"><value>{{greeting}}</value></set-header>', '<forward-request timeout="30" />'),
    'named values/greeting/namedValueInformation.json': JSON.stringify({ name: 'greeting', properties: { displayName: 'greeting', value: 'hello', secret: false, tags: [] } }),
    'named values/api-secret/namedValueInformation.json': JSON.stringify({ name: 'api-secret', properties: { displayName: 'api-secret', secret: true } }),
    'named values/vault-key/namedValueInformation.json': JSON.stringify({ name: 'vault-key', properties: { displayName: 'vault-key', secret: true, keyVault: { secretIdentifier: 'https://kv.vault.azure.net/secrets/key' } } }),
    'backends/orders-svc/backendInformation.json': JSON.stringify({ name: 'orders-svc', properties: { url: `${backendUrl}/svc`, protocol: 'http' } }),
    'backends/orders-pool/backendInformation.json': JSON.stringify({ name: 'orders-pool', properties: { type: 'Pool', pool: { services: [{ id: '/backends/orders-svc', priority: 1, weight: 2 }] } } }),
    'apis/orders/apiInformation.json': JSON.stringify({ properties: { displayName: 'Orders', path: 'orders', serviceUrl: `${backendUrl}/api`, protocols: ['https'], subscriptionRequired: true, isCurrent: true } }),
    'apis/orders/specification.yaml': 'openapi: 3.0.1\ninfo: { title: Orders, version: "1" }\npaths:\n  /items/{id}:\n    get:\n      operationId: get-item\n      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]\n      responses: { "200": { description: ok } }\n  /items:\n    post:\n      operationId: create-item\n      responses: { "201": { description: created } }\n',
    'apis/orders/policy.xml': doc('<set-header name="X-Api" exists-action="override"><value>@(context.Api.Name)</value></set-header>\n    <include-fragment fragment-id="stamp" />'),
    'apis/orders/operations/get-item/policy.xml': doc('<set-header name="X-Op" exists-action="override"><value>@("item-" + context.Request.MatchedParameters["id"])</value></set-header>\n    <set-header name="X-Secret" exists-action="override"><value>{{api-secret}}</value></set-header>'),
    'apis/orders/operations/create-item/policy.xml': doc('<set-backend-service backend-id="orders-pool" />'),
    'products/gold/productInformation.json': JSON.stringify({ properties: { displayName: 'Gold', description: 'the gold plan', subscriptionRequired: true, approvalRequired: false, state: 'published' } }),
    'products/gold/apis.json': JSON.stringify([{ name: 'orders' }]),
    'products/gold/policy.xml': doc('<set-header name="X-Product" exists-action="override"><value>@(context.Product.Name)</value></set-header>'),
    'policy fragments/stamp/policyFragmentInformation.json': JSON.stringify({ name: 'stamp', properties: { description: 'adds a stamp' } }),
    'policy fragments/stamp/policy.xml': '<fragment>\n  <set-header name="X-Fragment" exists-action="override"><value>stamped</value></set-header>\n</fragment>\n',
    'version sets/orders-set/versionSetInformation.json': JSON.stringify({ name: 'orders-set', properties: { displayName: 'Orders', versioningScheme: 'Segment' } }),
    'apis/orders-v2/apiInformation.json': JSON.stringify({ name: 'orders-v2', properties: { displayName: 'Orders', path: 'orders', apiVersion: 'v2', apiVersionSetId: '/apiVersionSets/orders-set', serviceUrl: `${backendUrl}/v2`, isCurrent: true } }),
    'apis/orders;rev=2/apiInformation.json': JSON.stringify({ name: 'orders;rev=2', properties: { displayName: 'Orders', path: 'orders', isCurrent: false } }),
    'diagnostics/applicationinsights/diagnosticInformation.json': '{}',
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe('apim import', () => {
  let backend: TestBackend;
  let gw: SupervisedGateway | undefined;
  let out: string;
  let stdout: string;
  const env = { APIM_API_SECRET: SECRET, APIM_VAULT_KEY: 'unused' };

  before(async () => {
    backend = await startBackend();
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-apim-export-'));
    writeExport(join(root, 'export'), backend.url);
    out = join(root, 'out');
    mkdirSync(out);
    const r = await runCli(['apim', 'import', join(root, 'export'), '--out', join(out, 'gatehouse.yaml')]);
    stdout = r.stdout;
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  it('prints a summary and what was not converted; no secret value is written', () => {
    assert.match(stdout, /2 APIs \(2 operations\), 1 product, 4 backends, 3 named values \(2 from the environment\), 1 fragment, 5 policy documents/);
    assert.match(stdout, /warning: named value "api-secret" is secret: set APIM_API_SECRET/);
    assert.match(stdout, /warning: named value "vault-key" is a Key Vault reference: set APIM_VAULT_KEY/);
    assert.match(stdout, /warning: diagnostics\/: not converted/);
    assert.match(stdout, /warning: API "orders;rev=2": not the current revision: skipped/);
    const yaml = readFileSync(join(out, 'gatehouse.yaml'), 'utf8');
    assert.doesNotMatch(yaml, new RegExp(SECRET));
    const cfg = parseYaml(yaml) as { apim: { 'named-values': Record<string, string> }; apis: Array<{ operations: Array<{ id: string; method: string; path: string }> }>; products: Array<Record<string, unknown>> };
    assert.deepEqual(cfg.apim['named-values'], { greeting: 'hello', 'api-secret': '${ENV:APIM_API_SECRET}', 'vault-key': '${ENV:APIM_VAULT_KEY}' });
    assert.deepEqual(cfg.apis[0]!.operations.map((o) => `${o.id} ${o.method} ${o.path}`), ['get-item GET /items/{id}', 'create-item POST /items']);
    assert.equal(cfg.products[0]!.name, 'Gold');
  });

  it('the config validates and its documents pass apim check', async () => {
    const v = await runCli(['validate', '--config', join(out, 'gatehouse.yaml')], { env });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const c = await runCli(['apim', 'check', '--config', join(out, 'gatehouse.yaml'), join(out, 'policies/global.xml'), join(out, 'policies/apis/orders.xml'), join(out, 'policies/apis/orders/get-item.xml'), join(out, 'policies/products/gold.xml')]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });

  it('a gateway runs the imported config: each scope\'s policy shows at the backend', async () => {
    const file = join(out, 'gatehouse.yaml');
    const cfg = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    cfg.gateway = { listen: { http: 0 }, admin: { listen: 0 } };
    cfg.subscriptions = { database: 'sqlite:./subscriptions.db', 'poll-interval': '100ms' };
    const db = await openDb(`sqlite:${join(out, 'subscriptions.db')}`, '/');
    const now = Date.now();
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['u-ci', 'ci', now]);
    await db.close();
    gw = await startGateway(stringify(cfg), { dir: out, env });
    const mgmt = managementClient(gw.adminUrl);
    const sub = await mgmt('POST', '/management/subscriptions', { scope: 'product', target: 'gold', owner: { type: 'user', id: 'u-ci' }, name: 'ci' });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const key = (sub.body as { primaryKey: string }).primaryKey;
    const call = (path: string, method = 'GET') => fetch(`${gw!.url}/orders${path}`, { method, headers: { 'ocp-apim-subscription-key': key } });
    let r = await call('/items/7');
    for (const deadline = Date.now() + scaled(3000); r.status === 401 && Date.now() < deadline;) { await r.arrayBuffer(); await new Promise((res) => setTimeout(res, 50)); r = await call('/items/7'); }
    assert.equal(r.status, 200, await r.clone().text());
    await r.arrayBuffer();
    const seen = backend.requests.at(-1)!;
    assert.equal(seen.url, '/api/items/7');
    assert.equal(seen.headers['x-global'], 'hello', 'global policy with a named value');
    assert.equal(seen.headers['x-product'], 'Gold', 'product policy');
    assert.equal(seen.headers['x-api'], 'orders', 'API policy');
    assert.equal(seen.headers['x-fragment'], 'stamped', 'fragment included by the API policy');
    assert.equal(seen.headers['x-op'], 'item-7', 'operation policy');
    assert.equal(seen.headers['x-secret'], SECRET, 'the secret named value comes from the environment');
    const created = await call('/items', 'POST');
    assert.equal(created.status, 200);
    await created.arrayBuffer();
    assert.equal(backend.requests.at(-1)!.url, '/svc/items', 'set-backend-service backend-id names the imported pool');
    const v2 = await fetch(`${gw!.url}/orders/v2/items/1`);
    assert.equal(v2.status, 200, 'a Segment version follows the API path');
    await v2.arrayBuffer();
    assert.equal(backend.requests.at(-1)!.url, '/v2/items/1');
    const unknown = await call('/nothing');
    assert.equal(unknown.status, 404, 'operations come from the specification');
    await unknown.arrayBuffer();
  });

  it('a cloud-only policy is reported with its place, and the exit code is 1; bad input is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-apim-export-'));
    writeExport(join(root, 'export'), backend.url, {
      'apis/orders/operations/get-item/policy.xml': doc('<validate-azure-ad-token tenant-id="contoso" />'),
    });
    const r = await runCli(['apim', 'import', join(root, 'export'), '--out', join(root, 'new', 'gatehouse.yaml')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /policies\/apis\/orders\/get-item\.xml:\d+:\d+: error cloud-only-policy: /);
    const again = await runCli(['apim', 'import', join(root, 'export'), '--out', join(root, 'new', 'gatehouse.yaml')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists/);
    const empty = await runCli(['apim', 'import', root + '/nothing', '--out', join(root, 'x.yaml')]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /not a folder/);
    const usage = await runCli(['apim', 'import']);
    assert.equal(usage.code, 2);
  });
});
