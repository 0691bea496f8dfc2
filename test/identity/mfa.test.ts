import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { identityCommand } from '../../src/identity/cli.js';
import { totpNow } from '../../src/identity/mfa/totp.js';
import { ACR } from '../../src/identity/mfa/policy.js';
import { csrfOf, decodeJwt, waitForMail, openSignIn, startTestIdentity, submitSignIn, tokenRequest, type Browser, type TestIdentity, NO_LIMITS } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // matches openSignIn's challenge
const CB = 'http://127.0.0.1:9/cb';
const now = () => Math.floor(Date.now() / 1000);
const unescape = (s: string) => s.replace(/&amp;/g, '&');

/** a page's forms: action → csrf (the challenge page has two) */
const formAction = (html: string, suffix: string) => unescape([...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!).find((a) => a.endsWith(suffix)) ?? '');
/** a six-digit code that is none of the codes valid around now */
async function notACode(secret: string): Promise<string> {
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => totpNow(secret, now() + d))));
  for (let i = 0; ; i++) { const c = String(123456 + i * 7919).padStart(6, '0'); if (!valid.has(c)) return c; }
}
const secretOf = (html: string) => /id="totp-secret">([A-Z2-7 ]+)</.exec(html)?.[1]?.replace(/ /g, '') ?? '';

