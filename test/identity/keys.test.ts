import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestIdentity, tokenRequest, decodeJwt, EXAMPLE, SECRET, type TestIdentity } from './helpers.js';
import { decrypt, encrypt } from '../../src/identity/keys.js';

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
    const t = await startTestIdentity({ ...EXAMPLE, keys: { 'poll-interval': 1, 'rotation-overlap': 2 }, tokens: { 'access-token-ttl': '30s', 'id-token-ttl': '30s' } });
    started.push(t);
    const before = await ccToken(t);
    const oldKid = decodeJwt(before).header.kid;
    const { kid: newKid } = await t.services.keys.rotate(2);
    // picked up by polling: published, not yet signing
    let published = false;
    for (let i = 0; i < 50 && !published; i++) { published = (await jwks(t)).keys.some((k) => k.kid === newKid); if (!published) await sleep(100); }
    assert.ok(published, 'the new key is in the JWKS before it signs');
    assert.equal(decodeJwt(await ccToken(t)).header.kid, oldKid, 'the old key still signs during the overlap');
    // after the overlap the new key signs; tokens signed by the old one still verify against the JWKS
    let kid = oldKid;
    for (let i = 0; i < 60 && kid !== newKid; i++) { await sleep(100); kid = decodeJwt(await ccToken(t)).header.kid; }
    assert.equal(kid, newKid);
    const set = createLocalJWKSet(await jwks(t));
    await jwtVerify(before, set, { issuer: t.issuer });
    assert.ok(t.logs.some((l) => l.msg === 'signing keys reloaded'));
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
