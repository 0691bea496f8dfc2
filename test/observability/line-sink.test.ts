import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The access log's stdout sink (src/observability/line-sink.ts), in a child process whose stdout
 * is a real pipe or a file: every line arrives whole and in order, interleaved with the process
 * logger's own synchronous writes only between lines; a reader that stops reading never blocks the
 * event loop (lines are dropped, then counted in a line of their own).
 */

const sinkUrl = pathToFileURL(resolve(fileURLToPath(import.meta.url), '../../../src/observability/line-sink.js')).href;

/**
 * A child that writes `lines` access lines (sizes vary up to 3 KiB) and, every 100th, a line of its
 * own on fd 1 (as the process logger does); with `long`, every 500th line is up to 9 KiB instead
 * and there is no other writer (a write longer than PIPE_BUF is not atomic: the sink writes it
 * whole, but another writer on the same pipe could land inside it; the access log keeps its lines
 * within 4 KiB, see access-log.ts).
 */
function writerScript(lines: number, long = false): string {
  return `
    import { LineSink } from ${JSON.stringify(sinkUrl)};
    import { writeSync } from 'node:fs';
    const sink = new LineSink();
    for (let i = 0; i < ${lines}; i++) {
      sink.write(JSON.stringify({ i, pad: 'x'.repeat((i * 37) % (${long} && i % 500 === 0 ? 9000 : i % 500 === 0 ? 3000 : 700)), s: 'é✓' }) + '\\n');
      if (!${long} && i % 100 === 0) writeSync(1, JSON.stringify({ other: i }) + '\\n');
      if (i % 40 === 0) await new Promise((r) => setTimeout(r, 1)); // ~40,000 lines a second at most, the event loop turning between them
    }
    await sink.flush();
  `;
}

function run(script: string, stdout: 'pipe' | number): { child: ReturnType<typeof spawn>; done: Promise<number | null> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', stdout, 'inherit'] });
  const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, done };
}

/**
 * Every line whole and parseable, the access lines in order; a line is either there or counted in
 * a `dropped` line (a reader slower than the writer for longer than the sink's bound).
 */
function checkLines(text: string, lines: number, withOthers = true): void {
  const got = text.split('\n');
  assert.equal(got.pop(), '', 'the output ends with a whole line');
  let last = -1;
  let kept = 0;
  let dropped = 0;
  let others = 0;
  for (const l of got) {
    const j = JSON.parse(l) as { i?: number; other?: number; s?: string; dropped?: number };
    if (j.other !== undefined) { others++; continue; }
    if (j.dropped !== undefined) { dropped += j.dropped; continue; }
    assert.ok(j.i! > last, `access lines arrive in order (${j.i} after ${last})`);
    assert.equal(j.s, 'é✓');
    last = j.i!;
    kept++;
  }
  assert.equal(kept + dropped, lines, 'every line is written or counted as dropped');
  assert.ok(dropped < lines / 10, `a reader that keeps up loses (almost) nothing: ${dropped} dropped`);
  assert.equal(others, withOthers ? lines / 100 : 0);
}

test('through a pipe (a FIFO, as container runtimes give), every line arrives whole and in order', async () => {
  // `| cat` makes the child's stdout a FIFO (Node's own 'pipe' stdio is a socket pair)
  const child = spawn('sh', ['-c', `"${process.execPath}" --input-type=module -e "$SCRIPT" | cat`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SCRIPT: writerScript(20_000) } });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  assert.equal(await new Promise((r) => child.once('exit', r)), 0);
  checkLines(Buffer.concat(chunks).toString('utf8'), 20_000);
});

test('through a socket (a child of a Node process, journald), every line arrives whole and in order, between the process logger\'s lines', async () => {
  const { child, done } = run(writerScript(20_000), 'pipe');
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  assert.equal(await done, 0);
  checkLines(Buffer.concat(chunks).toString('utf8'), 20_000);
});

test('lines longer than 4 KiB arrive whole through a pipe (a FIFO)', async () => {
  const child = spawn('sh', ['-c', `"${process.execPath}" --input-type=module -e "$SCRIPT" | cat`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SCRIPT: writerScript(20_000, true) } });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  assert.equal(await new Promise((r) => child.once('exit', r)), 0);
  checkLines(Buffer.concat(chunks).toString('utf8'), 20_000, false);
});

test('to a file, every line arrives whole and in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sink-'));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'w');
  try {
    const { done } = run(writerScript(5_000), fd);
    assert.equal(await done, 0);
  } finally {
    closeSync(fd);
  }
  checkLines(readFileSync(file, 'utf8'), 5_000);
});

test('a reader that stops reading never blocks the event loop: lines are dropped and counted', async () => {
  // the child writes 10 MB of lines over ~1 s while nobody reads its stdout, and reports the
  // longest pause of its event loop on stderr
  const script = `
    import { LineSink } from ${JSON.stringify(sinkUrl)};
    const sink = new LineSink(undefined, 256 * 1024);
    let worst = 0, last = performance.now(), n = 0;
    const line = JSON.stringify({ pad: 'y'.repeat(1000) }) + '\\n';
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      for (let i = 0; i < 100; i++) { sink.write(line); n++; }
      await new Promise((r) => setImmediate(r));
      const t = performance.now(); worst = Math.max(worst, t - last); last = t;
    }
    process.stderr.write(JSON.stringify({ worst, n }) + '\\n');
    await sink.flush();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    child.stdout!.pause(); // nobody reads: the pipe fills up (64 KiB), then the sink's buffer (256 KiB)
    const report = await new Promise<{ worst: number; n: number }>((res, rej) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const nl = err.indexOf('\n');
        if (nl >= 0) { try { res(JSON.parse(err.slice(0, nl))); } catch { rej(new Error(err)); } }
      });
      child.once('exit', () => rej(new Error(`child exited before reporting: ${err}`)));
    });
    assert.ok(report.n > 1000, `the child kept writing (${report.n} lines)`);
    assert.ok(report.worst < 250, `the event loop never waited on stdout (longest pause ${report.worst.toFixed(0)} ms)`);
    // now read: what was kept arrives, and the count of what was dropped follows
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => chunks.push(c));
    child.stdout!.resume();
    await new Promise((r) => child.once('exit', r));
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { dropped?: number; pad?: string });
    const dropped = lines.filter((l) => l.dropped !== undefined).reduce((a, l) => a + l.dropped!, 0);
    const kept = lines.filter((l) => l.pad !== undefined).length;
    assert.ok(dropped > 0, 'lines were dropped while stdout was blocked');
    assert.equal(kept + dropped, report.n, 'every line is either written or counted as dropped');
  } finally {
    child.kill('SIGKILL');
  }
});
