import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { identitySchema } from '../../src/identity/schema.js';
import { makeKey, signRaw, type TestKey } from '../gateway/jwt/helpers.js';
import { Browser, decodeJwt, openSignIn, submitSignIn, startTestIdentity, tokenRequest, SECRET, type TestIdentity } from './helpers.js';

/**
 * Which tokens a client may get and see: only for the APIs it holds a scope of, never without a
 * scope of that API (every grant), and introspection of its own tokens only. Attacks that must fail.
 */
const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // matches openSignIn's challenge
const WEB_SECRET = 'orders-web-secret-0123456789abcdef';
const NONE_SECRET = 'no-api-secret-0123456789abcdefghij';

const CONFIG = {
  apis: [
    { audience: 'api://orders', scopes: ['orders.read', 'orders.write'] },
    { audience: 'api://billing', scopes: ['billing.read'] },
  ],
  clients: [
    { 'client-id': 'orders-cli', public: true, 'grant-types': ['password', 'refresh_token'], scopes: ['orders.read', 'orders.write'] },
    { 'client-id': 'orders-spa', public: true, 'grant-types': ['authorization_code', 'refresh_token'], 'redirect-uris': ['http://127.0.0.1:9/cb'], scopes: ['orders.read'] },
    { 'client-id': 'orders-web', 'client-secret': WEB_SECRET, 'grant-types': ['password', 'refresh_token'], scopes: ['orders.read'] },
    { 'client-id': 'billing-svc', 'client-secret': SECRET, 'grant-types': ['client_credentials'], scopes: ['orders.read'], roles: ['billing'] },
    { 'client-id': 'no-api-svc', 'client-secret': NONE_SECRET, 'grant-types': ['client_credentials'], scopes: ['billing.read'], roles: ['admin'] },
  ],
};

describe('a client gets tokens only for the APIs it is allowed, with at least one of their scopes', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity(CONFIG);
    await t.addUser({ username: 'alice', password: PASSWORD, roles: ['admin'] });
  });
  after(async () => { await t?.stop(); });

  const password = (extra: Record<string, string>, client = 'orders-cli') =>
    tokenRequest(t, { grant_type: 'password', client_id: client, username: 'alice', password: PASSWORD, ...extra }, client === 'orders-web' ? { id: client, secret: WEB_SECRET } : undefined);
  const cc = (id: string, secret: string, extra: Record<string, string>) => tokenRequest(t, { grant_type: 'client_credentials', ...extra }, { id, secret });
  const refused = (r: { status: number; json: Record<string, unknown>; text: string }, errors: string[], what: string) => {
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.ok(errors.includes(String(r.json.error)), `${what}: ${r.text}`);
    assert.equal(r.json.access_token, undefined, what);
  };

  test('password grant: an API the client has no scope of is refused (invalid_target), with or without scopes', async () => {
    refused(await password({ resource: 'api://billing' }), ['invalid_target'], 'resource only');
    refused(await password({ resource: 'api://billing', scope: 'openid' }), ['invalid_target'], 'resource + openid');
    refused(await password({ resource: 'api://billing', scope: 'orders.read' }), ['invalid_target', 'invalid_scope'], 'resource + another API\'s scope');
    refused(await password({ scope: 'billing.read' }), ['invalid_scope'], 'the other API\'s scope');
  });

  test('password grant: an allowed API asked for without any of its scopes is refused (invalid_scope)', async () => {
    refused(await password({ resource: 'api://orders' }), ['invalid_scope'], 'resource, no scope');
    refused(await password({ resource: 'api://orders', scope: 'openid profile' }), ['invalid_scope'], 'resource, OpenID scopes only');
  });

  test('the refusals come before the password is checked (no oracle, no lockout count)', async () => {
    const r = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: 'wrong password', resource: 'api://billing' });
    refused(r, ['invalid_target'], 'wrong password and forbidden API');
  });

  test('client_credentials: a client without a scope of the API gets nothing, not even with resource', async () => {
    refused(await cc('no-api-svc', NONE_SECRET, { resource: 'api://orders' }), ['invalid_target'], 'none of the API\'s scopes');
    refused(await cc('no-api-svc', NONE_SECRET, { resource: 'api://orders', scope: 'orders.read' }), ['invalid_scope', 'invalid_target'], 'asking a scope it lacks');
    refused(await cc('billing-svc', SECRET, { resource: 'api://billing' }), ['invalid_target'], 'another API');
    refused(await cc('billing-svc', SECRET, { resource: 'api://orders' }), ['invalid_scope'], 'its API without a scope');
  });

  test('authorization code: the authorization request for a forbidden API, or without its scopes, gets no code', async () => {
    for (const [extra, errors] of [
      [{ resource: 'api://billing', scope: 'openid' }, ['invalid_target']],
      [{ resource: 'api://billing', scope: 'openid orders.read' }, ['invalid_target']],
      [{ resource: 'api://orders', scope: 'openid' }, ['invalid_scope']],
    ] as const) {
      const b = new Browser(new URL(t.issuer).origin);
      const q = new URLSearchParams({ client_id: 'orders-spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra });
      const r = await b.get(`${t.issuer}/auth?${q}`);
      const loc = r.headers.get('location') ?? '';
      assert.equal(r.status, 303, JSON.stringify(extra));
      assert.ok(loc.startsWith('http://127.0.0.1:9/cb'), loc);
      assert.ok((errors as readonly string[]).includes(new URL(loc).searchParams.get('error') ?? ''), loc);
      assert.doesNotMatch(loc, /[?&]code=/);
    }
  });

  test('authorization code: a code cannot be exchanged for another API', async () => {
    const s = await openSignIn(t);
    const { url } = await s.b.follow(await submitSignIn(s.b, s.html, 'alice', PASSWORD));
    const code = new URL(url).searchParams.get('code')!;
    const r = await tokenRequest(t, { grant_type: 'authorization_code', client_id: 'orders-spa', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: VERIFIER, resource: 'api://billing' });
    refused(r, ['invalid_target', 'invalid_grant'], 'code for another API');
  });

  test('refresh: asking for no scope of the granted API is refused, and the refresh token stays usable', async () => {
    const first = await password({ scope: 'openid email orders.read' });
    assert.equal(first.status, 200, first.text);
    refused(await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: first.json.refresh_token, scope: 'email' }), ['invalid_scope'], 'refresh with an OpenID scope only, without openid');
    refused(await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: first.json.refresh_token, resource: 'api://billing' }), ['invalid_target'], 'refresh for another API');
    const next = await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: first.json.refresh_token });
    assert.equal(next.status, 200, next.text);
    assert.equal(decodeJwt(next.json.access_token).payload.scp, 'orders.read');
  });

  test('what is allowed keeps working, and every API token carries a scope of its API', async () => {
    const pw = await password({ scope: 'orders.read', resource: 'api://orders' });
    assert.equal(pw.status, 200, pw.text);
    const byScope = await password({ scope: 'openid orders.write' });
    assert.equal(byScope.status, 200, byScope.text);
    const svc = await cc('billing-svc', SECRET, { scope: 'orders.read', resource: 'api://orders' });
    assert.equal(svc.status, 200, svc.text);
    for (const r of [pw, byScope, svc]) {
      const p = decodeJwt(r.json.access_token).payload;
      assert.equal(p.aud, 'api://orders');
      assert.ok(typeof p.scp === 'string' && p.scp.split(' ').some((s: string) => s.startsWith('orders.')), JSON.stringify(p));
    }
    const userinfo = await password({ scope: 'openid profile' });
    assert.equal(userinfo.status, 200, 'OpenID scopes only: a userinfo token, no API');
  });
});

