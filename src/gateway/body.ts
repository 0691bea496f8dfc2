import { Readable } from 'node:stream';
import type { ProblemCode } from './problems.js';

/**
 * The request body has one owner: this stream. It is created by the request lifecycle as soon as
 * the gateway knows a body follows, and every consumer (a validating policy that buffers it, the
 * proxy that streams it to the backend) reads from it, never from the incoming request itself.
 *
 * It owns the incoming stream's errors (listeners are attached here, at creation, so an abort at
 * any stage can never become an unhandled `error` event), counts the bytes, enforces the size
 * limit while the body streams, and enforces a minimum data rate while somebody is reading it:
 * a client that trickles its upload (or stalls it) is cut with 408 instead of holding a backend
 * connection. Time spent while nobody reads (an async policy runs, the backend applies
 * backpressure) is never held against the client.
 *
 * It reads ahead from the start, up to its buffer (64 KiB), while the inbound policies run: a
 * client that resets or half-closes mid-body is then noticed at once (a socket nobody reads never
 * reports its reset), so an aborted request is not forwarded when the policies are done.
 * An HTTP/2 request stream reports the end of its body before it reports a reset (RST_STREAM):
 * the end counts only once the stream has not been aborted by then.
 *
 * A failure is recorded in `failure` (status, code, detail) so that whoever notices the stream
 * error can answer with what actually went wrong.
 */

export interface BodyFailure { status: number; code: ProblemCode; detail: string }

export interface BodyLimits {
  /** bytes the body may have */
  maxSize: number;
  /** bytes per second the client must send while the body is read; 0 disables the check */
  minRate: number;
  /** seconds over which the rate is measured (a tumbling window of active reading time) */
  rateWindow: number;
}

const TOO_SLOW: BodyFailure = { status: 408, code: 'body-too-slow', detail: 'The request body arrived too slowly.' };
const ABORTED: BodyFailure = { status: 499, code: 'client-closed-request', detail: 'The client closed the connection before the body was complete.' };

export class RequestBody extends Readable {
  /** bytes received so far */
  bytes = 0;
  /** set when the body failed: too large, too slow, aborted */
  failure: BodyFailure | undefined = undefined;
  /** the size limit and the answer when it is passed (a policy may lower it, see `restrict`) */
  private limit: number;
  private tooLarge: BodyFailure;
  /** the incoming stream was paused because our reader is not keeping up */
  private held = false;
  private reading = false;
  private srcEnded = false;
  /** rate accounting: active seconds in the current window and the byte count at its start */
  private activeTicks = 0;
  private windowBytes = 0;

  constructor(private readonly src: Readable, private readonly limits: BodyLimits) {
    super({ highWaterMark: 64 * 1024 });
    this.limit = limits.maxSize;
    this.tooLarge = { status: 413, code: 'body-too-large', detail: `The request body is larger than this API accepts (${limits.maxSize} bytes).` };
    this.http2 = (src as { httpVersionMajor?: number }).httpVersionMajor === 2;
    src.on('error', this.onSrcError);
    src.on('aborted', this.onSrcError);
    src.on('end', this.onSrcEnd);
    src.on('close', this.onSrcClose);
    // the owner handles failures through `failure`; a consumer that attaches its own listener
    // (undici, a reader) still sees the error
    this.on('error', noop);
    // read ahead (see above)
    src.on('data', this.onData);
  }

  private readonly http2: boolean;

  /** Lower the size limit (a validating policy's `max-size`); passing it answers 413 with `detail`. */
  restrict(limit: number, detail: string): void {
    if (limit >= this.limit) return;
    this.limit = limit;
    this.tooLarge = { status: 413, code: 'body-too-large', detail };
    if (this.bytes > limit) this.fail(this.tooLarge);
  }

  /** The body has been received completely. */
  get complete(): boolean {
    return this.srcEnded;
  }

  override _read(): void {
    // the data rate counts from when somebody reads
    if (!this.reading) {
      this.reading = true;
      if (this.limits.minRate > 0 && !this.srcEnded) track(this);
    }
    this.held = false;
    if (!this.srcEnded) this.src.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    untrack(this);
    this.src.off('data', this.onData);
    // stop reading the client; what is left in the socket is the lifecycle's business (it closes
    // a connection whose body was not read)
    if (!this.srcEnded) this.src.pause();
    cb(err);
  }

  /** Stop with a failure: the reader sees an error, the owner reads `failure`. */
  fail(f: BodyFailure): void {
    if (this.failure !== undefined || this.destroyed) return;
    this.failure = f;
    this.destroy(Object.assign(new Error(f.detail), { code: f.code, status: f.status }));
  }

  /**
   * Called once a second while the body is being read (see `track`). A second counts against the
   * client only when it could have sent: our buffer had room (`held` is false).
   */
  tick(): void {
    if (this.held || this.srcEnded) return;
    if (++this.activeTicks < this.limits.rateWindow) return;
    const received = this.bytes - this.windowBytes;
    if (received < this.limits.minRate * this.activeTicks) { this.fail(TOO_SLOW); return; }
    this.activeTicks = 0;
    this.windowBytes = this.bytes;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) { this.fail(this.tooLarge); return; }
    if (!this.push(chunk)) {
      this.held = true;
      this.src.pause();
    }
  };

  private endSeen = false;

  private readonly onSrcEnd = (): void => {
    this.endSeen = true;
    if (this.http2) setImmediate(this.confirmEnd);
    else this.confirmEnd();
  };

  private readonly confirmEnd = (): void => {
    if (this.srcEnded || this.failure !== undefined) return;
    if ((this.src as { aborted?: boolean }).aborted === true) { this.fail(ABORTED); return; }
    this.srcEnded = true;
    untrack(this);
    if (!this.destroyed) this.push(null);
  };

  private readonly onSrcError = (): void => {
    this.fail(ABORTED);
  };

  private readonly onSrcClose = (): void => {
    if (this.endSeen) this.confirmEnd();
    else this.fail(ABORTED);
  };
}

function noop(): void {}

/**
 * Bodies being read are checked for their data rate by one timer for the whole process (a timer
 * per request would cost more than the check).
 */
const tracked = new Set<RequestBody>();
let timer: NodeJS.Timeout | undefined;

function track(b: RequestBody): void {
  tracked.add(b);
  if (timer === undefined) {
    timer = setInterval(() => {
      for (const body of tracked) body.tick();
      if (tracked.size === 0) { clearInterval(timer); timer = undefined; }
    }, 1000);
    timer.unref();
  }
}

function untrack(b: RequestBody): void {
  tracked.delete(b);
}
