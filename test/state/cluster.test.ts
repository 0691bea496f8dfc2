import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { createStore } from '../../src/state/index.js';
import type { CounterStore } from '../../src/state/types.js';
import { Metrics } from '../../src/observability/metrics.js';
import { hasRedisServerBinary, startCluster, type PrivateCluster } from './redis-servers.js';

const skip = hasRedisServerBinary() ? false : 'redis-server is not installed: Redis Cluster tests SKIPPED';
if (skip) {
  if (process.env.CI === 'true') throw new Error('redis-server is required when CI=true');
  console.error(`\n!!!!! ${skip} !!!!!\n`);
}

describe('redis-cluster store (3 private masters)', { skip }, () => {
  let cluster: PrivateCluster;
  let store: CounterStore;
  before(async () => {
    cluster = await startCluster();
    store = createStore(`${cluster.url}?prefix=ct:&timeout=1s`, { logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) });
    const end = Date.now() + 10_000;
    while (!store.ready() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('admits exactly `calls` of many concurrent calls for one key', async () => {
    const ds = await Promise.all(Array.from({ length: 500 }, () => store.slidingHit('rl:x:=one', 100, 60_000, 1)));
    assert.ok(ds.every((d) => d !== null), 'every call answered');
    assert.equal(ds.filter((d) => d!.allowed).length, 100);
  });

  it('keeps a counter whose key contains braces in one slot (a client cannot split or steer its hash tag)', async () => {
    for (const key of ['rl:x:=}{evil}', 'rl:x:={', 'rl:x:=a}b{c}']) {
      const ds = await Promise.all(Array.from({ length: 5 }, () => store.slidingHit(key, 2, 60_000, 1)));
      assert.ok(ds.every((d) => d !== null), `${key}: every call answered (no CROSSSLOT)`);
      assert.equal(ds.filter((d) => d!.allowed).length, 2, key);
    }
  });

  it('spreads counters over the masters, each counter in one slot', async () => {
    for (let i = 0; i < 60; i++) {
      assert.ok(await store.slidingHit(`rl:x:=user-${i}`, 5, 60_000, 1));
      assert.ok(await store.quotaHit(`q:x:=user-${i}`, { calls: 5, bytes: undefined, periodMs: 60_000, anchorMs: 0 }, 1));
    }
    const perNode = cluster.nodes.map((n) => Number(spawnSync('redis-cli', ['-p', String(n.port), 'dbsize'], { encoding: 'utf8' }).stdout.trim()));
    assert.equal(perNode.reduce((a, b) => a + b, 0), 60 * 3 + 2 + 3 * 2, 'log, sum and quota of every key (and the earlier tests\' counters)');
    assert.ok(perNode.every((c) => c > 0), `every master holds counters: ${perNode.join(', ')}`);
  });
});
