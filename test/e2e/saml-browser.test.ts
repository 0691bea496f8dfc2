import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import * as client from 'openid-client';
import { chromium, type Browser, type Request } from 'playwright-core';
import type { RunningGateway } from '../helpers/gateway.js';
import { startFederatedGateway } from './federated-gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { decodeJwt, freePort } from '../identity/helpers.js';
import { sspAvailable, startSimpleSaml, type SimpleSamlIdp } from '../identity/saml-rig.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ssp = sspAvailable();
const chrome = existsSync(CHROMIUM);
if (!ssp || !chrome) {
  const missing = [!ssp && 'SimpleSAMLphp (or php): scripts/ci/install-simplesamlphp.sh', !chrome && `${CHROMIUM}: apt-get install chromium`].filter(Boolean).join('; ');
  if (process.env.CI === 'true') throw new Error(`missing ${missing} (CI=true: this is a failure)`);
  console.error(`\n!!! missing ${missing}: SKIPPING the SAML browser test !!!\n`);
}

/**
 * SAML 2.0 federation end to end in Chromium: the gateway with its identity provider (one process,
 * as `gatehouse start` runs it) on 127.0.0.1 brokers SimpleSAMLphp on 127.0.0.2, so the IdP's
 * auto-submitted POST back to the ACS is cross-site, as in production (no SameSite=Lax cookie goes
 * with it). The user presses "Sign in with Corp", signs in at SimpleSAMLphp's own login page, comes
 * back through the ACS, and the Gatehouse token works at a gateway-protected API.
 */
