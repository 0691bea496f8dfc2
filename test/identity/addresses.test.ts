import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, csrfOf, actionOf, startTestIdentity, startSmtp, tokenRequest, decodeJwt, EXAMPLE, type TestIdentity, type TestSmtp } from './helpers.js';
import { hashPassword } from '../../src/identity/passwords.js';

const PASSWORD = 'correct horse battery staple';

/** what an address field must refuse: display names, brackets, lists, trailing text, header injection */
const NOT_ADDRESSES = [
  'Bob<attacker@x.test>', 'bob <attacker@x.test>', '<carol@y.test>', 'a@b.test,x', 'a@b.test,x@evil.test',
  'a@b.test;x@evil.test', 'a@b.test x', '"a b"@x.test', 'a@[127.0.0.1]', 'a@b.test\r\nbcc: x@evil.test',
  'a@b..test', '.a@b.test', 'a.@b.test', 'a@-b.test', 'a@b.test.', 'a(comment)@b.test', 'a@b', '@b.test', 'a@@b.test',
  `${'a'.repeat(65)}@b.test`, 'a\u202e@b.test', 'a\u200b@b.test',
];

const form = async (t: TestIdentity, path: string, fields: Record<string, string>) => {
  const b = new Browser(new URL(t.issuer).origin);
  const html = await (await b.get(t.issuer + path)).text();
  const r = await b.post(actionOf(html), { csrf: csrfOf(html), ...fields });
  return { status: r.status, body: await r.text() };
};

describe('email addresses: only a bare addr-spec, normalized, mailed exactly as stored', () => {
  let t: TestIdentity;
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startSmtp();
    t = await startTestIdentity({ ...EXAMPLE, email: { transport: smtp.url, from: 'Acme <no-reply@acme.test>' } });
    await t.addUser({ username: 'victor', email: 'victor@example.com', password: PASSWORD });
  });
  after(async () => { await t?.stop(); await smtp?.close(); });

  test('sign-up, the reset form and the account store refuse everything but a bare address', async () => {
    for (const bad of NOT_ADDRESSES) {
      const up = await form(t, '/account/sign-up', { email: bad, password: 'a sturdy passphrase 42' });
      assert.equal(up.status, 400, `sign-up with ${JSON.stringify(bad)}`);
      assert.match(up.body, /Enter a valid email address/);
      const reset = await form(t, '/account/reset', { email: bad });
      assert.equal(reset.status, 400, `reset with ${JSON.stringify(bad)}`);
      await assert.rejects(t.services.users.create({ email: bad }), /not an email address/, JSON.stringify(bad));
    }
    // a reset for the real address with a list appended sends nothing either
    assert.equal((await form(t, '/account/reset', { email: 'victor@example.com,x' })).status, 400);
    await sleep(300);
    assert.deepEqual(smtp.messages, [], 'no mail was sent');
    assert.equal((await t.services.users.list()).length, 1, 'no account was made');
  });

  test('an address is stored lower case and NFC, mailed to exactly that address, and logged as sent there', async () => {
    const typed = 'Jose\u0301.Garci\u0301a@Example.COM'; // decomposed accents, mixed case
    const stored = 'jos\u00e9.garc\u00eda@example.com';
    const up = await form(t, '/account/sign-up', { email: typed, password: 'a sturdy passphrase 42' });
    assert.equal(up.status, 201, up.body);
    const user = await t.services.users.findByLogin(typed);
    assert.equal(user?.email, stored);
    for (let i = 0; i < 200 && smtp.messages.length === 0; i++) await sleep(25);
    assert.equal(smtp.messages.length, 1);
    assert.deepEqual(smtp.messages[0]!.to, [stored], 'the SMTP envelope names exactly the stored address');
    const sent = t.logs.find((l) => l.msg === 'email sent' && l.mail === 'verify-email');
    assert.equal(sent?.to, stored, 'the log names the address the mail went to');
  });
});

describe('email squatting: a username is never an email address, and login names are unique across both', () => {
  let t: TestIdentity;
  before(async () => { t = await startTestIdentity(EXAMPLE); });
  after(async () => { await t?.stop(); });

  test('a username that looks like an email address is refused at sign-up and by the account store', async () => {
    const up = await form(t, '/account/sign-up', { email: 'mallory@example.com', username: 'wendy@example.com', password: 'a sturdy passphrase 42' });
    assert.equal(up.status, 400);
    assert.match(up.body, /username/i);
    await assert.rejects(t.services.users.create({ username: 'wendy@example.com', email: 'mallory2@example.com' }), /username/);
    assert.equal(await t.services.users.findByLogin('wendy@example.com'), undefined);
    // then the owner signs up with that address and signs in with it
    assert.equal((await form(t, '/account/sign-up', { email: 'wendy@example.com', password: 'wendy owns this passphrase' })).status, 201);
    const r = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'wendy@example.com', password: 'wendy owns this passphrase', scope: 'orders.read' });
    assert.equal(r.status, 200, r.text);
  });

  test('an email-like username made before this rule does not block the owner of the address nor catch their sign-in', async () => {
    // the squatter's row as an older version stored it
    const squatter = randomUUID();
    await t.services.db.run(
      `INSERT INTO users (id, username, email, email_verified, password_hash, roles, groups_, attributes, disabled, created_at, updated_at)
       VALUES ($1, $2, NULL, 0, $3, '[]', '[]', '{}', 0, $4, $4)`,
      [squatter, 'xavier@example.com', await hashPassword('the squatter passphrase', t.config.passwords.hash), Date.now()]);
    await t.services.db.run('INSERT INTO logins (login, user_id, kind) VALUES ($1, $2, $3)', ['xavier@example.com', squatter, 'username']).catch(() => {});
    const up = await form(t, '/account/sign-up', { email: 'xavier@example.com', password: 'xavier owns this passphrase' });
    assert.equal(up.status, 201);
    const owner = (await t.services.users.list()).find((u) => u.email === 'xavier@example.com');
    assert.ok(owner, 'the owner of the address has an account');
    const grant = (password: string) => tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'xavier@example.com', password, scope: 'orders.read' });
    const ok = await grant('xavier owns this passphrase');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(decodeJwt(ok.json.access_token).payload.sub, owner.id, 'the address signs in to its owner\'s account');
    assert.equal((await grant('the squatter passphrase')).status, 400, 'not to the squatter\'s');
  });
});
