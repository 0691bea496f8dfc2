import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { util, type Dispatcher } from 'undici';
import type { CancelSignal } from './exchange.js';
import { connectionListed, HOP_BY_HOP_RESPONSE } from '../net/headers.js';

/**
 * The backend's response written straight to the client's response from undici's `dispatch`
 * handler callbacks (issue 19: about half the main-thread instructions of `request()` with its
 * promise, its Readable body and the pipe to the response). Only for a route where nothing after
 * the forward stage reads or replaces the body: no outbound policy, no compression (stages.ts).
 *
 * One try of the backend request: `head` settles when the response's head arrives (or the request
 * fails before it), so that the forward stage decides first (retry, problem, tracing); until `send`
 * writes the head and calls `start`, what arrives of the body is held (up to HOLD bytes, then the
 * backend is paused: a small response is usually whole by then, and its connection free). From
 * `start` on the body goes to the client with backpressure (a full client socket pauses the
 * backend, `'drain'` resumes it). `drop` throws the response away (a retried response, a response
 * nobody sends). The client going away (the exchange's signal) aborts the backend request at any
 * stage; a backend failure after the head destroys the client's response, as a failing body
 * stream does.
 */
export class DirectResponse {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** what `head` resolves with: the shape of undici's `request()` result */
  readonly body = this;
  readonly head: Promise<DirectResponse>;
  private resolveHead!: (r: DirectResponse) => void;
  private rejectHead!: (err: Error) => void;
  private abortFn: ((err?: Error) => void) | undefined = undefined;
  private resumeFn: (() => void) | undefined = undefined;
  private res: ServerResponse | undefined = undefined;
  /** chunks that arrived before `start`, and their size */
  private pending: Buffer[] | undefined = undefined;
  private held = 0;
  /** 0 waiting for the head, 1 head received, 2 complete, 3 failed */
  private state = 0;
  private dropped = false;
  private discarded = 0;
  private aborted = false;

  constructor(private readonly signal: CancelSignal) {
    this.head = new Promise<DirectResponse>((resolve, reject) => { this.resolveHead = resolve; this.rejectHead = reject; });
    signal.once('abort', this.onAbort);
  }

  /** Send one try through `dispatcher`: resolves at the head, rejects when the request fails before it. */
  static dispatch(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal: CancelSignal): Promise<DirectResponse> {
    const h = new DirectResponse(signal);
    try {
      dispatcher.dispatch(opts, h as unknown as Dispatcher.DispatchHandler);
    } catch (err) {
      h.onError(err as Error);
    }
    return h.head;
  }

  private readonly onAbort = (): void => {
    this.abort(new Error('the client closed the connection'));
  };

  private abort(err: Error): void {
    if (this.state >= 2 || this.aborted) return;
    if (this.abortFn === undefined) { this.dropped = true; return; } // not connected yet: onConnect aborts
    this.aborted = true;
    this.abortFn(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.signal.aborted || this.dropped) abort(new Error('the client closed the connection'));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 1xx (103 Early Hints): not forwarded, the final head follows
    this.statusCode = status;
    this.headers = responseHeaders(raw);
    this.resumeFn = resume;
    this.state = 1;
    this.resolveHead(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.dropped) {
      // a dropped response: a small body is read to keep the connection, a large one is cut off
      this.discarded += chunk.length;
      if (this.discarded > DRAIN_LIMIT) this.abort(new Error('response dropped'));
      return true;
    }
    const res = this.res;
    if (res === undefined) {
      (this.pending ??= []).push(chunk);
      this.held += chunk.length;
      return this.held < HOLD;
    }
    if (res.destroyed || res.writableEnded) {
      this.abort(new Error('the client closed the connection'));
      return false;
    }
    if (res.write(chunk)) return true;
    res.once('drain', this.resumeFn!);
    return false;
  }

  onComplete(): void {
    this.state = 2;
    this.signal.off('abort', this.onAbort);
    if (this.res !== undefined && !this.dropped) this.res.end();
  }

  onError(err: Error): void {
    const headed = this.state === 1;
    this.state = 3;
    this.signal.off('abort', this.onAbort);
    if (!headed) { this.rejectHead(err); return; }
    // after the head: the client's response is cut off (it may be started later: see `start`)
    if (this.res !== undefined && !this.res.destroyed) this.res.destroy();
  }

  /** The head is written: send the body to `res`. */
  start(res: ServerResponse): void {
    if (this.dropped) return;
    this.res = res;
    let ok = true;
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      for (const chunk of pending) ok = res.write(chunk);
    }
    if (this.state === 2) { res.end(); return; }
    if (this.state === 3) { if (!res.destroyed) res.destroy(); return; }
    if (ok) this.resumeFn!();
    else res.once('drain', this.resumeFn!);
  }

  /** Nobody sends this response: throw it away (a small body is read so the connection stays). */
  drop(): void {
    if (this.dropped || this.res !== undefined) return;
    this.dropped = true;
    this.pending = undefined;
    if (this.state !== 1) return;
    this.signal.off('abort', this.onAbort);
    this.discarded = this.held;
    if (this.discarded > DRAIN_LIMIT) this.abort(new Error('response dropped'));
    else this.resumeFn!();
  }
}

/**
 * The backend's response headers as the client gets them, from undici's raw pairs in one pass:
 * what `downstreamResponseHeaders(util.parseHeaders(raw))` gives (lower-case names, repeated
 * headers as arrays, hop-by-hop headers and those named in Connection left out), without the
 * intermediate object (issue 19).
 */
function responseHeaders(raw: Buffer[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  let connection: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i]!);
    const value = raw[i + 1]!.toString('latin1');
    if (HOP_BY_HOP_RESPONSE.has(name)) {
      if (name === 'connection') connection = connection === undefined ? value : [...(typeof connection === 'string' ? [connection] : connection), value];
      continue;
    }
    if (name === '__proto__') continue; // never forwarded before either (assigning it set nothing)
    const prior = Object.hasOwn(out, name) ? out[name] : undefined;
    if (prior === undefined) out[name] = value;
    else if (typeof prior === 'string') out[name] = [prior, value];
    else prior.push(value);
  }
  const listed = connectionListed(connection);
  if (listed !== undefined) for (const name of listed) delete out[name];
  return out as IncomingHttpHeaders;
}

/** the most of a body held before `start` (then the backend waits) */
const HOLD = 64 * 1024;
/** the most of a dropped response's body read to keep its connection (more: the connection is closed) */
const DRAIN_LIMIT = 64 * 1024;
