import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { startNode, ROOT } from './harness.js';
import { jwksServer } from './idp.js';
import { gatehouseChainYaml } from './haproxy.js';
import { subscriptionScenario } from './subscriptions.js';

/**
 * Instructions per request of the proxy process, counted by valgrind's callgrind: repeatable on a
 * loaded machine where CPU time is not (issue 19). The process runs under callgrind with
 * instrumentation off while it starts; then it is switched on, `warmup` requests go through (JIT,
 * pools, caches), the counters are zeroed, `requests` requests go through, and the counters are
 * dumped: instructions ÷ requests (all threads: main, libuv pool, V8's GC helpers).
 *
 *   node dist/bench/callgrind.js <bare|bare-dispatch|none|chain|chain-nolog|subscription> [requests=2000] [warmup=8000] [--root=<checkout>]
 *
 * `--root` runs another built checkout's gatehouse (before/after in one sitting). `bare-dispatch`
 * is bench/bare-dispatch.ts, the bare proxy with undici `dispatch` writing straight to the response.
 * `subscription` is the `npm run bench subscriptions` gateway (issue 16: a product that requires
 * keys, a valid key in the `Ocp-Apim-Subscription-Key` header, a cache hit), to compare with
 * `none`; its poll of the database is set to once a minute, so that the polls (a per-second cost,
 * about 50 times as many per request under valgrind as at full speed) stay out of the count.
 */

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const root = process.argv.find((a) => a.startsWith('--root='))?.slice(7) ?? ROOT;
const scenario = args[0] ?? 'chain';
const requests = Number(args[1] ?? 2000);
const warmup = Number(args[2] ?? 8000);

function control(pid: number, ...opts: string[]): void {
  const r = spawnSync('callgrind_control', [...opts, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${opts.join(' ')}: ${r.stderr}${r.stdout}`);
}

/** Instructions in V8's Heap::CollectGarbage and what it called, in one thread's dump. */
function mainThreadGc(file: string): number {
  const r = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const line = r.stdout.split('\n').find((l) => l.includes('v8::internal::Heap::CollectGarbage('));
  const m = line === undefined ? null : /^\s*([\d,]+)/.exec(line);
  return m ? Number(m[1]!.replace(/,/g, '')) : 0;
}

async function main(): Promise<void> {
  const backend = await startNode([join(ROOT, 'dist', 'bench', 'backend.js')]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const idp = await jwksServer();
  const token = await idp.token('RS256');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-callgrind-'));
  let argv: string[];
  let headers: Record<string, string> = scenario.startsWith('chain') ? { authorization: `Bearer ${token}` } : {};
  if (scenario === 'bare') argv = [join(ROOT, 'dist', 'bench', 'bare-proxy.js'), backendUrl];
  else if (scenario === 'bare-dispatch') argv = [join(ROOT, 'dist', 'bench', 'bare-dispatch.js'), backendUrl];
  else if (scenario === 'subscription') {
    const sc = await subscriptionScenario(backendUrl, { pollInterval: '60s' });
    writeFileSync(join(dir, 'gatehouse.yaml'), sc.yaml);
    headers = sc.headers;
    argv = [join(root, 'bin', 'gatehouse.js'), 'start', '--config', join(dir, 'gatehouse.yaml')];
  } else {
    const yaml = scenario === 'none'
      ? `gateway:\n  listen: { http: 0 }\nbackends:\n  b: { url: "${backendUrl}" }\napis:\n  - { name: bench, path: /, backend: b }\n`
      : gatehouseChainYaml(backendUrl, idp.url, scenario !== 'chain-nolog');
    writeFileSync(join(dir, 'gatehouse.yaml'), yaml);
    argv = [join(root, 'bin', 'gatehouse.js'), 'start', '--config', join(dir, 'gatehouse.yaml')];
  }
  const out = join(dir, 'callgrind.out');
  // the young generation pinned at its largest size (16 MiB semi-spaces, V8's default maximum on
  // 64-bit): V8 sizes it by the allocation rate it sees, which under valgrind is ~50 times lower
  // and differs from one process to the next (2 scavenges in one run, 27 in the next for the same
  // 1,000 requests); pinned, the scavenges follow the bytes allocated per request
  const v8Flags = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, ...v8Flags, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
  });
  const port = await new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error('did not start under valgrind')), 300_000);
    const onLine = (l: string) => {
      if (!l.startsWith('{')) return;
      try {
        const j = JSON.parse(l) as { port?: number; listener?: string };
        if (typeof j.port === 'number' && (j.listener === undefined || j.listener === 'http')) { clearTimeout(t); res(j.port); }
      } catch { /* not json */ }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
  });
  const url = `http://127.0.0.1:${port}/orders/7`;
  try {
    // the signing keys load after start (503 until then)
    for (let i = 0; ; i++) {
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      if (r.status === 200) break;
      if (i > 300) throw new Error(`not ready: ${r.status}`);
      await new Promise((w) => setTimeout(w, 200));
    }
    // warm up uninstrumented (valgrind runs it several times faster), so that the JIT has
    // compiled the hot path before counting starts; then a short instrumented warm-up
    const w = await autocannon({ url, headers, connections: 4, amount: warmup, timeout: 60 });
    if (w.non2xx + w.errors > 0) throw new Error(`warm-up failed: ${w.non2xx} non-2xx, ${w.errors} errors`);
    control(child.pid!, '-i', 'on');
    await autocannon({ url, headers, connections: 4, amount: 200, timeout: 60 });
    control(child.pid!, '-z');
    const r = await autocannon({ url, headers, connections: 4, amount: requests, timeout: 60 });
    control(child.pid!, '-d');
    if (r.non2xx + r.errors > 0) throw new Error(`run failed: ${r.non2xx} non-2xx, ${r.errors} errors`);
    // the final dump is written at exit, after this: only the requested dump is there now
    const dumps = readdirSync(dir).filter((f) => f.startsWith('callgrind.out')).map((f) => join(dir, f));
    // one dump per thread: the main thread (JS, the event loop) and the rest (V8's compiler and
    // GC helpers, libuv's pool), which vary more from run to run
    let main = 0;
    let others = 0;
    let gc = 0;
    for (const f of dumps) {
      const text = readFileSync(f, 'utf8');
      const m = /^(?:summary|totals): (\d+)/m.exec(text);
      if (!m) continue;
      if (!/^thread: 1$/m.test(text)) { others += Number(m[1]); continue; }
      main += Number(m[1]);
      gc += mainThreadGc(f);
    }
    const per = (n: number) => Math.round(n / requests);
    // mainThreadGc: the main thread's part in collections (Heap::CollectGarbage, inclusive), which
    // comes in steps of a whole scavenge; mainThreadNoGc: the rest, the request work itself
    console.log(JSON.stringify({ scenario, root, requests, warmup, mainThread: per(main), mainThreadGc: per(gc), mainThreadNoGc: per(main - gc), otherThreads: per(others), total: per(main + others), dir }));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await backend.stop();
    idp.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
