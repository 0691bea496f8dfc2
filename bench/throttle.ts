/**
 * Throttling scenarios for `npm run bench throttle` (issue 4): rate-limit-by-key on the memory
 * store and on Redis (127.0.0.1:6379, a fresh key prefix per run), measured by bench/run.ts
 * against the no-policy gateway in the same run.
 *
 * The limit is set high enough that every call is admitted (the admitted path is the expensive
 * one: it records the call), and the window is short so the log under the one benchmark key
 * stays about one second of traffic long.
 */
export function throttleScenarios(backendUrl: string): Array<{ name: string; yaml: string }> {
  const prefix = `bench:${process.pid}:${Date.now().toString(36)}:`;
  const yaml = (store: string) => `gateway:
  listen: { http: 0 }
  store: "${store}"
backends:
  b: { url: "${backendUrl}" }
apis:
  - name: bench
    path: /
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key:
            calls: 1000000
            renewal-period: 1
            counter-key: "{request.ip}"
            remaining-calls-header-name: X-Remaining
`;
  return [
    { name: 'rate-limit-by-key, memory store', yaml: yaml('memory') },
    { name: 'rate-limit-by-key, redis store', yaml: yaml(`redis://127.0.0.1:6379/0?prefix=${prefix}`) },
  ];
}

/**
 * The same scenarios measured interleaved (no policy, memory, Redis, no policy, ...) with all
 * gateways running at once, and the median CPU µs/request per scenario reported: on a shared,
 * noisy machine this cancels most of the drift that separate back-to-back runs suffer from.
 * `node -e "import('./dist/bench/throttle.js').then(m => m.runThrottleInterleaved())"`
 */
export async function runThrottleInterleaved(rounds = 5, seconds = 3): Promise<string> {
  const { join } = await import('node:path');
  const { startNode, startGatehouse, load, ROOT } = await import('./harness.js');
  const backend = await startNode([join(ROOT, 'dist', 'bench', 'backend.js')]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const noPolicy = `gateway:\n  listen: { http: 0 }\nbackends:\n  b: { url: "${backendUrl}" }\napis:\n  - { name: bench, path: /, backend: b }\n`;
  const scenarios = [{ name: 'gatehouse, no policies', yaml: noPolicy }, ...throttleScenarios(backendUrl)];
  const gws = await Promise.all(scenarios.map((s) => startGatehouse(s.yaml)));
  const samples = scenarios.map(() => ({ cpu: [] as number[], p99: [] as number[], p50: [] as number[] }));
  try {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < scenarios.length; i++) {
        const res = await load(scenarios[i]!.name, { url: `http://127.0.0.1:${gws[i]!.port}/orders/7`, pid: gws[i]!.child.pid!, seconds });
        samples[i]!.cpu.push(res.cpuUs);
        samples[i]!.p50.push(res.p50);
        samples[i]!.p99.push(res.p99);
      }
    }
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
    await backend.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples[0]!.cpu);
  const lines = [
    `Interleaved, ${rounds} rounds × ${seconds} s per scenario, medians:`,
    '',
    '| scenario | CPU µs/req | vs no policies | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|',
    ...scenarios.map((s, i) => {
      const c = median(samples[i]!.cpu);
      return `| ${s.name} | ${c.toFixed(1)} | ${(c / base).toFixed(2)}× | ${median(samples[i]!.p50)} | ${median(samples[i]!.p99)} |`;
    }),
  ];
  const out = lines.join('\n');
  console.log(out);
  return out;
}
