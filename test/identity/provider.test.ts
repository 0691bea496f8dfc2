import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestIdentity, tokenRequest, decodeJwt, EXAMPLE, SECRET, type TestIdentity } from './helpers.js';

const WEB_SECRET = 'orders-web-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

describe('identity provider as seen by a relying party (openid-client)', () => {
  let t: TestIdentity;
  let aliceId: string;
  const discover = (id: string, secret?: string) =>
    client.discovery(new URL(t.issuer), id, secret, secret ? client.ClientSecretBasic(secret) : client.None(), { execute: [client.allowInsecureRequests] });

  before(async () => {
    t = await startTestIdentity({
      ...EXAMPLE,
      clients: [
        ...EXAMPLE.clients,
        { 'client-id': 'orders-web', 'client-secret': WEB_SECRET, 'grant-types': ['password', 'refresh_token'], scopes: ['orders.read'] },
        { 'client-id': 'spa-only', public: true, 'grant-types': ['authorization_code'], 'redirect-uris': ['http://127.0.0.1:9/cb'] },
      ],
      claims: { 'access-token': ['tid'], 'id-token': ['name'] },
    });
    aliceId = await t.addUser({ username: 'alice', email: 'alice@example.com', password: PASSWORD, roles: ['admin', 'ops'], attributes: { tid: 'tenant-1', name: 'Alice A.' } });
  });
  after(async () => { await t?.stop(); });

  test('publishes discovery with the issuer as every URL and the grants it supports', async () => {
    const cfg = await discover('orders-cli');
    const md = cfg.serverMetadata();
    assert.equal(md.issuer, t.issuer);
    for (const k of ['token_endpoint', 'jwks_uri', 'authorization_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint'] as const) {
      assert.ok(String(md[k]).startsWith(t.issuer + '/'), `${k} = ${md[k]}`);
    }
    for (const g of ['authorization_code', 'refresh_token', 'client_credentials', 'password']) assert.ok(md.grant_types_supported?.includes(g), g);
    assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
  });

  test('password grant issues an RS256 JWT access token for the API with scp, azp, roles and custom claims', async () => {
    const cfg = await discover('orders-cli');
    const res = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: PASSWORD, scope: 'openid orders.read' });
    assert.ok(res.refresh_token, 'a refresh token');
    assert.ok(res.id_token, 'an id token');
    const jwks = createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(res.access_token, jwks, { issuer: t.issuer, audience: 'api://orders', typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, aliceId);
    assert.equal(payload.azp, 'orders-cli');
    assert.equal(payload.scp, 'orders.read');
    assert.equal(payload.scope, undefined);
    assert.deepEqual(payload.roles, ['admin', 'ops']);
    assert.equal(payload.tid, 'tenant-1');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(typeof payload.exp === 'number' && payload.exp > now);
    assert.ok(payload.iat! <= now + 1 && payload.nbf! <= now + 1, 'iat and nbf are not in the future');
    assert.equal(payload.exp - payload.iat!, 3600);
  });

  test('password grant works with an email address, case-insensitively', async () => {
    const r = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'ALICE@example.com', password: PASSWORD, scope: 'orders.read' });
    assert.equal(r.status, 200);
    assert.equal(decodeJwt(r.json.access_token).payload.sub, aliceId);
  });

  test('refuses the password grant for a client that does not list it', async () => {
    const r = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-spa', username: 'alice', password: PASSWORD, scope: 'orders.read' });
    assert.equal(r.status, 400);
    assert.ok(['unauthorized_client', 'invalid_request'].includes(r.json.error), r.text);
    assert.equal(r.json.access_token, undefined);
  });

  test('refuses scopes the client is not allowed', async () => {
    const r = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-spa', username: 'alice', password: PASSWORD, scope: 'orders.write' });
    assert.equal(r.status, 400);
    const r2 = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-web', username: 'alice', password: PASSWORD, scope: 'orders.write' }, { id: 'orders-web', secret: WEB_SECRET });
    assert.equal(r2.status, 400);
    assert.equal(r2.json.error, 'invalid_scope');
  });

  test('client_credentials issues a JWT with the client as subject and its app roles', async () => {
    const cfg = await discover('billing-svc', SECRET);
    const res = await client.clientCredentialsGrant(cfg, { scope: 'orders.read' });
    const { payload } = decodeJwt(res.access_token);
    assert.equal(payload.sub, 'billing-svc');
    assert.equal(payload.azp, 'billing-svc');
    assert.equal(payload.aud, 'api://orders');
    assert.equal(payload.scp, 'orders.read');
    assert.deepEqual(payload.roles, ['billing']);
    assert.equal(res.refresh_token, undefined);
  });

  test('client_credentials with an explicit resource indicator', async () => {
    const r = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read', resource: 'api://orders' }, { id: 'billing-svc', secret: SECRET });
    assert.equal(r.status, 200);
    assert.equal(decodeJwt(r.json.access_token).payload.aud, 'api://orders');
    const bad = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read', resource: 'api://unknown' }, { id: 'billing-svc', secret: SECRET });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_target');
  });

  describe('client secret comparison (SHA-256 hash stored, constant-time compare)', () => {
    test('rejects a wrong secret, a prefix of the secret and the secret with a suffix', async () => {
      for (const s of ['wrong', SECRET.slice(0, -1), SECRET + 'x', SECRET.toUpperCase(), SECRET.replace(/.$/, '\u0000')]) {
        const r = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: s });
        assert.ok(r.status === 401 || r.status === 400, `secret ${JSON.stringify(s)}: ${r.status}`);
        assert.equal(r.json.access_token, undefined);
      }
    });

    test('rejects the stored hash presented as the secret', async () => {
      const { createHash } = await import('node:crypto');
      const hex = createHash('sha256').update(SECRET).digest('hex');
      for (const s of [hex, `sha256:${hex}`]) {
        const r = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: s });
        assert.equal(r.status, 401);
      }
    });

    test('compares a secret sent in the request body the same way', async () => {
      const ok = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read', client_id: 'billing-svc', client_secret: SECRET });
      assert.equal(ok.status, 200);
      const bad = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read', client_id: 'billing-svc', client_secret: SECRET + 'x' });
      assert.equal(bad.status, 401);
      const empty = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read', client_id: 'billing-svc', client_secret: '' });
      assert.ok(empty.status === 400 || empty.status === 401);
      assert.equal(empty.json.access_token, undefined);
    });

    test('a public client cannot use client_credentials and an unknown client is refused', async () => {
      const r = await tokenRequest(t, { grant_type: 'client_credentials', client_id: 'orders-cli', scope: 'orders.read' });
      assert.equal(r.status, 400);
      const u = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'nobody', secret: SECRET });
      assert.equal(u.status, 401);
    });
  });

  test('refresh tokens rotate, and reusing a spent one revokes the whole grant', async () => {
    const cfg = await discover('orders-cli');
    const first = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: PASSWORD, scope: 'orders.read' });
    const second = await client.refreshTokenGrant(cfg, first.refresh_token!);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'a new refresh token');
    assert.equal(decodeJwt(second.access_token).payload.aud, 'api://orders');
    assert.equal(decodeJwt(second.access_token).payload.scp, 'orders.read');
    // replaying the spent token fails ...
    await assert.rejects(client.refreshTokenGrant(cfg, first.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
    // ... and revokes the grant: the newest refresh token stops working too
    await assert.rejects(client.refreshTokenGrant(cfg, second.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
    assert.ok(t.logs.some((l) => l.audit === 'grant.revoked'));
  });

  test('userinfo answers an OpenID-only access token, and refuses an API token', async () => {
    const cfg = await discover('orders-cli');
    const res = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: PASSWORD, scope: 'openid profile email' });
    const info = await client.fetchUserInfo(cfg, res.access_token, aliceId);
    assert.equal(info.sub, aliceId);
    assert.equal(info.email, 'alice@example.com');
    assert.equal(info.preferred_username, 'alice');
    assert.equal(info.name, 'Alice A.');
    const api = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: PASSWORD, scope: 'openid orders.read' });
    await assert.rejects(client.fetchUserInfo(cfg, api.access_token, aliceId));
    // the documented way to a userinfo token from an API grant: refresh with only OpenID scopes
    const ui = await client.refreshTokenGrant(cfg, api.refresh_token!, { scope: 'openid' });
    assert.equal((await client.fetchUserInfo(cfg, ui.access_token, aliceId)).sub, aliceId);
  });

  test('revocation of a refresh token, and introspection by a confidential client', async () => {
    const cfg = await discover('orders-web', WEB_SECRET);
    const res = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: PASSWORD, scope: 'orders.read' });
    const live = await client.tokenIntrospection(cfg, res.refresh_token!);
    assert.equal(live.active, true);
    assert.equal(live.sub, aliceId);
    await client.tokenRevocation(cfg, res.refresh_token!);
    const dead = await client.tokenIntrospection(cfg, res.refresh_token!);
    assert.equal(dead.active, false);
    await assert.rejects(client.refreshTokenGrant(cfg, res.refresh_token!));
  });

  test('audit events for token issuance carry no secrets', async () => {
    const issued = t.logs.filter((l) => l.audit === 'token.issued');
    assert.ok(issued.length > 0);
    const all = JSON.stringify(t.logs);
    assert.ok(!all.includes(PASSWORD), 'no password in the log');
    assert.ok(!all.includes(SECRET), 'no client secret in the log');
  });

  test('an unknown path outside the issuer path is 404 and errors leak no stack', async () => {
    const r = await fetch(`${t.url}/elsewhere`);
    assert.equal(r.status, 404);
    const bad = await fetch(`${t.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%' });
    assert.ok(bad.status >= 400 && bad.status < 500);
    assert.ok(!(await bad.text()).includes('at '), 'no stack trace');
  });
});

describe('identity metrics', () => {
  test('counts sign-ins by result, lockouts and tokens by grant type', async () => {
    const { Metrics } = await import('../../src/observability/metrics.js');
    const metrics = new Metrics({ defaultMetrics: false });
    const t = await startTestIdentity({ ...EXAMPLE, lockout: { threshold: 2, duration: '1h' } }, { metrics });
    try {
      await t.addUser({ username: 'mia', password: PASSWORD });
      await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'mia', password: PASSWORD, scope: 'orders.read' });
      for (const p of ['a1', 'a2']) await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'mia', password: p });
      await tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: SECRET });
      const text = await metrics.registry.metrics();
      assert.match(text, /gatehouse_identity_sign_ins_total\{result="success"\} 1/);
      assert.match(text, /gatehouse_identity_sign_ins_total\{result="wrong-password"\} 2/);
      assert.match(text, /gatehouse_identity_lockouts_total 1/);
      assert.match(text, /gatehouse_identity_tokens_issued_total\{grant_type="client_credentials"\} 1/);
      assert.match(text, /gatehouse_identity_tokens_issued_total\{grant_type="password"\} 1/);
    } finally {
      await t.stop();
    }
  });
});
