import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { startGateway, CLI, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { freePort, FAST_HASH } from '../identity/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';

if (!existsSync(CHROMIUM) && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
if (!existsSync(CHROMIUM)) console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the identity cookie browser test !!!\n`);

/**
 * The quickstart shape: gateway and identity in one `gatehouse start`, the provider published at
 * /auth on the same origin as an API. A browser signs in there; the API never sees its cookies.
 */
describe('identity cookies on the shared origin (gateway /auth in front, Chromium)', { skip: !existsSync(CHROMIUM) }, () => {
  let gw: RunningGateway;
  let backend: TestBackend;
  let browser: Browser;
  let base: string;

  before(async () => {
    backend = await startBackend();
    const [gwPort, idPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    gw = await startGateway(`
gateway:
  listen: { http: ${gwPort} }
backends:
  app: { url: "${backend.url}" }
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
apis:
  - { name: identity, path: /auth, backend: identity }
  - { name: app, path: /app, backend: app }
identity:
  listen: { http: ${idPort} }
  issuer: ${base}/auth
  database: sqlite:./identity.db
  apis: [{ audience: "api://app", scopes: [app.read] }]
  clients:
    - { client-id: spa, public: true, grant-types: [authorization_code], redirect-uris: ["${base}/app/cb"], scopes: [app.read] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
`, { waitFor: ['http', 'identity'] });
    const add = execFile(process.execPath, [CLI, 'users', 'add', '--config', gw.configFile, '--username', 'alice', '--password-stdin'], { encoding: 'utf8' });
    add.stdin!.end(PASSWORD + '\n');
    assert.equal(await new Promise((r) => add.on('close', r)), 0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await backend?.close();
  });

  test('sign-in through /auth works, every cookie is gh-idp-* on the issuer path, and the API on the same origin receives none of them', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    // a cookie of the application itself, on the whole origin: it does reach the API
    await ctx.addCookies([{ name: 'app-pref', value: 'dark', url: base + '/' }]);
    const q = new URLSearchParams({ client_id: 'spa', response_type: 'code', redirect_uri: `${base}/app/cb`, scope: 'openid app.read', state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    await page.goto(`${base}/auth/auth?${q}`);
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/app/cb');
    assert.ok(new URL(page.url()).searchParams.get('code'), 'signed in: a code at the callback');

    const cookies = (await ctx.cookies()).filter((c) => c.name !== 'app-pref');
    assert.ok(cookies.some((c) => c.name === 'gh-idp-session'), JSON.stringify(cookies.map((c) => c.name)));
    for (const c of cookies) {
      assert.ok(c.name.startsWith('gh-idp-'), `${c.name} has the gh-idp- prefix`);
      assert.ok(c.path === '/auth' || c.path.startsWith('/auth/'), `${c.name} has path ${c.path}`);
    }
    // the callback and a later API call carry the app's cookie but no identity cookie
    const before = backend.requests.length;
    await page.goto(`${base}/app/orders`);
    const seen = backend.requests.slice(before - 1).map((r) => String(r.headers.cookie ?? ''));
    assert.ok(seen.length >= 2);
    for (const c of seen) {
      assert.match(c, /app-pref=dark/);
      assert.doesNotMatch(c, /gh-idp-/);
    }
    await ctx.close();
  });
});
