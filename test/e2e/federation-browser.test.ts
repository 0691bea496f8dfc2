import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import * as client from 'openid-client';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningGateway } from '../helpers/gateway.js';
import { startFederatedGateway } from './federated-gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { decodeJwt, freePort, startTestIdentity, type TestIdentity } from '../identity/helpers.js';
import { PASSWORD, startOAuth2Upstream, UP_SECRET } from '../identity/federation-rig.js';
import { startOAuth1Upstream, type OAuth1Upstream } from '../identity/oauth1-rig.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the federation browser test (apt-get install chromium) !!!\n`);
}

/**
 * Federation end to end in Chromium: the gateway with its identity provider (one process, as
 * `gatehouse start` runs it) brokers a second identity provider (oidc-provider) on another
 * loopback address, an OAuth 1.0a provider (X-style) and an OAuth 2.0 provider (GitHub-style,
 * which signs in without a page). The user presses "Sign in with …", signs in at the upstream's
 * own page, comes back, and the Gatehouse token works at a gateway-protected API.
 */
describe('federated sign-in in a real browser, through the gateway, to a protected API', { skip: !existsSync(CHROMIUM) }, () => {
  let up: TestIdentity;
  let upIssuer: string;
  let gw: RunningGateway;
  let backend: TestBackend;
  let browser: Browser;
  let rp: Server;
  let base: string;
  let callback: string;
  let x: OAuth1Upstream;
  let gh: Awaited<ReturnType<typeof startOAuth2Upstream>>;

  before(async () => {
    backend = await startBackend();
    x = await startOAuth1Upstream();
    gh = await startOAuth2Upstream({ id: 'gh-client', secret: 'gh-secret-0123456789' });
    const [gwPort, upPort, rpPort] = [await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    const issuer = `${base}/auth`;
    callback = `http://127.0.0.1:${rpPort}/cb`;
    // the upstream on 127.0.0.2: browsers keep cookies per host, not per port, and both providers name theirs gh-idp-*
    upIssuer = `http://127.0.0.2:${upPort}/auth`;
    up = await startTestIdentity({
      listen: { http: upPort, host: '127.0.0.2' }, issuer: upIssuer,
      clients: [{ 'client-id': 'downstream', 'client-secret': UP_SECRET, 'grant-types': ['authorization_code'], 'redirect-uris': [`${issuer}/federation/upstream/callback`] }],
      branding: { name: 'Upstream IdP' },
    }, { port: upPort });
    await up.addUser({ username: 'erin', email: 'erin@example.com', password: PASSWORD, emailVerified: true });
    rp = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>RP</title><h1>Signed in</h1>'); });
    await new Promise<void>((r) => rp.listen(rpPort, '127.0.0.1', r));
    gw = await startFederatedGateway({
      gwPort, backendUrl: backend.url, callback, connectors: ['upstream', 'x', 'github'], env: { UPSTREAM_SECRET: UP_SECRET },
      federation: `    - id: upstream
      type: oidc
      display-name: Upstream
      issuer: ${upIssuer}
      client-id: downstream
      client-secret: \${ENV:UPSTREAM_SECRET}
      accounts: { create: true }
    - id: x
      type: oauth1
      preset: x
      client-id: ${x.consumer.key}
      client-secret: ${x.consumer.secret}
      request-token-endpoint: ${x.url}/oauth/request_token
      authorization-endpoint: ${x.url}/oauth/authenticate
      token-endpoint: ${x.url}/oauth/access_token
      userinfo-endpoint: ${x.url}/1.1/account/verify_credentials.json?include_email=true&skip_status=true
      accounts: { create: true }
    - { id: github, type: oauth2, preset: github, client-id: gh-client, client-secret: gh-secret-0123456789, authorization-endpoint: "${gh.url}/authorize", token-endpoint: "${gh.url}/token", userinfo-endpoint: "${gh.url}/user", accounts: { create: true } }
`,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await up?.stop();
    await backend?.close();
    await x?.close();
    await gh?.close();
    await new Promise((r) => rp?.close(r));
  });

  /** from the RP's authorization request: press `button`, do `atUpstream` on the upstream's page, back at the RP; the token works at the API */
  async function signInThrough(button: string, idp: string, atUpstream: (page: Page) => Promise<void>) {
    const cfg = await client.discovery(new URL(`${base}/auth`), 'orders-spa', undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid orders.read', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.getByRole('button', { name: button }).click();
    await atUpstream(page);
    await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 15_000 });
    const tokens = await client.authorizationCodeGrant(cfg, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
    const claims = decodeJwt(tokens.access_token).payload;
    assert.equal(claims.idp, idp);
    const r = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(r.status, 200);
    const seen = backend.requests.at(-1)!;
    assert.equal(seen.headers['x-user-id'], claims.sub);
    assert.equal(seen.headers['x-user-idp'], idp);
    await ctx.close();
  }

  test('Sign in with Upstream → the upstream\'s page → back with a code → a token the gateway accepts', async () => {
    await signInThrough('Sign in with Upstream', 'upstream', async (page) => {
      await page.waitForURL((u) => u.href.startsWith(upIssuer));
      assert.match(await page.content(), /Upstream IdP/);
      await page.getByLabel('Username or email').fill('erin');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    });
    // the client secret came from the environment and is in no log line
    assert.ok(!gw.text.join('\n').includes(UP_SECRET), 'the upstream client secret is never logged');
  });

  test('Sign in with X (OAuth 1.0a) → the provider\'s authorize page → back with oauth_verifier → a token the gateway accepts', async () => {
    await signInThrough('Sign in with X', 'x', async (page) => {
      await page.waitForURL((u) => u.href.startsWith(`${x.url}/oauth/authenticate`));
      await page.getByLabel('Username').fill('jack');
      await page.getByRole('button', { name: 'Authorize app' }).click();
    });
    assert.ok(!gw.text.join('\n').includes(x.consumer.secret), 'the consumer secret is never logged');
  });

  test('Sign in with GitHub (OAuth 2.0, GitHub-style provider) → back with a code → a token the gateway accepts', async () => {
    await signInThrough('Sign in with GitHub', 'github', async () => {});
  });
});
