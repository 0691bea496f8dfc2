import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessLog, type AccessEntry } from '../../src/observability/access-log.js';

/** The access-log line: what pino wrote, and never longer than one atomic pipe write (4 KiB). */

function capture() {
  const lines: string[] = [];
  return { lines, log: new AccessLog('info', { write: (l: string) => { lines.push(l); }, flush: async () => {} }) };
}

const entry = (path: string): AccessEntry => ({
  requestId: 'r-1', method: 'GET', path, api: 'orders', operation: 'get', status: 200, durationMs: 1.5, gatewayMs: 0.25, backendMs: 1.25,
  clientIp: '192.0.2.1', bytesIn: 0, bytesOut: 312,
});

test('a line has the fields in order, durations as JSON numbers, and one newline', () => {
  const { lines, log } = capture();
  log.request(entry('/orders/7'));
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('}\n'));
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['level', 'time', 'pid', 'requestId', 'method', 'path', 'api', 'operation', 'status', 'durationMs', 'gatewayMs', 'backendMs', 'clientIp', 'bytesIn', 'bytesOut', 'msg']);
  assert.equal(j.path, '/orders/7');
  assert.equal(j.durationMs, 1.5);
  assert.equal(j.pathTruncated, undefined);
});

test('a long path is cut and marked, and no line passes 4 KiB, escapes and multi-byte characters included', () => {
  const { lines, log } = capture();
  const paths = ['/a'.repeat(4000), '/\u0001'.repeat(900), '/é✓'.repeat(600), '/"\\'.repeat(1000), 'x'.repeat(1024), 'y'.repeat(1025)];
  for (const p of paths) log.request(entry(p));
  for (const [i, l] of lines.entries()) {
    assert.ok(Buffer.byteLength(l) <= 4096, `line ${i}: ${Buffer.byteLength(l)} bytes`);
    const j = JSON.parse(l) as { path: string; pathTruncated?: boolean };
    const p = paths[i]!;
    if (p.length <= 1024) { assert.equal(j.path, p); assert.equal(j.pathTruncated, undefined); continue; }
    assert.equal(j.pathTruncated, true);
    assert.ok(p.startsWith(j.path) && j.path.length >= 64, `line ${i}: the path's beginning is kept`);
  }
});
