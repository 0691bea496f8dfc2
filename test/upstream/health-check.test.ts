import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActiveHealthChecker, parseStatusRanges, type ProbeResult, type Scheduler } from '../../src/upstream/health-check.js';
import { TargetSet, UpstreamConfigError } from '../../src/upstream/targets.js';
import { until } from './helpers.js';

type Mode = 'ok' | '503' | '302' | 'hang';

/** A real target that answers probes as told, can die and come back on the same port. */
class ProbeTarget {
  mode: Mode = 'ok';
  probes = 0;
  open = 0;
  maxOpen = 0;
  paths: string[] = [];
  hosts: string[] = [];
  private server: Server | undefined;
  private readonly hung: ServerResponse[] = [];
  port = 0;

  async listen(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      this.probes++;
      this.paths.push(req.url!);
      this.hosts.push(req.headers.host!);
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      res.on('close', () => this.open--);
      if (this.mode === 'hang') return void this.hung.push(res);
      if (this.mode === '302') return void res.writeHead(302, { location: '/' }).end();
      res.writeHead(this.mode === '503' ? 503 : 200).end(this.mode);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async die(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

const servers: ProbeTarget[] = [];
const checkers: ActiveHealthChecker[] = [];
afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.die()));
});

async function setup(n: number, opts: Partial<ConstructorParameters<typeof ActiveHealthChecker>[1]> = {}) {
  const targets = await Promise.all(Array.from({ length: n }, () => new ProbeTarget().listen()));
  servers.push(...targets);
  const set = new TargetSet(targets.map((t) => ({ url: t.url })));
  const results: ProbeResult[] = [];
  const checker = new ActiveHealthChecker(set, { path: '/healthz', intervalMs: 15, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3, ...opts }, { onResult: (r) => results.push(r) });
  checkers.push(checker);
  const of = (i: number) => results.filter((r) => r.target === set.all[i]);
  return { targets, set, checker, results, of };
}

describe('active health checks against real servers', () => {
  it('marks a target that answers 503 unhealthy at its first probe, and healthy after `healthy` good probes', async () => {
    const { targets, set, checker, of } = await setup(2);
    targets[1]!.mode = '503';
    checker.start();
    await until(() => of(1).length >= 1 && of(0).length >= 1, 10_000, 'first probes');
    assert.equal(set.all[1]!.activeHealthy, false, 'the first probe decides');
    assert.deepEqual({ outcome: of(1)[0]!.outcome, status: of(1)[0]!.status, changed: of(1)[0]!.changed }, { outcome: 'unexpected-status', status: 503, changed: true });
    assert.equal(set.all[0]!.activeHealthy, true);
    assert.deepEqual(set.select().map((t) => t.id), [targets[0]!.url]);
    const before = of(1).length;
    targets[1]!.mode = 'ok';
    await until(() => set.all[1]!.activeHealthy, 10_000, 'recovery');
    const after = of(1).slice(before);
    assert.deepEqual(after.map((r) => r.outcome).slice(-2), ['ok', 'ok']);
    assert.equal(after.filter((r) => r.outcome === 'ok').length, 2, 'healthy again after exactly 2 good probes');
    assert.equal(set.select().length, 2);
  });

  it('takes a target that dies out after `unhealthy` failed probes, and back when it returns on the same port', async () => {
    const { targets, set, checker, of } = await setup(2);
    checker.start();
    await until(() => of(0).length >= 2, 10_000, 'probes');
    const port = targets[0]!.port;
    await targets[0]!.die();
    const diedAt = of(0).length;
    await until(() => !set.all[0]!.activeHealthy, 10_000, 'unhealthy');
    const failures = of(0).slice(diedAt);
    assert.equal(failures.length, 3, 'exactly the unhealthy threshold');
    assert.ok(failures.every((r) => r.outcome === 'connection-failure'), failures.map((r) => r.outcome).join());
    assert.deepEqual(set.select().map((t) => t.id), [targets[1]!.url], 'traffic goes to the other target');
    await targets[0]!.listen(port);
    await until(() => set.all[0]!.activeHealthy, 10_000, 'healthy again');
    assert.equal(set.select().length, 2);
  });

  it('times out a hanging target without ever overlapping its probes', async () => {
    const { targets, set, checker, of } = await setup(1, { timeoutMs: 60, intervalMs: 5, unhealthyThreshold: 2 });
    checker.start();
    await until(() => of(0).length >= 1, 10_000, 'a probe');
    targets[0]!.mode = 'hang';
    await until(() => !set.all[0]!.activeHealthy, 10_000, 'unhealthy');
    await until(() => of(0).filter((r) => r.outcome === 'timeout').length >= 3, 10_000, 'more timeouts');
    assert.ok(of(0).slice(1).every((r) => r.outcome === 'timeout'), of(0).map((r) => r.outcome).join());
    assert.equal(targets[0]!.maxOpen, 1, 'never two probes of one target at once');
    assert.ok(checker.inFlight <= 1);
  });

  it('counts the statuses in `expect` as healthy: 302 is with 200-399, not with [200]', async () => {
    const a = await setup(1);
    a.targets[0]!.mode = '302';
    a.checker.start();
    await until(() => a.of(0).length >= 1, 10_000, 'probe');
    assert.equal(a.of(0)[0]!.outcome, 'ok');
    const b = await setup(1, { expect: parseStatusRanges([200]) });
    b.targets[0]!.mode = '302';
    b.checker.start();
    await until(() => b.of(0).length >= 1, 10_000, 'probe');
    assert.deepEqual([b.of(0)[0]!.outcome, b.of(0)[0]!.status], ['unexpected-status', 302]);
  });

  it('probes the configured path with the configured Host', async () => {
    const { targets, checker, of } = await setup(1, { path: '/status?full=1', host: 'api.internal' });
    checker.start();
    await until(() => of(0).length >= 1, 10_000, 'probe');
    assert.equal(targets[0]!.paths[0], '/status?full=1');
    assert.equal(targets[0]!.hosts[0], 'api.internal');
  });

  it('stops cleanly: a hung probe is aborted, no probe after stop, no timer left', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const { targets, checker, of } = await setup(2, { timeoutMs: 600_000, intervalMs: 10 });
    targets[0]!.mode = 'hang';
    checker.start();
    await until(() => targets[0]!.open === 1 && of(1).length >= 2, 10_000, 'a hung probe and a good one');
    // the probe would time out in 10 minutes: stop() must abort it, not wait for it
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([checker.stop(), new Promise((_, reject) => { bound = setTimeout(() => reject(new Error('stop() waited for the hung probe')), 5000); })]);
    clearTimeout(bound);
    assert.equal(checker.inFlight, 0);
    await until(() => targets[0]!.open === 0, 5_000, 'the hung probe connection closed');
    const probes = targets.map((t) => t.probes);
    const results = of(0).length + of(1).length;
    await new Promise((r) => setTimeout(r, 100)); // ten intervals
    assert.deepEqual(targets.map((t) => t.probes), probes, 'no probe after stop');
    assert.equal(of(0).length + of(1).length, results, 'an aborted probe is no verdict');
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, baseline, 'no timer left');
  });
});

