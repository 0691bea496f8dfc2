import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, csrfOf, actionOf, startTestIdentity, tokenRequest, EXAMPLE, type TestIdentity } from './helpers.js';
import { checkPasswordPolicy } from '../../src/identity/passwords.js';
import { identitySchema } from '../../src/identity/schema.js';

const policy = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth' }).passwords;

describe('password policy: breached and guessable passwords (NIST SP 800-63B)', () => {
  test('refuses common, breached and guessable passwords, including l33t and padded forms', () => {
    for (const p of ['Password123', 'P@ssw0rd', 'Welcome123', '        ', 'password1', 'qwerty123', 'Trustno1', 'iloveyou!', 'letmein2024', 'Qwertyuiop', '12345678', 'aaaaaaaaaaaa', 'abcdefgh1']) {
      assert.ok(checkPasswordPolicy(p, policy), `${JSON.stringify(p)} is refused`);
    }
  });

  test('refuses context-specific words: the username, the address, the service name', () => {
    assert.ok(checkPasswordPolicy('eleanor.rigby', policy, ['eleanor.rigby']));
    assert.ok(checkPasswordPolicy('eleanor.rigby1', policy, ['eleanor.rigby', 'eleanor.rigby@example.com']));
    assert.ok(checkPasswordPolicy('Gatehouse2024', policy, [], 'Gatehouse'));
    assert.equal(checkPasswordPolicy('eleanor picks lilac paint', policy, ['eleanor.rigby']), undefined);
  });

  test('accepts passphrases and random strings of the minimum length and more', () => {
    for (const p of ['correct horse battery staple', 'a sturdy passphrase 42', 'Tr0ub4dour&3-long', 'kq8vz2mw', 'Crème brûlée à 42 degrés']) {
      assert.equal(checkPasswordPolicy(p, policy), undefined, `${JSON.stringify(p)} is accepted`);
    }
  });

  test('the length counts characters after normalization, and stays bounded', () => {
    assert.ok(checkPasswordPolicy('é'.normalize('NFD').repeat(4), policy), 'four characters, eight code units: too short');
    assert.ok(checkPasswordPolicy('x'.repeat(300), policy));
  });
});

describe('passwords are Unicode-normalized at set and at check', () => {
  let t: TestIdentity;
  before(async () => { t = await startTestIdentity(EXAMPLE); });
  after(async () => { await t?.stop(); });
  const grant = (username: string, password: string) => tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username, password, scope: 'orders.read' });

  test('set in NFC (sign-up), typed in NFD (password grant): signs in; and the other way round', async () => {
    const nfc = 'Crème brûlée à 42 degrés'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    assert.notEqual(nfc, nfd);
    const signUp = async (email: string, password: string) => {
      const b = new Browser(new URL(t.issuer).origin);
      const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
      return (await b.post(actionOf(html), { csrf: csrfOf(html), email, password })).status;
    };
    assert.equal(await signUp('chloe@example.com', nfc), 201);
    assert.equal((await grant('chloe@example.com', nfd)).status, 200, 'NFD typed');
    assert.equal((await grant('chloe@example.com', nfc)).status, 200, 'NFC typed');
    assert.equal(await signUp('denis@example.com', nfd), 201);
    assert.equal((await grant('denis@example.com', nfc)).status, 200, 'set NFD, NFC typed');
    assert.equal((await grant('denis@example.com', 'Creme brulee a 42 degres')).status, 400, 'accents still matter');
  });

  test('a hash made before normalization still verifies as typed, and is replaced by a normalized one', async () => {
    const nfd = 'Älteres Passwort für Björn'.normalize('NFD');
    const { default: argon2 } = await import('argon2');
    const legacy = await argon2.hash(nfd, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const id = await t.addUser({ username: 'bjorn', password: 'placeholder passphrase' });
    await t.services.users.setPasswordHash(id, legacy);
    assert.equal((await grant('bjorn', nfd.normalize('NFC'))).status, 400, 'an old hash knows only the typed form');
    assert.equal((await grant('bjorn', nfd)).status, 200);
    assert.equal((await grant('bjorn', nfd.normalize('NFC'))).status, 200, 'rehashed normalized at that sign-in');
  });

  test('the sign-up page refuses the weak passwords of the issue', async () => {
    for (const password of ['Password123', 'P@ssw0rd', 'Welcome123', '        ']) {
      const b = new Browser(new URL(t.issuer).origin);
      const html = await (await b.get(`${t.issuer}/account/sign-up`)).text();
      const r = await b.post(actionOf(html), { csrf: csrfOf(html), email: 'weak@example.com', password });
      assert.equal(r.status, 400, JSON.stringify(password));
      assert.match(await r.text(), /role="alert"/);
    }
    assert.equal(await t.services.users.findByLogin('weak@example.com'), undefined);
  });
});
