import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, DecoratorHandler, Dispatcher, request } from 'undici';
import { TargetSet, type Target } from '../../src/upstream/targets.js';
import { createBalancer, type Balancer } from '../../src/upstream/balancer.js';
import { OutlierDetector } from '../../src/upstream/outlier.js';
import { ActiveHealthChecker } from '../../src/upstream/health-check.js';
import { until } from './helpers.js';

/*
 * The composition sketched in src/upstream/README.md, run against real servers: a backend as an
 * undici Dispatcher that picks a healthy target per request, counts requests in flight and
 * reports outcomes to outlier detection.
 */

type Forwarding = Required<Pick<Dispatcher.DispatchHandler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>>;

/** Forwards every callback to the caller's handler; reports the outcome once. */
class Outcome implements Dispatcher.DispatchHandler {
  private readonly inner: Forwarding;
  private failed = false;
  private reported = false;

  constructor(handler: Dispatcher.DispatchHandler, private readonly report: (failed: boolean) => void) {
    this.inner = new DecoratorHandler(handler) as unknown as Forwarding; // any handler style → the controller API
  }
  onRequestStart(c: Dispatcher.DispatchController, ctx: unknown) { this.inner.onRequestStart(c, ctx); }
  onRequestUpgrade(c: Dispatcher.DispatchController, s: number, h: Record<string, string | string[] | undefined>, socket: import('node:stream').Duplex) { this.once(false); this.inner.onRequestUpgrade(c, s, h, socket); }
  onResponseStart(c: Dispatcher.DispatchController, status: number, h: Record<string, string | string[] | undefined>, msg?: string) {
    this.failed = status >= 500;
    this.inner.onResponseStart(c, status, h, msg);
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer) { this.inner.onResponseData(c, chunk); }
  onResponseEnd(c: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>) { this.once(this.failed); this.inner.onResponseEnd(c, trailers); }
  onResponseError(c: Dispatcher.DispatchController, err: Error) { this.once(true); this.inner.onResponseError(c, err); }
  private once(failed: boolean) {
    if (this.reported) return;
    this.reported = true;
    this.report(failed);
  }
}

class NoHealthyTarget extends Error {
  readonly code = 'no-healthy-upstream';
}

class BackendDispatcher extends Dispatcher {
  constructor(private readonly set: TargetSet, private readonly balancer: Balancer<Target>, private readonly outlier: OutlierDetector, private readonly agent: Agent) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const target = this.balancer.pick(this.set.select());
    if (target === undefined) throw new NoHealthyTarget('no healthy target');
    target.outstanding++;
    const path = target.url.pathname.replace(/\/$/, '') + opts.path;
    return this.agent.dispatch({ ...opts, origin: target.origin, path }, new Outcome(handler, (failed) => {
      target.outstanding--;
      if (failed) this.outlier.failure(target);
      else this.outlier.success(target);
    }));
  }

  override close(): Promise<void> {
    return this.agent.close();
  }

  override destroy(): Promise<void> {
    return this.agent.destroy();
  }
}

/** A real backend: answers its name (or 503), can die and come back on its port. */
class Named {
  status = 200;
  served = 0;
  private server: Server | undefined;
  port = 0;
  constructor(readonly name: string) {}
  async listen(port = 0): Promise<this> {
    const s = createServer((req, res) => {
      if (req.url === '/healthz') return void res.end('ok');
      this.served++;
      res.writeHead(this.status).end(this.name);
    });
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    this.server = s;
    this.port = (s.address() as AddressInfo).port;
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
    await new Promise((r) => s.close(r));
  }
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function send(dispatcher: Dispatcher, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request('http://backend.invalid/orders', { dispatcher });
    out.push(`${res.statusCode} ${await res.body.text()}`);
  }
  return out;
}
const count = (xs: string[]) => Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]));

describe('upstream parts composed into a Dispatcher (real servers)', () => {
  it('balances priority 0, fails over to priority 1 when both its targets die, and comes back', async () => {
    const [a, b, dr] = await Promise.all([new Named('a').listen(), new Named('b').listen(), new Named('dr').listen()]);
    cleanup.push(() => Promise.all([a, b, dr].map((s) => s.die())));
    const set = new TargetSet([{ url: a.url }, { url: b.url }, { url: dr.url, priority: 1 }]);
    const outlier = new OutlierDetector(set, { consecutiveFailures: 3, maxEjectedPercent: 50 });
    const checker = new ActiveHealthChecker(set, { path: '/healthz', intervalMs: 10, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 2 });
    const dispatcher = new BackendDispatcher(set, createBalancer('round-robin'), outlier, new Agent());
    cleanup.push(() => dispatcher.close(), () => checker.stop());
    checker.start();

    assert.deepEqual(count(await send(dispatcher, 10)), { '200 a': 5, '200 b': 5 });
    const port = a.port;
    await a.die();
    await until(() => !set.all[0]!.activeHealthy, 10_000, 'a unhealthy');
    assert.deepEqual(count(await send(dispatcher, 6)), { '200 b': 6 }, 'a gets nothing once its probes failed');
    await b.die();
    await until(() => !set.all[1]!.activeHealthy, 10_000, 'b unhealthy');
    assert.deepEqual(count(await send(dispatcher, 4)), { '200 dr': 4 }, 'priority 1 only now');
    await a.listen(port);
    await until(() => set.all[0]!.activeHealthy, 10_000, 'a back');
    assert.deepEqual(count(await send(dispatcher, 4)), { '200 a': 4 }, 'back to priority 0 as soon as a recovers');
    assert.equal(set.all.reduce((n, t) => n + t.outstanding, 0), 0, 'every request counted out');
  });

  it('ejects a target answering 503 at once after the threshold: it sees exactly that many requests', async () => {
    const [bad, good] = await Promise.all([new Named('bad').listen(), new Named('good').listen()]);
    cleanup.push(() => Promise.all([bad, good].map((s) => s.die())));
    bad.status = 503;
    const set = new TargetSet([{ url: bad.url }, { url: good.url }]);
    const outlier = new OutlierDetector(set, { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectedPercent: 50 });
    const dispatcher = new BackendDispatcher(set, createBalancer('round-robin'), outlier, new Agent());
    cleanup.push(() => dispatcher.close());
    const answers = await send(dispatcher, 30);
    assert.equal(bad.served, 3, 'three 503s, then no more traffic');
    assert.deepEqual(count(answers), { '200 good': 27, '503 bad': 3 });
    assert.equal(set.all[0]!.ejected, true);
  });

  it('refuses at once when no target is healthy', async () => {
    const set = new TargetSet([{ url: 'http://127.0.0.1:9' }]);
    set.setActiveHealth(set.all[0]!, false);
    const dispatcher = new BackendDispatcher(set, createBalancer('random'), new OutlierDetector(set), new Agent());
    cleanup.push(() => dispatcher.close());
    await assert.rejects(request('http://backend.invalid/', { dispatcher }), (e: Error) => (e as NoHealthyTarget).code === 'no-healthy-upstream');
  });
});
