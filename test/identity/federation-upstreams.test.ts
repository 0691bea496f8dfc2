import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { Browser, decodeJwt, freePort, startTestIdentity, submitSignIn, tokenRequest, type TestIdentity } from './helpers.js';
import { identitySchema } from '../../src/identity/schema.js';
import { resolveConnector } from '../../src/identity/federation/presets.js';
import { loadClientKey } from '../../src/identity/connectors/oidc.js';
import { loadIcon } from '../../src/identity/federation/index.js';
import { openDownstream, pressConnector, RP } from './federation-rig.js';
import { startBareProvider } from './bare-op-rig.js';

/**
 * Federation with a bare oidc-provider upstream that admits only `private_key_jwt` client
 * authentication: our client assertion signed with `client-key-file` signs in; an assertion by
 * another key is refused at the upstream's token endpoint. Home-realm discovery sends the
 * users of the connector's email domains there.
 */

const CLIENTS = [{ 'client-id': RP.clientId, public: true, 'grant-types': ['authorization_code'], 'redirect-uris': [RP.redirect], scopes: ['orders.read'] }];

describe('federation: private_key_jwt client authentication at an OIDC upstream that requires it', () => {
  let op: Awaited<ReturnType<typeof startBareProvider>>;
  let down: TestIdentity;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-federation-'));
    const ours = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'client-key.pem'), ours.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'corp.svg'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>');
    writeFileSync(join(dir, 'other-key.pem'), other.privateKey.export({ type: 'sec1', format: 'pem' }));
    const jwk = ours.publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    const port = await freePort();
    const callback = (id: string) => `http://127.0.0.1:${port}/auth/federation/${id}/callback`;
    op = await startBareProvider([{
      client_id: 'pkjwt-client', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] },
      redirect_uris: [callback('corp'), callback('corp-wrong-key')], grant_types: ['authorization_code'], response_types: ['code'],
    }]);
    const oidc = (id: string, keyFile: string) => ({
      id, type: 'oidc', issuer: op.issuer, 'client-id': 'pkjwt-client', 'client-auth': 'private_key_jwt', 'client-key-file': keyFile,
      'client-key-id': keyFile === './other-key.pem' ? kid : undefined, accounts: { create: true },
      ...(id === 'corp' ? { domains: ['corp.example', 'Corp-Subsidiary.example'], icon: './corp.svg' } : {}),
    });
    down = await startTestIdentity({
      apis: [{ audience: 'api://orders', scopes: ['orders.read'] }], clients: CLIENTS,
      federation: [oidc('corp', './client-key.pem'), oidc('corp-wrong-key', './other-key.pem')],
    }, { port, dir });
  });

  after(async () => {
    await down?.stop();
    await op?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function signInWith(connector: string) {
    const { b, first } = await openDownstream(down);
    const { res } = await b.follow(first);
    const r = await pressConnector(b, await res.text(), connector);
    assert.equal(r.status, 303);
    const back = await op.signIn(r.headers.get('location')!);
    return deliver(b, back);
  }

  async function deliver(b: Browser, back: URL) {
    const r = await b.get(back.href);
    if (r.status !== 303) return { status: r.status, html: await r.text() };
    const { res, url } = await b.follow(r);
    return { status: res.status, html: res.status === 200 ? await res.text() : '', code: url.startsWith(RP.redirect) ? new URL(url).searchParams.get('code') ?? undefined : undefined };
  }

  test('a client assertion signed with client-key-file (kid: its JWK thumbprint) is accepted: a token with idp corp', async () => {
    const done = await signInWith('corp');
    assert.ok(done.code, done.html.slice(0, 400));
    const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code!, redirect_uri: RP.redirect, code_verifier: RP.verifier });
    assert.equal(t.status, 200, t.text);
    const claims = decodeJwt(t.json.access_token).payload;
    assert.equal(claims.idp, 'corp');
    assert.equal((await down.services.users.get(claims.sub))!.email, 'pat@example.org');
  });

  test('an assertion signed by another key under the registered kid is refused by the upstream: nothing signed in', async () => {
    const done = await signInWith('corp-wrong-key');
    assert.equal(done.code, undefined);
    assert.match(done.html, /did not succeed/);
    assert.ok(op.errors.some((e) => /invalid_client|client authentication/i.test(e)), op.errors.join('\n'));
  });

  test('home-realm discovery: domain_hint, a login_hint address or an address typed on the sign-in page go to the connector of its domain', async () => {
    const toUpstream = (r: Response) => {
      assert.equal(r.status, 303);
      return new URL(r.headers.get('location')!);
    };
    for (const extra of [{ domain_hint: 'CORP.example' }, { login_hint: 'pat@corp-subsidiary.example' }] as Array<Record<string, string>>) {
      const { b, first } = await openDownstream(down, extra);
      const up = toUpstream((await b.follow(first)).res);
      assert.equal(up.origin, op.issuer, JSON.stringify(extra));
      if (extra.login_hint) assert.equal(up.searchParams.get('login_hint'), extra.login_hint, 'the hint goes on upstream');
    }
    // a domain of no connector: the chooser
    const other = await openDownstream(down, { domain_hint: 'other.example' });
    assert.equal((await other.b.follow(other.first)).res.status, 200);
    // typed on the sign-in page: the password is not checked here, the address goes upstream as login_hint
    const { b, first } = await openDownstream(down);
    const html = await (await b.follow(first)).res.text();
    const up = toUpstream(await submitSignIn(b, html, ' pat@Corp.Example ', ''));
    assert.equal(up.origin, op.issuer);
    assert.equal(up.searchParams.get('login_hint'), 'pat@Corp.Example');
    const local = await submitSignIn(b, html, 'pat@other.example', 'not a password');
    assert.equal(local.status, 200);
    assert.match(await local.text(), /username or password is incorrect/);
  });

  test('a connector\'s icon: on its button, served by the provider with a sandboxing CSP; a missing icon file is a start-up error', async () => {
    const { b, first } = await openDownstream(down);
    const html = await (await b.follow(first)).res.text();
    assert.match(html, /<input type="hidden" name="connector" value="corp"><button type="submit" class="secondary"><img src="\/auth\/federation\/corp\/icon" alt="" width="20" height="20"> Sign in with corp<\/button>/);
    assert.match(html, /value="corp-wrong-key"><button type="submit" class="secondary">Sign in with/, 'no icon, no img');
    const r = await fetch(`${down.url}/auth/federation/corp/icon`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/svg+xml');
    assert.match(r.headers.get('content-security-policy')!, /default-src 'none'.*sandbox/);
    assert.match(await r.text(), /^<svg/);
    assert.equal((await fetch(`${down.url}/auth/federation/corp-wrong-key/icon`)).status, 404);
    const corp = resolveConnector(identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth', federation: [{ id: 'corp', type: 'oidc', issuer: 'https://idp.example.com', 'client-id': 'x', icon: './missing.png' }] }).federation[0]!);
    assert.throws(() => loadIcon(corp, dir), /identity\.federation corp: icon .*missing\.png: no such file/);
  });

  test('config: private_key_jwt needs client-key-file (read at start: missing or unusable is an error naming the connector); client_secret_post needs client-secret; client-auth is not for oauth1; a home-realm domain belongs to one connector', () => {
    const bad = (f: Record<string, unknown>) => JSON.stringify(identitySchema.safeParse({ issuer: 'http://127.0.0.1:1/auth', federation: [{ id: 'c', type: 'oidc', issuer: 'https://idp.example.com', 'client-id': 'x', ...f }] }).error);
    assert.match(bad({ 'client-auth': 'private_key_jwt' }), /needs client-key-file/);
    assert.match(bad({ 'client-auth': 'client_secret_post' }), /needs client-secret/);
    assert.match(bad({ issuer: undefined, preset: 'apple', 'team-id': 'TEAM123456' }), /needs client-key-file.*needs client-key-id|needs client-key-id.*needs client-key-file/);
    assert.match(bad({ issuer: undefined, preset: 'apple', 'team-id': 'TEAM123456', 'client-key-file': 'k.p8', 'client-key-id': 'K', 'client-secret': 's' }), /remove client-secret/);
    // the key file is read at start: a missing or unusable one names the connector
    const corp = resolveConnector(identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth', federation: [{ id: 'corp', type: 'oidc', issuer: 'https://idp.example.com', 'client-id': 'x', 'client-auth': 'private_key_jwt', 'client-key-file': './nope.pem' }] }).federation[0]!);
    assert.throws(() => loadClientKey(corp, dir), /identity\.federation corp: client-key-file .*nope\.pem: no such file/);
    writeFileSync(join(dir, 'dsa.pem'), generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 224 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.throws(() => loadClientKey({ ...corp, clientKeyFile: 'dsa.pem' }, dir), /use an RSA, EC P-256\/P-384 or Ed25519 key \(found dsa\)/);
    assert.equal(loadClientKey({ ...corp, clientKeyFile: 'client-key.pem' }, dir)!.alg, 'ES256');
    const two = identitySchema.safeParse({ issuer: 'http://127.0.0.1:1/auth', federation: [
      { id: 'a', type: 'oidc', preset: 'google', 'client-id': 'x', domains: ['corp.example'] }, { id: 'b', type: 'oidc', preset: 'google', 'client-id': 'x', domains: ['CORP.example'] }] });
    assert.match(JSON.stringify(two.error), /corp\.example is the home realm of connector a already/);
    assert.match(bad({ domains: ['not a domain'] }), /a domain name/);
    assert.match(bad({ type: 'oauth1', preset: 'x', 'client-secret': 's', 'client-auth': 'private_key_jwt', 'client-key-file': 'k.pem' }), /client-auth is for OIDC and OAuth 2.0/);
  });
});