describe('active health checks: scheduling', () => {
  it('spreads the first probes over the jitter and schedules the next only after a probe finished', async () => {
    const target = await new ProbeTarget().listen();
    servers.push(target);
    const set = new TargetSet([{ url: target.url }]);
    const pending: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
    const scheduler: Scheduler = {
      setTimeout: (fn, ms) => { const h = { fn, ms, cleared: false }; pending.push(h); return h; },
      clearTimeout: (h) => { (h as { cleared: boolean }).cleared = true; },
    };
    const draws = [0.5, 0.25, 1 - 1e-9];
    const results: ProbeResult[] = [];
    const checker = new ActiveHealthChecker(set, { path: '/', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1, jitterMs: 200 }, {
      scheduler, random: () => draws.shift() ?? 0, onResult: (r) => results.push(r),
    });
    checkers.push(checker);
    checker.start();
    assert.deepEqual(pending.map((p) => p.ms), [100], 'first probe after random × jitter');
    pending[0]!.fn();
    assert.equal(checker.inFlight, 1);
    assert.equal(pending.length, 1, 'nothing scheduled while the probe runs');
    await until(() => pending.length === 2, 5000, 'the next probe scheduled');
    assert.deepEqual(pending.map((p) => p.ms), [100, 1050], 'interval + random × jitter');
    assert.equal(results.length, 1);
    await checker.stop();
    assert.equal(pending[1]!.cleared, true, 'stop clears the scheduled probe');
  });

  it('refuses unusable options at construction', () => {
    const set = new TargetSet([{ url: 'http://127.0.0.1:1' }]);
    const base = { path: '/h', intervalMs: 1000, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 };
    for (const bad of [{ path: 'healthz' }, { path: '//evil.example/x' }, { intervalMs: 0 }, { timeoutMs: -1 }, { healthyThreshold: 0 }, { unhealthyThreshold: 1.5 }, { jitterMs: -5 }]) {
      assert.throws(() => new ActiveHealthChecker(set, { ...base, ...bad }), UpstreamConfigError, JSON.stringify(bad));
    }
    assert.deepEqual(parseStatusRanges(['200-399', 204, ' 404 ']), [{ from: 200, to: 399 }, { from: 204, to: 204 }, { from: 404, to: 404 }]);
    for (const bad of [['399-200'], ['2xx'], ['600'], [], ['200-']]) assert.throws(() => parseStatusRanges(bad), UpstreamConfigError, JSON.stringify(bad));
  });
});
