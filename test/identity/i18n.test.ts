import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN, buildI18n, inLanguage, placeholdersOf } from '../../src/identity/i18n/index.js';
import { pageContext } from '../../src/identity/pages/layout.js';
import { consentPage, describeScope } from '../../src/identity/pages/consent.js';
import { accountLink, errorPage } from '../../src/identity/pages/error.js';
import { readMessagesDir } from '../../src/identity/i18n/load.js';
import { compileLayout } from '../../src/identity/i18n/templates.js';
import { loadConfigText } from '../../src/config/loader.js';
import { identitySchema } from '../../src/identity/schema.js';
import { Browser, EXAMPLE, startTestIdentity, waitForMail, type TestIdentity } from './helpers.js';

describe('message catalogs', () => {
  test('every catalog has exactly the keys of English, with the same placeholders', () => {
    const en = BUILT_IN.en!;
    assert.ok(Object.keys(BUILT_IN).length >= 3);
    for (const [lang, catalog] of Object.entries(BUILT_IN)) {
      assert.deepEqual(Object.keys(catalog).sort(), Object.keys(en).sort(), `${lang} has the keys of en`);
      for (const key of Object.keys(en)) assert.deepEqual(placeholdersOf(catalog[key]!), placeholdersOf(en[key]!), `${lang} ${key}`);
    }
  });

  test('consent and error pages in the page\'s language; a configured scope description as written', () => {
    const page = pageContext({ branding: identitySchema.shape.branding.parse({}), base: '/id', i18n: buildI18n({}, ['en', 'de', 'es'], 'en') });
    const configured = { 'orders.read': { description: 'Read your orders' } };
    const consent = (lang: string) => inLanguage(lang, () => consentPage(page, {
      action: '/a', abort: '/b', csrf: 'c', clientName: 'Partner',
      items: [describeScope(page, configured, 'openid'), describeScope(page, configured, 'orders.read', 'api://orders'), describeScope(page, configured, 'x.write', 'api://x')],
    }));
    assert.match(consent('en'), /<strong>Partner<\/strong> would like to:[\s\S]*Know who you are[\s\S]*Read your orders[\s\S]*Use x\.write at api:\/\/x/);
    assert.match(consent('de'), /<strong>Partner<\/strong> möchte:[\s\S]*Wissen, wer Sie sind[\s\S]*Read your orders[\s\S]*x\.write bei api:\/\/x verwenden[\s\S]*Ablehnen/);
    assert.match(consent('es'), /quiere:[\s\S]*Saber quién es usted[\s\S]*Read your orders/);
    const error = inLanguage('de', () => errorPage(page, { message: 'm', code: 'invalid_client', requestId: 'r1', back: accountLink(page) }));
    assert.match(error, /Zu Ihrem Konto[\s\S]*<code>invalid_client<\/code>[\s\S]*Anfrage-ID: <code>r1<\/code>/);
  });

  test('ui_locales first (first supported wins), then Accept-Language by q-value and range, then the default', () => {
    const i = buildI18n({}, ['en', 'de', 'es'], 'en');
    assert.equal(i.choose('fr-CA es de', 'de'), 'es');
    assert.equal(i.choose(undefined, 'fr;q=1, es;q=0.5, de-AT;q=0.8'), 'de');
    assert.equal(i.choose('fr', 'it, *;q=0.1'), 'en');
    assert.equal(i.choose(undefined, 'de;q=0, es'), 'es');
    assert.equal(buildI18n({}, ['en', 'es'], 'es').choose(undefined, 'de'), 'es', 'a language that is not enabled is not chosen');
  });

  test('an unknown message key is a config error at its file:line:column, inline or in messages-dir', () => {
    const yaml = 'issuer: http://127.0.0.1:1/auth\nbranding:\n  messages:\n    de:\n      sign-in.title: Willkommen\n      sign-in.titel: Hallo\n';
    assert.throws(() => loadConfigText(yaml, 'gatehouse.yaml', identitySchema), /gatehouse\.yaml:6:7: branding\.messages\.de\.sign-in\.titel: unknown message key "sign-in\.titel"/);
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-messages-'));
    try {
      writeFileSync(join(dir, 'de.json'), '{\n  "sign-in.title": "Hallo",\n  "nope": "x",\n  "sign-in.lead-client": "für {kunde}"\n}\n');
      assert.throws(() => readMessagesDir(dir), (e: Error) => {
        assert.match(e.message, /de\.json:3:3: nope: unknown message key "nope"/);
        assert.match(e.message, /de\.json:4:3: sign-in\.lead-client: unknown placeholder \{kunde\}/);
        return true;
      });
    } finally { rmSync(dir, { recursive: true, force: true }); }
    assert.throws(() => compileLayout('<main>{{body}}</main>', 'layout.html'), /layout\.html:1:7: unknown placeholder \{\{body\}\}/);
  });
});

