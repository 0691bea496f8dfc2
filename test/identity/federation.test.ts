import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, decodeJwt, freePort, startTestIdentity, tokenRequest, type TestIdentity } from './helpers.js';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { identityCommand } from '../../src/identity/cli.js';
import { identitySchema } from '../../src/identity/schema.js';
import { resolveConnector } from '../../src/identity/federation/presets.js';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { openDownstream, pressConnector, PASSWORD, RP, signInUpstream, startEvilUpstream, startOAuth2Upstream, startUpstream, UP_SECRET } from './federation-rig.js';

/**
 * Federation end to end without a browser: a downstream Gatehouse brokers a real upstream OpenID
 * provider (a second Gatehouse identity provider), an upstream that misbehaves on purpose, and a
 * small OAuth 2.0 provider. Each attack is tried and must be refused.
 */

/** a Sign in with Apple key (.p8: PKCS#8, P-256) in a temporary folder */
function makeAppleKey() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-apple-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = join(dir, 'AuthKey_KEY1234567.p8');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { dir, file, publicKey };
}

const APIS = [{ audience: 'api://orders', scopes: ['orders.read'] }];
const CLIENTS = [{ 'client-id': RP.clientId, public: true, 'grant-types': ['authorization_code', 'refresh_token'], 'redirect-uris': [RP.redirect], scopes: ['orders.read'] }];

