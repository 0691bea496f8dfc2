import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { BackendBreaker, type BreakerRefusal } from '../../src/upstream/circuit-breaker.js';
import { UpstreamConfigError } from '../../src/upstream/targets.js';

const limits = { maxConnections: 2, maxRequests: 100, maxPending: 1, pendingTimeoutMs: 60_000 };
const settle = async (r: ReturnType<BackendBreaker['acquire']>) => (typeof r === 'string' ? r : await r);

describe('circuit breaker', () => {
  it('admits up to the connections, queues up to max-pending, refuses the rest at once with the reason', async () => {
    const b = new BackendBreaker(limits);
    assert.equal(b.acquire(), 'ok');
    assert.equal(b.acquire(), 'ok');
    const waiting = b.acquire();
    assert.ok(waiting instanceof Promise, 'the third waits');
    assert.equal(b.acquire(), 'max-pending', 'the fourth is refused at once');
    assert.deepEqual([b.active, b.pending], [2, 1]);
    b.release();
    assert.equal(await waiting, 'ok', 'a release passes the slot to the waiter');
    assert.deepEqual([b.active, b.pending], [2, 0]);
    b.release();
    b.release();
    assert.deepEqual([b.active, b.pending], [0, 0]);
    assert.equal(b.stats().refused['max-pending'], 1);
  });

  it('names the limit that bound when there is no queue: connections, or requests when fewer', () => {
    const byConn = new BackendBreaker({ ...limits, maxPending: 0 });
    byConn.acquire(); byConn.acquire();
    assert.equal(byConn.acquire(), 'max-connections');
    const byReq = new BackendBreaker({ ...limits, maxRequests: 1, maxPending: 0 });
    byReq.acquire();
    assert.equal(byReq.acquire(), 'max-requests');
    const h2 = new BackendBreaker({ maxConnections: 1, maxRequests: 3, maxPending: 0, pendingTimeoutMs: 1000, multiplexed: true });
    assert.deepEqual([h2.acquire(), h2.acquire(), h2.acquire(), h2.acquire()], ['ok', 'ok', 'ok', 'max-requests'], 'HTTP/2: requests share the connection');
  });

  it('refuses a request that waited past the pending timeout, and one whose client left', async () => {
    const b = new BackendBreaker({ ...limits, maxConnections: 1, maxPending: 5, pendingTimeoutMs: 20 });
    b.acquire();
    assert.equal(await settle(b.acquire()), 'pending-timeout');
    const signal = Object.assign(new EventEmitter(), { aborted: false });
    const w = b.acquire(signal);
    signal.aborted = true;
    signal.emit('abort');
    assert.equal(await settle(w), 'aborted');
    assert.equal(b.pending, 0);
    b.release();
    assert.equal(b.active, 0, 'no slot leaked to the waiters that left');
    assert.deepEqual(b.stats().refused, { 'max-connections': 0, 'max-requests': 0, 'max-pending': 0, 'pending-timeout': 1, aborted: 1 });
  });

  it('refuses unusable limits', () => {
    for (const bad of [{ maxConnections: 0 }, { maxRequests: 1.5 }, { maxPending: -1 }, { pendingTimeoutMs: 0 }]) {
      assert.throws(() => new BackendBreaker({ ...limits, ...bad }), UpstreamConfigError, JSON.stringify(bad));
    }
  });
});

describe('circuit breaker with real parallel requests', () => {
  const server = createServer((_req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    setTimeout(() => { open--; res.end('ok'); }, 50);
  });
  let open = 0, maxOpen = 0;
  const agent = new Agent({ connections: 10 });
  after(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('keeps the backend within the limit and answers the overflow at once', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const b = new BackendBreaker({ maxConnections: 3, maxRequests: 100, maxPending: 4, pendingTimeoutMs: 30_000 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, async (): Promise<'served' | BreakerRefusal> => {
      const admitted = await settle(b.acquire());
      if (admitted !== 'ok') return admitted;
      try {
        const res = await request(url, { dispatcher: agent });
        await res.body.text();
        return 'served';
      } finally {
        b.release();
      }
    }));
    assert.equal(outcomes.filter((o) => o === 'served').length, 7, '3 in flight + 4 queued');
    assert.equal(outcomes.filter((o) => o === 'max-pending').length, 13);
    assert.ok(maxOpen <= 3, `the backend saw at most 3 at once (${maxOpen})`);
    assert.deepEqual([b.active, b.pending], [0, 0]);
  });
});
