import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

/** Shared pieces of `npm run bench`: processes, load, CPU per request from /proc. */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLK_TCK = 100; // Linux USER_HZ

export interface Proc { child: ChildProcess; port: number; stop(): Promise<void> }

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Spawn a node process and wait for a JSON line with `port` (or `msg: listening`). */
export function startNode(args: string[], opts: { env?: Record<string, string>; listener?: string } = {}): Promise<Proc> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const t = setTimeout(() => rej(new Error(`process did not start: ${args.join(' ')}\n${lines.join('\n')}`)), 20000);
    const onLine = (line: string) => {
      lines.push(line);
      if (!line.startsWith('{')) return;
      try {
        const j = JSON.parse(line);
        if (typeof j.port === 'number' && (opts.listener === undefined || j.listener === opts.listener)) {
          clearTimeout(t);
          res({
            child, port: j.port,
            stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 5000).unref(); }),
          });
        }
      } catch { /* not json */ }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => { clearTimeout(t); rej(new Error(`exited ${code}: ${args.join(' ')}\n${lines.join('\n')}`)); });
  });
}

/**
 * Start gatehouse with a YAML config. `root` is the checkout whose gatehouse runs (default this
 * one; BENCH_BASELINE names another, built, checkout to compare with in the same run).
 */
export function startGatehouse(yaml: string, env: Record<string, string> = {}, root = ROOT): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  // BENCH_GATEHOUSE_NODE_FLAGS: Node/V8 flags for the gatehouse processes only (e.g. GC sizes to try)
  const flags = process.env.BENCH_GATEHOUSE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  return startNode([...flags, join(root, 'bin/gatehouse.js'), 'start', '--config', file], { env, listener: 'http' });
}

/**
 * BENCH_BASELINE=<path of another checkout, built with `npm run build`>: the gateway sections add
 * a "baseline:" row for each gatehouse scenario, run by that checkout in the same interleaved
 * rounds, so a change's before/after ratio is measured in one run.
 */
export const BASELINE: string | undefined = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;

export interface LoadResult {
  name: string;
  requests: number;
  /** saturated throughput (all connections busy) */
  rps: number;
  /** the fixed request rate at which CPU and latency were measured */
  rate: number;
  p50: number;
  p99: number;
  /** µs of CPU of the measured process per request, at `rate` */
  cpuUs: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  /** the pid whose CPU is measured (the proxy / gateway) */
  pid: number;
  seconds?: number;
  connections?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** several request variants, used round-robin (e.g. 10,000 distinct tokens) */
  requests?: Array<{ headers?: Record<string, string>; body?: string; method?: string; path?: string }>;
  /** measure CPU and latency with every connection busy (as a loop that cannot do fixed rates must) */
  saturated?: boolean;
  /** TLS client options (e.g. a client certificate) */
  tlsOptions?: Record<string, unknown>;
}

/**
 * Two measurements per scenario:
 *  - saturated (every connection busy) for the maximum req/s;
 *  - a fixed request rate (BENCH_RATE, default 2,000/s, or 60% of the saturated rate when that is
 *    lower) for CPU µs per request and latency. At a fixed rate every scenario does the same work
 *    per second, so CPU per request compares like with like; at saturation a slower process
 *    batches more requests per event-loop turn, which hides part of its cost.
 */
export async function load(name: string, o: LoadOptions): Promise<LoadResult> {
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? 5);
  const opts: Record<string, unknown> = { url: o.url, connections: o.connections ?? 32 };
  if (o.method) opts.method = o.method;
  if (o.headers) opts.headers = o.headers;
  if (o.body !== undefined) opts.body = o.body;
  if (o.requests) opts.requests = o.requests;
  if (o.tlsOptions) opts.tlsOptions = o.tlsOptions;
  // warm up (JIT, pools, caches), then saturate briefly for the maximum throughput
  await autocannon({ ...opts, duration: 1 } as autocannon.Options);
  let cpu0 = cpuSeconds(o.pid);
  const sat = await autocannon({ ...opts, duration: o.saturated ? seconds : Math.max(1, Math.round(seconds / 2)) } as autocannon.Options);
  let cpu1 = cpuSeconds(o.pid);
  let r = sat;
  let rate = Math.round(sat.requests.average);
  if (!o.saturated) {
    rate = Math.max(50, Math.min(Number(process.env.BENCH_RATE ?? 2000), Math.floor(sat.requests.average * 0.6)));
    cpu0 = cpuSeconds(o.pid);
    r = await autocannon({ ...opts, duration: seconds, overallRate: rate } as autocannon.Options);
    cpu1 = cpuSeconds(o.pid);
  }
  const total = r.requests.total;
  return {
    name,
    requests: total,
    rps: Math.round(sat.requests.average),
    rate,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuUs: total > 0 ? ((cpu1 - cpu0) * 1e6) / total : NaN,
    errors: r === sat ? r.errors + r.timeouts : r.errors + r.timeouts + sat.errors + sat.timeouts,
    non2xx: r === sat ? r.non2xx : r.non2xx + sat.non2xx,
  };
}

