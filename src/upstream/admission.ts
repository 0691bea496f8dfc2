/**
 * Admission to a backend: at most `max` requests in flight (the backend's connection pool), at
 * most `maxPending` more waiting in a FIFO queue, and none waiting longer than `timeoutMs`.
 *
 * Without it, requests beyond the pool's connections would queue inside the HTTP client without
 * a bound and without a deadline: a handful of slow uploads holding every connection would then
 * stall every other request to that backend. With it, an overloaded backend answers 503 at once
 * (queue full) or after the queue timeout, and the rest of the gateway is unaffected.
 *
 * The fast path (a free slot) is a counter increment: no allocation, no promise.
 */

export type Admitted = 'ok' | 'queue-full' | 'queue-timeout' | 'aborted';

interface Waiter {
  resolve(r: Admitted): void;
  timer: NodeJS.Timeout;
  /** cleared when the waiter leaves the queue */
  waiting: boolean;
  cancel: (() => void) | undefined;
}

/** Something that can tell us the request was cancelled (an AbortSignal or the gateway's CancelSignal). */
export interface Cancellable {
  readonly aborted: boolean;
  once(event: 'abort', fn: () => void): unknown;
  removeListener(event: 'abort', fn: () => void): unknown;
}

export class Admission {
  /** requests holding a slot */
  active = 0;
  /** waiters in order; entries that left (timeout, abort) stay until release() skips them */
  private readonly queue: Waiter[] = [];
  private head = 0;
  private waiting = 0;

  constructor(readonly max: number, readonly maxPending: number, readonly timeoutMs: number) {}

  /** requests waiting for a slot */
  get pending(): number {
    return this.waiting;
  }

  /** Take a slot: `'ok'` at once when one is free, else a promise settled by a release, the timeout or an abort. */
  acquire(signal?: Cancellable): 'ok' | 'queue-full' | Promise<Admitted> {
    if (this.active < this.max && this.pending === 0) {
      this.active++;
      return 'ok';
    }
    if (this.pending >= this.maxPending) return 'queue-full';
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise<Admitted>((resolve) => {
      const w: Waiter = {
        resolve,
        waiting: true,
        cancel: undefined,
        timer: setTimeout(() => this.leave(w, 'queue-timeout'), this.timeoutMs),
      };
      if (signal !== undefined) {
        const onAbort = () => this.leave(w, 'aborted');
        signal.once('abort', onAbort);
        w.cancel = () => signal.removeListener('abort', onAbort);
      }
      this.queue.push(w);
      this.waiting++;
    });
  }

  /** Give a slot back (exactly once per `'ok'`): the next waiter, if any, takes it. */
  release(): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiter;
      if (!w.waiting) continue;
      this.settle(w, 'ok');
      this.compact();
      return; // the slot passes to the waiter: `active` is unchanged
    }
    this.compact();
    this.active--;
  }

  private leave(w: Waiter, r: Admitted): void {
    if (!w.waiting) return;
    this.settle(w, r);
    // the entry stays in the array, skipped by release(); compact when the queue empties
  }

  private settle(w: Waiter, r: Admitted): void {
    w.waiting = false;
    this.waiting--;
    clearTimeout(w.timer);
    w.cancel?.();
    w.resolve(r);
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
