import { join } from 'node:path';
import { request } from 'undici';
import { measure, startGatehouse, startNode, table, ROOT, type Proc, type Scenario } from './harness.js';

/**
 * `npm run bench edge` (issue 13): the cost of balancing (round robin over three targets against
 * one target, the gateway's CPU per request), a cache hit against a proxied request, and failover
 * time: how long after a target is killed requests still fail, with active health checks and with
 * passive outlier detection.
 */

const dist = join(ROOT, 'dist', 'bench');

async function backends(n: number): Promise<Proc[]> {
  return Promise.all(Array.from({ length: n }, () => startNode([join(dist, 'backend.js')])));
}

const gatewayYaml = (backend: string) => `gateway:\n  listen: { http: 0 }\nbackends:\n${backend}apis:\n  - { name: bench, path: /, backend: b }\n`;

export async function runEdgeBench(): Promise<string> {
  const procs = await backends(3);
  const urls = procs.map((p) => `http://127.0.0.1:${p.port}`);
  const scenario = (name: string, backend: string): Scenario => ({
    name,
    start: async () => {
      const g = await startGatehouse(gatewayYaml(backend));
      return { url: `http://127.0.0.1:${g.port}/orders/7`, pid: g.child.pid!, stop: g.stop };
    },
  });
  try {
    const rows = await measure([
      scenario('one target (url)', `  b: { url: "${urls[0]}" }\n`),
      scenario('one target through the balancing dispatcher (passive health)', `  b:\n    targets: [{ url: "${urls[0]}" }]\n    health: { passive: { consecutive-failures: 5 } }\n`),
      scenario('round robin over 3 targets', `  b:\n    targets: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]\n`),
      scenario('least request over 3 targets', `  b:\n    balancer: least-request\n    targets: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]\n`),
      scenario('round robin over 3 targets, active + passive health', `  b:\n    targets: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]\n    health: { active: { path: /healthz, interval: 1s }, passive: { consecutive-failures: 5 } }\n`),
    ]);
    const out = ['Target: round robin over 3 targets ≤ 1.05× one target (CPU per request of the gateway).', '', table(rows, 'one target (url)'), ''];
    out.push('| failover (a target killed under 200 req/s) | failed requests | time from the kill to the last failure |', '|---|---:|---:|');
    out.push(await failover('passive: 3 consecutive failures', 'health: { passive: { consecutive-failures: 3, ejection: 30s } }'));
    out.push(await failover('active: probes every 500 ms, 2 failures', 'health: { active: { path: /healthz, interval: 500ms, timeout: 250ms, unhealthy: 2 } }'));
    out.push(await failover('active + passive', 'health: { active: { path: /healthz, interval: 500ms, timeout: 250ms, unhealthy: 2 }, passive: { consecutive-failures: 3, ejection: 30s } }'));
    out.push('', await runCacheBench(urls[0]!));
    return out.join('\n');
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

/**
 * A cache hit against a proxied request (the same API, the same backend answer): the gateway's
 * CPU per request. The hit runs route, cache-lookup (key, memory store, freshness) and the send;
 * the proxied request also runs the forward to the backend and streams its answer back.
 */
export async function runCacheBench(backendUrl: string): Promise<string> {
  const api = (policies: string) => `gateway:\n  listen: { http: 0 }\nbackends:\n  b: { url: "${backendUrl}" }\napis:\n  - name: bench\n    path: /\n    backend: b\n${policies}`;
  const cached = '    policies:\n      inbound: [base, { cache-lookup: {} }]\n      outbound: [base, { cache-store: { duration: 600 } }]\n';
  const scenario = (name: string, yaml: string, headers?: Record<string, string>): Scenario => ({
    name,
    load: headers ? { headers } : undefined,
    start: async () => {
      const g = await startGatehouse(yaml);
      return { url: `http://127.0.0.1:${g.port}/orders/7`, pid: g.child.pid!, stop: g.stop };
    },
  });
  const rows = await measure([
    scenario('proxied (no cache)', api('')),
    scenario('cache hit (memory)', api(cached)),
    scenario('cache-lookup bypassed (Authorization), proxied', api(cached), { authorization: 'Bearer x' }),
  ]);
  return ['Target: cache hit ≤ 0.5× a proxied request (CPU per request of the gateway).', '', table(rows, 'proxied (no cache)')].join('\n');
}

/** Kill one of two targets while requests flow at a fixed rate; how long do failures go on? */
async function failover(name: string, health: string): Promise<string> {
  const procs = await backends(2);
  const g = await startGatehouse(gatewayYaml(`  b:\n    targets: [${procs.map((p) => `{ url: "http://127.0.0.1:${p.port}" }`).join(', ')}]\n    ${health}\n`));
  try {
    const url = `http://127.0.0.1:${g.port}/orders/7`;
    let killedAt = 0;
    let lastFailure = 0;
    let failures = 0;
    const send = async () => {
      const r = await request(url).catch(() => undefined);
      if (r) await r.body.dump();
      if (killedAt > 0 && (r === undefined || r.statusCode >= 500)) { failures++; lastFailure = performance.now(); }
    };
    const inFlight: Array<Promise<void>> = [];
    const tick = setInterval(() => { inFlight.push(send()); }, 5);
    await new Promise((r) => setTimeout(r, 1000));
    killedAt = performance.now();
    procs[0]!.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    clearInterval(tick);
    await Promise.all(inFlight);
    return `| ${name} | ${failures} | ${failures === 0 ? '0' : Math.round(lastFailure - killedAt)} ms |`;
  } finally {
    await g.stop();
    // the killed target has exited already; the other one is stopped
    await Promise.all(procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null).map((p) => p.stop()));
  }
}
