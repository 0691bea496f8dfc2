import { constants, fstatSync, openSync, readFileSync, write as fsWrite, writeSync } from 'node:fs';

/**
 * Whole lines to stdout, for the access log (issue 19). Each line is encoded once into a
 * preallocated buffer; full lines go out in writes of at most PIPE_BUF (4 KiB), so that they never
 * interleave with another writer's lines on the same pipe (the process logger writes to stdout too).
 *
 * How a write goes out depends on what stdout is (`openStdout`):
 * - a pipe or a socket (containers, process managers, journald): written from the event loop,
 *   non-blocking. No thread is woken per write: handing each write to libuv's thread pool (what
 *   pino's destination does) cost about a tenth of the gateway's CPU per request, measured on the
 *   HAProxy chain. Only when stdout is full (EAGAIN) does the write go to the thread pool, where it
 *   waits for the reader (or, on a non-blocking stdout, is tried again every 10 ms); the event loop
 *   never waits;
 * - a file or a terminal: written from the event loop (neither blocks for long);
 * - anything else: written on the thread pool.
 *
 * Bounded: when more than `max` bytes wait (stdout does not take them), new lines are dropped and
 * counted; the count is written as a line of its own once stdout takes data again.
 */
export class LineSink {
  private buf: Buffer;
  /** bytes waiting in `buf` (while `writing`, the first chunk of them is out on the thread pool) */
  private len = 0;
  private writing = false;
  private dropped = 0;
  private waiters: Array<() => void> = [];
  /** written from the event loop (non-blocking for a pipe), or -1: always the thread pool */
  private readonly fd: number;
  /** written on the thread pool (blocking) */
  private readonly slowFd: number;

  constructor(
    target: number | StdoutFds = openStdout(),
    /** the most bytes that may wait; beyond it lines are dropped */
    private readonly max = 4 * 1024 * 1024,
    /** a write starts once this many bytes wait (and at least every `interval` ms) */
    private readonly minLength = 4096,
    interval = 500,
  ) {
    this.fd = typeof target === 'number' ? -1 : target.fd;
    this.slowFd = typeof target === 'number' ? target : target.slowFd;
    this.buf = Buffer.allocUnsafe(64 * 1024);
    if (interval > 0) setInterval(() => this.kick(), interval).unref();
  }

  /** Queue one line (with its `\n`). */
  write(line: string): void {
    const need = this.len + line.length * 3; // UTF-8 never takes more than 3 bytes per UTF-16 unit
    if (need > this.buf.length && !this.grow(need)) {
      this.dropped++;
      return;
    }
    this.len += this.buf.write(line, this.len);
    if (!this.writing && this.len >= this.minLength) this.next();
  }

  /** Write what waits now (the interval does this too); resolves when nothing waits any more. */
  flush(): Promise<void> {
    this.kick();
    if (!this.writing && this.len === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** At exit: what waits, written synchronously (a write already handed to the thread pool is left to it). */
  flushSync(): void {
    if (this.writing) return;
    while (this.len > 0) {
      try { this.shift(writeSync(this.slowFd, this.buf, 0, this.chunkEnd())); } catch { return; }
    }
  }

  private kick(): void {
    if (!this.writing && (this.len > 0 || this.dropped > 0)) this.next();
  }

  /** Make room for `need` bytes, up to `max`. */
  private grow(need: number): boolean {
    if (need > this.max) return false;
    let size = this.buf.length;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, this.max));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    return true;
  }

  /** The end of the next write: whole lines, at most 4 KiB (one line longer than that goes alone). */
  private chunkEnd(): number {
    if (this.len <= PIPE_BUF) return this.len;
    const nl = this.buf.lastIndexOf(10, PIPE_BUF - 1);
    return nl >= 0 ? nl + 1 : this.buf.indexOf(10) + 1 || this.len;
  }

  private next(): void {
    for (;;) {
      if (this.dropped > 0 && this.len + 256 <= this.buf.length) {
        this.len += this.buf.write(`{"level":"warn","time":"${new Date().toISOString()}","pid":${process.pid},"dropped":${this.dropped},"msg":"access-log lines dropped: stdout did not take them"}\n`, this.len);
        this.dropped = 0;
      }
      if (this.len === 0) break;
      const end = this.chunkEnd();
      if (this.fd >= 0) {
        try {
          this.shift(writeSync(this.fd, this.buf, 0, end));
          continue;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') { this.lost(); return; }
          // stdout is full: a pool thread waits for the reader instead of the event loop
        }
      }
      this.writing = true;
      fsWrite(this.slowFd, this.buf, 0, end, this.written);
      return;
    }
    this.settle();
  }

  /** stdout is gone (EPIPE, EBADF): nothing can be logged any more; what waits is dropped */
  private lost(): void {
    this.len = 0;
    this.settle();
  }

  /** `n` bytes are written: the rest moves to the front */
  private shift(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
  }

  private readonly written = (err: NodeJS.ErrnoException | null, n: number): void => {
    if (err?.code === 'EAGAIN') { // a non-blocking stdout is still full: try again shortly (still `writing`)
      setTimeout(() => { this.writing = false; this.next(); }, 10);
      return;
    }
    this.writing = false;
    if (err) { this.lost(); return; }
    this.shift(n);
    if (this.len >= this.minLength || (this.len > 0 && this.waiters.length > 0) || this.dropped > 0) this.next();
    else this.settle();
  };

  private settle(): void {
    if (this.writing || this.len > 0) return;
    const ws = this.waiters;
    if (ws.length === 0) return;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** writes of at most this many bytes to a pipe are atomic (Linux) */
const PIPE_BUF = 4096;

/** The descriptors a sink writes to: `fd` from the event loop (-1: none), `slowFd` on the thread pool. */
export interface StdoutFds { fd: number; slowFd: number }

/**
 * stdout for the sink. A pipe is opened again through /proc with O_NONBLOCK (its own open file
 * description: fd 1 keeps its flags). A socket (a process spawned by Node, journald) is made
 * non-blocking the way Node does it for `process.stdout` (the process logger's writes then retry
 * when the socket is full, as they waited before). A file or a terminal is written as it is.
 * Anything else goes through the thread pool only.
 */
export function openStdout(): StdoutFds {
  try {
    const st = fstatSync(1);
    if (st.isFile() || st.isCharacterDevice()) return { fd: 1, slowFd: 1 };
    if (process.platform === 'linux' && st.isFIFO()) {
      return { fd: openSync('/proc/self/fd/1', constants.O_WRONLY | constants.O_NONBLOCK), slowFd: 1 };
    }
    if (process.platform === 'linux' && st.isSocket()) {
      void process.stdout; // libuv opens it non-blocking
      if (nonBlocking(1)) return { fd: 1, slowFd: 1 };
    }
  } catch { /* no /proc, or stdout closed: the thread pool */ }
  return { fd: -1, slowFd: 1 };
}

/** the descriptor's O_NONBLOCK, from /proc (Linux) */
function nonBlocking(fd: number): boolean {
  const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m !== null && (parseInt(m[1]!, 8) & constants.O_NONBLOCK) !== 0;
}
