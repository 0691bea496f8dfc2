import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, runCli, ROOT, type RunningGateway } from '../helpers/gateway.js';
import { decodeJwt, freePort, tokenRequest } from '../identity/helpers.js';

/**
 * The README walkthrough on examples/quickstart/gatehouse.yaml as shipped (only the ports are
 * moved to free ones): users add, the password grant (step 2), calls (3, 4), client
 * credentials (5). Keeps the quickstart working as the identity rules tighten.
 */
const DIR = join(ROOT, 'examples', 'quickstart');

describe('the README walkthrough on the quickstart config', () => {
  let gw: RunningGateway;
  let backend: ChildProcess;
  let base: string;
  let issuer: string;

  before(async () => {
    const [gwPort, idPort, bePort] = [await freePort(), await freePort(), await freePort()];
    const yaml = readFileSync(join(DIR, 'gatehouse.yaml'), 'utf8')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${gwPort}`).replace('http: 8080', `http: ${gwPort}`)
      .replaceAll('127.0.0.1:4000', `127.0.0.1:${idPort}`).replace('http: 4000', `http: ${idPort}`)
      .replaceAll('127.0.0.1:9001', `127.0.0.1:${bePort}`).replace('listen: 9090', 'listen: 0')
      .replace('identity:\n', 'identity:\n  passwords: { hash: { memory-cost: 1024, time-cost: 1 } }\n');
    assert.ok(!/\b(8080|4000|9001|9090)\b/.test(yaml), 'every fixed port was moved');
    backend = spawn(process.execPath, [join(DIR, 'orders-backend.mjs')], { env: { ...process.env, ORDERS_PORT: String(bePort) }, stdio: 'ignore' });
    gw = await startGateway(yaml, { files: { 'orders.openapi.yaml': readFileSync(join(DIR, 'orders.openapi.yaml'), 'utf8') }, waitFor: ['http', 'admin', 'identity'] });
    base = `http://127.0.0.1:${gwPort}`;
    issuer = `${base}/auth`;
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${gw.adminUrl}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  });
  after(async () => {
    await gw?.stop();
    backend?.kill();
  });

  test('steps 1 to 5 answer as the README says', async () => {
    const add = await runCli(['users', 'add', '--config', gw.configFile, '--username', 'alice', '--password', 'correct horse battery']);
    assert.equal(add.code, 0, add.stderr);

    // 2. a token with the password grant
    const pw = await tokenRequest({ issuer }, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: 'correct horse battery', scope: 'orders.read', resource: 'api://orders' });
    assert.equal(pw.status, 200, pw.text);
    const claims = decodeJwt(pw.json.access_token).payload;
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, 'api://orders');
    assert.equal(claims.scp, 'orders.read');

    // 3. the API through the gateway
    const get = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${pw.json.access_token}` } });
    assert.equal(get.status, 200, await get.text());
    assert.equal((await fetch(`${base}/orders`)).status, 401);

    // 4. POST needs orders.write
    const order = { method: 'POST', body: JSON.stringify({ item: 'tea', quantity: 1 }) };
    const post = (t: string) => fetch(`${base}/orders`, { ...order, headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' } });
    assert.equal((await post(pw.json.access_token)).status, 403);
    const rw = await tokenRequest({ issuer }, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: 'correct horse battery', scope: 'orders.read orders.write', resource: 'api://orders' });
    assert.equal(rw.status, 200, rw.text);
    assert.equal((await post(rw.json.access_token)).status, 201);

    // 5. a service with client credentials
    const svc = await tokenRequest({ issuer }, { grant_type: 'client_credentials', scope: 'orders.read', resource: 'api://orders' }, { id: 'billing-svc', secret: 'quickstart-billing-secret' });
    assert.equal(svc.status, 200, svc.text);
    assert.equal((await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${svc.json.access_token}` } })).status, 200);
  });
});
