import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startGateway, scaled, type SupervisedGateway } from '../helpers/gateway.js';

/*
 * Backends with several targets, through the real gateway: balancing, priority failover with
 * active and passive health, retries to another target within a budget, consistent hashing,
 * circuit breaking, and what the admin API reports. The targets are real HTTP servers that die,
 * answer 503, hang, and come back on their port. Assertions are on counts and outcomes.
 */

class TestTarget {
  status = 200;
  /** the health endpoint answers this */
  healthStatus = 200;
  served = 0;
  hold = false;
  port = 0;
  private server: Server | undefined;
  private readonly held: Array<() => void> = [];

  constructor(readonly name: string) {}

  async listen(port = this.port): Promise<this> {
    const s = createServer((req, res) => {
      if (req.url === '/healthz') return void res.writeHead(this.healthStatus).end('ok');
      this.served++;
      const answer = () => res.writeHead(this.status, { 'content-type': 'text/plain', 'x-target': this.name }).end(`${this.name} ${req.url}`);
      if (this.hold) this.held.push(answer);
      else answer();
    });
    s.keepAliveTimeout = 1000;
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    this.server = s;
    this.port = (s.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  release(): void {
    for (const a of this.held.splice(0)) a();
  }

  async die(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    this.release();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

const targets: TestTarget[] = [];
async function target(name: string): Promise<TestTarget> {
  const t = await new TestTarget(name).listen();
  targets.push(t);
  return t;
}

let gw: SupervisedGateway | undefined;
after(async () => {
  if (gw && !gw.alive()) console.error(gw.describe(40));
  await gw?.stop();
  await Promise.all(targets.map((t) => t.die()));
});

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; target: string | undefined; code?: string }> {
  const r = await request(`${gw!.url}${path}`, { method: method as 'GET', headers, headersTimeout: scaled(15000) });
  const body = await r.body.text();
  const code = r.headers['content-type']?.toString().includes('problem') ? (JSON.parse(body) as { code: string }).code : undefined;
  return { status: r.statusCode, body, target: r.headers['x-target'] as string | undefined, code };
}

const tally = (xs: Array<string | undefined>) => Object.fromEntries([...new Set(xs)].sort().map((x) => [String(x), xs.filter((y) => y === x).length]));

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = scaled(15000)): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('load-balanced backends (real targets)', () => {
  let a: TestTarget, b: TestTarget, c: TestTarget, dr: TestTarget, h1: TestTarget, h2: TestTarget, k1: TestTarget, k2: TestTarget, k3: TestTarget;
  let s1: TestTarget, s2: TestTarget, slow: TestTarget, w1: TestTarget, w2: TestTarget, f1: TestTarget, f2: TestTarget;

  before(async () => {
    [a, b, c, dr, h1, h2, k1, k2, k3, s1, s2, slow, w1, w2, f1, f2] = await Promise.all(
      ['a', 'b', 'c', 'dr', 'h1', 'h2', 'k1', 'k2', 'k3', 's1', 's2', 'slow', 'w1', 'w2', 'f1', 'f2'].map(target));
    gw = await startGateway(`
gateway: { listen: { http: 0 }, admin: { listen: 0 }, log: { level: warn, access: false } }
backends:
  rr:
    targets: [{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }]
  weighted:
    targets: [{ url: "${w1.url}", weight: 3 }, { url: "${w2.url}", weight: 1 }]
  passive:
    targets: [{ url: "${f1.url}" }, { url: "${dr.url}", priority: 1 }]
    health: { passive: { consecutive-failures: 3, ejection: 1s, max-ejected: 100% } }
  active:
    targets: [{ url: "${h1.url}" }, { url: "${h2.url}" }]
    health: { active: { path: /healthz, interval: 100ms, timeout: 500ms, healthy: 1, unhealthy: 2 } }
  retrying:
    targets: [{ url: "${s1.url}" }, { url: "${s2.url}" }]
    retries: { attempts: 1, on: [gateway-error] }
  hashed:
    targets: [{ url: "${k1.url}" }, { url: "${k2.url}" }, { url: "${k3.url}" }]
    balancer: consistent-hash
    hash-key: "{request.header.x-tenant}"
  small:
    targets: [{ url: "${slow.url}" }]
    health: { passive: { consecutive-failures: 100 } }
    circuit-breaker: { max-requests: 2, max-pending: 0 }
  lone:
    targets: [{ url: "${f2.url}" }]
    health: { active: { path: /healthz, interval: 100ms, timeout: 500ms, healthy: 1, unhealthy: 1 } }
apis:
  - { name: rr, path: /rr, backend: rr }
  - { name: weighted, path: /weighted, backend: weighted }
  - { name: passive, path: /passive, backend: passive }
  - { name: active, path: /active, backend: active }
  - { name: retrying, path: /retrying, backend: retrying }
  - { name: hashed, path: /hashed, backend: hashed }
  - { name: small, path: /small, backend: small }
  - { name: lone, path: /lone, backend: lone }
`);
  });

  it('round robin spreads requests evenly over the targets, each with its own base path and Host', async () => {
    const seen: Array<string | undefined> = [];
    for (let i = 0; i < 30; i++) seen.push((await get('/rr/x')).target);
    assert.deepEqual(tally(seen), { a: 10, b: 10, c: 10 });
  });

  it('weights share the traffic 3:1', async () => {
    const seen: Array<string | undefined> = [];
    for (let i = 0; i < 40; i++) seen.push((await get('/weighted/x')).target);
    assert.deepEqual(tally(seen), { w1: 30, w2: 10 });
  });

  it('passive health: a dead priority-0 target is ejected after the threshold, traffic fails over to priority 1, and comes back when it recovers', async () => {
    assert.equal((await get('/passive/x')).target, 'f1');
    await f1.die();
    const during: number[] = [];
    for (let i = 0; i < 10; i++) during.push((await get('/passive/x')).status);
    // three failures eject it; every request after goes to the disaster-recovery target
    assert.ok(during.filter((s) => s === 502).length <= 3, `at most the threshold failed: ${during.join(',')}`);
    assert.deepEqual(during.slice(-5), [200, 200, 200, 200, 200]);
    assert.ok(dr.served >= 5);
    await f1.listen();
    await until(async () => (await get('/passive/x')).target === 'f1', 'traffic back on the recovered priority-0 target');
  });

  it('active health: a target that fails its probes gets no traffic within an interval or two, and gets it back when it recovers', async () => {
    h1.healthStatus = 503;
    await until(async () => {
      const seen: Array<string | undefined> = [];
      for (let i = 0; i < 6; i++) seen.push((await get('/active/x')).target);
      return seen.every((t) => t === 'h2');
    }, 'h1 out of rotation');
    const before = h1.served;
    for (let i = 0; i < 10; i++) assert.equal((await get('/active/x')).target, 'h2');
    assert.equal(h1.served, before, 'an unhealthy target receives nothing');
    h1.healthStatus = 200;
    await until(async () => (await get('/active/x')).target === 'h1' || (await get('/active/x')).target === 'h1', 'h1 back in rotation');
  });

  it('every target down: 503 no-healthy-upstream with Retry-After, never a wait', async () => {
    f2.healthStatus = 500;
    await until(async () => (await get('/lone/x')).code === 'no-healthy-upstream', 'the only target unhealthy');
    const r = await request(`${gw!.url}/lone/x`);
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.doesNotMatch(await r.body.text(), /127\.0\.0\.1/, 'never where the backend is');
    f2.healthStatus = 200;
    await until(async () => (await get('/lone/x')).status === 200, 'the target back');
  });

  it('a 503 is retried on the other target: the client gets its 200; a POST is never retried', async () => {
    s1.status = 503;
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) seen.push((await get('/retrying/x')).status);
    assert.deepEqual(seen, Array(10).fill(200));
    assert.ok(s1.served >= 1, 'the failing target was tried');
    const posts: number[] = [];
    const s1Before = s1.served;
    for (let i = 0; i < 6; i++) posts.push((await get('/retrying/x', {}, 'POST')).status);
    assert.ok(posts.includes(503), `a POST that hit the failing target gets its 503: ${posts.join(',')}`);
    assert.ok(s1.served - s1Before <= 6, 'each POST went to one target only');
    s1.status = 200;
  });

  it('consistent hashing: a key stays on its target; when a target leaves only its keys move', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `tenant-${i}`);
    const place = async () => Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await get('/hashed/x', { 'x-tenant': k })).target] as const)));
    const first = await place();
    assert.deepEqual(await place(), first, 'the same key, the same target');
    assert.ok(new Set(Object.values(first)).size === 3, 'the keys use every target');
    await k2.die();
    // without health checks a dead target answers 502 until it is gone from the set: stop here at
    // what consistent hashing promises on the set itself: the other keys did not move
    const moved = keys.filter((k) => first[k] !== 'k2');
    for (const k of moved.slice(0, 20)) assert.equal((await get('/hashed/x', { 'x-tenant': k })).target, first[k], `${k} stayed on ${first[k]}`);
    await k2.listen();
  });

  it('circuit breaker: past max-requests with no queue, 503 upstream-overloaded at once; the held requests still complete', async () => {
    slow.hold = true;
    const held = [get('/small/1'), get('/small/2')];
    await until(() => slow.served >= 2, 'two requests held at the target');
    const over = await get('/small/3');
    assert.equal(over.status, 503);
    assert.equal(over.code, 'upstream-overloaded');
    slow.hold = false;
    slow.release();
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200]);
  });

  it('the admin API reports each backend: targets with health, ejection and requests in flight; /readyz sums them up', async () => {
    const r = await request(`${gw!.adminUrl}/backends`);
    const all = await r.body.json() as Record<string, { healthy: number; inFlight: number; targets: Array<{ url: string; healthy: boolean; ejected: boolean; outstanding: number; priority: number }> }>;
    assert.equal(all.rr!.targets.length, 3);
    assert.equal(all.passive!.targets[1]!.priority, 1);
    for (const t of all.rr!.targets) assert.deepEqual([t.healthy, t.ejected, t.outstanding], [true, false, 0]);
    const ready = await (await request(`${gw!.adminUrl}/readyz`)).body.json() as { status: string; backends: Record<string, string> };
    assert.equal(ready.status, 'ready');
    assert.equal(ready.backends.rr, '3/3 healthy');
  });

  it('metrics count requests per target', async () => {
    const text = await (await request(`${gw!.adminUrl}/metrics`)).body.text();
    assert.match(text, /gatehouse_upstream_requests_total\{backend="rr",target="http:\/\/127\.0\.0\.1:\d+\/?",result="success"\} [1-9]\d*/);
    assert.match(text, /gatehouse_upstream_health_changes_total\{backend="active",target="[^"]+",state="unhealthy",cause="active"\} [1-9]/);
  });
});