describe('federation: OpenID Connect upstream (a second oidc-provider), account linking, attacks', () => {
  let up: TestIdentity;
  let down: TestIdentity;
  let evil: Awaited<ReturnType<typeof startEvilUpstream>>;
  let oauth2: Awaited<ReturnType<typeof startOAuth2Upstream>>;
  const ids: Record<string, string> = {};
  let appleKey: ReturnType<typeof makeAppleKey>;

  before(async () => {
    appleKey = makeAppleKey();
    const port = await freePort();
    const downIssuer = `http://127.0.0.1:${port}/auth`;
    up = await startUpstream([`${downIssuer}/federation/upstream/callback`, `${downIssuer}/federation/linker/callback`, `${downIssuer}/federation/closed/callback`]);
    evil = await startEvilUpstream('downstream');
    oauth2 = await startOAuth2Upstream({ id: 'gh-client', secret: 'gh-secret-0123456789' });
    const oidc = (id: string, accounts: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      id, type: 'oidc', 'display-name': `Upstream ${id}`, issuer: up.issuer, 'client-id': 'downstream', 'client-secret': UP_SECRET,
      claims: { groups: 'groups', attributes: { upstream_name: 'preferred_username' } }, 'roles-from-groups': { staff: ['orders-reader'] }, accounts, ...extra,
    });
    down = await startTestIdentity({
      apis: APIS, clients: CLIENTS,
      claims: { 'access-token': ['upstream_name'] },
      federation: [
        oidc('upstream', { create: true, 'default-roles': ['member'] }),
        oidc('linker', { create: false, link: 'confirm' }),
        oidc('closed', { create: false, link: 'never' }),
        { id: 'evil', type: 'oidc', issuer: evil.issuer, 'client-id': 'downstream', 'client-secret': 'x', accounts: { create: true, link: 'verified-email' } },
        // the Apple preset (form_post) against the controllable upstream
        { id: 'fruit', type: 'oidc', preset: 'apple', issuer: evil.issuer, 'client-id': 'downstream', 'client-secret': 'x', accounts: { create: true } },
        { id: 'fruit-key', type: 'oidc', preset: 'apple', issuer: evil.issuer, 'client-id': 'downstream', 'team-id': 'TEAM123456', 'client-key-file': appleKey.file, 'client-key-id': 'KEY1234567', accounts: { create: true } },
        { id: 'octo', type: 'oauth2', preset: 'github', 'display-name': 'Octo', 'authorization-endpoint': `${oauth2.url}/authorize`, 'token-endpoint': `${oauth2.url}/token`, 'userinfo-endpoint': `${oauth2.url}/user`, 'client-id': 'gh-client', 'client-secret': 'gh-secret-0123456789', accounts: { create: true } },
      ],
    }, { port });
    ids.alice = await down.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD, emailVerified: true });
    await up.addUser({ username: 'alice-up', email: 'alice@example.com', password: PASSWORD, emailVerified: true });
    const carol = await up.addUser({ username: 'carol', email: 'carol@example.com', password: PASSWORD, emailVerified: true });
    await up.services.db.run('UPDATE users SET groups_ = $2 WHERE id = $1', [carol, JSON.stringify(['staff'])]);
    // an upstream account whose address is not verified there, and which a local account has
    ids.dave = await down.addUser({ username: 'dave', email: 'dave@example.com', password: PASSWORD, emailVerified: true });
    await up.addUser({ username: 'dave-up', email: 'dave@example.com', password: PASSWORD, emailVerified: false });
  });

  after(async () => {
    await down?.stop();
    await up?.stop();
    await evil?.close();
    await oauth2?.close();
    if (appleKey) rmSync(appleKey.dir, { recursive: true, force: true });
  });

  /** the sign-in page of a fresh code flow at the downstream */
  async function signInPage(extra: Record<string, string> = {}) {
    const { b, first } = await openDownstream(down, extra);
    const { res, url } = await b.follow(first);
    return { b, html: await res.text(), url, res };
  }

  /** begin at `connector` on the sign-in page: the browser, and the upstream authorization URL */
  async function begin(connector: string) {
    const p = await signInPage();
    const r = await pressConnector(p.b, p.html, connector);
    assert.equal(r.status, 303);
    return { b: p.b, upstream: new URL(r.headers.get('location')!) };
  }

  /** deliver the upstream's answer to the downstream and follow it to the end: the RP's code, or the page shown */
  async function deliver(b: Browser, back: URL) {
    const r = await b.get(back.href);
    if (r.status !== 303) return { status: r.status, html: await r.text() };
    const { res, url } = await b.follow(r);
    return { status: res.status, url, html: res.status === 200 ? await res.text() : '', code: url.startsWith(RP.redirect) ? new URL(url).searchParams.get('code') ?? undefined : undefined };
  }

  async function tokenFor(code: string) {
    const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code, redirect_uri: RP.redirect, code_verifier: RP.verifier });
    assert.equal(t.status, 200, t.text);
    return t.json;
  }

  test('the sign-in page shows one button per connector, posting with the CSRF token', async () => {
    const { html } = await signInPage();
    for (const name of ['Upstream upstream', 'Upstream linker', 'evil', 'Octo']) assert.match(html, new RegExp(`Sign in with ${name}<`));
  });

  test('OIDC: discovery, code + PKCE, state and nonce; a new account just in time, with the verified email, mapped claims and idp in the token', async () => {
    const { b, upstream } = await begin('upstream');
    assert.equal(upstream.origin + upstream.pathname, `${up.issuer}/auth`);
    for (const p of ['state', 'nonce', 'code_challenge']) assert.ok(upstream.searchParams.get(p), p);
    assert.equal(upstream.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(upstream.searchParams.get('redirect_uri'), `${down.issuer}/federation/upstream/callback`);
    const back = await signInUpstream(up, upstream.href, 'carol');
    assert.equal(back.searchParams.get('iss'), up.issuer, 'the upstream names itself (RFC 9207)');
    const done = await deliver(b, back);
    assert.ok(done.code, JSON.stringify(done).slice(0, 400));
    const t = await tokenFor(done.code!);
    const claims = decodeJwt(t.access_token).payload;
    assert.equal(claims.idp, 'upstream');
    assert.deepEqual(claims.roles, ['member', 'orders-reader'], 'default roles, and roles from the upstream groups');
    assert.deepEqual(claims.groups, ['staff']);
    assert.equal(claims.upstream_name, 'carol', 'an upstream claim mapped to an attribute, in the token by claims.access-token');
    const user = await down.services.users.findByLogin('carol@example.com');
    assert.ok(user, 'an account with the verified address');
    assert.equal(user!.emailVerified, true);
    assert.equal(claims.sub, user!.id);
    // the second sign-in finds the link
    const again = await begin('upstream');
    const done2 = await deliver(again.b, await signInUpstream(up, again.upstream.href, 'carol'));
    assert.equal(decodeJwt((await tokenFor(done2.code!)).access_token).payload.sub, user!.id);
    assert.equal((await down.services.users.list()).filter((u) => u.email === 'carol@example.com').length, 1);
    assert.ok(down.logs.some((l) => l.audit === 'account.created' && l.via === 'federation'));
  });

  test('linking to an existing account by a verified email needs the account\'s password (confirm); a wrong one links nothing', async () => {
    const { b, upstream } = await begin('linker');
    const r = await b.get((await signInUpstream(up, upstream.href, 'alice-up')).href);
    assert.equal(r.status, 303);
    const page = await b.get(new URL(r.headers.get('location')!, down.url).href);
    const html = await page.text();
    assert.match(html, /Link your account/);
    assert.match(html, /alice@example\.com/);
    const action = /<form method="post" action="([^"]+\/link)"/.exec(html)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const handle = /name="handle" value="([^"]+)"/.exec(html)![1]!;
    const wrong = await b.post(action, { csrf, handle, password: 'not the password at all' });
    const wrongHtml = await wrong.text();
    assert.equal(wrong.status, 200);
    assert.match(wrongHtml, /password is incorrect/);
    assert.equal(await down.services.db.one('SELECT 1 AS x FROM federated_identities WHERE user_id = $1', [ids.alice]), undefined, 'nothing linked');
    // the old handle is spent: replaying it does nothing
    const replay = await b.post(action, { csrf, handle, password: PASSWORD });
    assert.match(await replay.text(), /completed already or has expired/);
    // (the page shown after the replay is a fresh sign-in form; start again and confirm correctly)
    const again = await begin('linker');
    const r2 = await again.b.get((await signInUpstream(up, again.upstream.href, 'alice-up')).href);
    const html2 = await (await again.b.get(new URL(r2.headers.get('location')!, down.url).href)).text();
    const ok = await again.b.post(/<form method="post" action="([^"]+\/link)"/.exec(html2)![1]!, { csrf: /name="csrf" value="([^"]+)"/.exec(html2)![1]!, handle: /name="handle" value="([^"]+)"/.exec(html2)![1]!, password: PASSWORD });
    assert.equal(ok.status, 303);
    const { url } = await again.b.follow(ok);
    const code = new URL(url).searchParams.get('code');
    assert.ok(code, url);
    assert.equal(decodeJwt((await tokenFor(code!)).access_token).payload.sub, ids.alice);
    assert.ok(down.logs.some((l) => l.audit === 'federation.linked' && l.sub === ids.alice));
  });

  test('an unverified email never links, even to the account that has the address: a separate account without the address', async () => {
    const { b, upstream } = await begin('upstream');
    const done = await deliver(b, await signInUpstream(up, upstream.href, 'dave-up'));
    assert.ok(done.code, done.html.slice(0, 300));
    const sub = decodeJwt((await tokenFor(done.code!)).access_token).payload.sub;
    assert.notEqual(sub, ids.dave);
    const created = await down.services.users.get(sub);
    assert.equal(created!.email, null, 'the unverified address is not given to the new account');
    assert.match(created!.username!, /^upstream-/);
  });

  test('link: never, create: false — an identity without a link is refused on the sign-in page', async () => {
    const { b, upstream } = await begin('closed');
    const done = await deliver(b, await signInUpstream(up, upstream.href, 'alice-up'));
    assert.equal(done.code, undefined);
    assert.match(done.html, /No account is linked to this Upstream closed sign-in/);
  });

  test('idp_hint skips the chooser', async () => {
    const { b, first } = await openDownstream(down, { idp_hint: 'upstream' });
    const { res } = await b.follow(first);
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.get('location')!).origin, new URL(up.issuer).origin);
  });

  test('OAuth 2.0 connector (GitHub preset against an RFC 6749 provider): code + PKCE, the profile endpoint, the subject from id', async () => {
    const { b, upstream } = await begin('octo');
    assert.equal(upstream.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(upstream.searchParams.get('scope'), 'read:user user:email');
    const back = await fetch(upstream, { redirect: 'manual' });
    const done = await deliver(b, new URL(back.headers.get('location')!));
    assert.ok(done.code, done.html.slice(0, 300));
    const claims = decodeJwt((await tokenFor(done.code!)).access_token).payload;
    assert.equal(claims.idp, 'octo');
    const row = await down.services.db.one<{ subject: string; user_id: string }>("SELECT subject, user_id FROM federated_identities WHERE connector = 'octo'");
    assert.equal(row!.subject, '4242');
    const u = await down.services.users.get(row!.user_id);
    assert.equal(u!.email, null, 'GitHub\'s profile email is not said to be verified');
    assert.equal(u!.attributes.github_login, 'octo');
    assert.equal(u!.attributes.name, 'Octo Cat');
  });

  test('form_post (Apple preset): the answer posted cross-site without cookies is bound to the browser at the interaction page', async () => {
    const posted = async (connector = 'fruit') => {
      const { b, upstream } = await begin(connector);
      assert.equal(upstream.searchParams.get('response_mode'), 'form_post');
      assert.equal(upstream.searchParams.get('scope'), 'openid email name');
      const html = await (await fetch(upstream)).text();
      const field = (n: string) => new RegExp(`name="${n}" value="([^"]+)"`).exec(html)![1]!;
      const action = /action="([^"]+)"/.exec(html)![1]!;
      assert.equal(action, `${down.issuer}/federation/${connector}/callback`);
      assert.equal((await b.get(`${action}?code=${field('code')}&state=${field('state')}`)).status, 405, 'not as a query: the connector expects a post');
      // the upstream's page posts cross-site: no SameSite=Lax cookie comes with it
      const r = await fetch(action, { method: 'POST', body: new URLSearchParams({ code: field('code'), state: field('state') }), redirect: 'manual' });
      assert.equal(r.status, 303);
      return { b, next: new URL(r.headers.get('location')!, down.url) };
    };
    Object.assign(evil.state, { sub: 'fruit-user', email: 'fruit@example.com', emailVerified: true });
    const first = await posted();
    const { url } = await first.b.follow(await first.b.get(first.next.href));
    assert.ok(new URL(url).searchParams.get('code'), url);
    // the same kind of answer taken to another browser's page: refused (the browser that began is checked there)
    const second = await posted();
    const thief = new Browser(new URL(down.issuer).origin);
    assert.match(await (await thief.get(second.next.href)).text(), /completed already or has expired|expired/);
    // with team-id, the client secret is a fresh ES256 JWT made from the Sign in with Apple key
    Object.assign(evil.state, { sub: 'fruit-key-user', email: 'fruit-key@example.com' });
    const third = await posted('fruit-key');
    assert.ok(new URL((await third.b.follow(await third.b.get(third.next.href))).url).searchParams.get('code'));
    const secret = evil.state.lastTokenForm.get('client_secret')!;
    const { payload, protectedHeader } = await jwtVerify(secret, appleKey.publicKey, { issuer: 'TEAM123456', audience: 'https://appleid.apple.com', subject: 'downstream', algorithms: ['ES256'] });
    assert.equal(protectedHeader.kid, 'KEY1234567');
    assert.ok(payload.exp! - payload.iat! <= 300, 'short-lived');
  });

  test('gatehouse users show lists linked identities; users unlink removes one (that identity no longer signs in to the account)', async () => {
    const cmd = async (args: string[]) => {
      const stdout = new PassThrough(), stderr = new PassThrough();
      let out = '';
      stdout.on('data', (c) => { out += c; });
      const code = await identityCommand('users', args, down.config, { configDir: down.dir, stdout, stderr, stdin: Readable.from(['']), logger: pino({ level: 'silent' }) });
      return { code, out };
    };
    assert.match((await cmd(['show', 'alice'])).out, /linked: linker \S+ \(alice@example\.com\)/);
    assert.equal((await cmd(['unlink', 'alice', '--connector', 'linker'])).code, 0);
    assert.doesNotMatch((await cmd(['show', 'alice'])).out, /linked: linker/);
    assert.equal((await cmd(['unlink', 'alice', '--connector', 'linker'])).code, 1);
    // the upstream identity is back to "confirm the link"
    const { b, upstream } = await begin('linker');
    const r = await b.get((await signInUpstream(up, upstream.href, 'alice-up')).href);
    assert.match(await (await b.get(new URL(r.headers.get('location')!, down.url).href)).text(), /Link your account/);
  });

  describe('attacks', () => {
    test('an unknown or forged state is refused, and nothing is signed in', async () => {
      const { b } = await begin('upstream');
      const r = await b.get(`${down.issuer}/federation/upstream/callback?code=abc&state=forged-state`);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /completed already or has expired/);
      assert.ok(down.logs.some((l) => l.audit === 'federation.refused' && l.reason === 'unknown-state'));
    });

    test('a replayed callback is refused (the state is spent at the first use)', async () => {
      const { b, upstream } = await begin('upstream');
      const back = await signInUpstream(up, upstream.href, 'carol');
      const first = await deliver(b, back);
      assert.ok(first.code);
      const replay = await b.get(back.href);
      assert.equal(replay.status, 400);
    });

    test('a callback in another browser than the one that began (login CSRF) is refused', async () => {
      const { upstream } = await begin('upstream');
      const back = await signInUpstream(up, upstream.href, 'carol');
      const victim = new Browser(new URL(down.issuer).origin);
      const r = await victim.get(back.href);
      assert.equal(r.status, 400);
      assert.ok(down.logs.some((l) => l.audit === 'federation.refused' && l.reason === 'browser-mismatch'));
    });

    test('mix-up: an answer for connector A delivered to connector B\'s callback is refused', async () => {
      const { b, upstream } = await begin('upstream');
      const back = await signInUpstream(up, upstream.href, 'carol');
      const wrong = new URL(back.href.replace('/federation/upstream/', '/federation/evil/'));
      const r = await b.get(wrong.href);
      assert.equal(r.status, 400);
      assert.ok(down.logs.some((l) => l.audit === 'federation.refused' && l.reason === 'connector-mismatch'));
    });

    test('mix-up: a code from the real upstream sent back with the evil connector\'s state is refused (iss, then the code fails)', async () => {
      const a = await begin('evil');
      const stateA = a.upstream.searchParams.get('state')!;
      const realB = await begin('upstream');
      const backB = await signInUpstream(up, realB.upstream.href, 'carol');
      const forged = new URL(`${down.issuer}/federation/evil/callback`);
      forged.searchParams.set('code', backB.searchParams.get('code')!);
      forged.searchParams.set('state', stateA);
      forged.searchParams.set('iss', backB.searchParams.get('iss')!);
      const done = await deliver(a.b, forged);
      assert.equal(done.code, undefined);
      assert.match(done.html, /did not succeed/);
    });

    for (const mode of ['wrong-issuer', 'other-audience', 'wrong-nonce', 'no-nonce', 'replayed-nonce', 'unsigned'] as const) {
      test(`an ID token with ${mode} is refused`, async () => {
        evil.state.mode = mode;
        try {
          const { b, upstream } = await begin('evil');
          const back = await fetch(upstream, { redirect: 'manual' });
          const done = await deliver(b, new URL(back.headers.get('location')!));
          assert.equal(done.code, undefined, mode);
          assert.match(done.html, /did not succeed/);
        } finally { evil.state.mode = 'honest'; }
      });
    }

    test('verified-email (a provider trusted to verify addresses) links a verified address at once; an unverified one still never links', async () => {
      const signIn = async () => {
        const { b, upstream } = await begin('evil');
        const back = await fetch(upstream, { redirect: 'manual' });
        const done = await deliver(b, new URL(back.headers.get('location')!));
        assert.ok(done.code, done.html.slice(0, 300));
        return decodeJwt((await tokenFor(done.code!)).access_token).payload.sub;
      };
      Object.assign(evil.state, { sub: 'evil-unverified', email: 'dave@example.com', emailVerified: false });
      assert.notEqual(await signIn(), ids.dave, 'unverified: not linked');
      Object.assign(evil.state, { sub: 'evil-verified', email: 'dave@example.com', emailVerified: true });
      assert.equal(await signIn(), ids.dave, 'verified, by a connector with link: verified-email');
    });

    test('open redirect: no parameter of the callback or the page chooses where the browser goes', async () => {
      const { b, upstream } = await begin('upstream');
      const back = await signInUpstream(up, upstream.href, 'carol');
      for (const [k, v] of [['redirect_uri', 'https://evil.example/'], ['return', 'https://evil.example/'], ['returnTo', '//evil.example']]) back.searchParams.set(k!, v!);
      const r = await b.get(back.href);
      assert.equal(r.status, 303);
      const loc = r.headers.get('location')!;
      assert.match(loc, /^\/auth\/interaction\/[\w-]+\?federation=[\w-]+$/);
      // the outcome handle is bound to its interaction: another interaction's page does not take it
      const other = await signInPage();
      const stolen = await other.b.get(`${other.url.split('?')[0]}?federation=${new URL(loc, down.url).searchParams.get('federation')}`);
      assert.match(await stolen.text(), /completed already or has expired/);
    });

    test('open redirect: a return URL the client did not register never reaches the upstream nor comes back', async () => {
      for (const evilReturn of ['https://evil.example/cb', `${RP.redirect}/../../evil`, '//evil.example/cb']) {
        const { b, first } = await openDownstream(down, { idp_hint: 'upstream', redirect_uri: evilReturn });
        const { res } = await b.follow(first);
        assert.equal(res.status, 400, evilReturn);
        assert.equal(res.headers.get('location'), null, 'no redirect anywhere');
        assert.match(await res.text(), /redirect_uri/);
      }
    });

    test('a begin for a connector that does not exist is refused', async () => {
      const p = await signInPage();
      const csrf = /name="csrf" value="([^"]+)"/.exec(p.html)![1]!;
      const r = await p.b.post(`${p.url.split('?')[0]}/federate`, { csrf, connector: 'nope' });
      assert.equal(r.status, 400);
    });
  });
});

