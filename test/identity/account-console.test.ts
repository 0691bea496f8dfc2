import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { totpNow } from '../../src/identity/mfa/totp.js';
import { FederationStore } from '../../src/identity/federation/store.js';
import { identitySchema } from '../../src/identity/schema.js';
import { Browser, EXAMPLE, csrfOf, startTestIdentity, submitSignIn, waitForMail, type TestIdentity } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const unescape = (s: string) => s.replace(/&amp;/g, '&');
/** the session id of the browser the page was shown to */
const currentUid = (html: string) => /<strong>this browser<\/strong>\n<form[^>]*>.*?name="session" value="([^"]+)"/.exec(html)?.[1] ?? '';
const sessionUids = (html: string) => [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]!);

describe('account console: sign-in through the provider session, profile, password, factors, sessions, links, data, deletion', () => {
  let t: TestIdentity;
  let origin: string;
  before(async () => {
    t = await startTestIdentity({
      ...EXAMPLE,
      federation: [{ id: 'octo', type: 'oauth2', preset: 'github', 'authorization-endpoint': 'http://127.0.0.1:9/authorize', 'token-endpoint': 'http://127.0.0.1:9/token', 'userinfo-endpoint': 'http://127.0.0.1:9/user', 'client-id': 'gh', 'client-secret': 'gh-secret-0123456789', accounts: { create: true } }],
    });
    origin = new URL(t.issuer).origin;
  });
  after(async () => { await t?.stop(); });

  /** a browser signed in to the console (GET /account → sign-in → back); returns it and the overview */
  async function signedIn(login: string, password = PASSWORD): Promise<{ b: Browser; html: string }> {
    const b = new Browser(origin);
    const first = await b.follow(await b.get(`${t.issuer}/account`));
    const signIn = await first.res.text();
    assert.match(signIn, /name="password"/, 'an unauthenticated visit shows the sign-in page');
    const { res, url } = await b.follow(await submitSignIn(b, signIn, login, password));
    assert.equal(res.status, 200);
    assert.equal(new URL(url).pathname, '/auth/account');
    return { b, html: await res.text() };
  }
  const overview = async (b: Browser) => { const r = await b.get(`${t.issuer}/account`); return { status: r.status, html: await r.text() }; };

  test('a visit without a session goes to sign-in and back; profile name; download my data', async () => {
    await t.addUser({ username: 'ada', email: 'ada@example.com', password: PASSWORD, emailVerified: true });
    const { b, html } = await signedIn('ada');
    assert.match(html, /Signed in as ada/);
    const saved = await b.post(`${t.issuer}/account/profile`, { csrf: csrfOf(html), name: 'Ada Lovelace' });
    assert.equal(saved.status, 303);
    const after1 = await (await b.follow(saved)).res.text();
    assert.match(after1, /value="Ada Lovelace"/);
    assert.match(after1, /Your name is saved/);
    const data = await b.get(`${t.issuer}/account/export`);
    assert.match(data.headers.get('content-disposition') ?? '', /attachment/);
    assert.match((await b.get(`${t.issuer}/account`)).headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const json = await data.json() as { account: { attributes: { name: string }; email: string }; sessions: unknown[] };
    assert.equal(json.account.attributes.name, 'Ada Lovelace');
    assert.equal(json.sessions.length, 1);
    assert.doesNotMatch(JSON.stringify(json), /argon2|password_hash|passwordHash/);
  });

  test('forms without the CSRF token or with a forged one are refused', async () => {
    await t.addUser({ username: 'csrf-user', password: PASSWORD });
    const { b, html } = await signedIn('csrf-user');
    for (const csrf of [undefined, 'forged-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', csrfOf(html) + 'x']) {
      const r = await b.post(`${t.issuer}/account/profile`, { ...(csrf ? { csrf } : {}), name: 'Mallory' });
      assert.equal(r.status, 403);
    }
    // a token valid for another browser is not valid for this one
    const other = await signedIn('csrf-user');
    assert.equal((await b.post(`${t.issuer}/account/delete`, { csrf: csrfOf(other.html), 'current-password': PASSWORD })).status, 403);
    assert.doesNotMatch((await overview(b)).html, /Mallory/);
    // no session: no action, even with a valid token of the page
    const anon = new Browser(origin);
    const page = await anon.follow(await anon.get(`${t.issuer}/account`));
    assert.equal((await anon.post(`${t.issuer}/account/profile`, { csrf: csrfOf(await page.res.text()), name: 'x' })).status, 401);
  });

  test('sessions: each can be signed out; another user\'s session id is refused', async () => {
    await t.addUser({ username: 'sam', password: PASSWORD });
    await t.addUser({ username: 'eve', password: PASSWORD });
    const one = await signedIn('sam');
    const two = await signedIn('sam');
    const eve = await signedIn('eve');
    const mine = sessionUids((await overview(one.b)).html);
    assert.equal(mine.length, 2);
    const eveUid = currentUid(eve.html);
    const refused = await one.b.post(`${t.issuer}/account/sessions/sign-out`, { csrf: csrfOf(one.html), session: eveUid });
    assert.equal(refused.status, 404);
    assert.equal((await overview(eve.b)).status, 200, 'the other user stays signed in');
    const twoUid = currentUid(two.html);
    assert.ok(twoUid && eveUid);
    const ok = await one.b.post(`${t.issuer}/account/sessions/sign-out`, { csrf: csrfOf(one.html), session: twoUid });
    assert.equal(ok.status, 303);
    assert.equal((await overview(two.b)).status, 303, 'the signed-out browser is sent to sign in');
    assert.equal((await overview(one.b)).status, 200);
  });

  test('password change needs the current password and signs out every other session', async () => {
    await t.addUser({ username: 'pat', password: PASSWORD });
    const one = await signedIn('pat');
    const two = await signedIn('pat');
    const next = 'a different horse battery staple 42';
    assert.equal((await one.b.post(`${t.issuer}/account/password`, { csrf: csrfOf(one.html), 'new-password': next })).status, 401);
    assert.equal((await one.b.post(`${t.issuer}/account/password`, { csrf: csrfOf(one.html), 'current-password': 'wrong password here', 'new-password': next })).status, 401);
    assert.equal((await overview(two.b)).status, 200, 'nothing changed yet');
    assert.equal((await one.b.post(`${t.issuer}/account/password`, { csrf: csrfOf(one.html), 'current-password': PASSWORD, 'new-password': next })).status, 303);
    assert.equal((await overview(two.b)).status, 303, 'the other session is signed out');
    assert.equal((await overview(one.b)).status, 200, 'this one stays');
    await signedIn('pat', next);
  });

  test('authenticator app: enrol, new recovery codes and removal need re-authentication', async () => {
    await t.addUser({ username: 'mia', password: PASSWORD });
    const { b, html } = await signedIn('mia');
    const enrol = await (await b.get(`${t.issuer}/account/mfa/app`)).text();
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(enrol)![1]!.replace(/ /g, '');
    const on = await b.post(`${t.issuer}/account/mfa/app`, { csrf: csrfOf(enrol), code: await totpNow(secret) });
    assert.equal(on.status, 200);
    assert.match(await on.text(), /Save your recovery codes/);
    assert.match((await overview(b)).html, /Authenticator app: on/);
    assert.equal((await b.post(`${t.issuer}/account/mfa/recovery-codes`, { csrf: csrfOf(html) })).status, 401);
    const codes = await b.post(`${t.issuer}/account/mfa/recovery-codes`, { csrf: csrfOf(html), 'current-password': PASSWORD });
    assert.match(await codes.text(), /<ul class="codes"/);
    assert.equal((await b.post(`${t.issuer}/account/mfa/remove`, { csrf: csrfOf(html), factor: 'app' })).status, 401);
    assert.match((await overview(b)).html, /Authenticator app: on/);
    assert.equal((await b.post(`${t.issuer}/account/mfa/remove`, { csrf: csrfOf(html), factor: 'app', 'current-password': PASSWORD })).status, 303);
    assert.match((await overview(b)).html, /Authenticator app: not set up/);
  });

  test('passkeys: each can be removed with re-authentication; another account\'s passkey id is refused', async () => {
    const id = await t.addUser({ username: 'kim', password: PASSWORD });
    const other = await t.addUser({ username: 'kat', password: PASSWORD });
    const addKey = (user: string, key: string) => t.services.db.run('INSERT INTO webauthn_credentials (id, user_id, public_key, counter, transports, created_at) VALUES ($1, $2, $3, 0, $4, $5)', [key, user, 'pk', '[]', Date.now()]);
    const { b } = await signedIn('kim'); // (an account with a passkey is asked for it at sign-in: add them after)
    await addKey(id, 'kim-key-1');
    await addKey(other, 'kat-key-1');
    const { html } = await overview(b);
    assert.match(html, /Remove Passkey 1/);
    const remove = (passkey: string, password?: string) => b.post(`${t.issuer}/account/mfa/remove`, { csrf: csrfOf(html), factor: 'passkey', passkey, ...(password ? { 'current-password': password } : {}) });
    assert.equal((await remove('kim-key-1')).status, 401);
    assert.equal((await remove('kat-key-1', PASSWORD)).status, 404);
    const left = async (user: string) => Number((await t.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1', [user]))?.n);
    assert.equal(await left(other), 1, 'the other account keeps its passkey');
    assert.equal((await remove('kim-key-1', PASSWORD)).status, 303);
    assert.equal(await left(id), 0);
  });

  test('email change needs the password and is verified through the verification mail', async () => {
    await t.addUser({ username: 'eli', email: 'eli@example.com', password: PASSWORD, emailVerified: true });
    await t.addUser({ username: 'taken', email: 'taken@example.com', password: PASSWORD });
    const { b, html } = await signedIn('eli');
    // a refusal shows the overview again with the message and the field it is about marked
    const noPassword = await b.post(`${t.issuer}/account/email`, { csrf: csrfOf(html), email: 'new@example.com' });
    assert.equal(noPassword.status, 401);
    assert.match(await noPassword.text(), /<input id="pw-email" name="current-password"[^>]* aria-invalid="true" aria-describedby="form-error">/);
    const taken = await b.post(`${t.issuer}/account/email`, { csrf: csrfOf(html), email: 'taken@example.com', 'current-password': PASSWORD });
    assert.equal(taken.status, 409);
    const takenHtml = await taken.text();
    assert.match(takenHtml, /<div class="alert error" id="form-error" role="alert">That email address belongs to another account/);
    assert.match(takenHtml, /<input id="email" name="email"[^>]* aria-invalid="true" aria-describedby="form-error email-hint">/);
    assert.doesNotMatch(takenHtml, /<input id="pw-email"[^>]*aria-invalid/);
    const notAddress = await b.post(`${t.issuer}/account/email`, { csrf: csrfOf(html), email: 'not an address', 'current-password': PASSWORD });
    assert.equal(notAddress.status, 400);
    assert.match(await notAddress.text(), /<input id="email"[^>]* aria-invalid="true"/);
    const eli = await t.services.users.findByLogin('eli');
    const old = await t.services.users.issueAccountToken(eli!.id, 'reset-password', 600);
    assert.equal((await b.post(`${t.issuer}/account/email`, { csrf: csrfOf(html), email: 'new@example.com', 'current-password': PASSWORD })).status, 303);
    assert.equal(await t.services.users.peekAccountToken(old, 'reset-password'), undefined, 'links mailed to the old address are spent');
    const u = await t.services.users.findByLogin('new@example.com');
    assert.equal(u?.emailVerified, false);
    assert.equal(await t.services.users.findByLogin('eli@example.com'), undefined, 'the old address no longer signs in');
    const mail = await waitForMail(t, 'verify-email', 'new@example.com');
    const v = new Browser(origin);
    const page = await (await v.get(unescape(mail.link))).text();
    const verified = await v.post(`${t.issuer}/account/verify`, { csrf: csrfOf(page), token: new URL(unescape(mail.link)).searchParams.get('token')! });
    assert.equal(verified.status, 200);
    assert.match(await verified.text(), /<a href="\/auth\/account">Go to your account<\/a>/, 'the page after verification links the console');
    assert.equal((await t.services.users.findByLogin('new@example.com'))?.emailVerified, true);
  });

  test('linked identities: unlink, but never the last way to sign in', async () => {
    const id = await t.addUser({ username: 'lin', password: PASSWORD });
    const store = new FederationStore(t.services.db);
    await store.link('octo', 'gh-1', id);
    const { b, html } = await signedIn('lin');
    assert.match(html, /Unlink octo/);
    // the account now signs in only through the link
    await t.services.db.run('UPDATE users SET password_hash = NULL WHERE id = $1', [id]);
    const r = await b.post(`${t.issuer}/account/links/unlink`, { csrf: csrfOf(html), connector: 'octo' });
    assert.equal(r.status, 409);
    assert.equal((await store.linksOf(id)).length, 1);
    assert.equal((await b.post(`${t.issuer}/account/links/unlink`, { csrf: csrfOf(html), connector: 'nope' })).status, 404);
    await t.services.db.run('UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = $1) WHERE id = $2', ['ada', id]);
    assert.equal((await b.post(`${t.issuer}/account/links/unlink`, { csrf: csrfOf(html), connector: 'octo' })).status, 303);
    assert.equal((await store.linksOf(id)).length, 0);
  });

  test('deleting the account needs re-authentication, then revokes sessions and tokens', async () => {
    const id = await t.addUser({ username: 'del', password: PASSWORD });
    const { b, html } = await signedIn('del');
    const other = await signedIn('del');
    assert.equal((await b.post(`${t.issuer}/account/delete`, { csrf: csrfOf(html) })).status, 401);
    assert.equal((await b.post(`${t.issuer}/account/delete`, { csrf: csrfOf(html), 'current-password': 'not the password' })).status, 401);
    assert.ok(await t.services.users.get(id), 'still there');
    const gone = await b.post(`${t.issuer}/account/delete`, { csrf: csrfOf(html), 'current-password': PASSWORD });
    assert.equal(gone.status, 200);
    assert.match(await gone.text(), /Account deleted/);
    assert.equal(await t.services.users.get(id), undefined);
    assert.equal(await t.services.users.findByLogin('del'), undefined);
    assert.equal((await overview(other.b)).status, 303, 'every session is gone');
    const left = await t.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_payloads WHERE payload LIKE $1', [`%${id}%`]);
    assert.equal(Number(left?.n), 0);
  });

  test('the console\'s client id is reserved in the configuration', () => {
    const r = identitySchema.safeParse({ issuer: 'http://127.0.0.1:1/auth', clients: [{ 'client-id': 'gatehouse-account', public: true, 'grant-types': ['authorization_code'], 'redirect-uris': ['http://127.0.0.1:9/cb'] }] });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /reserved for the account console/);
  });
});