describe('retry budget during an outage (real targets)', () => {
  let o1: TestTarget, o2: TestTarget;
  let g2: SupervisedGateway | undefined;
  before(async () => {
    [o1, o2] = await Promise.all([target('o1'), target('o2')]);
    o1.status = 503;
    o2.status = 503;
    g2 = await startGateway(`
gateway: { listen: { http: 0 }, log: { level: warn, access: false } }
backends:
  outage:
    targets: [{ url: "${o1.url}" }, { url: "${o2.url}" }]
    retries: { attempts: 2, on: [gateway-error], budget: 20% }
apis:
  - { name: outage, path: /outage, backend: outage }
`);
  });
  after(async () => { await g2?.stop(); });

  it('keeps the load on the backend within the budget: retries never multiply an outage', async () => {
    const N = 1000;
    const started = Date.now();
    for (let i = 0; i < N; i += 25) {
      await Promise.all(Array.from({ length: 25 }, () => request(`${g2!.url}/outage/x`).then((r) => r.body.dump())));
    }
    const windows = Math.ceil((Date.now() - started) / 10_000);
    const load = o1.served + o2.served;
    // without a budget: up to 3 tries each (3,000); with it: the requests, 20 % of them, and the
    // reserve of 10 retries per second over the budget's 10 s window
    const bound = N * 1.2 + 100 * windows;
    assert.ok(load >= N, `every request reached the backend: ${load}`);
    assert.ok(load <= bound, `backend load ${load} for ${N} requests stays within the budget (${Math.round(bound)})`);
  });
});
