import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startGatehouse, startNode, ROOT, type Proc } from './harness.js';
import { jwksServer } from './idp.js';
import { gatehouseChainYaml } from './haproxy.js';

/**
 * `npm run bench capacity` (issue 19), on the full chain (bench/haproxy.ts):
 *  - latency: p99 at half the gateway's maximum rate, against a direct call to the backend at the
 *    same rate (target: ≤ 2 ms added), interleaved rounds, medians;
 *  - workers: maximum req/s with `workers: 2` against 1 (both with the rate-limit counters in
 *    Redis, as workers need), the load generator (autocannon) pinned to one core with taskset and
 *    the gateway and backend left to the scheduler.
 */

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface Run { rps: number; p50: number; p99: number; non2xx: number; errors: number }

/** autocannon in its own process, pinned to `cpu` */
function cannon(url: string, headers: Record<string, string>, seconds: number, rate?: number, cpu = '1'): Promise<Run> {
  const args = ['-c', cpu, process.execPath, AUTOCANNON, '-j', '-c', '32', '-d', String(seconds), ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`])];
  if (rate !== undefined) args.push('-R', String(rate));
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      try {
        const j = JSON.parse(out) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
        resolve({ rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, non2xx: j.non2xx, errors: j.errors });
      } catch (e) { reject(new Error(`autocannon output: ${out.slice(0, 300)} ${String(e)}`)); }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function runCapacityBench(rounds = Number(process.env.BENCH_ROUNDS ?? 3), seconds = Number(process.env.BENCH_SECONDS ?? 5)): Promise<string> {
  const backend = await startNode([join(ROOT, 'dist', 'bench', 'backend.js')]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const idp = await jwksServer();
  const gws: Proc[] = [];
  const lines: string[] = [];
  try {
    const token = await idp.token('RS256');
    const headers = { authorization: `Bearer ${token}` };
    const yaml = gatehouseChainYaml(backendUrl, idp.url);
    // workers share their counters through Redis (a memory store is refused with workers > 1), so
    // both rows of the workers comparison use it; the latency row uses the memory store
    const store = `  store: "redis://127.0.0.1:6379/0?prefix=bench:${process.pid}:${Date.now().toString(36)}:"\n`;
    const gw = await startGatehouse(yaml);
    gws.push(gw);
    const one = await startGatehouse(yaml.replace('gateway:\n', `gateway:\n${store}`));
    gws.push(one);
    const two = await startGatehouse(yaml.replace('gateway:\n', `gateway:\n  workers: 2\n${store}`));
    gws.push(two);
    const u0 = `http://127.0.0.1:${gw.port}/orders/7`;
    const u1 = `http://127.0.0.1:${one.port}/orders/7`;
    const u2 = `http://127.0.0.1:${two.port}/orders/7`;
    for (const u of [u0, u1, u2]) {
      for (let i = 0; i < 200; i++) { const r = await fetch(u, { headers }); await r.arrayBuffer(); if (r.status === 200) break; await new Promise((w) => setTimeout(w, 100)); }
    }
    // workers: saturated, interleaved
    const sat: Record<string, Run[]> = { one: [], two: [] };
    for (let r = 0; r < rounds; r++) {
      sat.one!.push(await cannon(u1, headers, seconds));
      sat.two!.push(await cannon(u2, headers, seconds));
    }
    const max1 = median(sat.one!.map((x) => x.rps));
    const max2 = median(sat.two!.map((x) => x.rps));
    // latency at half the maximum rate (memory store, one process), against the backend called directly
    const max0 = median(await Promise.all([0].map(() => cannon(u0, headers, seconds))).then((xs) => xs.map((x) => x.rps)));
    const half = Math.max(50, Math.round(max0 / 2));
    const lat: Record<string, Run[]> = { direct: [], gw: [] };
    for (let r = 0; r < rounds; r++) {
      lat.direct!.push(await cannon(`${backendUrl}/orders/7`, headers, seconds, half));
      lat.gw!.push(await cannon(u0, headers, seconds, half));
    }
    const p = (k: string, f: 'p50' | 'p99') => median(lat[k]!.map((x) => x[f]));
    const bad = [...sat.one!, ...sat.two!, ...lat.gw!].reduce((a, x) => a + x.non2xx + x.errors, 0);
    lines.push(
      `Load generator pinned to CPU 1 (\`taskset -c 1\`); ${rounds} interleaved rounds × ${seconds} s, medians; full chain. Errors/non-2xx over all runs: ${bad}.`,
      '',
      '| workers | max req/s | p50 ms | p99 ms |',
      '|---:|---:|---:|---:|',
      `| 1 | ${Math.round(max1)} | ${median(sat.one!.map((x) => x.p50))} | ${median(sat.one!.map((x) => x.p99))} |`,
      `| 2 | ${Math.round(max2)} (${(max2 / max1).toFixed(2)}×) | ${median(sat.two!.map((x) => x.p50))} | ${median(sat.two!.map((x) => x.p99))} |`,
      '',
      `| at ${half} req/s (half of the maximum, ${Math.round(max0)} req/s, one process, memory store) | p50 ms | p99 ms |`,
      '|---|---:|---:|',
      `| backend called directly | ${p('direct', 'p50')} | ${p('direct', 'p99')} |`,
      `| through the gateway (full chain) | ${p('gw', 'p50')} | ${p('gw', 'p99')} |`,
      `| **added by the gateway** | ${(p('gw', 'p50') - p('direct', 'p50')).toFixed(1)} | **${(p('gw', 'p99') - p('direct', 'p99')).toFixed(1)}** (target ≤ 2) |`,
    );
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
    await backend.stop();
    idp.close();
  }
  const out = lines.join('\n');
  console.log(out);
  return out;
}
