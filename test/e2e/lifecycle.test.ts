import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { assertProblem, closedPort, rawConnect, sleep, startServer, waitFor, watchBackend } from '../helpers/raw.js';

/**
 * The gateway process over time: reload under traffic (SIGHUP and file change), a refused
 * reload, graceful shutdown, the admin listener and its metrics, and worker processes.
 */

let backend: TestBackend;
let slow: Awaited<ReturnType<typeof startServer>>;
let slowRequests = 0;
let deadPort = 0;

before(async () => {
  deadPort = await closedPort();
  backend = await startBackend();
  slow = await startServer((req, res) => {
    slowRequests++;
    req.resume();
    const t = setTimeout(() => res.end('slow done'), 1500);
    res.on('close', () => clearTimeout(t));
  });
});

after(async () => {
  await backend?.close();
  await slow?.close();
});

const config = (version: string, extra = '') => `
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
  shutdown-timeout: 10s
backends:
  echo: { url: ${backend.url} }
  slow: { url: ${slow.url} }
  dead: { url: "http://127.0.0.1:${deadPort}" }
apis:
  - name: dead
    path: /dead
    backend: dead
  - name: orders
    path: /orders
    backend: echo
    policies:
      outbound:
        - set-header: { name: X-Config-Version, value: "${version}" }
  - name: slow
    path: /slow
    backend: slow
    policies:
      outbound:
        - set-header: { name: X-Config-Version, value: "${version}" }
${extra}`;

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const r = await request(url, { headers });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

/** Wait for the process to exit by itself (no signal). */
function exited(gw: RunningGateway): Promise<number | null> {
  if (gw.proc.exitCode !== null || gw.proc.signalCode !== null) return Promise.resolve(gw.proc.exitCode);
  return new Promise((r) => gw.proc.once('exit', (code) => r(code)));
}

function reportIfDead(gw: RunningGateway | undefined): void {
  if (gw && gw.proc.exitCode !== null && gw.proc.exitCode !== 0) console.error(`gateway exited with ${gw.proc.exitCode}:\n${gw.text.join('\n')}`);
}