describe('multi-factor authentication: authenticator app (TOTP) and recovery codes in the sign-in flow', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity({
      apis: [
        { audience: 'api://orders', scopes: ['orders.read'] },
        { audience: 'api://payouts', scopes: ['payouts.write'], mfa: 'required' },
      ],
      clients: [
        { 'client-id': 'orders-spa', public: true, 'grant-types': ['authorization_code', 'refresh_token'], 'redirect-uris': [CB], scopes: ['orders.read', 'payouts.write'] },
        { 'client-id': 'strict-spa', public: true, mfa: 'required', 'grant-types': ['authorization_code'], 'redirect-uris': [CB], scopes: ['orders.read'] },
        { 'client-id': 'kiosk', public: true, mfa: 'off', 'grant-types': ['authorization_code'], 'redirect-uris': [CB], scopes: ['orders.read'] },
        { 'client-id': 'orders-cli', public: true, 'grant-types': ['password'], scopes: ['orders.read', 'payouts.write'] },
      ],
      lockout: { threshold: 4, duration: '1h' },
      mfa: { 'email-codes': true },
      'rate-limits': NO_LIMITS,
    });
  });
  after(async () => { await t?.stop(); });

  /** sign in with the password; the page after it (or the redirect to the client) */
  async function signIn(login: string, clientId = 'strict-spa', scope = 'openid orders.read', extra: Record<string, string> = {}, b?: Browser) {
    const s = b ? await reopen(b, clientId, scope, extra) : await openSignIn(t, clientId, CB, scope);
    if (!/<h1>Sign in<\/h1>/.test(s.html)) return s; // a session already: straight to the next step
    const r = await s.b.follow(await submitSignIn(s.b, s.html, login, PASSWORD));
    return { b: s.b, html: await r.res.text(), url: r.url, status: r.res.status };
  }
  async function reopen(b: Browser, clientId: string, scope: string, extra: Record<string, string>) {
    const q = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: CB, scope, state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra });
    const { res, url } = await b.follow(await b.get(`${t.issuer}/auth?${q}`));
    return { b, html: await res.text(), url, status: res.status };
  }
  const post = async (b: Browser, action: string, html: string, form: Record<string, string>) => {
    const r = await b.follow(await b.post(action, { csrf: csrfOf(html), ...form }));
    return { html: await r.res.text(), url: r.url, status: r.res.status };
  };
  const tokensFor = async (clientId: string, url: string) => {
    const code = new URL(url).searchParams.get('code');
    assert.ok(code, `no code in ${url}`);
    const r = await tokenRequest(t, { grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: CB, code_verifier: VERIFIER });
    assert.equal(r.status, 200, r.text);
    return { id: decodeJwt(r.json.id_token).payload, at: decodeJwt(r.json.access_token).payload };
  };

  /** enrol `login` through a client that requires MFA; returns its secret and recovery codes */
  async function enrol(login: string) {
    const s = await signIn(login);
    assert.match(s.html, /Set up two-step verification/);
    assert.match(s.html, /<img class="qr" src="data:image\/svg\+xml;base64,/);
    const secret = secretOf(s.html);
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const action = formAction(s.html, '/enrol');
    // a wrong first code does not enrol
    const wrong = await post(s.b, action, s.html, { code: await notACode(secret) });
    assert.match(wrong.html, /That code did not match/);
    assert.match(wrong.html, /aria-invalid="true"/);
    assert.equal(secretOf(wrong.html), secret, 'the pending secret is shown again until it is confirmed');
    const at = now(); // the epoch of the first code: its time step is spent by enrolment
    const ok = await post(s.b, action, wrong.html, { code: await totpNow(secret, at) });
    assert.match(ok.html, /Save your recovery codes/);
    const codes = [...ok.html.matchAll(/<li><code>([a-z0-9]{5}-[a-z0-9]{5})<\/code><\/li>/g)].map((m) => m[1]!);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    const next = unescape(/<a class="button" href="([^"]+)"/.exec(ok.html)![1]!);
    const done = await s.b.follow(await s.b.get(next));
    return { secret, codes, url: done.url, b: s.b, enrolStep: at };
  }

  test('required: an account without a factor enrols an app at sign-in (QR code, first code), sees recovery codes once; tokens carry amr and acr', async () => {
    await t.addUser({ username: 'ada', password: PASSWORD });
    const e = await enrol('ada');
    const { id, at } = await tokensFor('strict-spa', e.url);
    assert.deepEqual([...id.amr as string[]].sort(), ['mfa', 'otp', 'pwd']);
    assert.equal(id.acr, ACR.multi);
    assert.deepEqual([...at.amr as string[]].sort(), ['mfa', 'otp', 'pwd']);
    assert.equal(at.acr, ACR.multi);

    // the secret is stored encrypted, and never shown again: the next sign-in asks for a code
    const row = await t.services.db.one<{ secret: string }>('SELECT secret FROM mfa_totp');
    assert.ok(row && !row.secret.includes(e.secret));
    const s = await signIn('ada');
    assert.match(s.html, /Two-step verification/);
    assert.doesNotMatch(s.html, /totp-secret|data:image/);
    // recovery codes are stored hashed
    const stored = await t.services.db.all<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes');
    assert.ok(stored.length >= 10 && stored.every((r) => !e.codes.some((c) => r.code_hash.includes(c.replace('-', '')))));
  });

  test('a replayed code (the same time step) is refused; the next step\'s code is accepted once', async () => {
    await t.addUser({ username: 'bea', password: PASSWORD });
    const e = await enrol('bea');
    // the enrolment code again: its time step is spent
    const s1 = await signIn('bea');
    const replay = await post(s1.b, formAction(s1.html, '/totp'), s1.html, { code: await totpNow(e.secret, e.enrolStep) });
    assert.match(replay.html, /That code did not work/);
    // the code of the next time step (within the drift window) works, once
    const nextCode = await totpNow(e.secret, e.enrolStep + 30);
    const ok = await post(s1.b, formAction(replay.html, '/totp'), replay.html, { code: nextCode });
    assert.match(ok.url, /^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const s2 = await signIn('bea');
    const again = await post(s2.b, formAction(s2.html, '/totp'), s2.html, { code: nextCode });
    assert.match(again.html, /That code did not work/);
    assert.ok(t.logs.some((l) => l.audit === 'mfa.failure' && l.reason === 'wrong-code'));
  });

  test('a recovery code works once', async () => {
    await t.addUser({ username: 'cy', password: PASSWORD });
    const e = await enrol('cy');
    const s1 = await signIn('cy');
    const ok = await post(s1.b, formAction(s1.html, '/recovery'), s1.html, { code: e.codes[3]!.toUpperCase() });
    assert.match(ok.url, /^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const { id } = await tokensFor('strict-spa', ok.url);
    assert.ok((id.amr as string[]).includes('otp'));
    assert.ok(t.logs.some((l) => l.audit === 'mfa.recovery-code-used' && l.left === 9));
    const s2 = await signIn('cy');
    const again = await post(s2.b, formAction(s2.html, '/recovery'), s2.html, { code: e.codes[3]! });
    assert.match(again.html, /That code did not work/);
    assert.doesNotMatch(again.url, /code=/);
  });

  test('an account with a factor cannot enrol another at sign-in: the enrolment actions answer with the challenge and keep the secret', async () => {
    await t.addUser({ username: 'gil', password: PASSWORD });
    const e = await enrol('gil');
    const s = await signIn('gil');
    const self = formAction(s.html, '/totp').replace(/\/totp$/, '');
    for (const action of ['enrol', 'passkey-enrol']) {
      const r = await post(s.b, `${self}/${action}`, s.html, { code: await totpNow(e.secret), response: '{}' });
      assert.match(r.html, /Two-step verification/);
      assert.doesNotMatch(r.html, /totp-secret|Save your recovery codes/);
      assert.doesNotMatch(r.url, /code=/);
    }
    const row = await t.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM mfa_totp WHERE confirmed_at IS NOT NULL AND user_id = (SELECT user_id FROM logins WHERE login = $1)', ['gil']);
    assert.equal(Number(row?.n), 1);
    assert.equal(Number((await t.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM webauthn_credentials'))?.n), 0);
  });

  test('wrong codes lock the second factor (also against the right code) until unlocked', async () => {
    const id = await t.addUser({ username: 'dee', password: PASSWORD });
    const e = await enrol('dee');
    const s = await signIn('dee');
    let html = s.html;
    const good = await totpNow(e.secret, e.enrolStep + 30);
    const bad = await notACode(e.secret);
    for (let i = 0; i < 4; i++) html = (await post(s.b, formAction(html, '/totp'), html, { code: bad })).html;
    const locked = await post(s.b, formAction(html, '/totp'), html, { code: good });
    assert.match(locked.html, /locked for a while/);
    assert.ok(t.logs.some((l) => l.audit === 'mfa.locked' && l.sub === id));
    // recovery codes are locked too
    const rec = await post(s.b, formAction(locked.html, '/recovery'), locked.html, { code: e.codes[0]! });
    assert.match(rec.html, /locked for a while/);
    await t.services.users.unlock(id);
    const ok = await post(s.b, formAction(rec.html, '/totp'), rec.html, { code: good });
    assert.match(ok.url, /code=/);
  });

  test('optional: an enrolled account is asked, one without is not; off: never; acr_values asks for a second factor over an existing session (step-up)', async () => {
    await t.addUser({ username: 'eve', password: PASSWORD });
    const plain = await signIn('eve', 'orders-spa');
    assert.match(plain.url, /code=/, 'optional policy, no factor: straight through');
    const single = await tokensFor('orders-spa', plain.url);
    assert.deepEqual(single.id.amr, ['pwd']);
    assert.equal(single.id.acr, ACR.single);
    assert.equal(single.at.acr, ACR.single);

    const e = await enrol('eve');
    const asked = await signIn('eve', 'orders-spa');
    assert.match(asked.html, /Two-step verification/, 'optional policy, enrolled: asked');

    // the kiosk client (off) signs in with the password alone; then the same session steps up
    const b = asked.b;
    const kiosk = await signIn('eve', 'kiosk', 'openid orders.read', {}, b);
    assert.match(kiosk.url, /code=/, kiosk.html.slice(0, 1500));
    assert.equal((await tokensFor('kiosk', kiosk.url)).id.acr, ACR.single);
    const up = await reopen(b, 'kiosk', 'openid orders.read', { acr_values: ACR.multi });
    assert.doesNotMatch(up.html, /<h1>Sign in<\/h1>/, 'no password again');
    assert.match(up.html, /Two-step verification/);
    const done = await post(b, formAction(up.html, '/totp'), up.html, { code: await totpNow(e.secret, e.enrolStep + 30) });
    const stepped = await tokensFor('kiosk', done.url);
    assert.equal(stepped.id.acr, ACR.multi);
    assert.ok((stepped.at.amr as string[]).includes('mfa'));
    // the session holds the second factor now: acr_values is met without asking again
    const again = await reopen(b, 'kiosk', 'openid orders.read', { acr_values: ACR.multi });
    assert.match(again.url, /code=/);
  });

  test('an API that requires MFA: its scope brings the step; prompt=none cannot skip it', async () => {
    await t.addUser({ username: 'fay', password: PASSWORD });
    const s = await signIn('fay', 'orders-spa', 'openid payouts.write');
    assert.match(s.html, /Set up two-step verification/);
    const none = await reopen(s.b, 'orders-spa', 'openid payouts.write', { prompt: 'none' });
    assert.equal(new URL(none.url).searchParams.get('error'), 'interaction_required');
  });

  test('the password grant: refused before the password for a policy that requires MFA; an enrolled account gets the usual refusal; others get amr pwd', async () => {
    await t.addUser({ username: 'gus', password: PASSWORD });
    const api = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'gus', password: 'wrong', scope: 'payouts.write' });
    assert.equal(api.status, 400);
    assert.match(api.json.error_description ?? '', /requires a second factor/);
    const ok = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'gus', password: PASSWORD, scope: 'openid orders.read' });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(decodeJwt(ok.json.access_token).payload.amr, ['pwd']);
    assert.equal(decodeJwt(ok.json.id_token).payload.acr, ACR.single);
    const enrolled = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'ada', password: PASSWORD, scope: 'openid orders.read' });
    assert.equal(enrolled.status, 400);
    assert.equal(enrolled.json.error, 'invalid_grant');
    const wrong = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'ada', password: 'not it', scope: 'openid orders.read' });
    assert.deepEqual(enrolled.json, wrong.json, 'the same answer as a wrong password');
  });

  test('discovery lists the acr values; the step\'s forms need the CSRF token', async () => {
    const d = await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json() as { acr_values_supported: string[] };
    assert.deepEqual(d.acr_values_supported, [ACR.single, ACR.multi]);
    const s = await signIn('ada');
    const r = await s.b.post(formAction(s.html, '/totp'), { csrf: 'forged', code: '123456' });
    assert.equal(r.status, 403);
  });

  test('email codes: an account with a verified address is asked for a mailed code; a code works once; unverified addresses get none', async () => {
    await t.addUser({ username: 'hal', email: 'hal@example.com', emailVerified: true, password: PASSWORD });
    const s = await signIn('hal', 'orders-spa');
    assert.match(s.html, /Email a code to h•••@example\.com/);
    assert.doesNotMatch(s.html, /Code from your app/);
    const sent = await post(s.b, formAction(s.html, '/email-send'), s.html, {});
    assert.match(sent.html, /We sent a 6-digit code/);
    const { code } = await waitForMail(t, 'mfa-code', 'hal@example.com') as unknown as { code: string };
    assert.match(code, /^\d{6}$/);
    const wrong = await post(s.b, formAction(sent.html, '/email'), sent.html, { code: code === '000000' ? '111111' : '000000' });
    assert.match(wrong.html, /That code did not work/);
    assert.match(wrong.html, /Code from your email/, 'the field stays');
    const ok = await post(s.b, formAction(wrong.html, '/email'), wrong.html, { code });
    const { at } = await tokensFor('orders-spa', ok.url);
    assert.equal(at.acr, ACR.multi);
    const s2 = await signIn('hal', 'orders-spa');
    const reuse = await post(s2.b, formAction(s2.html, '/email-send').replace(/-send$/, ''), s2.html, { code });
    assert.match(reuse.html, /That code did not work/);
    // an unverified address is no factor: straight through under optional
    await t.addUser({ username: 'ivy', email: 'ivy@example.com', password: PASSWORD });
    assert.match((await signIn('ivy', 'orders-spa')).url, /code=/);
  });

  test('gatehouse users show tells the second factors; users reset-mfa forgets them (the account enrols again)', async () => {
    const cmd = async (args: string[], group: 'users' | 'clients' = 'users') => {
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (c) => { out += c; });
      const code = await identityCommand(group, args, t.config, { configDir: t.dir, stdout, stderr: new PassThrough(), stdin: Readable.from(['']), logger: pino({ level: 'silent' }) });
      return { code, out };
    };
    const before = JSON.parse((await cmd(['show', 'ada', '--json'])).out) as { mfa: { app: boolean; recoveryCodes: number } };
    assert.deepEqual(before.mfa, { app: true, passkeys: 0, recoveryCodes: 10 });
    const r = await cmd(['reset-mfa', 'ada']);
    assert.equal(r.code, 0);
    assert.match((await cmd(['show', 'ada'])).out, /two-step: no app, 0 passkey\(s\), 0 recovery code\(s\) left/);
    assert.match((await signIn('ada')).html, /Set up two-step verification/);

    // a client added by the CLI with its own policy
    assert.equal((await cmd(['add', '--client-id', 'db-strict', '--public', '--redirect-uris', CB, '--scopes', 'orders.read', '--mfa', 'sometimes'], 'clients')).code, 2);
    assert.equal((await cmd(['add', '--client-id', 'db-strict', '--public', '--grant-types', 'password', '--scopes', 'orders.read', '--mfa', 'required'], 'clients')).code, 2);
    assert.equal((await cmd(['add', '--client-id', 'db-strict', '--public', '--redirect-uris', CB, '--scopes', 'orders.read', '--mfa', 'required'], 'clients')).code, 0);
    await t.addUser({ username: 'jo', password: PASSWORD });
    assert.match((await signIn('jo', 'db-strict')).html, /Set up two-step verification/);
  });
});
