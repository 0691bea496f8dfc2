import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestIdentity, freePort, decodeJwt, type TestIdentity } from '../identity/helpers.js';
import { ROOT } from '../helpers/gateway.js';
import { assertAccessible, assertHtmlAccessible } from '../helpers/axe.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';
const SHOTS = join(ROOT, 'docs/screenshots');

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the identity browser tests (apt-get install chromium) !!!\n`);
}

let axeBrowser: Browser | undefined;

async function shot(page: Page, name: string) {
  if (await page.evaluate(() => true).catch(() => false) && !(page as unknown as { __noJs?: boolean }).__noJs) {
    await assertAccessible(page, name);
  } else {
    // a page rendered with JavaScript off: check the same HTML in a page that may run axe
    await assertHtmlAccessible(axeBrowser!, new URL(page.url()).origin + '/auth/assets/style.css', await page.content(), name);
  }
  await page.screenshot({ path: join(SHOTS, `identity-${name}.png`), fullPage: true });
}

describe('hosted pages in a real browser (Chromium), code flow with PKCE through openid-client', { skip: !existsSync(CHROMIUM) }, () => {
  let t: TestIdentity;
  let browser: Browser;
  let rp: Server;
  let callback: string;
  /** what the relying party's callback received */
  const rpSeen: Array<{ method: string; url: string; body: string }> = [];
  const ids: Record<string, string> = {};

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    callback = `http://127.0.0.1:${port}/cb`;
    rp = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        rpSeen.push({ method: req.method!, url: req.url!, body });
        res.setHeader('content-type', 'text/html');
        res.end('<!doctype html><html lang="en"><title>RP</title><main><h1>Signed in</h1></main></html>');
      });
    });
    await new Promise<void>((r) => rp.listen(port, '127.0.0.1', r));
    t = await startTestIdentity({
      apis: [{ audience: 'api://orders', scopes: ['orders.read', 'orders.write'] }],
      clients: [
        { 'client-id': 'orders-spa', public: true, 'grant-types': ['authorization_code', 'refresh_token'], 'redirect-uris': [callback], 'post-logout-redirect-uris': [callback.replace('/cb', '/bye')], scopes: ['orders.read'] },
        { 'client-id': 'partner-app', public: true, 'first-party': false, name: 'Partner Reports', 'grant-types': ['authorization_code'], 'redirect-uris': [callback], scopes: ['orders.read'] },
      ],
      branding: { name: 'Acme Orders' },
    });
    ids.alice = await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD, roles: ['ops'] });
    ids.bob = await t.addUser({ username: 'bob', email: 'bob@example.com', password: PASSWORD });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    axeBrowser = browser;
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    await new Promise((r) => rp?.close(r));
  });

  const rpConfig = (clientId: string) => client.discovery(new URL(t.issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });

  async function authorize(page: Page, clientId: string, scope: string) {
    const cfg = await rpConfig(clientId);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope, state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await page.goto(url.href);
    return { cfg, verifier, state };
  }

  test('sign-in page → code + PKCE → tokens; refresh; userinfo; logout', async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    const { cfg, verifier, state } = await authorize(page, 'orders-spa', 'openid profile email orders.read offline_access');
    await page.waitForSelector('h1:has-text("Sign in")');
    await shot(page, 'sign-in');

    // a wrong password first: the generic error, focus and labels intact
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('[role=alert]');
    await shot(page, 'sign-in-error');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback));
    const tokens = await client.authorizationCodeGrant(cfg, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
    const at = decodeJwt(tokens.access_token).payload;
    assert.equal(at.aud, 'api://orders');
    assert.equal(at.scp, 'orders.read');
    assert.equal(at.azp, 'orders-spa');
    assert.deepEqual(at.roles, ['ops']);
    const claims = tokens.claims()!;
    assert.equal(claims.iss, t.issuer);
    assert.ok(tokens.refresh_token);

    const refreshed = await client.refreshTokenGrant(cfg, tokens.refresh_token!);
    assert.equal(decodeJwt(refreshed.access_token).payload.aud, 'api://orders');
    const ui = await client.refreshTokenGrant(cfg, refreshed.refresh_token!, { scope: 'openid profile email' });
    const info = await client.fetchUserInfo(cfg, ui.access_token, claims.sub);
    assert.equal(info.email, 'alice@example.com');

    // RP-initiated logout
    const end = client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: callback.replace('/cb', '/bye') });
    await page.goto(end.href);
    await page.waitForSelector('h1:has-text("Sign out?")');
    await shot(page, 'logout');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback.replace('/cb', '/bye')));
    await ctx.close();
  });

  test('a third-party client gets the consent page; denying returns access_denied', async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await authorize(page, 'partner-app', 'openid orders.read');
    await page.getByLabel('Username or email').fill('alice@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:has-text("Allow access?")');
    await shot(page, 'consent');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback));
    assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
    await ctx.close();
  });

  test('sign-up, email verification and password reset pages work without JavaScript', async () => {
    const ctx = await browser.newContext({ bypassCSP: true, javaScriptEnabled: false });
    const page = await ctx.newPage();
    (page as unknown as { __noJs?: boolean }).__noJs = true;
    await authorize(page, 'orders-spa', 'openid orders.read');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForSelector('h1:has-text("Create an account")');
    await shot(page, 'sign-up');
    await page.getByLabel('Email', { exact: true }).fill('zoe@example.com');
    await page.getByLabel(/^Password/).fill('password1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForSelector('[role=alert]');
    await shot(page, 'sign-up-error');
    await page.getByLabel(/^Password/).fill('zoe has a long passphrase');
    await page.getByRole('button', { name: 'Create account' }).click();
    // back at the sign-in page of the same authorization request
    await page.waitForSelector('h1:has-text("Sign in")');
    await page.getByLabel('Username or email').fill('zoe@example.com');
    await page.getByLabel('Password').fill('zoe has a long passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback));
    assert.ok(new URL(page.url()).searchParams.get('code'));

    const verify = t.logs.filter((l) => l.mail === 'verify-email').at(-1) as { link: string };
    await page.goto(verify.link);
    await shot(page, 'verify-email');
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await page.waitForSelector('h1:has-text("Email verified")');
    await shot(page, 'email-verified');

    await page.goto(`${t.issuer}/account/reset`);
    await shot(page, 'reset-request');
    await page.getByLabel('Email', { exact: true }).fill('zoe@example.com');
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.waitForSelector('[role=status]');
    await shot(page, 'reset-sent');
    const reset = t.logs.filter((l) => l.mail === 'reset-password').at(-1) as { link: string };
    await page.goto(reset.link);
    await shot(page, 'reset-form');
    await page.getByLabel(/New password/).fill('zoe has another passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForSelector('h1:has-text("Password changed")');
    await shot(page, 'password-changed');

    await page.goto(`${t.issuer}/auth?client_id=orders-spa&response_type=code&redirect_uri=${encodeURIComponent('http://evil.example/cb')}&scope=openid`);
    await page.waitForSelector('[role=alert]');
    await shot(page, 'error');
    await ctx.close();
  });

  test('response_mode=form_post with the page CSP enforced: the auto-submit runs and the code is posted to the client', async () => {
    const ctx = await browser.newContext(); // CSP enforced (no bypass)
    const page = await ctx.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
    const cfg = await rpConfig('orders-spa');
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid orders.read', state: 'fp-state', response_mode: 'form_post', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await page.goto(url.href);
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    const before = rpSeen.length;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 10_000 });
    const post = rpSeen.slice(before).find((r) => r.method === 'POST');
    assert.ok(post, `the callback received a POST (${JSON.stringify(rpSeen.slice(before))})`);
    const fields = new URLSearchParams(post.body);
    assert.ok(fields.get('code'));
    assert.equal(fields.get('state'), 'fp-state');
    assert.deepEqual(blocked, [], 'nothing was blocked by the CSP');
    await ctx.close();
  });

  test('switching user over an existing session (CSP enforced) ends at the client signed in as the new user', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const signIn = async (username: string, prompt?: string) => {
      const cfg = await rpConfig('orders-spa');
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid profile', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...(prompt ? { prompt } : {}) });
      await page.goto(url.href);
      await page.getByLabel('Username or email').fill(username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 10_000 });
      const tokens = await client.authorizationCodeGrant(cfg, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      return tokens.claims()!.sub;
    };
    assert.equal(await signIn('alice'), ids.alice);
    assert.equal(await signIn('bob', 'login'), ids.bob, 'the session switched to bob');
    await ctx.close();
  });

  test('keyboard focus order on the sign-in page follows the form', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await authorize(page, 'orders-spa', 'openid');
    await page.waitForSelector('h1:has-text("Sign in")');
    const order: string[] = [await page.evaluate(() => document.activeElement?.id ?? '')];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => { const e = document.activeElement as HTMLElement; return e.id || e.textContent?.trim() || e.tagName; }));
    }
    assert.deepEqual(order, ['login', 'password', 'Sign in', 'Cancel', 'Forgot your password?', 'Create an account']);
    await ctx.close();
  });
});