describe('reload', () => {
  let gw: RunningGateway;
  before(async () => { gw = await startGateway(config('v1')); });
  after(async () => { reportIfDead(gw); await gw?.stop(); });

  it('switches to a new config under traffic (SIGHUP) without failing a request', { timeout: 120_000 }, async () => {
    const MIN = 2000;
    const MAX = 20000;
    const CONCURRENCY = 4;
    const versions: string[] = [];
    const failures: string[] = [];
    let sent = 0;
    let reloaded = false;
    let v2Seen = 0;
    const worker = async () => {
      while (sent < MAX && (sent < MIN || v2Seen < 200)) {
        const n = sent++;
        if (n === 300 && !reloaded) {
          reloaded = true;
          writeFileSync(gw.configFile, config('v2'));
          gw.proc.kill('SIGHUP');
        }
        try {
          const r = await get(`${gw.url}/orders/${n}`);
          if (r.status !== 200) failures.push(`#${n}: ${r.status} ${r.body.toString().slice(0, 200)}`);
          const v = String(r.headers['x-config-version']);
          versions.push(v);
          if (v === 'v2') v2Seen++;
        } catch (err) {
          failures.push(`#${n}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(failures, [], 'no request failed during the reload');
    assert.ok(versions.length >= MIN);
    assert.equal(versions[0], 'v1', 'the old config served first');
    assert.equal(versions.at(-1), 'v2', 'the new config serves after the reload');
    assert.ok(versions.every((v) => v === 'v1' || v === 'v2'), `unexpected values: ${[...new Set(versions)].join(', ')}`);
    // once the switch happened, it stays switched: no v1 among the last 100 responses
    assert.ok(versions.slice(-100).every((v) => v === 'v2'));
    await gw.waitForLog((l) => l.msg === 'config reloaded');
  });

  it('lets a request in flight during a reload finish on the config it started with', { timeout: 30_000 }, async () => {
    writeFileSync(gw.configFile, config('v3'));
    gw.proc.kill('SIGHUP');
    await waitFor(() => gw.logs.filter((l) => l.msg === 'config reloaded').length >= 1, 10000, 'reload');
    // wait until v3 serves
    for (let i = 0; i < 50; i++) {
      if ((await get(`${gw.url}/orders/x`)).headers['x-config-version'] === 'v3') break;
      await sleep(100);
    }
    const reloadsBefore = gw.logs.filter((l) => l.msg === 'config reloaded').length;
    const before = slowRequests;
    const inFlight = get(`${gw.url}/slow/x`);
    await waitFor(() => slowRequests > before, 5000, 'the slow request to reach the backend');
    writeFileSync(gw.configFile, config('v4'));
    gw.proc.kill('SIGHUP');
    await waitFor(() => gw.logs.filter((l) => l.msg === 'config reloaded').length > reloadsBefore, 10000, 'reload');
    const fresh = await get(`${gw.url}/orders/x`);
    assert.equal(fresh.headers['x-config-version'], 'v4', 'a new request sees the new config');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'slow done');
    assert.equal(r.headers['x-config-version'], 'v3', 'the in-flight request finished on the old config');
  });

  it('reloads when the config file changes, without a signal', { timeout: 30_000 }, async () => {
    writeFileSync(gw.configFile, config('v5'));
    let v: unknown;
    for (let i = 0; i < 100; i++) {
      v = (await get(`${gw.url}/orders/x`)).headers['x-config-version'];
      if (v === 'v5') break;
      await sleep(100);
    }
    assert.equal(v, 'v5');
  });

  it('refuses an invalid new config, logs its errors with file:line, and keeps serving the old one', { timeout: 30_000 }, async () => {
    const good = (await get(`${gw.url}/orders/x`)).headers['x-config-version'];
    const refusedBefore = gw.logs.filter((l) => String(l.msg).includes('config reload refused')).length;
    writeFileSync(gw.configFile, config('v-bad') + `
  - name: broken
    path: /broken
    backend: no-such-backend
    unknown-key: 1
`);
    gw.proc.kill('SIGHUP');
    await waitFor(() => gw.logs.filter((l) => String(l.msg).includes('config reload refused')).length > refusedBefore, 10000, "the 'config reload refused' log line");
    const line = gw.logs.filter((l) => String(l.msg).includes('config reload refused')).at(-1)!;
    const text = JSON.stringify(line);
    assert.match(text, /gatehouse\.yaml:\d+:\d+/, `the log names file:line:column: ${text}`);
    assert.match(text, /unknown-key|no-such-backend/);
    for (let i = 0; i < 20; i++) {
      const r = await get(`${gw.url}/orders/x`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-config-version'], good, 'the previous config keeps serving');
    }
    assert.equal(gw.proc.exitCode, null, 'the process is still running');
    const broken = await get(`${gw.url}/broken/x`);
    assertProblem(broken, 404, 'route-not-found');
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the request in flight, refuses new connections, and exits 0', { timeout: 60_000 }, async () => {
    const gw = await startGateway(config('v1'));
    try {
      const before = slowRequests;
      const inFlight = get(`${gw.url}/slow/x`);
      await waitFor(() => slowRequests > before, 5000, 'the slow request to reach the backend');
      gw.proc.kill('SIGTERM');
      await gw.waitForLog((l) => l.msg === 'shutting down');
      await sleep(100);
      await assert.rejects(rawConnect(gw.port), 'no new connection is accepted while draining');
      const r = await inFlight;
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'slow done');
      assert.equal(await exited(gw), 0);
    } finally {
      reportIfDead(gw);
      await gw.stop();
    }
  });

  it('on SIGTERM cuts a request that outlives shutdown-timeout and still exits 0', { timeout: 60_000 }, async () => {
    const hang = await startServer(() => { /* never answers */ });
    const hangSeen = watchBackend(hang.server);
    const gw = await startGateway(`
gateway:
  listen: { http: 0 }
  shutdown-timeout: 1s
backends:
  hang: { url: ${hang.url} }
apis:
  - { name: hang, path: /hang, backend: hang }
`);
    try {
      const inFlight = get(`${gw.url}/hang/x`).then(() => 'answered', () => 'cut');
      await waitFor(() => hangSeen.requests.length > 0, 5000, 'the request to reach the backend');
      gw.proc.kill('SIGTERM');
      assert.equal(await exited(gw), 0);
      assert.ok(['answered', 'cut'].includes(await inFlight));
    } finally {
      reportIfDead(gw);
      await gw.stop();
      await hang.close();
    }
  });

  it('exits 0 on SIGTERM when idle', { timeout: 30_000 }, async () => {
    const gw = await startGateway(config('v1'));
    await get(`${gw.url}/orders/x`);
    const code = await gw.stop();
    assert.equal(code, 0);
  });
});

describe('admin listener', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(config('v1', `
  - name: walled
    path: /walled
    backend: echo
    policies:
      inbound:
        - ip-filter: { action: forbid, addresses: [127.0.0.1, "::1"] }
  - name: ops
    path: /ops
    backend: echo
    operations:
      - { id: get-thing, method: GET, path: "/things/{id}" }
`));
  });
  after(async () => { reportIfDead(gw); await gw?.stop(); });

  it('runs on its own port, bound to loopback', async () => {
    assert.ok(gw.ports.admin);
    assert.notEqual(gw.ports.admin, gw.port);
    const line = gw.logs.find((l) => l.msg === 'listening' && l.listener === 'admin')!;
    assert.equal(line.host, '127.0.0.1');
  });

  it('answers /healthz and /readyz', async () => {
    const h = await get(`${gw.adminUrl}/healthz`);
    assert.equal(h.status, 200);
    const r = await get(`${gw.adminUrl}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body.toString()).status, 'ready');
  });

  it('does not serve admin paths on the public port', async () => {
    for (const p of ['/metrics', '/healthz', '/readyz']) {
      const r = await get(`${gw.url}${p}`);
      assertProblem(r, 404, 'route-not-found');
      assert.doesNotMatch(r.body.toString(), /gatehouse_requests_total/);
    }
  });

  it('does not proxy API paths on the admin port', async () => {
    const before = backend.requests.length;
    const r = await get(`${gw.adminUrl}/orders/1`);
    assert.equal(r.status, 404);
    assert.equal(backend.requests.length, before);
  });

  it('reports requests by api/operation/status, the duration histograms and rejections by policy and code', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.url}/orders/${i}`)).status, 200);
    assert.equal((await get(`${gw.url}/ops/things/1`)).status, 200);
    assertProblem(await get(`${gw.url}/walled/x`), 403, 'caller-ip-not-allowed');
    assertProblem(await get(`${gw.url}/nowhere`), 404);
    await sleep(100);
    const m = (await get(`${gw.adminUrl}/metrics`)).body.toString();
    const value = (re: RegExp) => { const x = re.exec(m); return x ? Number(x[1]) : undefined; };
    assert.ok((value(/^gatehouse_requests_total\{[^}]*api="orders"[^}]*status="200"[^}]*\} (\d+)/m) ?? 0) >= 3, m.slice(0, 2000));
    assert.match(m, /^gatehouse_requests_total\{(?=[^}]*api="ops")(?=[^}]*operation="get-thing")(?=[^}]*status="200")[^}]*\} 1$/m);
    assert.match(m, /^gatehouse_requests_total\{(?=[^}]*api="walled")(?=[^}]*status="403")[^}]*\} 1$/m);
    assert.match(m, /^gatehouse_requests_total\{[^}]*status="404"[^}]*\} \d+$/m);
    assert.match(m, /^gatehouse_gateway_duration_seconds_bucket\{[^}]*api="orders"/m);
    assert.match(m, /^gatehouse_backend_duration_seconds_bucket\{[^}]*api="orders"/m);
    assert.match(m, /^gatehouse_gateway_duration_seconds_count\{[^}]*api="orders"[^}]*\} [1-9]/m);
    assert.match(m, /^gatehouse_policy_rejections_total\{(?=[^}]*policy="ip-filter")(?=[^}]*code="caller-ip-not-allowed")[^}]*\} 1$/m);
  });

  it('writes one access log line per request, without Authorization, cookies or tokens', async () => {
    const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl';
    const r = await get(`${gw.url}/orders/logged?access_token=${secret}`, {
      authorization: `Bearer ${secret}`,
      cookie: `session=${secret}`,
      'x-request-id': 'access-log-test-1',
    });
    assert.equal(r.status, 200);
    const line = await gw.waitForLog((l) => l.msg === 'request' && l.requestId === 'access-log-test-1');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/orders/logged');
    assert.equal(line.api, 'orders');
    assert.equal(line.status, 200);
    assert.equal(line.clientIp, '127.0.0.1');
    assert.equal(typeof line.bytesOut, 'number');
    assert.equal(typeof line.gatewayMs, 'number');
    const all = [...gw.logs.map((l) => JSON.stringify(l)), ...gw.text].join('\n');
    assert.ok(!all.includes(secret), 'no log line contains the token, cookie or Authorization value');
    assert.equal(gw.logs.filter((l) => l.msg === 'request' && l.requestId === 'access-log-test-1').length, 1, 'exactly one access log line');
  });

  it('counts backend errors by backend and reason code', async () => {
    assertProblem(await get(`${gw.url}/dead/x`), 502, 'backend-unreachable');
    const m = (await get(`${gw.adminUrl}/metrics`)).body.toString();
    assert.match(m, /^gatehouse_backend_errors_total\{(?=[^}]*backend="dead")(?=[^}]*code="backend-unreachable")[^}]*\} 1$/m);
  });
});

describe('workers', () => {
  it('runs two worker processes that both serve, and /metrics reports the sum over workers; the management API asks the workers', { timeout: 60_000 }, async () => {
    const gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
  workers: 2
backends:
  echo: { url: ${backend.url} }
apis:
  - name: orders
    path: /orders
    backend: echo
subscriptions: { database: "sqlite:./identity.db" }
`);
    try {
      const pids = () => execFileSync('ps', ['--ppid', String(gw.proc.pid), '-o', 'pid=']).toString().split('\n').map((s) => s.trim()).filter(Boolean);
      await waitFor(() => pids().length === 2, 15000, 'two worker processes');
      // /readyz is ready only once every worker is up
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        ready = (await get(`${gw.adminUrl}/readyz`)).status === 200;
        if (!ready) await sleep(100);
      }
      assert.ok(ready, '/readyz turns ready once both workers listen');
      const N = 40;
      for (let i = 0; i < N; i++) {
        const r = await get(`${gw.url}/orders/${i}`, { connection: 'close' });
        assert.equal(r.status, 200);
      }
      // each worker writes its own access log lines (with its pid)
      await waitFor(() => gw.logs.filter((l) => l.msg === 'request').length >= N, 10000, 'access log lines');
      const servedBy = new Set(gw.logs.filter((l) => l.msg === 'request').map((l) => l.pid));
      const workers = new Set(pids().map(Number));
      assert.equal(servedBy.size, 2, `requests were served by ${servedBy.size} process(es)`);
      for (const p of servedBy) assert.ok(workers.has(p as number), `pid ${p} is a worker`);
      const m = (await get(`${gw.adminUrl}/metrics`)).body.toString();
      const total = [...m.matchAll(/^gatehouse_requests_total\{(?=[^}]*api="orders")(?=[^}]*status="200")[^}]*\} (\d+)$/gm)].reduce((s, x) => s + Number(x[1]), 0);
      assert.equal(total, N, `/metrics counts ${total} of the ${N} requests`);
      const r = await get(`${gw.adminUrl}/readyz`);
      assert.equal(r.status, 200, r.body.toString());
      // the primary's management API: the workers' backends, APIs and recent errors
      const missing = await get(`${gw.url}/nowhere`, { connection: 'close' });
      const requestId = missing.headers['x-request-id'];
      const json = async (path: string) => JSON.parse((await get(`${gw.adminUrl}/management${path}`)).body.toString()) as Record<string, unknown>;
      const byWorker = Object.keys(await json('/backends'));
      assert.ok(byWorker.length >= 1 && byWorker.every((k) => /^worker-\d+$/.test(k)), byWorker.join());
      assert.deepEqual((await json('/apis')).items, [{ name: 'orders', hosts: ['*'], path: '/orders', backend: 'echo', products: [], operations: 0 }]);
      const errors = (await json('/errors')).items as Array<{ requestId: string; status: number }>;
      assert.ok(errors.some((e) => e.requestId === requestId && e.status === missing.status), JSON.stringify(errors));
      const code = await gw.stop();
      assert.equal(code, 0);
      await waitFor(() => { try { return pids().length === 0; } catch { return true; } }, 10000, 'the workers to exit');
    } finally {
      reportIfDead(gw);
      await gw.stop();
    }
  });
});
