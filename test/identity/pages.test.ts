import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, csrfOf, actionOf, startTestIdentity, tokenRequest, openSignIn, submitSignIn, waitForMail, EXAMPLE, type TestIdentity } from './helpers.js';

const PASSWORD = 'correct horse battery staple';

describe('hosted pages', () => {
  let t: TestIdentity;
  const origin = () => new URL(t.issuer).origin;
  const lastMail = (kind: string) => t.logs.filter((l) => l.mail === kind).at(-1) as { to: string; link: string } | undefined;

  before(async () => {
    t = await startTestIdentity({
      ...EXAMPLE,
      clients: [...EXAMPLE.clients, { 'client-id': 'partner-app', public: true, 'first-party': false, name: 'Partner App', home: 'https://partner.example/', 'grant-types': ['authorization_code'], 'redirect-uris': ['http://127.0.0.1:9/partner'], scopes: ['orders.read'] }],
      branding: { name: 'Acme Orders', 'primary-colour': '#0a5c36' },
      scopes: { 'orders.read': { description: 'Read your orders' } },
    });
    await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  test('every page is sent with a strict CSP that forbids framing, and without external resources', async () => {
    const s = await openSignIn(t);
    const b = new Browser(origin());
    for (const path of ['/account/sign-up', '/account/reset', '/assets/style.css']) {
      const r = await b.get(t.issuer + path);
      assert.equal(r.status, 200, path);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      const body = await r.text();
      assert.doesNotMatch(body, /https?:\/\/(?!127\.0\.0\.1)/, `${path} loads nothing from elsewhere`);
      assert.doesNotMatch(body, /<script|style="/, `${path} has no inline script or style`);
    }
    assert.match(s.html, /<label for="login">/);
    assert.match(s.html, /<label for="password">/);
    assert.match(s.html, /Acme Orders/);
    const css = await (await b.get(t.issuer + '/assets/style.css')).text();
    assert.match(css, /#0a5c36/, 'branding colour in the stylesheet');
  });

  test('error pages say in plain words what happened, link back, and show the code and request id, never the library\'s message', async () => {
    const b = new Browser(origin());
    const html = { accept: 'text/html' };
    const authorize = (q: Record<string, string>) => b.get(`${t.issuer}/auth?${new URLSearchParams({ response_type: 'code', scope: 'openid', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...q })}`, html);
    const page = async (r: Response) => ({ status: r.status, body: await r.text() });
    const leaks = /did not match|client is invalid|session not found|cookie|stack|\.js:\d|oidc-provider|error_description/i;

    // an unknown client: no client to go back to, so the account console
    const unknown = await page(await authorize({ client_id: 'no-such-app', redirect_uri: 'http://127.0.0.1:9/cb' }));
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /<h1>Unknown application<\/h1>/);
    assert.match(unknown.body, /We do not know the application that sent you here/);
    assert.match(unknown.body, /<a href="\/auth\/account">Go to your account<\/a>/);
    assert.match(unknown.body, /Error code: <code>invalid_client<\/code> · Request ID: <code>[0-9a-f]{16}<\/code>/);
    assert.doesNotMatch(unknown.body, leaks);

    // a redirect URI the client did not register: back to the client's home page; the gateway's request id is shown and logged with the detail
    const bad = await page(await b.get(`${t.issuer}/auth?${new URLSearchParams({ client_id: 'partner-app', response_type: 'code', scope: 'openid', redirect_uri: 'https://evil.example/cb', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`, { ...html, 'x-request-id': 'req-7f3a' }));
    assert.equal(bad.status, 400);
    assert.match(bad.body, /This application is not set up correctly/);
    assert.match(bad.body, /<a href="https:\/\/partner\.example\/">Back to Partner App<\/a>/);
    assert.match(bad.body, /<code>invalid_redirect_uri<\/code> · Request ID: <code>req-7f3a<\/code>/);
    assert.doesNotMatch(bad.body, leaks);
    assert.doesNotMatch(bad.body, /evil\.example/);
    assert.ok(t.logs.some((l) => l.requestId === 'req-7f3a' && l.error === 'invalid_redirect_uri' && /did not match/.test(String(l.detail))), 'the detail is in the log');

    // an interaction that is unknown or expired, on the hosted page and at oidc-provider's resume endpoint
    for (const path of ['/interaction/AbCdEf0123456789', '/auth/AbCdEf0123456789']) {
      const r = await page(await b.get(`${t.issuer}${path}`, html));
      assert.equal(r.status, 400, path);
      assert.match(r.body, /<h1>Sign-in took too long<\/h1>/, path);
      assert.match(r.body, /Go back to the application and start again/, path);
      assert.match(r.body, /Go to your account/, path);
      assert.match(r.body, /Request ID: <code>/, path);
      assert.doesNotMatch(r.body, leaks, path);
    }

    // a request without the client it is for (so it cannot be answered at the client)
    const incomplete = await page(await b.get(`${t.issuer}/auth?response_type=code&scope=openid`, html));
    assert.equal(incomplete.status, 400);
    assert.match(incomplete.body, /<h1>The request is not valid<\/h1>/);
    assert.match(incomplete.body, /<code>invalid_request<\/code>/);
    assert.doesNotMatch(incomplete.body, leaks);
    assert.doesNotMatch(incomplete.body, /missing required parameter/);
  });

  describe('CSRF protection on every form', () => {
    const attempts = (form: Record<string, string>) => [
      { name: 'no token', cookie: true, form: { ...form } },
      { name: 'a wrong token', cookie: true, form: { ...form, csrf: 'A'.repeat(43) } },
      { name: 'a valid token without the cookie (cross-site)', cookie: false, form },
    ];

    const check = async (b: Browser, url: string, form: Record<string, string>) => {
      for (const a of attempts(form)) {
        const body = a.name === 'no token' ? Object.fromEntries(Object.entries(a.form).filter(([k]) => k !== 'csrf')) : a.form;
        const r = a.cookie ? await b.post(url, body) : await new Browser(origin()).post(url, body);
        // without cookies an interaction is not found either (400); with them, the token is what fails (403)
        if (a.cookie) assert.equal(r.status, 403, `${url} with ${a.name}`);
        else assert.ok(r.status === 403 || r.status === 400, `${url} with ${a.name}: ${r.status}`);
        assert.ok(!r.headers.get('location'), 'no redirect onwards');
      }
    };

    test('sign-in, cancel', async () => {
      const s = await openSignIn(t);
      const csrf = csrfOf(s.html);
      await check(s.b, actionOf(s.html), { csrf, login: 'alice', password: PASSWORD });
      await check(s.b, s.url.replace(origin(), '') + '/abort', { csrf });
      // the genuine form still works after the refused attempts
      const ok = await submitSignIn(s.b, s.html, 'alice', PASSWORD);
      assert.equal(ok.status, 303);
    });

    test('consent', async () => {
      const s = await openSignIn(t, 'partner-app', 'http://127.0.0.1:9/partner');
      const r = await submitSignIn(s.b, s.html, 'alice', PASSWORD);
      const { res } = await s.b.follow(r);
      const html = await res.text();
      assert.match(html, /Allow access/);
      assert.match(html, /<strong>Partner App<\/strong> would like to:/);
      // what each scope lets the client do, in words: configured (orders.read), built in (openid)
      assert.match(html, /<li>Read your orders<\/li>/);
      assert.match(html, /<li>Know who you are \(your account identifier\)<\/li>/);
      assert.doesNotMatch(html, /<li>(openid|orders\.read)<\/li>/);
      await check(s.b, actionOf(html), { csrf: csrfOf(html) });
      const ok = await s.b.post(actionOf(html), { csrf: csrfOf(html) });
      const done = await s.b.follow(ok);
      assert.match(done.url, /^http:\/\/127\.0\.0\.1:9\/partner\?code=/);

      // Deny returns access_denied to the client
      const d = await openSignIn(t, 'partner-app', 'http://127.0.0.1:9/partner', 'openid profile orders.read');
      const page = await (await d.b.follow(await submitSignIn(d.b, d.html, 'alice', PASSWORD))).res.text();
      assert.match(page, /<li>See your name and basic profile<\/li>/);
      assert.match(page, /<button type="submit" class="secondary">Deny<\/button>/);
      const denied = await d.b.follow(await d.b.post(actionOf(page).replace(/\/confirm$/, '/abort'), { csrf: csrfOf(page) }));
      assert.equal(new URL(denied.url).searchParams.get('error'), 'access_denied');
    });

    test('sign-up, reset request, reset confirm, email verification', async () => {
      const b = new Browser(origin());
      for (const path of ['/account/sign-up', '/account/reset', '/account/reset/confirm?token=x', '/account/verify?token=x']) {
        const html = await (await b.get(t.issuer + path)).text();
        await check(b, actionOf(html), { csrf: csrfOf(html), email: 'mallory@example.com', password: 'Tr0ub4dour&3-long', token: 'x' });
      }
      assert.ok(t.logs.some((l) => l.audit === 'csrf.refused'));
    });
  });

  test('sign-up enforces the password policy (length, common passwords, own name)', async () => {
    const b = new Browser(origin());
    for (const password of ['short', 'password1', 'Trustno1', 'baseball1', 'newbie@example.com']) {
      const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
      const r = await b.post(actionOf(html), { csrf: csrfOf(html), email: 'newbie@example.com', password });
      assert.equal(r.status, 400, password);
      assert.match(await r.text(), /role="alert"/);
    }
    assert.equal(await t.services.users.findByLogin('newbie@example.com'), undefined);
  });

  test('sign-up with an address that has an account answers as for a new one and mails the owner', async () => {
    const b = new Browser(origin());
    const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
    const r = await b.post(actionOf(html), { csrf: csrfOf(html), email: 'ALICE@example.com', password: 'some other passphrase' });
    assert.equal(r.status, 201);
    assert.match(await r.text(), /Account created/);
    assert.equal(lastMail('account-exists')?.to, 'alice@example.com');
    assert.equal((await t.services.users.list()).filter((u) => u.email === 'alice@example.com').length, 1);
  });

  test('sign-up with a taken username answers exactly as a new account (status, body, redirect) and mails both addresses', async () => {
    const signUp = async (form: Record<string, string>, query = '') => {
      const b = new Browser(origin());
      const html = await (await b.get(`${t.issuer}/account/sign-up${query}`)).text();
      const r = await b.post(actionOf(html), { csrf: csrfOf(html), ...form });
      return { status: r.status, location: r.headers.get('location'), body: await r.text() };
    };
    const fresh = await signUp({ email: 'fresh1@example.com', username: 'fresh1', password: 'a sturdy passphrase 42' });
    const taken = await signUp({ email: 'mallory@example.com', username: 'ALICE', password: 'a sturdy passphrase 42' });
    assert.equal(fresh.status, 201);
    assert.deepEqual(taken, fresh, 'a taken username is indistinguishable from success');
    // an email address is never a username (whoever's it is): refused as such, whether or not it has an account
    const emailAsUsername = await signUp({ email: 'mallory2@example.com', username: 'alice@example.com', password: 'a sturdy passphrase 42' });
    assert.equal(emailAsUsername.status, 400);
    const strip = (r: typeof fresh) => ({ ...r, body: r.body.replace(/value="[^"]*"/g, '') });
    assert.deepEqual(strip(await signUp({ email: 'mallory2@example.com', username: 'nobody@example.com', password: 'a sturdy passphrase 42' })), strip(emailAsUsername));
    // no account was made for the submitted address; it is told so by email, and the owner is told of the attempt
    assert.equal(await t.services.users.findByLogin('mallory@example.com'), undefined);
    assert.equal(await t.services.users.findByLogin('mallory2@example.com'), undefined);
    assert.equal((await t.services.users.list()).filter((u) => u.username === 'alice').length, 1);
    const notices = t.logs.filter((l) => l.mail === 'sign-up-username-taken').map((l) => l.to);
    assert.ok(notices.includes('mallory@example.com'));
    assert.equal(lastMail('account-exists')?.to, 'alice@example.com');
    assert.ok(t.logs.some((l) => l.audit === 'sign-up.existing-username'));
    // from a sign-in page (return to the interaction): the same redirect either way
    const s = await openSignIn(t);
    const back = `?return=${encodeURIComponent(new URL(s.url).pathname)}`;
    const freshBack = await signUp({ email: 'fresh2@example.com', username: 'fresh2', password: 'a sturdy passphrase 42' }, back);
    const takenBack = await signUp({ email: 'mallory3@example.com', username: 'alice', password: 'a sturdy passphrase 42' }, back);
    assert.equal(freshBack.status, 303);
    assert.deepEqual(takenBack, freshBack);
  });

  test('sign-up, then email verification through the log transport', async () => {
    const b = new Browser(origin());
    const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
    const r = await b.post(actionOf(html), { csrf: csrfOf(html), email: 'Nora@Example.com', username: 'nora', password: 'a sturdy passphrase 42' });
    assert.equal(r.status, 201);
    const user = await t.services.users.findByLogin('nora@example.com');
    assert.ok(user && !user.emailVerified);
    const mail = lastMail('verify-email');
    assert.equal(mail?.to, 'nora@example.com');
    assert.ok(mail!.link.startsWith(`${t.issuer}/account/verify?token=`), mail!.link);
    const page = await (await b.get(mail!.link)).text();
    const v = await b.post(actionOf(page), { csrf: csrfOf(page), token: new URL(mail!.link).searchParams.get('token')! });
    assert.equal(v.status, 200);
    assert.equal((await t.services.users.findByLogin('nora'))!.emailVerified, true);
    // the link is single-use
    const again = await b.post(actionOf(page), { csrf: csrfOf(page), token: new URL(mail!.link).searchParams.get('token')! });
    assert.equal(again.status, 400);
    // and the new account signs in with the password grant
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'nora', password: 'a sturdy passphrase 42', scope: 'orders.read' })).status, 200);
    // the next sign-in form in this browser starts with the name the account was made with (the password field has the focus)
    const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid', state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const signIn = await (await b.follow(await b.get(`${t.issuer}/auth?${q}`))).res.text();
    assert.match(signIn, /<input id="login" name="login"[^>]* value="nora">/);
    assert.match(signIn, /<input id="password"[^>]* autofocus>/);
    // another browser's form starts empty
    assert.match((await openSignIn(t)).html, /<input id="login" name="login"[^>]* value="" autofocus>/);
  });

  test('invalid fields are marked (aria-invalid) and linked to the message (aria-describedby): sign-in, sign-up, password reset', async () => {
    const s = await openSignIn(t);
    const wrong = await (await submitSignIn(s.b, s.html, 'alice', 'not the password')).text();
    assert.match(wrong, /<div class="alert error" id="form-error" role="alert">The username or password is incorrect/);
    assert.match(wrong, /<input id="login" name="login"[^>]* value="alice" aria-describedby="form-error" aria-invalid="true">/);
    assert.match(wrong, /<input id="password" name="password"[^>]* aria-describedby="form-error" aria-invalid="true"/);
    assert.doesNotMatch(s.html, /aria-invalid/, 'nothing is marked before a refusal');

    const b = new Browser(origin());
    const up = await (await b.get(`${t.issuer}/account/sign-up`)).text();
    const badUp = await (await b.post(actionOf(up), { csrf: csrfOf(up), email: 'ivy@example.com', password: 'short' })).text();
    assert.match(badUp, /<input id="password" name="password"[^>]* aria-describedby="form-error password-hint" aria-invalid="true">/);
    assert.doesNotMatch(badUp, /<input id="email"[^>]*aria-invalid/, 'only the refused field is marked');
    assert.match(badUp, /value="ivy@example\.com"/, 'what was typed stays');

    const reset = await (await b.get(`${t.issuer}/account/reset`)).text();
    const badReset = await (await b.post(actionOf(reset), { csrf: csrfOf(reset), email: 'not an address' })).text();
    assert.match(badReset, /<input id="email" name="email"[^>]* aria-invalid="true" aria-describedby="form-error">/);
  });

  test('password reset through the log transport: same answer for unknown addresses, single-use link, old password stops working', async () => {
    await t.addUser({ username: 'oscar', email: 'oscar@example.com', password: PASSWORD });
    const b = new Browser(origin());
    const ask = async (email: string) => {
      const html = await (await b.get(`${t.issuer}/account/reset`)).text();
      const r = await b.post(actionOf(html), { csrf: csrfOf(html), email });
      return { status: r.status, text: (await r.text()).replace(/value="[^"]*"/g, '') };
    };
    const before = t.logs.filter((l) => l.mail === 'reset-password').length;
    const unknown = await ask('nobody@example.com');
    assert.equal(t.logs.filter((l) => l.mail === 'reset-password').length, before, 'no mail for an unknown address');
    const known = await ask('oscar@example.com');
    assert.deepEqual(unknown, known);
    const mail = lastMail('reset-password')!;
    assert.equal(mail.to, 'oscar@example.com');
    const token = new URL(mail.link).searchParams.get('token')!;
    const form = await (await b.get(mail.link)).text();
    const weak = await b.post(actionOf(form), { csrf: csrfOf(form), token, password: 'qwerty123' });
    assert.equal(weak.status, 400, 'the policy applies to resets');
    assert.match(await weak.text(), /<input id="password"[^>]* aria-describedby="form-error password-hint" aria-invalid="true">/);
    const ok = await b.post(actionOf(form), { csrf: csrfOf(form), token, password: 'brand new passphrase 7' });
    assert.equal(ok.status, 200);
    const reuse = await b.post(actionOf(form), { csrf: csrfOf(form), token, password: 'another passphrase 8' });
    assert.equal(reuse.status, 400);
    const grant = (password: string) => tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'oscar', password, scope: 'orders.read' });
    assert.equal((await grant(PASSWORD)).status, 400);
    assert.equal((await grant('brand new passphrase 7')).status, 200);
    assert.ok(t.logs.some((l) => l.audit === 'password.changed'));
  });

  test('a completed password reset spends every other reset link of the account', async () => {
    await t.addUser({ username: 'quinn', email: 'quinn@example.com', password: PASSWORD });
    const links: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = new Browser(origin());
      const html = await (await b.get(`${t.issuer}/account/reset`)).text();
      assert.equal((await b.post(actionOf(html), { csrf: csrfOf(html), email: 'quinn@example.com' })).status, 200);
      links.push((await waitForMail(t, 'reset-password', 'quinn@example.com', i + 1)).link);
    }
    assert.equal(new Set(links).size, 3);
    const use = async (link: string, password: string) => {
      const b = new Browser(origin());
      const form = await (await b.get(link)).text();
      return (await b.post(actionOf(form), { csrf: csrfOf(form), token: new URL(link).searchParams.get('token')!, password })).status;
    };
    assert.equal(await use(links[1]!, 'quinn picked a new passphrase'), 200);
    assert.equal(await use(links[0]!, 'an attacker passphrase 1'), 400, 'an older link is spent');
    assert.equal(await use(links[2]!, 'an attacker passphrase 2'), 400, 'a newer link is spent');
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'quinn picked a new passphrase', scope: 'orders.read' })).status, 200);
  });

  test('reset links use the issuer, never a forged Host or X-Forwarded-Host (host poisoning)', async () => {
    await t.addUser({ username: 'pat', email: 'pat@example.com', password: PASSWORD });
    const b = new Browser(origin());
    const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example' };
    const html = await (await b.get(`${t.issuer}/account/reset`, evil)).text();
    await b.post(actionOf(html), { csrf: csrfOf(html), email: 'pat@example.com' }, evil);
    const mail = lastMail('reset-password')!;
    assert.equal(mail.to, 'pat@example.com');
    assert.ok(mail.link.startsWith(t.issuer + '/'), mail.link);
    const disc = await (await fetch(`${t.issuer}/.well-known/openid-configuration`, { headers: evil })).json() as Record<string, string>;
    assert.equal(disc.issuer, t.issuer);
    assert.ok(disc.token_endpoint!.startsWith(t.issuer));
  });

  test('RP-initiated logout shows a branded confirmation and ends the session', async () => {
    const s = await openSignIn(t);
    const done = await s.b.follow(await submitSignIn(s.b, s.html, 'alice', PASSWORD));
    assert.match(done.url, /code=/);
    const page = await s.b.get(`${t.issuer}/session/end?client_id=orders-spa`);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /Sign out\?/);
    assert.match(html, /Acme Orders/);
    const action = /action="([^"]+)"/.exec(html)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const r = await s.b.follow(await s.b.post(action, { xsrf, logout: 'yes' }));
    assert.match(await r.res.text(), /signed out/i);
    // signing in again asks for the password
    const again = await openSignIn(t);
    assert.match(again.html, /<h1>Sign in<\/h1>/);
  });
});

