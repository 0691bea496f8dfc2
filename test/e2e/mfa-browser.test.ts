import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestIdentity, freePort, decodeJwt, tokenRequest, type TestIdentity } from '../identity/helpers.js';
import { totpNow } from '../../src/identity/mfa/totp.js';
import { ACR } from '../../src/identity/mfa/policy.js';
import { assertHtmlAccessible } from '../helpers/axe.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const now = () => Math.floor(Date.now() / 1000);

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the MFA browser tests (apt-get install chromium) !!!\n`);
}

/**
 * Two-step verification in Chromium: an authenticator app (codes computed here from the secret
 * the enrolment page shows), recovery codes, and passkeys on a virtual authenticator (Chrome
 * DevTools Protocol). WebAuthn refuses an IP address as relying party, so the issuer is on
 * `localhost`.
 */
describe('MFA in a real browser (Chromium): authenticator app, recovery codes, passkeys', { skip: !existsSync(CHROMIUM) }, () => {
  let t: TestIdentity;
  let browser: Browser;
  let rp: Server;
  let callback: string;
  let issuer: string;

  before(async () => {
    const rpPort = await freePort();
    callback = `http://127.0.0.1:${rpPort}/cb`;
    rp = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>RP</title><h1>Signed in</h1>'); });
    await new Promise<void>((r) => rp.listen(rpPort, '127.0.0.1', r));
    const port = await freePort();
    issuer = `http://localhost:${port}/auth`;
    t = await startTestIdentity({
      issuer,
      apis: [{ audience: 'api://orders', scopes: ['orders.read'] }],
      clients: [{ 'client-id': 'strict-spa', public: true, mfa: 'required', 'grant-types': ['authorization_code'], 'redirect-uris': [callback], scopes: ['orders.read'] }],
    }, { port });
    await t.addUser({ username: 'alice', password: PASSWORD });
    await t.addUser({ username: 'bob', password: PASSWORD });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    await new Promise((r) => rp?.close(r));
  });

  async function authorize(page: Page) {
    const q = new URLSearchParams({ client_id: 'strict-spa', response_type: 'code', redirect_uri: callback, scope: 'openid orders.read', state: 'st', code_challenge: CHALLENGE, code_challenge_method: 'S256' });
    await page.goto(`${issuer}/auth?${q}`);
  }
  async function password(page: Page, login: string) {
    await authorize(page);
    await page.getByLabel('Username or email').fill(login);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  async function tokens(page: Page) {
    await page.waitForURL((u) => u.href.startsWith(callback));
    const code = new URL(page.url()).searchParams.get('code')!;
    const r = await tokenRequest({ issuer }, { grant_type: 'authorization_code', client_id: 'strict-spa', code, redirect_uri: callback, code_verifier: VERIFIER });
    assert.equal(r.status, 200, r.text);
    return { id: decodeJwt(r.json.id_token).payload, at: decodeJwt(r.json.access_token).payload };
  }
  /** axe-core on the page's HTML (in a context that may inject it: the page's own CSP allows no such script); serious or critical violations fail */
  async function accessible(page: Page, name: string) {
    await assertHtmlAccessible(browser, `${issuer}/assets/style.css`, await page.content(), name);
  }
  const fresh = async (): Promise<{ ctx: BrowserContext; page: Page }> => {
    const ctx = await browser.newContext();
    return { ctx, page: await ctx.newPage() };
  };

  test('authenticator app: enrol with the QR page, recovery codes once; a replayed code is refused; a recovery code works once', async () => {
    let { ctx, page } = await fresh();
    await password(page, 'alice');
    await page.waitForSelector('h1:has-text("Set up two-step verification")');
    assert.ok(await page.locator('img.qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR code renders under the page CSP');
    await accessible(page, 'mfa-enrol');
    const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s/g, '');
    const at = now();
    const first = await totpNow(secret, at);
    await page.getByLabel(/^Code from your app/).fill(first);
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.waitForSelector('h1:has-text("Save your recovery codes")');
    await accessible(page, 'mfa-recovery-codes');
    const codes = await page.locator('ul.codes code').allTextContents();
    assert.equal(codes.length, 10);
    await page.getByRole('link', { name: /I have saved them/ }).click();
    const enrolled = await tokens(page);
    assert.equal(enrolled.id.acr, ACR.multi);
    assert.ok((enrolled.at.amr as string[]).includes('otp'));
    await ctx.close();

    // the next sign-in asks for a code: the enrolment code again (same time step) is refused
    ({ ctx, page } = await fresh());
    await password(page, 'alice');
    await page.waitForSelector('h1:has-text("Two-step verification")');
    await page.getByLabel(/^Code from your app/).fill(first);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForSelector('[role=alert]:has-text("That code did not work")');
    await accessible(page, 'mfa-challenge-error');
    await page.getByLabel(/^Code from your app/).fill(await totpNow(secret, at + 30));
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal((await tokens(page)).id.acr, ACR.multi);
    await ctx.close();

    // a recovery code, once
    for (const expectOk of [true, false]) {
      ({ ctx, page } = await fresh());
      await password(page, 'alice');
      await page.getByText('Lost your device? Use a recovery code').click();
      await page.getByLabel(/^Recovery code/).fill(codes[0]!);
      await page.getByRole('button', { name: 'Use recovery code' }).click();
      if (expectOk) await tokens(page);
      else await page.waitForSelector('[role=alert]:has-text("That code did not work")');
      await ctx.close();
    }
  });

  test('passkeys on a virtual authenticator: enrolled as the second factor, then as a second factor after the password, then passwordless', async () => {
    const { ctx, page } = await fresh();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });

    await password(page, 'bob');
    await page.waitForSelector('h1:has-text("Set up two-step verification")');
    await page.getByRole('button', { name: 'Use a passkey instead' }).click();
    await page.waitForSelector('h1:has-text("Save your recovery codes")');
    await page.getByRole('link', { name: /I have saved them/ }).click();
    const enrolled = await tokens(page);
    assert.deepEqual([...enrolled.id.amr as string[]].sort(), ['hwk', 'mfa', 'pwd']);

    // a new session: password, then the passkey as the second factor
    await ctx.clearCookies();
    await password(page, 'bob');
    await page.waitForSelector('h1:has-text("Two-step verification")');
    assert.equal(await page.getByLabel(/^Code from your app/).count(), 0, 'no app enrolled: no code field');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const second = await tokens(page);
    assert.equal(second.at.acr, ACR.multi);
    assert.ok((second.at.amr as string[]).includes('hwk'));

    // passwordless: the sign-in page's passkey button alone
    await ctx.clearCookies();
    await authorize(page);
    const csp = (await page.reload())!.headers()['content-security-policy'] ?? '';
    assert.equal(/script-src ([^;]+)/.exec(csp)?.[1], `${issuer}/assets/passkey.js`, 'the sign-in page allows exactly the passkey script');
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/passkey'));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const assertion = new URLSearchParams((await posted).postData() ?? '').get('response')!;
    const passwordless = await tokens(page);
    assert.deepEqual(passwordless.id.amr, ['hwk', 'mfa']);
    assert.equal(passwordless.id.acr, ACR.multi);
    assert.equal(passwordless.id.sub, (await t.services.users.findByLogin('bob'))!.id);
    assert.ok(t.logs.some((l) => l.audit === 'sign-in.success' && l.via === 'passkey'));

    // a replayed assertion (recorded above) does not sign in: its challenge was spent, and the new page has another
    await ctx.clearCookies();
    await authorize(page);
    await page.locator('form[data-passkey]').evaluate((f: HTMLFormElement, a: string) => { (f.elements.namedItem('response') as HTMLInputElement).value = a; f.submit(); }, assertion);
    await page.waitForSelector('[role=alert]:has-text("The passkey could not be used to sign in")');
    assert.ok(t.logs.some((l) => l.audit === 'mfa.failure' && l.factor === 'passkey'));
    await ctx.close();
  });
});
