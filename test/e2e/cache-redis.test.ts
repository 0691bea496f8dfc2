import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { Redis } from 'ioredis';
import { startGateway, scaled, type SupervisedGateway } from '../helpers/gateway.js';
import { freePort, requireRedis, runPrefix, SHARED_REDIS } from '../state/redis-servers.js';

/*
 * The shared response cache in Redis: two gateway processes answer from one cache (one backend
 * call for both), values carry their TTL, and a gateway whose Redis is unreachable fails open: it
 * answers every request from the backend and counts the store errors.
 */

const skip = await requireRedis();
const prefix = runPrefix('cache');

let calls = 0;
let server: Server;
let origin = '';
const gateways: SupervisedGateway[] = [];

before(async () => {
  server = createServer((req, res) => {
    calls++;
    const body = JSON.stringify({ n: calls, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length), 'cache-control': 'max-age=60', etag: `"${calls}"` }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const g of gateways) {
    if (!g.alive()) console.error(g.describe(40));
    await g.stop();
  }
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (!skip) {
    const r = new Redis(SHARED_REDIS);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
  }
});

const config = (external: string) => `
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
  log: { level: error, access: false }
  cache: { external: "${external}" }
backends:
  origin: { url: "${origin}" }
apis:
  - name: shared
    path: /s
    backend: origin
    policies:
      inbound: [base, { cache-lookup: { caching-type: external } }]
      outbound: [base, { cache-store: {} }]
`;

/** Replicas behind one load balancer see one Host (the host is part of the cache key). */
async function get(gw: SupervisedGateway, path: string, host = 'api.example'): Promise<{ status: number; body: string; age: string | undefined }> {
  const r = await request(`${gw.url}${path}`, { headersTimeout: scaled(15000), headers: { host } });
  return { status: r.statusCode, body: await r.body.text(), age: r.headers.age as string | undefined };
}

describe('shared response cache in Redis', { skip }, () => {
  it('two gateway processes answer from one cache: one backend call, Age on the second', async () => {
    const url = `${SHARED_REDIS}?prefix=${prefix}`;
    const [a, b] = await Promise.all([startGateway(config(url)), startGateway(config(url))]);
    gateways.push(a!, b!);
    // both connect to Redis in the background after they start (a cache that is not connected yet
    // is a miss): warm up until each answers the other's entry
    const end = Date.now() + scaled(15000);
    for (let i = 0; ; i++) {
      await get(a!, `/s/warm/${i}`);
      await get(b!, `/s/warm/${i}`);
      if ((await get(a!, `/s/warm/${i}`)).age !== undefined && (await get(b!, `/s/warm/${i}`)).age !== undefined) break;
      if (Date.now() > end) throw new Error('the gateways never shared an entry');
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = calls;
    const first = await get(a!, '/s/item/1');
    const second = await get(b!, '/s/item/1');
    assert.equal(first.status, 200);
    assert.equal(second.body, first.body);
    assert.equal(calls - before, 1);
    assert.match(String(second.age), /^\d+$/);
    const otherHost = await get(b!, '/s/item/1', 'other.example');
    assert.notEqual(otherHost.body, first.body, 'another host is another entry');
    const r = new Redis(SHARED_REDIS);
    try {
      const keys = await r.keys(`${prefix}*`);
      assert.ok(keys.length >= 1, 'the entry is in Redis');
      for (const k of keys) {
        const ttl = await r.pttl(k);
        assert.ok(ttl > 0, 'every entry has a TTL');
        assert.ok(!k.includes('/s/item/1'), 'keys are hashed: no request data in Redis key names');
      }
    } finally {
      r.disconnect();
    }
  });

  it('a gateway whose Redis is down answers from the backend and counts the errors', async () => {
    const port = await freePort();
    const gw = await startGateway(config(`redis://127.0.0.1:${port}?prefix=${prefix}&timeout=50ms`));
    gateways.push(gw);
    const before = calls;
    for (let i = 0; i < 3; i++) assert.equal((await get(gw, '/s/down')).status, 200);
    assert.equal(calls - before, 3, 'every request reached the backend');
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    const line = metrics.split('\n').find((l) => l.startsWith('gatehouse_cache_store_errors_total{'));
    assert.ok(line !== undefined && Number(line.split(' ').pop()) > 0, 'store errors are counted');
    assert.ok(gw.alive());
  });
});