describe('federation config', () => {
  const base = { issuer: 'http://127.0.0.1:1/auth' };
  test('presets fill endpoints; a preset of the other type, a missing issuer, plain http off loopback and duplicate ids are config errors', () => {
    const ok = identitySchema.parse({ ...base, federation: [{ id: 'google', type: 'oidc', preset: 'google', 'client-id': 'x', 'client-secret': 'y' }, { id: 'gh', type: 'oauth2', preset: 'github', 'client-id': 'x' }, { id: 'ms', type: 'oidc', preset: 'microsoft', tenant: 'consumers', 'client-id': 'x' }] });
    assert.equal(resolveConnector(ok.federation[0]!).issuer, 'https://accounts.google.com');
    assert.equal(resolveConnector(ok.federation[1]!).tokenEndpoint, 'https://github.com/login/oauth/access_token');
    assert.equal(resolveConnector(ok.federation[1]!).claims.subject, 'id');
    assert.equal(resolveConnector(ok.federation[2]!).issuer, 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0');
    const more = identitySchema.parse({ ...base, federation: [{ id: 'work', type: 'oidc', preset: 'microsoft', tenant: 'contoso.onmicrosoft.com', 'client-id': 'x' }, { id: 'apple', type: 'oidc', preset: 'apple', 'client-id': 'x', 'client-secret': 'y' }, { id: 'fb', type: 'oauth2', preset: 'facebook', 'client-id': 'x' }] });
    assert.equal(resolveConnector(more.federation[0]!).issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    assert.equal(resolveConnector(more.federation[1]!).issuer, 'https://appleid.apple.com');
    assert.equal(resolveConnector(more.federation[1]!).responseMode, 'form_post');
    assert.equal(resolveConnector(more.federation[2]!).userinfoEndpoint, 'https://graph.facebook.com/me?fields=id,name,email');
    const bad = (f: unknown[]) => identitySchema.safeParse({ ...base, federation: f });
    assert.match(JSON.stringify(bad([{ id: 'g', type: 'oauth2', preset: 'google', 'client-id': 'x' }]).error), /use type: oidc/);
    assert.match(JSON.stringify(bad([{ id: 'g', type: 'oidc', 'client-id': 'x' }]).error), /needs issuer/);
    assert.match(JSON.stringify(bad([{ id: 'g', type: 'oidc', issuer: 'http://idp.example.com', 'client-id': 'x' }]).error), /https/);
    assert.match(JSON.stringify(bad([{ id: 'g', type: 'oidc', preset: 'microsoft', 'client-id': 'x' }]).error), /tenant/);
    assert.match(JSON.stringify(bad([{ id: 'g', type: 'oidc', preset: 'google', 'client-id': 'x' }, { id: 'g', type: 'oidc', preset: 'google', 'client-id': 'x' }]).error), /duplicate federation id/);
    assert.match(JSON.stringify(bad([{ id: 'password', type: 'oidc', preset: 'google', 'client-id': 'x' }]).error), /local connector/);
  });
});