export function table(rows: LoadResult[], baseline: string, second?: string): string {
  const base = rows.find((r) => r.name === baseline);
  const b2 = second ? rows.find((r) => r.name === second) : undefined;
  const head = `| scenario | max req/s | at req/s | p50 ms | p99 ms | CPU µs/req | vs ${baseline}${b2 ? ` | vs ${second}` : ''} | errors/non-2xx |`;
  const sep = `|---|---:|---:|---:|---:|---:|---:|${b2 ? '---:|' : ''}---:|`;
  const fmt = (r: LoadResult) => {
    const ratio = base && Number.isFinite(r.cpuUs) ? (r.cpuUs / base.cpuUs).toFixed(2) + '×' : '–';
    const ratio2 = b2 && Number.isFinite(r.cpuUs) ? (r.cpuUs / b2.cpuUs).toFixed(2) + '×' : '–';
    return `| ${r.name} | ${r.rps} | ${r.rate} | ${r.p50} | ${r.p99} | ${Number.isFinite(r.cpuUs) ? r.cpuUs.toFixed(1) : '–'} | ${ratio}${b2 ? ` | ${ratio2}` : ''} | ${r.errors}/${r.non2xx} |`;
  };
  return [head, sep, ...rows.map(fmt)].join('\n');
}

export interface Scenario {
  name: string;
  /** start the process under test; `url` is what the load targets, `pid` whose CPU is measured */
  start(): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
  load?: Omit<LoadOptions, 'url' | 'pid'>;
}

/**
 * Measure scenarios interleaved: every process is started first, then `rounds` rounds run each
 * scenario in turn, and each figure is the median over the rounds. Interleaving spreads machine
 * noise (other processes, frequency changes) over all scenarios instead of biasing one.
 */
export async function measure(scenarios: Scenario[], rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<LoadResult[]> {
  const running = [];
  try {
    for (const s of scenarios) running.push(await s.start());
    const results: LoadResult[][] = scenarios.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, s] of scenarios.entries()) {
        results[i]!.push(await load(s.name, { ...s.load, url: running[i]!.url, pid: running[i]!.pid }));
      }
    }
    return results.map((rs) => medianResult(rs));
  } finally {
    await Promise.all(running.map((p) => p.stop()));
  }
}

/**
 * Side by side: every scenario loaded AT THE SAME TIME, each at the same fixed rate, in `rounds`
 * rounds; CPU per request of each process per round, and each round's ratio to `baseline`. On a
 * shared machine whose speed drifts by ±20% within minutes, one after the other (`measure`) lets
 * the drift land on one scenario; side by side, a slow minute slows all of them, and the ratio of
 * one round to the same round holds (seen here: per-round ratios within a few percent while the
 * absolute figures moved by a fifth). Latencies are not reported: the processes share the cores.
 */
export async function measureSideBySide(scenarios: Scenario[], baseline: number, opts: { rate?: number; seconds?: number; rounds?: number } = {}): Promise<Array<{ name: string; cpuUs: number; ratio: number; ratios: number[]; errors: number }>> {
  const rate = opts.rate ?? Number(process.env.BENCH_PAIRED_RATE ?? 1000);
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 5);
  const rounds = opts.rounds ?? Number(process.env.BENCH_PAIRED_ROUNDS ?? 7);
  const running: Array<Awaited<ReturnType<Scenario['start']>>> = [];
  try {
    for (const s of scenarios) running.push(await s.start());
    const conf = scenarios.map((s, i) => ({ ...(s.load ?? {}), url: running[i]!.url, connections: 16 }));
    // warm up one at a time (JIT, pools, caches), then once all together at the rate: the first
    // side-by-side round after a start read 1.4–1.8× the later ones for the Node processes
    for (const c of conf) await autocannon({ ...c, duration: 2 } as autocannon.Options);
    await Promise.all(conf.map((c) => autocannon({ ...c, duration: seconds, overallRate: rate } as autocannon.Options)));
    const cpu: number[][] = scenarios.map(() => []);
    const errors = scenarios.map(() => 0);
    for (let r = 0; r < rounds; r++) {
      const c0 = running.map((p) => cpuSeconds(p.pid));
      const res = await Promise.all(conf.map((c) => autocannon({ ...c, duration: seconds, overallRate: rate } as autocannon.Options)));
      const c1 = running.map((p) => cpuSeconds(p.pid));
      res.forEach((x, i) => {
        cpu[i]!.push(((c1[i]! - c0[i]!) * 1e6) / Math.max(1, x.requests.total));
        errors[i]! += x.errors + x.timeouts + x.non2xx;
      });
    }
    return scenarios.map((s, i) => {
      const ratios = cpu[i]!.map((v, r) => v / cpu[baseline]![r]!);
      return { name: s.name, cpuUs: median(cpu[i]!), ratio: median(ratios), ratios, errors: errors[i]! };
    });
  } finally {
    await Promise.all(running.map((p) => p.stop()));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function medianResult(rs: LoadResult[]): LoadResult {
  return {
    name: rs[0]!.name,
    requests: rs.reduce((a, r) => a + r.requests, 0),
    rps: Math.round(median(rs.map((r) => r.rps))),
    rate: Math.round(median(rs.map((r) => r.rate))),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuUs: median(rs.map((r) => r.cpuUs)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
  };
}
