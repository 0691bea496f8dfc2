import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/identity/db.js';
import { UserStore } from '../../src/identity/accounts.js';
import { FederationStore } from '../../src/identity/federation/store.js';
import { startGateway, scaled, type SupervisedGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { checked, managementClient } from '../helpers/management.js';
import { FAST_HASH, freePort, startSmtp, tokenRequest, type TestSmtp } from '../identity/helpers.js';
import { requireRedis } from '../state/redis-servers.js';

/**
 * The management API's users, clients, signing keys, APIs, backends and recent errors, against a
 * real gateway with its identity provider (one process, one SQLite file), every answer checked
 * against the OpenAPI document; and a subscription change reaching a second gateway process
 * through Redis pub/sub (its poll interval is a minute: only the message can be that fast).
 */

const skip = await requireRedis('Redis on 127.0.0.1:6379 (management API suite)');
const HMAC = randomBytes(32).toString('base64');

describe('management API: users, clients, keys, APIs, backends, errors', { skip }, () => {
  let backend: TestBackend;
  let smtp: TestSmtp;
  let a: SupervisedGateway;
  let b: SupervisedGateway;
  let db: Db;
  let issuer: string;
  let mgmt: ReturnType<typeof managementClient>;
  const ids: Record<string, string> = {};

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mgmt-api-'));
    const database = `sqlite:${join(dir, 'identity.db')}`;
    const store = `redis://127.0.0.1:6379?prefix=gh-mgmt-${process.pid}-${Date.now()}:`;
    db = await openDb(database, '/');
    const users = new UserStore(db);
    for (const [name, email] of [['ann', 'ann@example.test'], ['anna', 'anna@example.test'], ['bob', 'bob@example.test']] as const) {
      ids[name] = (await users.create({ username: name, email, passwordHash: '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', roles: ['reader'] })).id;
    }
    await new FederationStore(db).link('corp', 'ann-upstream', ids.ann!, 'ann@corp.test');
    [backend, smtp] = await Promise.all([startBackend(), startSmtp()]);
    const idPort = await freePort();
    issuer = `http://127.0.0.1:${idPort}`;
    const common = `
  listen: { http: 0 }
  admin: { listen: 0 }
  store: "${store}"
backends:
  b: { url: ${backend.url} }
products:
  - { id: gold, name: Gold, apis: [orders], policies: { inbound: [base, { set-header: { name: X-Product, value: gold } }] } }
apis:
  - name: orders
    path: /orders
    backend: b
  - name: open
    path: /open
    backend: b
    operations:
      - id: secure
        method: GET
        path: /secure
        policies: { inbound: [{ validate-jwt: { issuer-signing-keys: [{ secret: "${HMAC}" }] } }] }
subscriptions: { database: "${database}", poll-interval: 60s }
`;
    [a, b] = await Promise.all([
      startGateway(`gateway:${common}
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: "${database}"
  apis: [{ audience: "api://orders", scopes: [orders.read] }]
  clients:
    - { client-id: from-file, public: true, grant-types: [password], scopes: [orders.read] }
  keys: { poll-interval: 1 }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
  email: { transport: "${smtp.url}", from: "Gatehouse <no-reply@example.test>" }
`, { waitFor: ['http', 'admin', 'identity'] }),
      startGateway(`gateway:${common}`),
    ]);
    mgmt = managementClient(a.adminUrl);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([backend?.close(), smtp?.close(), db?.close()]);
  });

  it('users: prefix search with keyset pages, a profile without any password hash, 404', async () => {
    const found = await mgmt('GET', '/management/users?search=AN&limit=1');
    assert.equal(found.status, 200);
    const first = found.body.items as Array<{ username: string }>;
    assert.equal(first.length, 1);
    const rest = await mgmt('GET', `/management/users?search=an&limit=1&cursor=${encodeURIComponent(found.body.next as string)}`);
    const names = [...first, ...(rest.body.items as Array<{ username: string }>)].map((u) => u.username).sort();
    assert.deepEqual(names, ['ann', 'anna']);
    assert.deepEqual(((await mgmt('GET', '/management/users?search=%25')).body.items as unknown[]).length, 0, 'a LIKE wildcard is a literal');
    const ann = await mgmt('GET', `/management/users/${ids.ann}`);
    assert.equal(ann.status, 200);
    assert.equal(ann.body.locked, false);
    assert.deepEqual(ann.body.roles, ['reader']);
    assert.deepEqual((ann.body.identities as Array<{ connector: string; subject: string }>).map((i) => [i.connector, i.subject]), [['corp', 'ann-upstream']]);
    assert.doesNotMatch(JSON.stringify(ann.body), /argon2|password/i);
    assert.equal((await mgmt('GET', '/management/users/nobody')).status, 404);
  });

  it('users: lock, unlock and roles change the account and are audited with before and after', async () => {
    const locked = await mgmt('POST', `/management/users/${ids.bob}/lock`);
    assert.equal(locked.status, 200);
    assert.equal(locked.body.locked, true);
    assert.equal(locked.body.disabled, true);
    assert.equal((await mgmt('POST', `/management/users/${ids.bob}/unlock`)).body.locked, false);
    const roles = await mgmt('PUT', `/management/users/${ids.bob}/roles`, { roles: ['ops', 'reader', 'ops'] });
    assert.deepEqual(roles.body.roles, ['ops', 'reader']);
    assert.equal((await new UserStore(db).get(ids.bob!))!.roles.join(), 'ops,reader', 'stored');
    assert.equal((await mgmt('PUT', `/management/users/${ids.bob}/roles`, { roles: ['has space'] })).status, 400);
    const audit = (await mgmt('GET', '/management/audit?limit=200')).body.items as Array<{ action: string; actor: string; target: { id: string }; before: { disabled: boolean; roles: string[] }; after: { disabled: boolean; roles: string[] } }>;
    const mine = audit.filter((e) => e.target.id === ids.bob);
    assert.deepEqual(mine.map((e) => e.action), ['user.lock', 'user.unlock', 'user.set-roles']);
    assert.deepEqual([mine[0]!.before.disabled, mine[0]!.after.disabled], [false, true]);
    assert.deepEqual([mine[2]!.before.roles, mine[2]!.after.roles], [['reader'], ['ops', 'reader']]);
    assert.ok(mine.every((e) => e.actor === 'admin-listener'));
  });

  it('users: reset-password mails a single-use link through the configured mail', async () => {
    const r = await mgmt('POST', `/management/users/${ids.anna}/reset-password`);
    assert.equal(r.status, 202);
    const deadline = Date.now() + scaled(5000);
    while (!smtp.messages.some((m) => m.to.includes('anna@example.test')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    const mail = smtp.messages.find((m) => m.to.includes('anna@example.test'));
    assert.ok(mail, 'the reset mail arrived');
    assert.match(mail.data.replace(/=\r?\n/g, ''), new RegExp(`${issuer}/account/reset/confirm\\?token=`));
  });

  let secret: string;
  it('clients: create (secret once), read (never the secret), rotate (the new one works, the old one not), delete', async () => {
    const made = await mgmt('POST', '/management/clients', { clientId: 'reports', grantTypes: ['client_credentials'], scopes: ['orders.read'] });
    assert.equal(made.status, 201);
    secret = made.body.clientSecret as string;
    assert.ok(secret.length >= 32);
    const got = await mgmt('GET', '/management/clients/reports');
    assert.equal(got.body.source, 'database');
    assert.doesNotMatch(JSON.stringify(got.body), /secret|sha256/i);
    const tok = (s: string) => tokenRequest({ issuer }, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'reports', secret: s });
    assert.equal((await tok(secret)).status, 200);
    const rotated = await mgmt('POST', '/management/clients/reports/rotate-secret');
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.clientSecret, secret);
    assert.equal((await tok(secret)).status, 401, 'the old secret is refused');
    assert.equal((await tok(rotated.body.clientSecret as string)).status, 200);
    assert.equal((await mgmt('POST', '/management/clients', { clientId: 'reports', grantTypes: ['client_credentials'], scopes: ['x'] })).status, 409);
    assert.equal((await mgmt('POST', '/management/clients', { clientId: 'web', grantTypes: ['authorization_code'] })).status, 400, 'checked as the CLI checks it');
    const list = await mgmt('GET', '/management/clients');
    assert.deepEqual((list.body.items as Array<{ clientId: string; source: string }>).map((c) => [c.clientId, c.source]), [['from-file', 'config'], ['reports', 'database']]);
    assert.equal((await mgmt('DELETE', '/management/clients/from-file')).status, 409, 'clients of the file are read-only');
    assert.equal((await mgmt('DELETE', '/management/clients/reports')).status, 204);
    assert.equal((await mgmt('GET', '/management/clients/reports')).status, 404);
    const audit = JSON.stringify((await mgmt('GET', '/management/audit?limit=200')).body);
    assert.ok(!audit.includes(secret) && !audit.includes(rotated.body.clientSecret as string), 'the audit log never holds a secret');
    assert.match(audit, /client\.create.*client\.rotate-secret.*client\.delete/);
  });

  it('signing keys: public information only, and a rotation publishes a new key', async () => {
    const before = await mgmt('GET', '/management/keys');
    const items = before.body.items as Array<{ kid: string; state: string }>;
    assert.deepEqual(items.map((k) => k.state), ['active']);
    assert.doesNotMatch(JSON.stringify(before.body), /"(d|k|secret|p|q)"/);
    const r = await mgmt('POST', '/management/keys/rotate', { overlapSeconds: 60 });
    assert.equal(r.status, 200);
    const after = (await mgmt('GET', '/management/keys')).body.items as Array<{ kid: string; state: string }>;
    assert.deepEqual(after.map((k) => [k.kid, k.state]), [[items[0]!.kid, 'active'], [r.body.kid, 'published']]);
    const { jwks_uri: uri } = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as { jwks_uri: string };
    const published = async () => ((await (await fetch(uri)).json()) as { keys: Array<{ kid: string }> }).keys.some((k) => k.kid === r.body.kid);
    const deadline = Date.now() + scaled(5000);
    while (!(await published()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.ok(await published(), 'the identity provider publishes it (it polls the keys every second)');
  });

  it('APIs: effective config with product membership and policies per scope, secrets redacted; backends', async () => {
    const list = await mgmt('GET', '/management/apis');
    assert.deepEqual((list.body.items as Array<{ name: string; products: string[] }>).map((x) => [x.name, x.products]), [['orders', ['gold']], ['open', []]]);
    const orders = await mgmt('GET', '/management/apis/orders');
    assert.deepEqual(Object.keys((orders.body.policies as { products: object }).products), ['gold']);
    const open = await mgmt('GET', '/management/apis/open');
    assert.equal(open.status, 200);
    assert.ok(!JSON.stringify(open.body).includes(HMAC), 'the HMAC secret is redacted');
    assert.ok(JSON.stringify((open.body.policies as { operations: object }).operations).includes('validate-jwt'));
    assert.equal((await mgmt('GET', '/management/apis/nope')).status, 404);
    const backends = await mgmt('GET', '/management/backends');
    assert.deepEqual(Object.keys(backends.body), ['b']);
  });

  it('recent errors: a refused request is listed with its request id and code', async () => {
    const r = await fetch(`${a.url}/open/secure`);
    assert.equal(r.status, 401);
    const requestId = r.headers.get('x-request-id');
    const errors = (await mgmt('GET', '/management/errors')).body.items as Array<{ requestId: string; api: string; status: number; code: string }>;
    const e = errors.find((x) => x.requestId === requestId);
    assert.ok(e, JSON.stringify(errors));
    assert.deepEqual([e.api, e.status, typeof e.code], ['open', 401, 'string']);
  });

  it('a subscription change reaches the second gateway process within a second, through Redis', async () => {
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['u-sub', 'sub-owner', Date.now()]);
    const sub = await mgmt('POST', '/management/subscriptions', { scope: 'product', target: 'gold', owner: { type: 'user', id: 'u-sub' } });
    const key = sub.body.primaryKey as string;
    const call = () => fetch(`${b.url}/orders/1`, { headers: { 'ocp-apim-subscription-key': key } });
    const waitFor = async (status: number) => {
      const deadline = Date.now() + scaled(1000);
      for (;;) {
        const r = await call();
        await r.arrayBuffer();
        if (r.status === status || Date.now() > deadline) return r.status;
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    assert.equal(await waitFor(200), 200, 'the new key works on the other process');
    await mgmt('POST', `/management/subscriptions/${(sub.body.subscription as { id: string }).id}/suspend`);
    assert.equal(await waitFor(401), 401, 'the suspended key is refused on the other process');
  });

  it('every answer above conformed to the OpenAPI document', () => {
    for (const want of [
      'GET /users 200', 'GET /users/{id} 200', 'GET /users/{id} 404', 'POST /users/{id}/lock 200', 'POST /users/{id}/unlock 200', 'PUT /users/{id}/roles 200',
      'PUT /users/{id}/roles 400', 'POST /users/{id}/reset-password 202', 'POST /clients 201', 'POST /clients 409', 'POST /clients 400', 'GET /clients 200',
      'GET /clients/{id} 200', 'GET /clients/{id} 404', 'POST /clients/{id}/rotate-secret 200', 'DELETE /clients/{id} 204', 'DELETE /clients/{id} 409',
      'GET /keys 200', 'POST /keys/rotate 200', 'GET /apis 200', 'GET /apis/{name} 200', 'GET /apis/{name} 404', 'GET /backends 200', 'GET /errors 200',
    ]) assert.ok(checked.has(want), `not exercised: ${want}`);
  });
});
