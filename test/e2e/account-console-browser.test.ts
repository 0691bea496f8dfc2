import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assertHtmlAccessible } from '../helpers/axe.js';
import { freePort, startTestIdentity, type TestIdentity } from '../identity/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';
/** the page's HTML in a context that may run axe (the pages' CSP allows no inline script): no serious or critical violation */
async function axeClean(browser: Browser, issuer: string, page: Page, name: string) {
  await assertHtmlAccessible(browser, `${issuer}/assets/style.css`, await page.content(), name);
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the account console browser test (apt-get install chromium) !!!\n`);
}

describe('account console in a real browser (Chromium, JavaScript off), checked with axe', { skip: !existsSync(CHROMIUM) }, () => {
  let t: TestIdentity;
  let browser: Browser;
  before(async () => {
    t = await startTestIdentity({ branding: { name: 'Acme Orders' } });
    await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD, emailVerified: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => { await browser?.close(); await t?.stop(); });

  const accessible = (page: Page, name: string) => axeClean(browser, t.issuer, page, name);

  test('sign in from /account, change the name, open the authenticator setup, sign out of the session', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(`${t.issuer}/account`);
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:has-text("Your account")');
    assert.equal(new URL(page.url()).pathname, '/auth/account');
    await accessible(page, 'account overview');
    await page.getByLabel('Display name').fill('Alice A.');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.waitForSelector('[role=status]:has-text("Your name is saved")');
    await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await page.waitForSelector('h1:has-text("Set up two-step verification")');
    await accessible(page, 'authenticator setup');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Sign out session 1' }).click();
    await page.waitForSelector('h1:has-text("Sign in")');
    await ctx.close();
  });
});

/**
 * Passkeys from the account console, on a virtual authenticator (Chrome DevTools Protocol).
 * WebAuthn refuses an IP address as relying party, so the issuer is on `localhost`.
 */
describe('account console passkeys in a real browser (Chromium, virtual authenticator)', { skip: !existsSync(CHROMIUM) }, () => {
  let t: TestIdentity;
  let browser: Browser;
  let issuer: string;
  before(async () => {
    const port = await freePort();
    issuer = `http://localhost:${port}/auth`;
    t = await startTestIdentity({ issuer, branding: { name: 'Acme Orders' } }, { port });
    await t.addUser({ username: 'carol', email: 'carol@example.com', password: PASSWORD, emailVerified: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => { await browser?.close(); await t?.stop(); });

  test('add a passkey in the console, rename it, sign out, sign in with it, remove it with the password', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });

    await page.goto(`${issuer}/account`);
    await page.getByLabel('Username or email').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForSelector('h1:has-text("Your account")');
    await page.waitForSelector('h2:has-text("Passkeys")');
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    await page.waitForSelector('h1:has-text("Add a passkey")');
    const csp = (await page.reload())!.headers()['content-security-policy'] ?? '';
    assert.equal(/script-src ([^;]+)/.exec(csp)?.[1], `${issuer}/assets/passkey.js`, 'the page allows exactly the passkey script');
    await axeClean(browser, issuer, page, 'add a passkey');
    await page.getByLabel(/^Name/).fill('Test laptop');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForSelector('[role=status]:has-text("Your passkey is added")');
    await page.waitForSelector('li strong:has-text("Test laptop")');
    await axeClean(browser, issuer, page, 'account overview with a passkey');

    await page.getByLabel('New name for Test laptop').fill('Carol laptop');
    await page.getByRole('button', { name: 'Rename Test laptop' }).click();
    await page.waitForSelector('[role=status]:has-text("The passkey is renamed")');
    assert.match((await page.locator('section[aria-labelledby=h-passkeys]').textContent())!, /Carol laptop[\s\S]*last used never/);

    // sign out of this browser, then sign in with the passkey alone
    await page.getByRole('button', { name: 'Sign out session 1' }).click();
    await page.waitForSelector('h1:has-text("Sign in")');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForSelector('h1:has-text("Your account")');
    assert.ok(t.logs.some((l) => l.audit === 'sign-in.success' && l.via === 'passkey'));
    assert.doesNotMatch((await page.locator('section[aria-labelledby=h-passkeys]').textContent())!, /last used never/);

    // removal needs the current password
    await page.locator('section[aria-labelledby=h-passkeys] input[name=current-password]').fill('not the password');
    await page.getByRole('button', { name: 'Remove Carol laptop' }).click();
    await page.waitForSelector('[role=alert]:has-text("Your current password is needed")');
    await page.goto(`${issuer}/account`);
    await page.locator('section[aria-labelledby=h-passkeys] input[name=current-password]').fill(PASSWORD);
    await page.getByRole('button', { name: 'Remove Carol laptop' }).click();
    await page.waitForSelector('[role=status]:has-text("The factor is removed")');
    await page.waitForSelector('text=No passkeys yet');
    await ctx.close();
  });
});