describe('SAML sign-in in a real browser (SimpleSAMLphp on another site), through the gateway, to a protected API', { skip: !ssp || !chrome }, () => {
  let idp: SimpleSamlIdp;
  let gw: RunningGateway;
  let backend: TestBackend;
  let browser: Browser;
  let rp: Server;
  let base: string;
  let callback: string;

  before(async () => {
    backend = await startBackend();
    const [gwPort, rpPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    const issuer = `${base}/auth`;
    callback = `http://127.0.0.1:${rpPort}/cb`;
    const sp = (id: string) => ({ [`${issuer}/federation/${id}/metadata`]: `${issuer}/federation/${id}/callback` });
    idp = await startSimpleSaml({ ...sp('corp'), ...sp('corppost') }, {
      student: { password: 'studentpass', attributes: { uid: ['student'], mail: ['student@example.com'], eduPersonAffiliation: ['member', 'staff'] } },
      // another person for the second connector (the same email there would ask to link accounts), in one group only:
      // a single-valued attribute, which node-saml gives as a string, still maps to a role
      teacher: { password: 'teacherpass', attributes: { uid: ['teacher'], mail: ['teacher@example.com'], eduPersonAffiliation: ['staff'] } },
    });
    rp = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>RP</title><h1>Signed in</h1>'); });
    await new Promise<void>((r) => rp.listen(rpPort, '127.0.0.1', r));
    const cert = idp.certPem.trim().split('\n').map((l) => `          ${l}`).join('\n');
    // the same IdP twice: the second connector sends its AuthnRequest by POST instead of redirect
    const connector = (id: string, name: string, extra?: string) => `    - id: ${id}
      type: saml
      display-name: ${name}
${extra ? `      ${extra}\n` : ''}      idp-sso-url: ${idp.ssoUrl}
      idp-entity-id: ${idp.entityId}
      idp-certificates:
        - |
${cert}
      claims: { email: mail, email-verified: true, groups: eduPersonAffiliation }
      roles-from-groups: { staff: [orders-reader] }
      accounts: { create: true }
`;
    gw = await startFederatedGateway({
      gwPort, backendUrl: backend.url, callback, connectors: ['corp', 'corppost'],
      federation: connector('corp', 'Corp') + connector('corppost', 'Corp (POST)', 'authn-request-binding: post'),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await idp?.stop();
    await backend?.close();
    await new Promise((r) => (rp ? rp.close(r) : r(undefined)));
  });

  /** press `button`, sign in at SimpleSAMLphp's own page, back through the ACS at `connector`; the token works at the API (`user` signs in with the password `${user}pass`). The request that reached the IdP's SSO service, and the CSP of a hand-off page */
  async function signInThrough(button: string, connector: string, user: string): Promise<{ sso: Request; handoffCsp?: string }> {
    const cfg = await client.discovery(new URL(`${base}/auth`), 'orders-spa', undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid orders.read', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const acsPosts: Promise<string>[] = [];
      page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes(`/federation/${connector}/callback`)) acsPosts.push(r.allHeaders().then((h) => h['cookie'] ?? '')); });
      const sso: Request[] = [];
      let handoffCsp: string | undefined;
      page.on('request', (r) => { if (r.url().startsWith(idp.ssoUrl)) sso.push(r); });
      page.on('response', (r) => { if (r.request().method() === 'POST' && r.url().startsWith(`${base}/auth/interaction/`) && r.status() === 200) handoffCsp = r.headers()['content-security-policy']; });
      await page.goto(url.href);
      await page.getByRole('button', { name: button, exact: true }).click();
      // SimpleSAMLphp's own login page, on another site
      await page.waitForURL((u) => u.href.startsWith(idp.base), { timeout: 10_000 });
      await page.locator('input[name="username"]').fill(user);
      await page.locator('input[name="password"]').fill(`${user}pass`);
      await page.locator('input[name="password"]').press('Enter');
      // its auto-submitted form posts the response back; SimpleSAMLphp answers errors with 200, so say what page we are stuck on
      await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 15_000 }).catch(async (e) => {
        throw new Error(`not back at the RP (at ${page.url()}): ${(await page.content()).slice(0, 800)}\n${gw.text.slice(-20).join('\n')}`, { cause: e });
      });
      assert.equal(acsPosts.length, 1, 'one POST to the ACS');
      // the browser-binding cookie of the sign-in, whose path covers the ACS: only SameSite keeps it off the IdP's POST
      const jar = (await ctx.cookies()).filter((c) => c.domain === '127.0.0.1');
      assert.ok(jar.some((c) => c.name === 'gh-idp-federation' && c.sameSite === 'Lax' && `/auth/federation/${connector}/callback`.startsWith(c.path)), JSON.stringify(jar.map((c) => [c.name, c.sameSite, c.path])));
      assert.doesNotMatch(await acsPosts[0]!, /gh-idp-/, 'the cross-site POST carries none of them: the ACS found the sign-in from RelayState');
      const tokens = await client.authorizationCodeGrant(cfg, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      const claims = decodeJwt(tokens.access_token).payload;
      assert.equal(claims.idp, connector);
      assert.deepEqual(claims.roles, ['orders-reader']);
      const r = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(r.status, 200);
      const seen = backend.requests.at(-1)!;
      assert.equal(seen.headers['x-user-id'], claims.sub);
      assert.equal(seen.headers['x-user-idp'], connector);
      // and without a token the API refuses
      assert.equal((await fetch(`${base}/orders`)).status, 401);
      return { sso: sso[0]!, handoffCsp };
    } finally {
      await ctx.close();
    }
  }

  test('Sign in with Corp → SimpleSAMLphp\'s login page → cross-site POST to the ACS → a token the gateway accepts', async () => {
    const { sso } = await signInThrough('Sign in with Corp', 'corp', 'student');
    assert.equal(sso.method(), 'GET', 'HTTP-Redirect binding by default');
  });

  test('AuthnRequest by the HTTP-POST binding: an auto-submitted form the page CSP lets run by its nonce, uncompressed → SimpleSAMLphp accepts it', async () => {
    const { sso, handoffCsp } = await signInThrough('Sign in with Corp (POST)', 'corppost', 'teacher');
    assert.equal(sso.method(), 'POST');
    assert.match(handoffCsp ?? '', /script-src 'nonce-[A-Za-z0-9+/=]{20,}'$/, 'only the nonce\'d script may run');
    assert.doesNotMatch(handoffCsp ?? '', /unsafe-inline/);
    const xml = Buffer.from(new URLSearchParams(sso.postData() ?? '').get('SAMLRequest') ?? '', 'base64').toString('utf8');
    assert.match(xml, /<samlp:AuthnRequest /, `plain XML, not deflated (SimpleSAMLphp refuses a deflated POST-bound request): ${xml.slice(0, 200)}`);
  });
});