describe('hosted pages in the browser\'s language', () => {
  let t: TestIdentity;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-i18n-'));
  const authorize = (extra: Record<string, string> = {}) => `/auth?${new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra })}`;
  /** the sign-in page of a new authorization request, every request with `headers` */
  async function signInPage(extra: Record<string, string>, headers: Record<string, string> = {}) {
    const b = new Browser(new URL(t.issuer).origin);
    let res = await b.get(t.issuer + authorize(extra), headers);
    while (res.status >= 300 && res.status < 400) res = await b.get(new URL(res.headers.get('location')!, t.issuer).href, headers);
    return res.text();
  }

  before(async () => {
    mkdirSync(join(dir, 'messages'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'messages', 'es.yaml'), 'reset.title: Recupera tu acceso\n');
    writeFileSync(join(dir, 'brand.css'), 'main{border-radius:0}\n');
    writeFileSync(join(dir, 'templates', 'layout.html'), '<!doctype html>\n<html lang="{{lang}}" data-layout="acme"><head><title>{{title}} | {{name}}</title>{{{head}}}</head>\n<body><main>{{{logo}}}{{{body}}}</main><footer>{{t "nav.account-help"}}</footer></body></html>\n');
    t = await startTestIdentity({
      ...EXAMPLE,
      branding: { name: 'Acme', 'custom-css': 'brand.css', 'messages-dir': 'messages', 'templates-dir': 'templates', messages: { de: { 'sign-in.lead-client': 'weiter zu {client} bei Acme' } } },
    }, { dir });
  });
  after(async () => { await t?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('the sign-in page follows ui_locales over Accept-Language, then Accept-Language (de-AT → de)', async () => {
    const byUiLocales = await signInPage({ ui_locales: 'fr de' }, { 'accept-language': 'es' });
    assert.match(byUiLocales, /<html lang="de"/);
    assert.match(byUiLocales, /<h1>Anmelden<\/h1>/);
    assert.match(byUiLocales, /weiter zu orders-spa bei Acme/, 'the operator\'s message replaces the built-in one');
    assert.match(byUiLocales, /Passwort vergessen\?/);
    const byHeader = await signInPage({}, { 'accept-language': 'fr-FR, de-AT;q=0.9, en;q=0.5' });
    assert.match(byHeader, /<html lang="de"/);
    assert.match(byHeader, /Benutzername oder E-Mail/);
    const english = await signInPage({});
    assert.match(english, /<html lang="en"/);
    assert.match(english, /<h1>Sign in<\/h1>/);
  });

  test('the operator\'s layout, custom stylesheet and messages-dir; mail in the language of the request', async () => {
    const b = new Browser(new URL(t.issuer).origin);
    const res = await b.get(`${t.issuer}/account/reset`, { 'accept-language': 'es-MX' });
    const html = await res.text();
    assert.match(html, /^<!doctype html>\n<html lang="es" data-layout="acme">/);
    assert.match(html, /<title>Recupera tu acceso \| Acme<\/title>/);
    assert.match(html, /<footer>Ayuda con la cuenta<\/footer>/);
    assert.match(html, /href="\/auth\/assets\/style\.css">\n<link rel="stylesheet" href="\/auth\/assets\/custom\.css">/);
    assert.match(res.headers.get('content-security-policy') ?? '', /style-src 'self'/);
    const css = await b.get(`${t.issuer}/assets/custom.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(await css.text(), 'main{border-radius:0}\n');

    await t.addUser({ username: 'ana', email: 'ana@example.com', password: 'correct horse battery staple' });
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    await b.post(`${t.issuer}/account/reset`, { csrf, email: 'ana@example.com' }, { 'accept-language': 'es' });
    await waitForMail(t, 'reset-password', 'ana@example.com');
    assert.ok(t.logs.some((l) => l.mail === 'reset-password' && l.msg === 'email (log transport): Restablece tu contraseña de Acme'));
  });
});
