/**
 * Micro-benchmark: one balancer pick (src/upstream) over a target set's healthy list, for 3 and
 * 100 targets, equal and mixed weights. Prints ns per pick as a markdown table, with the cost of
 * 100 targets relative to 3 and of each balancer relative to round robin.
 *
 *   node dist/bench/upstream.js
 */
import { pathToFileURL } from 'node:url';
import { createBalancer, BALANCER_KINDS, type BalancerKind } from '../src/upstream/balancer.js';
import { TargetSet, type Target } from '../src/upstream/targets.js';

const KEYS = Array.from({ length: 4096 }, (_, i) => `tenant-${i * 7919}`);
const BATCH = 1000;

function targets(n: number, mixed: boolean): readonly Target[] {
  const set = new TargetSet(Array.from({ length: n }, (_, i) => ({ url: `http://10.0.${i >> 8}.${i & 255}:8080`, weight: mixed ? 1 + (i % 5) : 1 })));
  set.all.forEach((t, i) => { t.outstanding = (i * 37) % 11; }); // some load for least-request to compare
  return set.select();
}

/** ns per pick, a batch of picks per sample until `minMs` has passed. */
function nsPerPick(kind: BalancerKind, list: readonly Target[], minMs: number): number {
  const b = createBalancer<Target>(kind);
  let sink = 0;
  const batch = () => {
    for (let i = 0; i < BATCH; i++) sink += b.pick(list, KEYS[i & 4095])!.index;
  };
  for (let i = 0; i < 50; i++) batch(); // warm-up (and the Maglev table build)
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    batch();
    n += BATCH;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  if (sink < 0) console.log(sink);
  return (elapsed * 1e6) / n;
}

export async function runUpstreamBench(): Promise<string> {
  const rows = ['| balancer | weights | 3 targets ns/pick | 100 targets ns/pick | 100 ÷ 3 | 3 targets ÷ round robin | 100 targets ÷ round robin |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const mixed of [false, true]) {
    const lists = [targets(3, mixed), targets(100, mixed)];
    // 5 interleaved rounds, medians: every balancer sees the same machine noise
    const runs = new Map<BalancerKind, number[][]>(BALANCER_KINDS.map((k) => [k, [[], []]]));
    for (let r = 0; r < 5; r++) {
      for (const kind of BALANCER_KINDS) lists.forEach((list, j) => runs.get(kind)![j]!.push(nsPerPick(kind, list, 100)));
    }
    const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[2]!;
    const rr = runs.get('round-robin')!.map(median);
    for (const kind of BALANCER_KINDS) {
      const [small, large] = runs.get(kind)!.map(median) as [number, number];
      rows.push(`| ${kind} | ${mixed ? 'mixed 1..5' : 'equal'} | ${small.toFixed(0)} | ${large.toFixed(0)} | ${(large / small).toFixed(1)}× | ${(small / rr[0]!).toFixed(2)}× | ${(large / rr[1]!).toFixed(2)}× |`);
    }
  }
  return rows.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runUpstreamBench());
}