describe('introspection and revocation see only the caller\'s own tokens', () => {
  let t: TestIdentity;
  before(async () => {
    t = await startTestIdentity(CONFIG);
    await t.addUser({ username: 'alice', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  const post = (path: string, id: string, secret: string, body: Record<string, string>) =>
    fetch(`${t.issuer}/token/${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') }, body: new URLSearchParams(body) });

  test('another confidential client introspecting a refresh token learns nothing (active: false)', async () => {
    const web = await tokenRequest(t, { grant_type: 'password', username: 'alice', password: PASSWORD, scope: 'orders.read' }, { id: 'orders-web', secret: WEB_SECRET });
    const cli = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' });
    for (const rt of [web.json.refresh_token, cli.json.refresh_token]) {
      for (const [id, secret] of [['billing-svc', SECRET], ['no-api-svc', NONE_SECRET]]) {
        const r = await post('introspection', id!, secret!, { token: rt, token_type_hint: 'refresh_token' });
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { active: false }, `${id} sees nothing`);
      }
    }
    const own = await (await post('introspection', 'orders-web', WEB_SECRET, { token: web.json.refresh_token })).json() as Record<string, unknown>;
    assert.equal(own.active, true);
    assert.equal(own.client_id, 'orders-web');
    // the answer for another client's token is the answer for no token at all
    assert.deepEqual(await (await post('introspection', 'billing-svc', SECRET, { token: 'no-such-token' })).json(), { active: false });
  });

  test('another client cannot revoke a refresh token, and cannot tell whether it exists', async () => {
    const web = await tokenRequest(t, { grant_type: 'password', username: 'alice', password: PASSWORD, scope: 'orders.read' }, { id: 'orders-web', secret: WEB_SECRET });
    const theirs = await post('revocation', 'billing-svc', SECRET, { token: web.json.refresh_token });
    const unknown = await post('revocation', 'billing-svc', SECRET, { token: 'no-such-token' });
    assert.equal(theirs.status, unknown.status);
    assert.equal(await theirs.text(), await unknown.text());
    const still = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: web.json.refresh_token }, { id: 'orders-web', secret: WEB_SECRET });
    assert.equal(still.status, 200, 'not revoked');
  });
});

describe('the configuration says which APIs a client may reach, unambiguously', () => {
  const parse = (over: Record<string, unknown>) => identitySchema.safeParse({ issuer: 'http://127.0.0.1:1/auth', ...over });
  const messages = (r: ReturnType<typeof parse>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));

  test('an API without scopes is refused: no client could be allowed it', () => {
    assert.match(messages(parse({ apis: [{ audience: 'api://x' }] })).join('\n'), /apis\.0\.scopes: .*at least one scope/);
    assert.match(messages(parse({ apis: [{ audience: 'api://x', scopes: [] }] })).join('\n'), /apis\.0\.scopes/);
  });

  test('a scope defined by two APIs is refused: holding it would open both', () => {
    const r = parse({ apis: [{ audience: 'api://a', scopes: ['read'] }, { audience: 'api://b', scopes: ['write', 'read'] }] });
    assert.match(messages(r).join('\n'), /apis\.1\.scopes\.1: scope read already belongs to api:\/\/a/);
  });

  test('scope descriptions: of an API scope or an OpenID scope, not of a scope nothing defines', () => {
    assert.deepEqual(messages(parse({ apis: [{ audience: 'api://a', scopes: ['read'] }], scopes: { read: { description: 'Read things' }, email: { description: 'Your email' } } })), []);
    assert.match(messages(parse({ apis: [{ audience: 'api://a', scopes: ['read'] }], scopes: { raed: { description: 'Read things' } } })).join('\n'), /scopes\.raed: scope raed is not defined by any API/);
  });

  test('a client_credentials client without scopes is refused: it could get no token', () => {
    const r = parse({ apis: [{ audience: 'api://a', scopes: ['read'] }], clients: [{ 'client-id': 's', 'client-secret': 'x'.repeat(32), 'grant-types': ['client_credentials'] }] });
    assert.match(messages(r).join('\n'), /clients\.0\.scopes: a client_credentials client needs scopes/);
  });
});

describe('DPoP at the token endpoint: every grant binds to the proof\'s key, the password grant included', () => {
  let t: TestIdentity;
  const holder = makeKey('ES256', 'holder');
  const other = makeKey('ES256', 'other');
  const pub = (k: TestKey) => { const { kid: _k, alg: _a, use: _u, ...j } = k.jwk; return j; };
  const jkt = (k: TestKey) => {
    const j = pub(k);
    return createHash('sha256').update(JSON.stringify({ crv: j.crv, kty: j.kty, x: j.x, y: j.y })).digest('base64url');
  };
  const proof = (k: TestKey, over: Record<string, unknown> = {}) =>
    signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub(k) }, { htm: 'POST', htu: `${t.issuer}/token`, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...over }, k.privateKey);
  const post = async (body: Record<string, string>, dpop?: string, auth?: { id: string; secret: string }) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (dpop !== undefined) headers.dpop = dpop;
    if (auth) headers.authorization = 'Basic ' + Buffer.from(`${auth.id}:${auth.secret}`).toString('base64');
    const res = await fetch(`${t.issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Record<string, string>, text };
  };
  const pw = { grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' };

  before(async () => {
    t = await startTestIdentity(CONFIG);
    await t.addUser({ username: 'alice', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  test('the password grant binds the access token (cnf.jkt) and the public client\'s refresh token to the key', async () => {
    const r = await post(pw, proof(holder));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.token_type, 'DPoP');
    assert.deepEqual(decodeJwt(r.json.access_token).payload.cnf, { jkt: jkt(holder) });
    assert.equal((await post({ grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: r.json.refresh_token })).json.error, 'invalid_grant', 'no proof');
    assert.equal((await post({ grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: r.json.refresh_token }, proof(other))).json.error, 'invalid_grant', 'another key');
    const next = await post({ grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: r.json.refresh_token }, proof(holder));
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(decodeJwt(next.json.access_token).payload.cnf, { jkt: jkt(holder) });
  });

  test('the password grant refuses a bad proof: wrong htu or htm, stale, replayed, unsigned', async () => {
    for (const [what, p] of [
      ['htu', proof(holder, { htu: `${t.issuer}/other` })],
      ['htm', proof(holder, { htm: 'GET' })],
      ['stale', proof(holder, { iat: Math.floor(Date.now() / 1000) - 3600 })],
      ['garbage', 'not-a-jwt'],
    ] as const) {
      const r = await post(pw, p);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_dpop_proof', `${what}: ${r.text}`);
      assert.equal(r.json.access_token, undefined);
    }
    const once = proof(holder);
    assert.equal((await post(pw, once)).status, 200);
    const again = await post(pw, once);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json.access_token, undefined);
  });

  test('without a proof the password grant issues a Bearer token, unbound', async () => {
    const r = await post(pw);
    assert.equal(r.status, 200);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(decodeJwt(r.json.access_token).payload.cnf, undefined);
  });

  test('client_credentials binds to the proof\'s key too', async () => {
    const r = await post({ grant_type: 'client_credentials', scope: 'orders.read' }, proof(holder), { id: 'billing-svc', secret: SECRET });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(decodeJwt(r.json.access_token).payload.cnf, { jkt: jkt(holder) });
  });
});
