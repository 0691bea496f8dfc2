import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Coalescer } from '../../src/upstream/coalescer.js';
import { UpstreamConfigError } from '../../src/upstream/targets.js';

function deferred<T>() {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
}

describe('request coalescing', () => {
  it('makes one loader call for N concurrent misses of a key and gives every caller its value', async () => {
    const c = new Coalescer<string>({ maxWaiters: 100, waitTimeoutMs: 60_000 });
    let calls = 0;
    const d = deferred<string>();
    const all = Array.from({ length: 50 }, () => c.run('k', () => { calls++; return d.promise; }));
    const other = c.run('other', async () => { calls++; return 'o'; });
    assert.equal(c.inFlight, 2);
    d.resolve('v');
    const results = await Promise.all(all);
    assert.equal(calls, 2, 'one per key');
    assert.equal(results.filter((r) => r.kind === 'value' && r.value === 'v').length, 50);
    assert.equal(results.filter((r) => r.kind === 'value' && r.leader).length, 1);
    assert.deepEqual(await other, { kind: 'value', value: 'o', leader: true });
    assert.equal(c.inFlight, 0);
    await c.run('k', async () => { calls++; return 'again'; });
    assert.equal(calls, 3, 'a later miss loads again');
  });

  it("releases the loader's failure to every waiter", async () => {
    const c = new Coalescer<string>({ maxWaiters: 10, waitTimeoutMs: 60_000 });
    const d = deferred<string>();
    const all = Array.from({ length: 5 }, () => c.run('k', () => d.promise));
    d.reject(new Error('backend down'));
    const settled = await Promise.allSettled(all);
    assert.ok(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'backend down'));
    assert.equal(c.inFlight, 0);
    const thrown = await Promise.allSettled([c.run('t', () => { throw new Error('sync'); })]);
    assert.equal(thrown[0]!.status, 'rejected', 'a loader that throws synchronously rejects too');
    assert.equal(c.inFlight, 0);
  });

  it('bounds the waiters: the overflow, a timed-out waiter and a cancelled one go alone', async () => {
    const c = new Coalescer<string>({ maxWaiters: 2, waitTimeoutMs: 30 });
    const d = deferred<string>();
    const leader = c.run('k', () => d.promise);
    const signal = Object.assign(new EventEmitter(), { aborted: false });
    const cancelled = c.run('k', () => d.promise, signal);
    const timed = c.run('k', () => d.promise);
    assert.deepEqual(await c.run('k', () => d.promise), { kind: 'alone', reason: 'overflow' });
    signal.aborted = true;
    signal.emit('abort');
    assert.deepEqual(await cancelled, { kind: 'alone', reason: 'aborted' });
    assert.deepEqual(await timed, { kind: 'alone', reason: 'timeout' });
    d.resolve('v');
    assert.deepEqual(await leader, { kind: 'value', value: 'v', leader: true });
    assert.equal(signal.listenerCount('abort'), 0, 'no listener left');
  });

  it('shares only shareable values: the waiters of a private response go alone', async () => {
    const c = new Coalescer<{ private: boolean }>({ maxWaiters: 10, waitTimeoutMs: 60_000, shareable: (v) => !v.private });
    const d = deferred<{ private: boolean }>();
    const all = Array.from({ length: 3 }, () => c.run('k', () => d.promise));
    d.resolve({ private: true });
    const [first, ...rest] = await Promise.all(all);
    assert.equal(first!.kind, 'value');
    assert.ok(rest.every((r) => r.kind === 'alone' && r.reason === 'not-shareable'));
  });

  it('refuses unusable options', () => {
    assert.throws(() => new Coalescer({ maxWaiters: -1, waitTimeoutMs: 1 }), UpstreamConfigError);
    assert.throws(() => new Coalescer({ maxWaiters: 1, waitTimeoutMs: 0 }), UpstreamConfigError);
  });
});
