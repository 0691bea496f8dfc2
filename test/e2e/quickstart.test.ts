import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, runCli, ROOT, type RunningGateway } from '../helpers/gateway.js';
import { decodeJwt, freePort, tokenRequest } from '../identity/helpers.js';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the quickstart demo app browser test (apt-get install chromium) !!!\n`);
}

/**
 * The README walkthrough on examples/quickstart/gatehouse.yaml as shipped (only the ports are
 * moved to free ones): users add, the password grant (step 2), calls (3, 4), client
 * credentials (5), and the demo app in Chromium (sign up, sign in with code + PKCE, orders, sign
 * out). Keeps the quickstart working as the identity rules tighten.
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

  test('the demo app: sign up, sign in with code + PKCE, claims, orders through the gateway, sign out', { skip: !existsSync(CHROMIUM) }, async () => {
    // the app's page and module come with a strict CSP through the gateway
    const index = await fetch(`${base}/app/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self';/);
    for (const p of ['gatehouse.yaml', '__proto__', 'hasOwnProperty', '%2e%2e/orders-backend.mjs']) assert.equal((await fetch(`${base}/app/${p}`)).status, 404, p);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
      await page.goto(`${base}/app/`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/auth\/interaction\//);
      const authorize = page.url();
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Email', { exact: true }).fill('newcomer@example.com');
      await page.getByLabel(/^Username/).fill('newcomer');
      await page.getByLabel(/^Password/).fill('a newcomer passphrase');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(/created=1/);
      assert.ok(page.url().startsWith(authorize), page.url());
      await page.getByLabel('Username or email').fill('newcomer');
      await page.getByLabel('Password').fill('a newcomer passphrase');
      await page.getByRole('button', { name: 'Sign in' }).click();
      // back in the app: the code redeemed, the claims shown, the code gone from the address bar
      await page.waitForURL(`${base}/app/`);
      await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
      const claims = await page.locator('#claims').innerText();
      assert.match(claims, /preferred_username\s+newcomer/);
      assert.match(claims, /email\s+newcomer@example.com/);
      assert.match(claims, new RegExp(`iss\\s+${issuer.replace(/[./]/g, '\\$&')}`));
      await page.getByRole('button', { name: 'Load my orders' }).click();
      await page.locator('#orders tbody tr').first().waitFor();
      const rows = await page.locator('#orders tbody tr').count();
      assert.ok(rows >= 2, String(rows)); // the two sample orders (and the one step 4 made)
      assert.match(await page.locator('#orders tbody tr').first().innerText(), /coffee beans/);
      assert.match(await page.locator('#status').innerText(), new RegExp(`^${rows} orders, seen by the API as user [\\w-]+`));
      // sign out: RP-initiated logout, confirmed, back to the app signed out
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL(`${base}/app/`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      assert.equal(await page.locator('#signed-in').isHidden(), true);
      // a callback with a state this tab did not make is refused
      await page.goto(`${base}/app/callback?code=x&state=forged`);
      await page.getByText(/state mismatch/).waitFor();
      assert.deepEqual(violations, []);
    } finally {
      await browser.close();
    }
  });
});
