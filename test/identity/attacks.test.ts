import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, openSignIn, submitSignIn, startTestIdentity, tokenRequest, EXAMPLE, type TestIdentity } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // matches openSignIn's challenge

describe('attacks on the identity provider that must fail', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity(EXAMPLE);
    await t.addUser({ username: 'alice', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  const codeFor = async () => {
    const s = await openSignIn(t);
    const { url } = await s.b.follow(await submitSignIn(s.b, s.html, 'alice', PASSWORD));
    return new URL(url).searchParams.get('code')!;
  };
  const exchange = (code: string, extra: Record<string, string> = {}) => tokenRequest(t, { grant_type: 'authorization_code', client_id: 'orders-spa', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: VERIFIER, ...extra });

  test('an authorization request without PKCE is refused', async () => {
    const b = new Browser(new URL(t.issuer).origin);
    const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid', state: 's' });
    const r = await b.get(`${t.issuer}/auth?${q}`);
    const loc = r.headers.get('location') ?? '';
    assert.ok(r.status === 400 || /error=invalid_request/.test(loc), `${r.status} ${loc}`);
    assert.doesNotMatch(loc, /code=/);
  });

  test('a code exchanged with the wrong verifier, or twice, gives no token (and the replay revokes the first)', async () => {
    const code = await codeFor();
    assert.equal((await exchange(code, { code_verifier: 'A'.repeat(43) })).status, 400);
    const code2 = await codeFor();
    const ok = await exchange(code2);
    assert.equal(ok.status, 200);
    const replay = await exchange(code2);
    assert.equal(replay.status, 400);
    const refresh = await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'orders-spa', refresh_token: ok.json.refresh_token });
    assert.equal(refresh.status, 400, 'the replay revoked the grant');
  });

  test('a code issued to one client cannot be redeemed by another, nor with another redirect URI', async () => {
    const code = await codeFor();
    assert.equal((await exchange(code, { redirect_uri: 'http://127.0.0.1:9/other' })).status, 400);
    const code2 = await codeFor();
    const other = await tokenRequest(t, { grant_type: 'authorization_code', client_id: 'orders-cli', code: code2, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: VERIFIER });
    assert.equal(other.status, 400);
  });

  test('the password grant refuses missing, duplicated and oversized parameters without crashing', async () => {
    const send = (body: string) => fetch(`${t.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal((await send('grant_type=password&client_id=orders-cli&username=alice')).status, 400);
    assert.equal((await send(`grant_type=password&client_id=orders-cli&username=alice&username=bob&password=${encodeURIComponent(PASSWORD)}`)).status, 400);
    const huge = await send(`grant_type=password&client_id=orders-cli&username=${'a'.repeat(100_000)}&password=x`);
    assert.ok(huge.status >= 400 && huge.status < 500);
    const unknownClient = await tokenRequest(t, { grant_type: 'password', client_id: 'nobody', username: 'alice', password: PASSWORD });
    assert.equal(unknownClient.status, 401);
    // still serving
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' })).status, 200);
  });

  test('hosted forms refuse other content types and oversized bodies', async () => {
    const b = new Browser(new URL(t.issuer).origin);
    await b.get(`${t.issuer}/account/reset`);
    const json = await fetch(`${t.issuer}/account/reset`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: b.cookieHeader() }, body: '{"email":"a@b.co"}' });
    assert.equal(json.status, 415);
    const big = await fetch(`${t.issuer}/account/reset`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: b.cookieHeader() }, body: 'email=' + 'a'.repeat(64 * 1024) });
    assert.equal(big.status, 413);
    assert.doesNotMatch(await big.text(), /at \w+ \(/, 'no stack trace');
  });

  test('HTML in a login name is escaped on the page', async () => {
    const s = await openSignIn(t);
    const r = await submitSignIn(s.b, s.html, '"><script>alert(1)</script>', 'x');
    const html = await r.text();
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&lt;script&gt;/);
  });
});

describe('forwarded headers are believed only from trusted proxies', () => {
  const audIp = (t: TestIdentity) => t.logs.filter((l) => l.audit === 'sign-in.failure').at(-1)?.ip;
  const attempt = (t: TestIdentity, xff: string) => fetch(`${t.issuer}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': xff },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'orders-cli', username: 'nobody', password: 'x' }),
  });

  test('from an untrusted address X-Forwarded-For is ignored', async () => {
    const t = await startTestIdentity({ ...EXAMPLE, 'trusted-proxies': ['10.0.0.0/8'] });
    try {
      await attempt(t, '203.0.113.9');
      assert.equal(audIp(t), '127.0.0.1');
    } finally { await t.stop(); }
  });

  test('from a trusted proxy the nearest untrusted hop is the client (a forged leftmost entry is not)', async () => {
    const t = await startTestIdentity(EXAMPLE);
    try {
      await attempt(t, '203.0.113.9');
      assert.equal(audIp(t), '203.0.113.9');
      await attempt(t, '198.51.100.66, 203.0.113.9');
      assert.equal(audIp(t), '203.0.113.9');
    } finally { await t.stop(); }
  });
});
