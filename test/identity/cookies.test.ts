import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, openSignIn, submitSignIn, startTestIdentity, EXAMPLE, type TestIdentity } from './helpers.js';

const PASSWORD = 'correct horse battery staple';

/** name and attributes of every Set-Cookie of a response */
const setCookies = (res: Response) => res.headers.getSetCookie().map((c) => {
  const [pair, ...attrs] = c.split(';').map((s) => s.trim());
  const path = attrs.find((a) => /^path=/i.test(a))?.slice(5);
  return { name: pair!.slice(0, pair!.indexOf('=')), path, raw: c };
});

describe('the provider\'s cookies are scoped to the issuer path and named gh-idp-*', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity(EXAMPLE);
    await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  test('every cookie of a sign-in, the account pages and logout has the prefix and a path below the issuer', async () => {
    const seen: Array<{ name: string; path?: string; raw: string }> = [];
    const record = (res: Response) => { seen.push(...setCookies(res)); return res; };
    const b = new Browser(new URL(t.issuer).origin);
    const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid orders.read', state: 's1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    let res = record(await b.get(`${t.issuer}/auth?${q}`));
    while (res.status >= 300 && res.status < 400) res = record(await b.get(new URL(res.headers.get('location')!, t.issuer).href));
    const html = await res.text();
    res = record(await submitSignIn(b, html, 'alice', PASSWORD));
    while (res.status >= 300 && res.status < 400 && new URL(res.headers.get('location')!, t.issuer).origin === new URL(t.issuer).origin) {
      res = record(await b.get(new URL(res.headers.get('location')!, t.issuer).href));
    }
    assert.match(res.headers.get('location') ?? '', /code=/, 'signed in');
    for (const p of ['/account/sign-up', '/account/reset']) record(await new Browser(new URL(t.issuer).origin).get(t.issuer + p));
    const end = await b.get(`${t.issuer}/session/end?client_id=orders-spa`);
    record(end);
    const page = await end.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
    record(await b.post(/action="([^"]+)"/.exec(page)![1]!, { xsrf, logout: 'yes' }));

    const names = new Set(seen.map((c) => c.name));
    for (const n of ['gh-idp-session', 'gh-idp-interaction', 'gh-idp-resume', 'gh-idp-csrf']) assert.ok(names.has(n), `${n} was set (saw ${[...names].join(', ')})`);
    for (const c of seen) {
      assert.ok(c.name.startsWith('gh-idp-'), `cookie ${c.name} has the gh-idp- prefix: ${c.raw}`);
      assert.ok(c.path === '/auth' || c.path?.startsWith('/auth/'), `cookie ${c.name} is scoped to the issuer path: ${c.raw}`);
    }
  });

  test('the sign-in still works with the renamed cookies (the session cookie alone signs the browser in again)', async () => {
    const s = await openSignIn(t);
    const done = await s.b.follow(await submitSignIn(s.b, s.html, 'alice', PASSWORD));
    assert.match(done.url, /code=/);
    assert.ok(s.b.jar.has('gh-idp-session'));
    // a second authorization request with the session cookie needs no password
    const again = new Browser(new URL(t.issuer).origin);
    again.jar = new Map([...s.b.jar].filter(([k]) => k.startsWith('gh-idp-session')));
    const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid orders.read', state: 's2', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const r = await again.follow(await again.get(`${t.issuer}/auth?${q}`));
    assert.match(r.url, /code=/);
  });
});
