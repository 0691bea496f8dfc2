import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDb, type Db } from '../../src/identity/db.js';
import { startGateway, scaled, type SupervisedGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';
import { checked, managementClient, type Answer } from '../helpers/management.js';

/**
 * Products, subscriptions and keys end to end: two real gateway processes on one database
 * (a shared SQLite file, then PostgreSQL), managed through the management API of one of them.
 * A change made through one process is enforced by both within a second.
 */

const config = (backend: string, database: string) => `
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  b: { url: ${backend} }
products:
  - id: gold
    name: Gold
    apis: [orders]
    policies:
      inbound:
        - base
        - set-header: { name: X-Product, value: "{subscription.product}" }
        - set-header: { name: X-Subscription, value: "{subscription.id}" }
        - set-header: { name: X-User, value: "{user.id}" }
  - id: silver
    name: Silver
    apis: [orders]
    approval: manual
apis:
  - name: orders
    path: /orders
    backend: b
  - name: open
    path: /open
    backend: b
    subscription: { required: false, header: X-Key }
subscriptions:
  database: ${database}
  poll-interval: 100ms
  query-timeout: 500ms
`;

/** Call until `ok` holds for the answer, at most `ms` (scaled on a slow machine); returns the last answer. */
async function until(call: () => Promise<Response>, ok: (r: Response) => boolean, ms: number): Promise<Response> {
  const deadline = Date.now() + scaled(ms);
  for (;;) {
    const r = await call();
    if (ok(r) || Date.now() > deadline) return r;
    await r.arrayBuffer();
    await new Promise((res) => setTimeout(res, 20));
  }
}

const withKey = (gw: SupervisedGateway, key: string, path = '/orders/1') => () => fetch(`${gw.url}${path}`, { headers: { 'ocp-apim-subscription-key': key } });

async function codeOf(r: Response): Promise<string> {
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  return ((await r.json()) as { code: string }).code;
}

function suite(kind: 'sqlite' | 'postgres', database: () => Promise<{ url: string; db: Db; drop(): Promise<void> }>) {
  let backend: TestBackend;
  let a: SupervisedGateway;
  let b: SupervisedGateway;
  let db: Db;
  let drop: () => Promise<void>;
  let dbUrl: string;
  let mgmt: ReturnType<typeof managementClient>;
  const both = () => [a, b];

  before(async () => {
    const d = await database();
    db = d.db; drop = d.drop; dbUrl = d.url;
    const now = Date.now();
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['u-alice', 'alice', now]);
    backend = await startBackend();
    [a, b] = await Promise.all([startGateway(config(backend.url, d.url)), startGateway(config(backend.url, d.url))]);
    for (const gw of both()) await until(() => fetch(`${gw.adminUrl}/readyz`), (r) => r.status === 200, 10_000);
    mgmt = managementClient(a.adminUrl);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await backend?.close();
    await db?.close();
    await drop?.();
  });

  let sub: Answer;
  it('a subscription made through one process works with either key on both, and neither key reaches the backend', async () => {
    sub = await mgmt('POST', '/management/subscriptions', { scope: 'product', target: 'gold', owner: { type: 'user', id: 'u-alice' }, name: 'alice gold' });
    assert.equal(sub.status, 201);
    const s = sub.body.subscription as { id: string; state: string; primaryKeyHint: string };
    assert.equal(s.state, 'active');
    const { primaryKey, secondaryKey } = sub.body as { primaryKey: string; secondaryKey: string };
    assert.equal(s.primaryKeyHint, primaryKey.slice(-4));
    for (const gw of both()) {
      for (const key of [primaryKey, secondaryKey]) {
        const r = await until(withKey(gw, key), (x) => x.status === 200, 1000);
        assert.equal(r.status, 200, `${gw.url} with a fresh key`);
        const echo = await r.json() as { headers: Record<string, string> };
        assert.equal(echo.headers['ocp-apim-subscription-key'], undefined, 'the key header is removed');
        assert.equal(echo.headers['x-product'], 'gold', 'the product scope ran');
        assert.equal(echo.headers['x-subscription'], s.id);
        assert.equal(echo.headers['x-user'], 'u-alice');
      }
    }
  });

  it('a key in the query works and is removed from the query the backend gets (encoded name included)', async () => {
    const { primaryKey } = sub.body as { primaryKey: string };
    for (const q of [`subscription-key=${primaryKey}&x=1`, `x=1&subscription%2Dkey=${primaryKey}`]) {
      const r = await fetch(`${b.url}/orders/1?${q}`);
      assert.equal(r.status, 200);
      const echo = await r.json() as { url: string };
      assert.equal(echo.url, '/1?x=1');
      assert.ok(!backend.requests.some((x) => x.url.includes(primaryKey)), 'the key never reached the backend');
    }
  });

  it('missing, unknown, doubled and oversized keys are refused with their own codes', async () => {
    let r = await fetch(`${a.url}/orders/1`);
    assert.equal(r.status, 401);
    assert.equal(await codeOf(r), 'subscription-key-missing');
    r = await withKey(a, 'ghk_' + 'A'.repeat(43))();
    assert.equal(r.status, 401);
    assert.equal(await codeOf(r), 'subscription-key-invalid');
    r = await withKey(a, 'x'.repeat(4000))();
    assert.equal(await codeOf(r), 'subscription-key-invalid');
    const { primaryKey } = sub.body as { primaryKey: string };
    r = await fetch(`${a.url}/orders/1?subscription-key=${primaryKey}`, { headers: { 'ocp-apim-subscription-key': primaryKey } });
    assert.equal(r.status, 400);
    assert.equal(await codeOf(r), 'subscription-key-ambiguous');
    // a key of a product subscription is not a key of an API outside the product
    r = await fetch(`${a.url}/open/1`, { headers: { 'x-key': primaryKey } });
    assert.equal(await codeOf(r), 'subscription-key-invalid');
    // an API whose key is optional passes without one, and never forwards its key header
    r = await fetch(`${a.url}/open/1`);
    assert.equal(r.status, 200);
  });

  it('suspending refuses the keys on both processes within a second; reactivating lets them in again', async () => {
    const id = (sub.body.subscription as { id: string }).id;
    const { primaryKey } = sub.body as { primaryKey: string };
    const s = await mgmt('POST', `/management/subscriptions/${id}/suspend`);
    assert.equal(s.status, 200);
    assert.equal(s.body.state, 'suspended');
    for (const gw of both()) {
      const r = await until(withKey(gw, primaryKey), (x) => x.status === 401, 1000);
      assert.equal(r.status, 401, `${gw.url} still lets a suspended key in after 1 s`);
      assert.equal(await codeOf(r), 'subscription-inactive');
    }
    assert.equal((await mgmt('POST', `/management/subscriptions/${id}/suspend`)).status, 409);
    assert.equal((await mgmt('POST', `/management/subscriptions/${id}/reactivate`)).status, 200);
    for (const gw of both()) assert.equal((await until(withKey(gw, primaryKey), (x) => x.status === 200, 1000)).status, 200);
  });

  it('regenerating the primary key retires the old one everywhere; the secondary keeps working', async () => {
    const id = (sub.body.subscription as { id: string }).id;
    const { primaryKey: old, secondaryKey } = sub.body as { primaryKey: string; secondaryKey: string };
    const r = await mgmt('POST', `/management/subscriptions/${id}/keys/primary/regenerate`);
    assert.equal(r.status, 200);
    const fresh = r.body.key as string;
    assert.notEqual(fresh, old);
    for (const gw of both()) {
      const x = await until(withKey(gw, old), (y) => y.status === 401, 1000);
      assert.equal(await codeOf(x), 'subscription-key-invalid');
      assert.equal((await until(withKey(gw, fresh), (y) => y.status === 200, 1000)).status, 200);
      assert.equal((await withKey(gw, secondaryKey)()).status, 200);
    }
    assert.equal((await mgmt('POST', `/management/subscriptions/${id}/keys/tertiary/regenerate`)).status, 404);
  });

  it('a manual product starts submitted (refused) until approved', async () => {
    const s = await mgmt('POST', '/management/subscriptions', { scope: 'product', target: 'silver', owner: { type: 'user', id: 'u-alice' } });
    assert.equal((s.body.subscription as { state: string }).state, 'submitted');
    const key = s.body.primaryKey as string;
    assert.equal(await untilCode(withKey(a, key), 'subscription-inactive', 1000), 'subscription-inactive');
    const id = (s.body.subscription as { id: string }).id;
    assert.equal((await mgmt('POST', `/management/subscriptions/${id}/approve`)).status, 200);
    const ok = await until(withKey(b, key), (x) => x.status === 200, 1000);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json() as { headers: Record<string, string> }).headers['x-product'], undefined, 'silver has no policies of its own');
  });

  it('parallel requests while a subscription is suspended get 200 or 401, never anything else, then only 401', async () => {
    const s = await mgmt('POST', '/management/subscriptions', { scope: 'all', owner: { type: 'user', id: 'u-alice' } });
    const key = s.body.primaryKey as string;
    await until(withKey(a, key), (x) => x.status === 200, 1000);
    await until(withKey(b, key), (x) => x.status === 200, 1000);
    const id = (s.body.subscription as { id: string }).id;
    const burst = () => Promise.all(Array.from({ length: 40 }, (_v, i) => withKey(i % 2 ? a : b, key)().then(async (r) => { await r.arrayBuffer(); return r.status; })));
    const [during] = await Promise.all([burst(), mgmt('POST', `/management/subscriptions/${id}/cancel`)]);
    assert.ok(during.every((st) => st === 200 || st === 401), `unexpected statuses ${during}`);
    for (const gw of both()) await until(withKey(gw, key), (x) => x.status === 401, 1000);
    const afterwards = await burst();
    assert.ok(afterwards.every((st) => st === 401), `a cancelled key got in: ${afterwards}`);
  });

  it('management refuses bad input with problems and lists, pages and audits what it did', async () => {
    const bad = [
      { scope: 'product', target: 'platinum', owner: { type: 'user', id: 'u-alice' } },
      { scope: 'api', target: 'nope', owner: { type: 'user', id: 'u-alice' } },
      { scope: 'all', owner: { type: 'user', id: 'u-nobody' } },
      { scope: 'all', owner: { type: 'user', id: 'u-alice' }, extra: 1 },
    ];
    for (const body of bad) assert.equal((await mgmt('POST', '/management/subscriptions', body)).status, 400);
    assert.equal((await mgmt('GET', '/management/subscriptions/does-not-exist')).status, 404);
    const page1 = await mgmt('GET', '/management/subscriptions?limit=2');
    assert.equal((page1.body.items as unknown[]).length, 2);
    const page2 = await mgmt('GET', `/management/subscriptions?limit=2&after=${page1.body.next as string}`);
    assert.equal((page2.body.items as unknown[]).length, 1);
    assert.equal((await mgmt('GET', '/management/subscriptions?state=suspended')).status, 200);
    assert.equal((await mgmt('GET', '/management/subscriptions?limit=0')).status, 400);
    const products = await mgmt('GET', '/management/products');
    assert.deepEqual((products.body.items as Array<{ id: string }>).map((p) => p.id), ['gold', 'silver']);
    assert.equal((await mgmt('GET', '/management/products/gold')).status, 200);
    assert.equal((await mgmt('GET', '/management/products/lead')).status, 404);
    const audit = await mgmt('GET', '/management/audit?limit=200');
    const actions = (audit.body.items as Array<{ action: string; actor: string; before: unknown; after: unknown }>);
    assert.deepEqual(actions.map((e) => e.action).slice(0, 3), ['subscription.create', 'subscription.suspend', 'subscription.reactivate']);
    assert.ok(actions.every((e) => e.actor === 'admin-listener'));
    assert.ok(!JSON.stringify(actions).includes('ghk_'), 'the audit log never holds a key');
    const pageA = await mgmt('GET', '/management/audit?limit=1');
    const pageB = await mgmt('GET', `/management/audit?limit=1&after=${pageA.body.next as string}`);
    assert.equal((pageB.body.items as Array<{ seq: number }>)[0]!.seq, 2);
  });

  it('the audit log is append-only in the database itself', async () => {
    await assert.rejects(db.run("UPDATE audit_log SET actor = 'someone-else'"), /append-only/);
    await assert.rejects(db.run('DELETE FROM audit_log'), /append-only/);
  });

  it('the OpenAPI document is served and every answer above conformed to it', async () => {
    const r = await fetch(`${a.adminUrl}/management/openapi.json`);
    const doc = await r.json() as { openapi: string };
    assert.equal(doc.openapi, '3.1.0');
    for (const want of ['POST /subscriptions 201', 'POST /subscriptions 400', 'POST /subscriptions/{id}/suspend 409', 'GET /audit 200', 'GET /subscriptions/{id} 404', 'POST /subscriptions/{id}/keys/{key}/regenerate 200']) {
      assert.ok(checked.has(want), `not exercised: ${want}`);
    }
  });

  if (kind === 'postgres') {
    it('with the database unreachable, gateways keep serving the last known keys and say so in /readyz and /metrics', async () => {
      const dbName = new URL(dbUrl).pathname.slice(1);
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
      await admin.connect();
      try {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
        const key = sub.body.secondaryKey as string;
        for (const gw of both()) {
          const stale = await untilJson(`${gw.adminUrl}/readyz`, (j) => (j.subscriptions as { state?: string })?.state === 'stale', 5000);
          assert.equal((stale.subscriptions as { state: string }).state, 'stale');
          assert.equal((await withKey(gw, key)()).status, 200, 'the last known key still works');
          const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
          assert.match(metrics, /^gatehouse_subscriptions_store_up 0$/m);
        }
      } finally {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      for (const gw of both()) {
        const j = await untilJson(`${gw.adminUrl}/readyz`, (x) => x.subscriptions === 'current', 10_000);
        assert.equal(j.subscriptions, 'current');
      }
    });
  }
}

