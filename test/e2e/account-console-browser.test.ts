import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestIdentity, type TestIdentity } from '../identity/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

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

  /** the page's HTML in a context that may run axe (the pages' CSP allows no script): no serious or critical violation */
  async function accessible(page: Page, name: string) {
    const ctx = await browser.newContext({ bypassCSP: true });
    const p = await ctx.newPage();
    await p.goto(`${t.issuer}/assets/style.css`);
    await p.setContent(await page.content());
    await p.addScriptTag({ content: axeSource });
    const violations = await p.evaluate(async () => {
      // @ts-expect-error axe is injected
      const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
      return r.violations.map((v: { id: string; impact: string }) => ({ id: v.id, impact: v.impact }));
    }) as Array<{ id: string; impact: string }>;
    await ctx.close();
    assert.deepEqual(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), [], `${name}: ${JSON.stringify(violations)}`);
  }

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
