import { LineSink } from './line-sink.js';

/**
 * The access log: one JSON line per request on stdout, the same line pino writes
 * (`{"level":"info","time":…,"pid":…,<fields>,"msg":"request"}`), but serialized by a writer that
 * knows its fields instead of pino's generic object walk (issue 19: pino's serializer was the
 * largest single cost of the log line). Strings go through JSON.stringify, so any byte a client
 * controls (path, request id) is escaped exactly as before; fields that are undefined are left
 * out, as pino leaves them out. Lines are buffered (line-sink.ts: 4 KiB) and written at least
 * twice a second, and on exit.
 */

/** The fields of one access-log line, in the order they are written. */
export interface AccessEntry {
  requestId: string;
  method: string;
  path: string;
  api?: string | undefined;
  operation?: string | undefined;
  status: number;
  durationMs?: number | undefined;
  gatewayMs?: number | undefined;
  backendMs?: number | undefined;
  clientIp: string;
  bytesIn?: number | undefined;
  bytesOut?: number | undefined;
  policy?: string | undefined;
  reason?: string | undefined;
  traceId?: string | undefined;
  spanId?: string | undefined;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export class AccessLog {
  /** false when the log level is above `info` (the access log is written at `info`) */
  readonly enabled: boolean;
  private readonly head: string;
  private lastMs = NaN;
  private lastTime = '';
  /** the second of `lastPrefix`, and its ISO time up to the milliseconds (`2026-11-29T20:50:01.`) */
  private lastSec = NaN;
  private lastPrefix = '';

  constructor(level: string | undefined, private readonly dest: LineDest = stdoutSink()) {
    const l = process.env.GATEHOUSE_LOG_LEVEL || level || 'info';
    this.enabled = (LEVELS[l] ?? 30) <= 30;
    this.head = '{"level":"info","time":"';
    this.tail = `","pid":${process.pid}`;
  }

  private readonly tail: string;

  /** Write the line of one request. */
  request(e: AccessEntry): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now !== this.lastMs) { this.lastMs = now; this.lastTime = this.isoTime(now); }
    let line = this.line(e, MAX_PATH);
    // at most 4 KiB (PIPE_BUF), so that the line is one atomic write on a pipe: a very long path
    // (or names full of escapes) is cut further
    if (line.length > LINE_MAX / 3 && Buffer.byteLength(line) > LINE_MAX) line = this.line(e, 64);
    this.dest.write(line);
  }

  private line(e: AccessEntry, maxPath: number): string {
    const cut = e.path.length > maxPath;
    let s = this.head + this.lastTime + this.tail + ',"requestId":' + str(e.requestId) + ',"method":' + str(e.method) + ',"path":' + JSON.stringify(cut ? e.path.slice(0, maxPath) : e.path);
    if (cut) s += ',"pathTruncated":true';
    if (e.api !== undefined) s += ',"api":' + str(e.api);
    if (e.operation !== undefined) s += ',"operation":' + str(e.operation);
    s += ',"status":' + num(e.status);
    if (e.durationMs !== undefined) s += ',"durationMs":' + ms(e.durationMs);
    if (e.gatewayMs !== undefined) s += ',"gatewayMs":' + ms(e.gatewayMs);
    if (e.backendMs !== undefined) s += ',"backendMs":' + ms(e.backendMs);
    s += ',"clientIp":' + str(e.clientIp);
    if (e.bytesIn !== undefined) s += ',"bytesIn":' + num(e.bytesIn);
    if (e.bytesOut !== undefined) s += ',"bytesOut":' + num(e.bytesOut);
    if (e.policy !== undefined) s += ',"policy":' + JSON.stringify(e.policy);
    if (e.reason !== undefined) s += ',"reason":' + JSON.stringify(e.reason);
    if (e.traceId !== undefined) s += ',"traceId":' + JSON.stringify(e.traceId);
    if (e.spanId !== undefined) s += ',"spanId":' + JSON.stringify(e.spanId);
    return s + ',"msg":"request"}\n';
  }

  /**
   * `new Date(ms).toISOString()`, formatted once per second (Date's ISO formatting is ~7,500
   * instructions, a tenth of the log line, when every request falls in another millisecond).
   */
  private isoTime(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec !== this.lastSec) {
      const iso = new Date(sec * 1000).toISOString();
      if (!iso.endsWith('.000Z')) return new Date(ms).toISOString();
      this.lastSec = sec;
      this.lastPrefix = iso.slice(0, -4);
    }
    const m = ms - sec * 1000;
    return this.lastPrefix + (m < 10 ? '00' : m < 100 ? '0' : '') + m + 'Z';
  }

  /** Write out what is buffered (at shutdown); resolves when it is written. */
  flush(): Promise<void> {
    return this.dest.flush();
  }
}

/**
 * JSON for a string as JSON.stringify writes it: quoted as it is when no character needs escaping
 * (printable ASCII without `"` and `\\`, the common case of ids, names and addresses), else JSON.stringify.
 */
function str(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/**
 * JSON for a duration in ms rounded to the microsecond (finish.ts), as JSON.stringify writes it
 * (`12`, `0.5`, `1.234`), from integer arithmetic: formatting a fraction is the costly case of
 * number-to-string, and every line has three.
 */
export function ms(n: number): string {
  const us = Math.round(n * 1000);
  if (!(us >= 0 && us < 1e15) || us / 1000 !== n) return num(n); // not a whole number of µs: as JSON.stringify
  const whole = Math.floor(us / 1000);
  let frac = us - whole * 1000;
  if (frac === 0) return '' + whole;
  let digits = 3;
  while (frac % 10 === 0) { frac /= 10; digits--; }
  return whole + (digits === 3 ? (frac < 10 ? '.00' : frac < 100 ? '.0' : '.') : digits === 2 ? (frac < 10 ? '.0' : '.') : '.') + frac;
}

/** JSON for a number as JSON.stringify writes it (NaN and infinities become null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** the longest path logged as it is; a longer one is cut there and the line says `"pathTruncated":true` */
const MAX_PATH = 1024;
/** the longest line (PIPE_BUF: one atomic write on a pipe) */
const LINE_MAX = 4096;

/** Where the lines go: stdout (line-sink.ts), or what a bench or test gives. */
export interface LineDest {
  write(line: string): unknown;
  flush(): Promise<void>;
}

/** stdout, through one sink per process; what still waits at exit is written synchronously */
let stdout: LineSink | undefined;
function stdoutSink(): LineSink {
  if (stdout === undefined) {
    const sink = (stdout = new LineSink());
    process.once('exit', () => sink.flushSync());
  }
  return stdout;
}
