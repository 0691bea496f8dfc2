import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createHmac } from 'node:crypto';
import { startTestIdentity, tokenRequest, decodeJwt, openSignIn, submitSignIn, EXAMPLE, SECRET, type Browser, type TestIdentity } from './helpers.js';
import { decrypt, encrypt, type KeyRow } from '../../src/identity/keys.js';

const jwks = async (t: TestIdentity) => (await (await fetch(`${t.issuer}/jwks`)).json()) as JSONWebKeySet;
const ccToken = async (t: TestIdentity) => (await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: SECRET })).json.access_token as string;

describe('signing keys', () => {
  const started: TestIdentity[] = [];
  after(async () => { for (const t of started) await t.stop(); });

  test('keys are encrypted at rest: no private key material in the database', async () => {
    const t = await startTestIdentity(EXAMPLE);
    started.push(t);
    const rows = await t.services.db.all<{ secret: string; kind: string }>('SELECT secret, kind FROM keys');
    assert.ok(rows.length >= 2, 'a signing key and a cookie key');
    for (const r of rows) {
      assert.match(r.secret, /^v1\./);
      assert.doesNotMatch(r.secret, /"d"|"kty"|BEGIN/);
    }
    // the published JWKS has public parts only
    for (const k of (await jwks(t)).keys) for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal((k as Record<string, unknown>)[p], undefined);
  });

  test('sealed keys do not open with another master key or under another key id', () => {
    const a = Buffer.alloc(32, 1), b = Buffer.alloc(32, 2);
    const sealed = encrypt(a, 'secret material', 'kid-1');
    assert.equal(decrypt(a, sealed, 'kid-1'), 'secret material');
    assert.throws(() => decrypt(b, sealed, 'kid-1'));
    assert.throws(() => decrypt(a, sealed, 'kid-2'));
    const parts = sealed.split('.');
    parts[2] = Buffer.from('tampered!').toString('base64url');
    assert.throws(() => decrypt(a, parts.join('.'), 'kid-1'));
  });

  test('rotation publishes the new key before it signs, then signs with it while the old key stays published', async () => {
    // the overlap leaves room for a loaded machine: the "old key still signs" check must land inside it
    const t = await startTestIdentity({ ...EXAMPLE, keys: { 'poll-interval': 1, 'rotation-overlap': 6 }, tokens: { 'access-token-ttl': '30s', 'id-token-ttl': '30s' } });
    started.push(t);
    const before = await ccToken(t);
    const oldKid = decodeJwt(before).header.kid;
    const { kid: newKid } = await t.services.keys.rotate(6);
    // picked up by polling: published, not yet signing
    let published = false;
    for (let i = 0; i < 50 && !published; i++) { published = (await jwks(t)).keys.some((k) => k.kid === newKid); if (!published) await sleep(100); }
    assert.ok(published, 'the new key is in the JWKS before it signs');
    assert.equal(decodeJwt(await ccToken(t)).header.kid, oldKid, 'the old key still signs during the overlap');
    // after the overlap the new key signs; tokens signed by the old one still verify against the JWKS
    let kid = oldKid;
    for (let i = 0; i < 150 && kid !== newKid; i++) { await sleep(100); kid = decodeJwt(await ccToken(t)).header.kid; }
    assert.equal(kid, newKid);
    const set = createLocalJWKSet(await jwks(t));
    await jwtVerify(before, set, { issuer: t.issuer });
    assert.ok(t.logs.some((l) => l.msg === 'signing keys reloaded'));
  });

  test('cookie-key rotation: a session cookie made before it still works after it, and new cookies are signed with the new key', async () => {
    const t = await startTestIdentity({ ...EXAMPLE, keys: { 'poll-interval': 1 } });
    started.push(t);
    await t.addUser({ username: 'cookie', password: 'correct horse battery staple' });
    /** the key (of those in the database) whose keygrip signature matches the browser's session cookie */
    const signerOf = async (b: Browser) => {
      const value = b.jar.get('gh-idp-session'), sig = b.jar.get('gh-idp-session.sig');
      assert.ok(value && sig, 'the browser holds a signed session cookie');
      const rows = await t.services.db.all<KeyRow>('SELECT * FROM keys WHERE kind = $1', ['cookie']);
      return rows.find((r) => createHmac('sha1', decrypt(t.services.master, r.secret, r.kid)).update(`gh-idp-session=${value}`).digest('base64url') === sig)?.kid;
    };
    const signIn = async () => {
      const s = await openSignIn(t);
      const { url } = await s.b.follow(await submitSignIn(s.b, s.html, 'cookie', 'correct horse battery staple'));
      assert.ok(new URL(url).searchParams.get('code'), url);
      return s.b;
    };
    /** an authorization request with prompt=none: a code only when the session cookie is accepted */
    const silent = async (b: Browser) => {
      const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid orders.read', prompt: 'none', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      const { url } = await b.follow(await b.get(`${t.issuer}/auth?${q}`));
      return new URL(url).searchParams;
    };
    const old = await signIn();
    const oldKid = await signerOf(old);
    assert.ok(oldKid);
    const { kid: newKid, activatesAt } = await t.services.keys.rotateCookies(1);
    // wait until the new key signs (picked up by polling and the scheduled activation)
    while (Date.now() < activatesAt) await sleep(100);
    let fresh = await signIn();
    for (let i = 0; i < 40 && (await signerOf(fresh)) !== newKid; i++) { await sleep(100); fresh = await signIn(); }
    assert.equal(await signerOf(fresh), newKid, 'new sessions are signed with the new key');
    // the session made before the rotation is still accepted (and re-signed with the new key)
    const before = await silent(old);
    assert.ok(before.get('code'), `old session accepted: ${before}`);
    assert.equal(await signerOf(old), newKid);
    // a cookie signed with a key that is not in the database is refused
    const forged = await signIn();
    forged.jar.set('gh-idp-session.sig', createHmac('sha1', 'not-a-key').update(`gh-idp-session=${forged.jar.get('gh-idp-session')}`).digest('base64url'));
    assert.equal((await silent(forged)).get('error'), 'login_required');
    // the old key verifies only: it is retired, and leaves once sessions it signed have expired
    const row = await t.services.db.one<KeyRow>('SELECT * FROM keys WHERE kid = $1', [oldKid]);
    assert.ok(row!.retires_at !== null && Number(row!.expires_at) >= Number(row!.retires_at) + t.config.sessions.ttl * 1000);
  });

  for (const alg of ['PS256', 'ES256'] as const) {
    test(`tokens.algorithm ${alg}: access and ID tokens are signed with it and verify against the JWKS`, async () => {
      const t = await startTestIdentity({ ...EXAMPLE, tokens: { algorithm: alg } });
      started.push(t);
      const set = createLocalJWKSet(await jwks(t));
      const cc = await ccToken(t);
      assert.equal(decodeJwt(cc).header.alg, alg);
      await jwtVerify(cc, set, { issuer: t.issuer, algorithms: [alg] });
      await t.addUser({ username: 'alg', password: 'correct horse battery staple' });
      const pw = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alg', password: 'correct horse battery staple', scope: 'openid orders.read' });
      await jwtVerify(pw.json.id_token, set, { issuer: t.issuer, audience: 'orders-cli', algorithms: [alg] });
      await jwtVerify(pw.json.access_token, set, { issuer: t.issuer, audience: 'api://orders', algorithms: [alg] });
      const disc = await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json() as Record<string, string[]>;
      assert.deepEqual(disc.id_token_signing_alg_values_supported, [alg]);
    });
  }

  test('a token signed by a key that was never published does not verify (the JWKS is the only trust)', async () => {
    const t = await startTestIdentity(EXAMPLE);
    started.push(t);
    const other = await startTestIdentity(EXAMPLE);
    started.push(other);
    const foreign = await ccToken(other);
    await assert.rejects(jwtVerify(foreign, createLocalJWKSet(await jwks(t))));
  });
});
