import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, csrfOf, actionOf, startTestIdentity, tokenRequest, decodeJwt, waitForMail, EXAMPLE, type TestIdentity } from './helpers.js';
import { identitySchema } from '../../src/identity/schema.js';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { assertHtmlAccessible } from '../helpers/axe.js';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: this is a failure; apt-get install chromium)`);
  console.error(`\n!!! ${CHROMIUM} is missing: SKIPPING the custom sign-up browser test (apt-get install chromium) !!!\n`);
}

/**
 * Custom sign-up through the real identity server: configured fields checked on the server
 * (required, pattern, select options, types, length), a field that is not configured refused,
 * terms of service accepted with version and time, values stored as account attributes and
 * mapped into tokens, and email verification before the first sign-in.
 */
const PASSWORD = 'a sturdy passphrase 42';
const TERMS = { url: 'https://example.com/terms', version: '2026-11' };
const FIELDS = [
  { name: 'given_name', label: 'First name', required: true, 'max-length': 50 },
  { name: 'member_no', label: 'Member number', pattern: 'M-[0-9]{4}' },
  { name: 'plan', label: 'Plan', type: 'select', required: true, options: [{ value: 'basic', label: 'Basic' }, { value: 'pro', label: 'Pro' }] },
  { name: 'phone', label: 'Phone', type: 'tel' },
  { name: 'birthdate', label: 'Birth date', type: 'date' },
  { name: 'newsletter', label: 'Send me the newsletter', type: 'checkbox' },
];

describe('custom sign-up fields and terms of service', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity({
      ...EXAMPLE,
      'sign-up': { 'require-email-verification': true, fields: FIELDS, terms: TERMS },
      claims: { 'access-token': ['plan'], 'id-token': ['given_name', 'plan'] },
    });
  });
  after(async () => { await t?.stop(); });

  const submit = async (fields: Record<string, string>, extra: Array<[string, string]> = []) => {
    const b = new Browser(new URL(t.issuer).origin);
    const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
    const body = new URLSearchParams({ csrf: csrfOf(html), ...fields });
    for (const [k, v] of extra) body.append(k, v);
    const r = await fetch(new URL(actionOf(html), b.origin), { method: 'POST', redirect: 'manual', body, headers: { cookie: b.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' } });
    return { status: r.status, body: await r.text(), form: html };
  };
  const good = (email: string) => ({ email, password: PASSWORD, given_name: 'Ada', member_no: 'M-1234', plan: 'pro', phone: '+44 20 7946 0000', birthdate: '1990-02-28', newsletter: 'yes', terms: TERMS.version });
  /** the one field marked invalid on the page, with its message */
  const invalid = (html: string) => [...html.matchAll(/<(?:input|select) id="f-([\w-]+)"[^>]*aria-invalid="true"/g)].map((m) => m[1]);

  test('the page shows every field, the terms link and labels', async () => {
    const form = await (await fetch(`${t.issuer}/account/sign-up`)).text();
    for (const f of FIELDS) assert.match(form, new RegExp(`<label[^>]*>(?:<input[^>]*>)? ?${f.label}`), f.name);
    assert.match(form, /<select id="f-plan" name="plan" required><option value="">Choose…<\/option><option value="basic">Basic/);
    assert.match(form, /<input id="f-terms" name="terms" type="checkbox" value="2026-11" required> I accept the terms of service \(<a href="https:\/\/example.com\/terms"/);
  });

  test('a valid sign-up stores the fields and the terms acceptance; tokens carry the mapped claims after verification', async () => {
    const before = Date.now();
    const r = await submit(good('ada@example.com'));
    assert.equal(r.status, 201, r.body);
    const u = await t.services.users.findByLogin('ada@example.com');
    assert.ok(u);
    const { terms_accepted_at, ...rest } = u.attributes as Record<string, unknown>;
    assert.deepEqual(rest, { given_name: 'Ada', member_no: 'M-1234', plan: 'pro', phone: '+44 20 7946 0000', birthdate: '1990-02-28', newsletter: true, terms_version: '2026-11' });
    const at = Date.parse(String(terms_accepted_at));
    assert.ok(at >= before - 1000 && at <= Date.now() + 1000, String(terms_accepted_at));

    // email verification is required before the first sign-in
    const grant = () => tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'ada@example.com', password: PASSWORD, scope: 'openid profile orders.read', resource: 'api://orders' });
    const early = await grant();
    assert.equal(early.status, 400, early.text);
    const mail = await waitForMail(t, 'verify-email', 'ada@example.com');
    const b = new Browser(new URL(t.issuer).origin);
    const page = await (await b.get(mail.link)).text();
    const v = await b.post(actionOf(page), { csrf: csrfOf(page), token: new URL(mail.link).searchParams.get('token')! });
    assert.ok(v.status < 400, await v.text());
    assert.equal((await t.services.users.findByLogin('ada@example.com'))?.emailVerified, true);
    const ok = await grant();
    assert.equal(ok.status, 200, ok.text);
    assert.equal(decodeJwt(ok.json.access_token).payload.plan, 'pro');
    assert.equal(decodeJwt(ok.json.access_token).payload.given_name, undefined, 'only the configured attributes');
    const id = decodeJwt(ok.json.id_token).payload;
    assert.equal(id.given_name, 'Ada');
    assert.equal(id.plan, 'pro');
    assert.equal(id.member_no, undefined, 'only the configured attributes');
  });

  test('invalid fields are marked, their messages shown, the values kept, and no account made', async () => {
    const cases: Array<[string, Record<string, string>, string[], RegExp]> = [
      ['required missing', { given_name: '', plan: '' }, ['given_name', 'plan'], /Enter First name\./],
      ['pattern', { member_no: 'M-12a4' }, ['member_no'], /Member number is not in the expected format/],
      ['pattern is anchored', { member_no: 'xM-1234' }, ['member_no'], /not in the expected format/],
      ['select option not offered', { plan: 'enterprise' }, ['plan'], /Choose one of the options for Plan/],
      ['phone', { phone: '12345; DROP' }, ['phone'], /Enter a phone number/],
      ['impossible date', { birthdate: '2026-02-30' }, ['birthdate'], /as a date/],
      ['too long', { given_name: 'A'.repeat(51) }, ['given_name'], /too long \(at most 50/],
      ['control characters', { given_name: 'Ada\u202eevil' }, ['given_name'], /not allowed/],
      ['terms not accepted', { terms: '' }, ['terms'], /Accept the terms of service/],
      ['an older version of the terms', { terms: '2025-01' }, ['terms'], /Accept the terms of service/],
    ];
    for (const [name, bad, marked, message] of cases) {
      const email = `case-${marked[0]}-${cases.findIndex((c) => c[0] === name)}@example.com`;
      const r = await submit({ ...good(email), ...bad });
      assert.equal(r.status, 400, name);
      assert.deepEqual(invalid(r.body).sort(), marked.sort(), name);
      assert.match(r.body, message, name);
      assert.match(r.body, /role="alert"/, name);
      for (const m of marked) assert.match(r.body, new RegExp(`aria-describedby="f-${m}-error" aria-invalid="true"`), name);
      // what was typed is kept (except an over-long value), the password is not
      assert.match(r.body, new RegExp(`value="${email.replace('.', '\\.')}"`), name);
      if (!('plan' in bad)) assert.match(r.body, /<option value="pro" selected>/, name);
      if (!('given_name' in bad)) assert.match(r.body, /id="f-given_name" name="given_name" type="text" maxlength="50" value="Ada"/, name);
      assert.doesNotMatch(r.body, new RegExp(PASSWORD), name);
      assert.equal(await t.services.users.findByLogin(email), undefined, `${name}: no account`);
    }
  });

  test('a field that is not configured, a field sent twice and a huge form are refused', async () => {
    const extra = await submit(good('extra@example.com'), [['roles', 'admin']]);
    assert.equal(extra.status, 400);
    assert.match(extra.body, /field this page does not have/);
    const attr = await submit(good('attr@example.com'), [['is_admin', 'true']]);
    assert.equal(attr.status, 400);
    const twice = await submit(good('twice@example.com'), [['plan', 'basic']]);
    assert.equal(twice.status, 400);
    assert.deepEqual(invalid(twice.body), ['plan']);
    const huge = await submit({ ...good('huge@example.com'), member_no: 'M-' + '1'.repeat(300_000) });
    assert.equal(huge.status, 413);
    // a bad address and a bad field: both marked at once
    const both = await submit({ ...good('both@example.com'), email: 'not-an-address', plan: 'enterprise' });
    assert.equal(both.status, 400);
    assert.deepEqual(invalid(both.body), ['plan']);
    assert.match(both.body, /<input id="email"[^>]*aria-invalid="true"/);
    assert.match(both.body, /Enter a valid email address\. Check the marked field\./);
    for (const e of ['extra', 'attr', 'twice', 'huge']) assert.equal(await t.services.users.findByLogin(`${e}@example.com`), undefined, e);
  });

  test('in Chromium without JavaScript: the marked fields, the kept values, and no serious accessibility finding (axe)', { skip: !existsSync(CHROMIUM) }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const ctx = await browser.newContext({ javaScriptEnabled: false });
      const page = await ctx.newPage();
      await page.goto(`${t.issuer}/account/sign-up`);
      await page.getByLabel('Email', { exact: true }).fill('grace@example.com');
      await page.getByLabel(/^Password/).fill(PASSWORD);
      await page.getByLabel('First name').fill('Grace');
      await page.getByLabel('Member number').fill('12');
      await page.getByLabel('Plan').selectOption('basic');
      await page.getByLabel('Send me the newsletter').check();
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /Check the 2 marked fields/);
      assert.equal(await page.getByLabel('Member number').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#f-terms').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByLabel('First name').inputValue(), 'Grace');
      assert.equal(await page.getByLabel('Plan').inputValue(), 'basic');
      assert.equal(await page.getByLabel('Send me the newsletter').isChecked(), true);
      assert.equal(await page.getByLabel(/^Password/).inputValue(), '');
      // axe on the same HTML in a page that may run it
      await assertHtmlAccessible(browser, `${t.issuer}/assets/style.css`, await page.content(), 'sign-up with marked fields');
    } finally {
      await browser.close();
    }
  });

  test('bad field configuration is refused with the path and what to do', () => {
    const base = { listen: { http: 1 }, issuer: 'http://127.0.0.1:1/auth', database: 'sqlite::memory:' };
    const bad = (fields: unknown[], re: RegExp) => {
      const r = identitySchema.safeParse({ ...base, 'sign-up': { fields } });
      assert.equal(r.success, false, JSON.stringify(fields));
      assert.match(JSON.stringify(r.error!.issues), re);
    };
    bad([{ name: 'plan', label: 'Plan', type: 'select' }], /a select field needs options/);
    bad([{ name: 'password', label: 'x' }], /used by the sign-up page/);
    bad([{ name: 'roles', label: 'x' }], /used by the sign-up page/);
    for (const claim of ['iss', 'aud', 'exp', 'scp', 'azp', 'cnf', 'acr', 'amr']) bad([{ name: claim, label: 'x' }], /used by the sign-up page, the account or tokens themselves/);
    bad([{ name: 'a', label: 'x', pattern: '(' }], /not a valid regular expression/);
    bad([{ name: 'a', label: 'x' }, { name: 'a', label: 'y' }], /duplicate sign-up field a/);
    bad([{ name: 'a', label: 'x', type: 'file' }], /invalid/i);
    bad([{ name: '<b>', label: 'x' }], /a field name is/);
  });
});
