import type { Cancellable } from './admission.js';
import { UpstreamConfigError } from './targets.js';

/**
 * Request coalescing: N concurrent misses for one key make one backend call. The first caller
 * (the leader) runs the loader; later callers for the same key wait for its result, at most
 * `maxWaiters` of them and none longer than `waitTimeoutMs`. A waiter that cannot wait (the
 * queue for the key is full, its wait timed out, its client left) is told to go `alone`: it
 * makes its own call, so coalescing never fails a request that would have succeeded.
 *
 * The leader's result is shared only when `shareable(value)` says so: a response that may not be
 * cached (private, Set-Cookie, Authorization without a per-caller key) is the leader's alone, and
 * the waiters each make their own call. A loader failure is the failure of every waiter too (one
 * backend error, not N): each waiter's promise rejects with the leader's error.
 */

export type Coalesced<T> =
  | { kind: 'value'; value: T; leader: boolean }
  | { kind: 'alone'; reason: 'not-shareable' | 'overflow' | 'timeout' | 'aborted' };

export interface CoalescerOptions<T> {
  maxWaiters: number;
  waitTimeoutMs: number;
  shareable?: (value: T) => boolean;
}

interface Waiter<T> {
  resolve(r: Coalesced<T>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  cancel: (() => void) | undefined;
}

export class Coalescer<T> {
  private readonly flights = new Map<string, Waiter<T>[]>();
  private readonly shareable: (value: T) => boolean;

  constructor(private readonly opts: CoalescerOptions<T>) {
    if (!Number.isInteger(opts.maxWaiters) || opts.maxWaiters < 0) throw new UpstreamConfigError('max waiters must be an integer ≥ 0');
    if (!(opts.waitTimeoutMs > 0)) throw new UpstreamConfigError('the coalescing wait must be positive');
    this.shareable = opts.shareable ?? (() => true);
  }

  /** Keys with a loader running. */
  get inFlight(): number {
    return this.flights.size;
  }

  run(key: string, loader: () => Promise<T>, signal?: Cancellable): Promise<Coalesced<T>> {
    const waiters = this.flights.get(key);
    if (waiters !== undefined) return this.wait(waiters, signal);
    const mine: Waiter<T>[] = [];
    this.flights.set(key, mine);
    const done = (settle: (w: Waiter<T>) => void) => {
      this.flights.delete(key);
      for (const w of mine.splice(0)) {
        clearTimeout(w.timer);
        w.cancel?.();
        settle(w);
      }
    };
    let p: Promise<T>;
    try {
      p = loader();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      (value) => {
        const share = this.shareable(value);
        done((w) => w.resolve(share ? { kind: 'value', value, leader: false } : { kind: 'alone', reason: 'not-shareable' }));
        return { kind: 'value', value, leader: true };
      },
      (err: unknown) => {
        done((w) => w.reject(err));
        throw err;
      },
    );
  }

  private wait(waiters: Waiter<T>[], signal: Cancellable | undefined): Promise<Coalesced<T>> {
    if (waiters.length >= this.opts.maxWaiters) return Promise.resolve({ kind: 'alone', reason: 'overflow' });
    if (signal?.aborted) return Promise.resolve({ kind: 'alone', reason: 'aborted' });
    return new Promise<Coalesced<T>>((resolve, reject) => {
      const leave = (reason: 'timeout' | 'aborted') => {
        const i = waiters.indexOf(w);
        if (i === -1) return;
        waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.cancel?.();
        resolve({ kind: 'alone', reason });
      };
      const w: Waiter<T> = { resolve, reject, timer: setTimeout(() => leave('timeout'), this.opts.waitTimeoutMs), cancel: undefined };
      if (signal !== undefined) {
        const onAbort = () => leave('aborted');
        signal.once('abort', onAbort);
        w.cancel = () => signal.removeListener('abort', onAbort);
      }
      waiters.push(w);
    });
  }
}