/** Call until the answer is a problem with `code`, at most `ms`; returns the last code. */
async function untilCode(call: () => Promise<Response>, code: string, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + scaled(ms);
  for (;;) {
    const r = await call();
    const got = r.headers.get('content-type') === 'application/problem+json' ? ((await r.json()) as { code: string }).code : (await r.arrayBuffer(), undefined);
    if (got === code || Date.now() > deadline) return got;
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function untilJson(url: string, ok: (j: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + scaled(ms);
  for (;;) {
    const j = await (await fetch(url)).json() as Record<string, unknown>;
    if (ok(j) || Date.now() > deadline) return j;
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('subscriptions on a shared SQLite file, two gateway processes', () => {
  suite('sqlite', async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-subs-')), 'identity.db')}`;
    return { url, db: await openDb(url, '/'), drop: async () => {} };
  });
});

const pgUp = await postgresAvailable('the subscriptions PostgreSQL tests');
describe('subscriptions on PostgreSQL, two gateway processes', { skip: !pgUp }, () => {
  suite('postgres', async () => {
    const name = `gatehouse_subs_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = `postgres://postgres@127.0.0.1:5432/${name}`;
    return {
      url,
      db: await openDb(url, '/'),
      drop: async () => {
        const c = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
        await c.end();
      },
    };
  });
});
