import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { ROOT, startGateway, type SupervisedGateway } from '../helpers/gateway.js';

/* The admin listener's views of a running gateway: /routes, /config (secrets redacted), /version; never on the public port. */

const HMAC = Buffer.from('s3cr3t-hmac-key-that-is-long-enough-32b').toString('base64');

describe('admin endpoints', () => {
  let gw: SupervisedGateway;
  before(async () => {
    gw = await startGateway(`
gateway:
  listen: { host: 127.0.0.1, http: 0 }
  admin: { listen: 0 }
  log: { level: warn }
backends:
  orders: { url: "https://127.0.0.1:9/orders", tls: { passphrase: "hunter2" } }
apis:
  - name: orders
    path: /orders
    backend: orders
    policies:
      inbound:
        - validate-jwt: { issuer-signing-keys: [{ secret: "${HMAC}" }], audiences: [api://orders], issuers: [https://idp] }
        - rate-limit-by-key: { calls: 10, renewal-period: 60, counter-key: "{jwt.sub}" }
    operations:
      - id: get-order
        method: GET
        path: /{id}
        policies: { inbound: [ base, { set-header: { name: X-Op, value: get } } ] }
`);
  });
  after(async () => { await gw?.stop(); });

  const admin = async (path: string) => {
    const r = await request(`${gw.adminUrl}${path}`);
    return { status: r.statusCode, text: await r.body.text() };
  };

  it('/routes: host and path → API → operation → the policy chain in the order it runs', async () => {
    const r = await admin('/routes');
    assert.equal(r.status, 200);
    const routes = JSON.parse(r.text) as Array<{ api: string; path: string; backend: string; operations: Array<{ id: string; method: string; path: string; policies: { inbound: string[] } }> }>;
    assert.equal(routes[0]!.api, 'orders');
    assert.equal(routes[0]!.path, '/orders');
    assert.equal(routes[0]!.backend, 'orders');
    assert.deepEqual(routes[0]!.operations[0], { id: 'get-order', method: 'GET', path: '/orders/{id}', policies: { inbound: ['validate-jwt', 'rate-limit-by-key', 'set-header'], backend: [], outbound: [], 'on-error': [] } });
  });

  it('/config: the effective configuration, defaults filled in, no secret in it', async () => {
    const r = await admin('/config');
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes(HMAC), 'the HMAC key is redacted');
    assert.ok(!r.text.includes('hunter2'), 'the TLS key passphrase is redacted');
    const c = JSON.parse(r.text) as { config: { gateway: { limits: { 'max-body-size': number } } } };
    assert.equal(c.config.gateway.limits['max-body-size'], 10 * 1024 * 1024, 'defaults are shown');
  });

  it('/version: the package version and the Node.js version', async () => {
    const r = JSON.parse((await admin('/version')).text) as { version: string; node: string };
    assert.equal(r.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.equal(r.node, process.version);
  });

  it('none of them is served on the public port', async () => {
    for (const p of ['/routes', '/config', '/version', '/backends', '/metrics']) {
      const r = await request(`${gw.url}${p}`);
      await r.body.dump();
      assert.equal(r.statusCode, 404, p);
    }
  });
});
