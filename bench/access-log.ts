import pino from 'pino';
import { openSync } from 'node:fs';
import { AccessLog, type AccessEntry } from '../src/observability/access-log.js';
import { LineSink } from '../src/observability/line-sink.js';

/**
 * The access-log line, in-process (issue 19): pino configured as the access log was (JSON, iso
 * time, pid, no redaction) against the field-aware writer, both handing their lines to a
 * destination that only counts them. Interleaved rounds, medians, ns per line.
 * `node dist/bench/access-log.js`
 */

const entry = (i: number): AccessEntry => ({
  requestId: `5f0c1c9e-6a51-4e3f-9a39-${String(100000000000 + i)}`, method: 'GET', path: '/orders/7', api: 'bench', operation: undefined,
  status: 200, durationMs: 1.234, gatewayMs: 0.456, backendMs: 0.778, clientIp: '127.0.0.1', bytesIn: 0, bytesOut: 312,
  policy: undefined, reason: undefined, traceId: undefined, spanId: undefined,
});

export async function runAccessLogBench(rounds = 7, lines = 100_000): Promise<string> {
  // a destination that only counts: what is measured is making the line, not writing it
  let written = 0;
  const dest = () => ({ write(s: string) { written += s.length; return true; }, flush: async () => {} });
  const viaPino = pino({ level: 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, dest());
  const writer = new AccessLog('info', dest());
  const entries = Array.from({ length: 1000 }, (_, i) => entry(i));
  const run = (f: (e: AccessEntry) => void) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < lines; i++) f(entries[i % 1000]!);
    return Number(process.hrtime.bigint() - t0) / lines;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(run((e) => viaPino.info(e, 'request')));
    b.push(run((e) => writer.request(e)));
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const out = [
    '| access-log line | ns/line (median of ' + rounds + ' × ' + lines + ') |',
    '|---|---:|',
    `| pino, as configured before (generic serializer) | ${med(a).toFixed(0)} |`,
    `| field-aware writer (src/observability/access-log.ts) | ${med(b).toFixed(0)} (${(med(b) / med(a)).toFixed(2)}×) |`,
  ].join('\n');
  console.log(out);
  if (written === 0) throw new Error('nothing written');
  return out;
}

/**
 * `node dist/bench/access-log.js <pino|writer|stdout> <lines>` writes that many lines with one of the two
 * and nothing else: run it under `valgrind --tool=callgrind` with two line counts, and the
 * difference of the totals ÷ the difference of the counts is the instructions per line.
 */
function only(which: string, lines: number): void {
  // `stdout`: the writer and its sink (line-sink.ts) writing to /dev/null: making and writing the line
  const sink = which === 'stdout' ? ((fd) => new LineSink({ fd, slowFd: fd }))(openSync('/dev/null', 'w')) : { write: (s: string) => s.length, flush: async () => {} };
  const log = which === 'pino'
    ? ((l) => (e: AccessEntry) => l.info(e, 'request'))(pino({ level: 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, sink))
    : ((w) => (e: AccessEntry) => w.request(e))(new AccessLog('info', sink));
  const entries = Array.from({ length: 1000 }, (_, i) => entry(i));
  for (let i = 0; i < lines; i++) log(entries[i % 1000]!);
}

if (process.argv[1]?.endsWith('access-log.js')) {
  if (process.argv[2] === undefined) void runAccessLogBench();
  else only(process.argv[2], Number(process.argv[3] ?? 10000));
}
