import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { Browser, csrfOf, actionOf, decodeJwt, freePort, openSignIn, startTestIdentity, tokenRequest, EXAMPLE, SECRET, FAST_HASH, type TestIdentity } from './helpers.js';

const ADMIN = POSTGRES_ADMIN;
const PASSWORD = 'correct horse battery staple';
const KEY = 'test-encryption-key-0123456789abcdef';

const available = await postgresAvailable('the identity PostgreSQL tests');

describe('identity on PostgreSQL: two processes on one database', { skip: !available }, () => {
  const dbName = `gatehouse_identity_${process.pid}_${Date.now()}`;
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  let a: TestIdentity;
  let b: RunningGateway;
  let bIssuer: string;

  before(async () => {
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const common = { ...EXAMPLE, lockout: { threshold: 4, duration: '1h' }, keys: { 'encryption-key': KEY, 'poll-interval': 1, 'rotation-overlap': 1 } };
    a = await startTestIdentity(common, { database: url });
    // process B: the real CLI, same database, same issuer (replicas behind one load balancer)
    const port = await freePort();
    b = await startGateway(`identity:
  listen: { http: ${port} }
  issuer: ${a.issuer}
  database: ${url}
  apis: [{ audience: "api://orders", scopes: [orders.read, orders.write] }]
  clients:
    - { client-id: orders-cli, public: true, grant-types: [password, refresh_token], scopes: [orders.read, orders.write] }
    - { client-id: orders-spa, public: true, grant-types: [authorization_code, refresh_token], redirect-uris: ["http://127.0.0.1:9/cb"], scopes: [orders.read] }
    - { client-id: billing-svc, client-secret: "${SECRET}", grant-types: [client_credentials], scopes: [orders.read], roles: [billing] }
  lockout: { threshold: 4, duration: 1h }
  keys: { encryption-key: "${KEY}", poll-interval: 1, rotation-overlap: 1 }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
`, { waitFor: ['identity'] });
    bIssuer = `http://127.0.0.1:${b.ports.identity}/auth`;
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  const grant = (issuer: string, username: string, password: string) =>
    tokenRequest({ issuer }, { grant_type: 'password', client_id: 'orders-cli', username, password, scope: 'orders.read' });

  test('both processes serve the same users and sign with the same key', async () => {
    await a.addUser({ username: 'alice', password: PASSWORD, roles: ['ops'] });
    const fromA = await grant(a.issuer, 'alice', PASSWORD);
    const fromB = await grant(bIssuer, 'alice', PASSWORD);
    assert.equal(fromA.status, 200);
    assert.equal(fromB.status, 200, fromB.text);
    assert.equal(decodeJwt(fromA.json.access_token).header.kid, decodeJwt(fromB.json.access_token).header.kid);
    assert.equal(decodeJwt(fromB.json.access_token).payload.iss, a.issuer);
    const cc = await tokenRequest({ issuer: bIssuer }, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: SECRET });
    assert.equal(cc.status, 200);
  });

  test('a refresh token from one process rotates at the other, and reuse is detected across them', async () => {
    const first = await grant(a.issuer, 'alice', PASSWORD);
    const second = await tokenRequest({ issuer: bIssuer }, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: first.json.refresh_token });
    assert.equal(second.status, 200, second.text);
    const replay = await tokenRequest({ issuer: a.issuer }, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: first.json.refresh_token });
    assert.equal(replay.status, 400);
    const revoked = await tokenRequest({ issuer: a.issuer }, { grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: second.json.refresh_token });
    assert.equal(revoked.status, 400, 'the grant was revoked');
  });

  test('lockout counters are shared: failures at both processes add up', async () => {
    await a.addUser({ username: 'bruno', password: PASSWORD });
    await grant(a.issuer, 'bruno', 'w1');
    await grant(bIssuer, 'bruno', 'w2');
    await grant(a.issuer, 'bruno', 'w3');
    await grant(bIssuer, 'bruno', 'w4');
    assert.equal((await grant(a.issuer, 'bruno', PASSWORD)).status, 400);
    assert.equal((await grant(bIssuer, 'bruno', PASSWORD)).status, 400);
  });

  test('a browser sign-in started at one process finishes at the other (sessions in the database)', async () => {
    const s = await openSignIn(a);
    const bOrigin = new URL(bIssuer).origin;
    const b2 = new Browser(bOrigin);
    b2.jar = s.b.jar; // cookies are not port-bound
    const r = await b2.post(bOrigin + actionOf(s.html), { csrf: csrfOf(s.html), login: 'alice', password: PASSWORD });
    assert.equal(r.status, 303);
    assert.ok(r.headers.get('location')!.startsWith(a.issuer + '/auth/'), 'resumes at the issuer');
  });

  test('a key rotation made through one process is picked up by the other by polling', async () => {
    const { kid } = await a.services.keys.rotate(1);
    let seen = '';
    for (let i = 0; i < 80 && seen !== kid; i++) {
      await sleep(100);
      const r = await tokenRequest({ issuer: bIssuer }, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'billing-svc', secret: SECRET });
      seen = decodeJwt(r.json.access_token).header.kid;
    }
    assert.equal(seen, kid);
    const bJwks = await (await fetch(`${bIssuer}/jwks`)).json() as { keys: Array<{ kid: string }> };
    assert.ok(bJwks.keys.some((k) => k.kid === kid));
  });

  test('keys in PostgreSQL are encrypted with the configured key', async () => {
    const rows = await a.services.db.all<{ secret: string }>('SELECT secret FROM keys');
    for (const r of rows) assert.match(r.secret, /^v1\./);
  });
});