describe('email through SMTP', () => {
  test('the reset link is sent with nodemailer to an SMTP server when email.transport is smtp://', async () => {
    const { createServer } = await import('node:net');
    const messages: string[] = [];
    const smtp = createServer((sock) => {
      let data = false, buf = '', msg = '';
      sock.write('220 test ESMTP\r\n');
      sock.on('data', (chunk) => {
        buf += chunk.toString('utf8');
        let i;
        while ((i = buf.indexOf('\r\n')) !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (data) {
            if (line === '.') { data = false; messages.push(msg); msg = ''; sock.write('250 queued\r\n'); } else msg += line + '\n';
            continue;
          }
          const verb = line.slice(0, 4).toUpperCase();
          switch (verb) {
            case 'EHLO': case 'HELO': sock.write('250-test\r\n250 8BITMIME\r\n'); break;
            case 'DATA': data = true; sock.write('354 go\r\n'); break;
            case 'QUIT': sock.write('221 bye\r\n'); sock.end(); break;
            default: sock.write('250 ok\r\n');
          }
        }
      });
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.address() as { port: number }).port;
    const t = await startTestIdentity({ ...EXAMPLE, email: { transport: `smtp://127.0.0.1:${port}`, from: 'Acme <no-reply@acme.test>' } });
    try {
      await t.addUser({ username: 'sue', email: 'sue@example.com', password: PASSWORD });
      const b = new Browser(new URL(t.issuer).origin);
      const html = await (await b.get(`${t.issuer}/account/reset`)).text();
      assert.equal((await b.post(actionOf(html), { csrf: csrfOf(html), email: 'sue@example.com' })).status, 200);
      for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(messages.length, 1);
      const body = messages[0]!.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      assert.match(body, /To: sue@example\.com/i);
      assert.ok(body.includes(`${t.issuer}/account/reset/confirm?token=`), body);
      assert.ok(!t.logs.some((l) => l.mail === 'reset-password' && l.link), 'with SMTP the link is not written to the log');
    } finally {
      await t.stop();
      smtp.close();
    }
  });
});
