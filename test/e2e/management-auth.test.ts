import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { openDb, type Db } from '../../src/identity/db.js';
import { startGateway, type SupervisedGateway } from '../helpers/gateway.js';

/**
 * The management API behind `management.auth`: only a token of the configured issuer and
 * audience, signed by its keys and carrying the admin role, gets in; the audit log names its `sub`.
 */

describe('management API with admin bearer auth', () => {
  let jwks: Server;
  let gw: SupervisedGateway;
  let key: CryptoKey;
  let other: CryptoKey;
  let db: Db;
  const ISS = 'https://idp.example.test';
  const AUD = 'api://gatehouse-admin';

  const token = (claims: Record<string, unknown>, opts: { aud?: string; iss?: string; exp?: string; signer?: CryptoKey } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(opts.iss ?? ISS).setAudience(opts.aud ?? AUD)
      .setSubject('admin-ann').setIssuedAt().setExpirationTime(opts.exp ?? '5m').sign(opts.signer ?? key);

  const call = (t: string | undefined, method = 'GET', path = '/management/subscriptions', body?: unknown) => fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

  const codeOf = async (r: Response) => ((await r.json()) as { code: string }).code;

  before(async () => {
    ({ privateKey: key } = await generateKeyPair('ES256'));
    ({ privateKey: other } = await generateKeyPair('ES256'));
    const pub = await exportJWK((await import('node:crypto')).createPublicKey(key as unknown as import('node:crypto').KeyObject));
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ ...pub, kid: 'k1', alg: 'ES256', use: 'sig' }] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mgmt-'));
    const database = `sqlite:${join(dir, 'identity.db')}`;
    db = await openDb(database, '/');
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['u-bob', 'bob', Date.now()]);
    gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
apis:
  - { name: orders, path: /orders, subscription: {} }
subscriptions: { database: "${database}" }
management:
  auth:
    jwks-uri: http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks
    issuer: ${ISS}
    audiences: [${AUD}]
    admin-role: gatehouse-admin
`);
  });
  after(async () => {
    await gw?.stop();
    await db?.close();
    await new Promise((r) => jwks?.close(r));
  });

  it('refuses a request without a token (401, WWW-Authenticate)', async () => {
    const r = await call(undefined);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal(await codeOf(r), 'management-unauthorized');
  });

  it('refuses a valid token without the admin role (403)', async () => {
    const r = await call(await token({ roles: ['developer'] }));
    assert.equal(r.status, 403);
    assert.equal(await codeOf(r), 'management-forbidden');
  });

  it('refuses admin tokens for another audience, of another issuer, signed by another key, or expired (401)', async () => {
    const bad = [
      await token({ roles: ['gatehouse-admin'] }, { aud: 'api://orders' }),
      await token({ roles: ['gatehouse-admin'] }, { iss: 'https://evil.example.test' }),
      await token({ roles: ['gatehouse-admin'] }, { signer: other }),
      await token({ roles: ['gatehouse-admin'] }, { exp: '-1m' }),
      'not.a.token',
    ];
    for (const t of bad) {
      const r = await call(t);
      assert.equal(r.status, 401, t);
      assert.equal(await codeOf(r), 'management-unauthorized');
    }
  });

  it('refuses every resource to a non-admin token (403) and to tokens of another audience, expired or signed by an unknown key (401); nothing changes', async () => {
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/management/users/u-bob/lock'], ['PUT', '/management/users/u-bob/roles', { roles: ['gatehouse-admin'] }],
      ['POST', '/management/users/u-bob/reset-password'], ['POST', '/management/clients', { clientId: 'x', public: true, grantTypes: ['password'] }],
      ['DELETE', '/management/clients/x'], ['POST', '/management/clients/x/rotate-secret'], ['POST', '/management/keys/rotate'],
    ];
    const reads = ['/management/users', '/management/users/u-bob', '/management/clients', '/management/keys', '/management/apis', '/management/apis/orders', '/management/backends', '/management/errors'];
    const developer = await token({ roles: ['developer'] });
    for (const [method, path, body] of [...writes, ...reads.map((p): [string, string] => ['GET', p])]) {
      const r = await call(developer, method, path, body);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(await codeOf(r), 'management-forbidden');
    }
    const refused = [
      await token({ roles: ['gatehouse-admin'] }, { aud: 'api://orders' }),
      await token({ roles: ['gatehouse-admin'] }, { exp: '-1m' }),
      await token({ roles: ['gatehouse-admin'] }, { signer: other }),
    ];
    for (const t of refused) {
      for (const [method, path, body] of [writes[0]!, writes[1]!, ['GET', '/management/users'] as [string, string]]) {
        const r = await call(t, method, path, body);
        assert.equal(r.status, 401, `${method} ${path}`);
        assert.equal(await codeOf(r), 'management-unauthorized');
      }
    }
    const bob = await db.one<{ disabled: number; roles: string }>('SELECT disabled, roles FROM users WHERE id = $1', ['u-bob']);
    assert.deepEqual([Number(bob!.disabled), bob!.roles], [0, '[]'], 'the account is unchanged');
  });

  it('lets an admin token in and records its subject in the audit log (subscriptions and users)', async () => {
    const t = await token({ roles: 'reader gatehouse-admin' });
    assert.equal((await call(t)).status, 200);
    const made = await call(t, 'POST', '/management/subscriptions', { scope: 'api', target: 'orders', owner: { type: 'user', id: 'u-bob' } });
    assert.equal(made.status, 201);
    const locked = await call(t, 'POST', '/management/users/u-bob/lock');
    assert.equal(locked.status, 200);
    // without an identity section there are no keys to rotate and no mail to send: 409, nothing audited
    for (const path of ['/management/keys/rotate', '/management/users/u-bob/reset-password']) {
      const r = await call(t, 'POST', path);
      assert.equal(r.status, 409, path);
      assert.equal(await codeOf(r), 'management-conflict');
    }
    const audit = await (await call(t, 'GET', '/management/audit')).json() as { items: Array<{ actor: string; action: string }> };
    assert.deepEqual(audit.items.map((e) => [e.actor, e.action]), [['admin-ann', 'subscription.create'], ['admin-ann', 'user.lock']]);
  });
});
