/**
 * Micro-benchmark: the JSON parse of validate-content (src/gateway/openapi/json.ts `parseJson`:
 * UTF-8 check, duplicate keys, depth, then JSON.parse) against JSON.parse alone and against the
 * previous implementation (the exact scan, `scanJson`, on every body before JSON.parse: `parseJsonBefore`).
 * Prints µs per parse as a markdown table.
 *
 *   node dist/bench/json-scan.js
 */
import { isUtf8 } from 'node:buffer';
import { pathToFileURL } from 'node:url';
import { parseJson, scanJson, type JsonResult } from '../src/gateway/openapi/json.js';
import { orderBody, batchBody } from './validation.js';

const DEPTH = 32;

/** ~`bytes` of string-heavy JSON: comments with long texts, escapes (quotes, newlines, \u) and non-ASCII. */
function textBody(bytes: number): Buffer {
  const para = 'Lorem ipsum dolor sit amet, "consectetur" adipiscing elit.\nSed do eiusmod tempor — incididunt ut labore et dolore magna aliqua. Ünïcödé \u2603 ';
  const item = (i: number) => ({ id: i, author: `user-${i}`, title: `Comment ${i}: a \\ path C:\\tmp`, body: para.repeat(3 + (i % 4)) });
  const items: unknown[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i++) { const it = item(i); items.push(it); size += JSON.stringify(it).length + 1; }
  return Buffer.from(JSON.stringify({ comments: items }));
}

function timeIt(fn: () => unknown, minMs = 500): number {
  for (let i = 0; i < 300; i++) fn(); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (elapsed * 1000) / n;
}

export async function runJsonScanBench(): Promise<string> {
  const bodies: Array<[string, Buffer]> = [
    ['order, 1 KB', orderBody(1024)],
    ['batch of orders, 100 KB', batchBody(100 * 1024)],
    ['string-heavy, 1 KB', textBody(1024)],
    ['string-heavy, 100 KB', textBody(100 * 1024)],
  ];
  const rows = ['| body | bytes | JSON.parse alone µs | parseJson before µs | parseJson after µs | after ÷ JSON.parse | before ÷ after |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const [name, buf] of bodies) {
    const a = parseJson(buf, DEPTH), b = parseJsonBefore(buf, DEPTH);
    if (!a.ok || !b.ok) throw new Error(`bench body ${name} does not parse`);
    // 7 interleaved rounds, medians: the three share the same machine noise
    const fns = [() => JSON.parse(buf.toString('utf8')), () => parseJsonBefore(buf, DEPTH), () => parseJson(buf, DEPTH)];
    const runs: number[][] = [[], [], []];
    for (let r = 0; r < 7; r++) fns.forEach((fn, k) => runs[k]!.push(timeIt(fn, 150)));
    const [plain, before, after] = runs.map((xs) => xs.sort((x, y) => x - y)[3]!) as [number, number, number];
    rows.push(`| ${name} | ${buf.length} | ${plain.toFixed(1)} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(after / plain).toFixed(2)}× | ${(before / after).toFixed(1)}× |`);
  }
  return rows.join('\n');
}

// ---- the previous implementation: the exact scan on every body, then JSON.parse ----

function parseJsonBefore(buf: Buffer, maxDepth: number): JsonResult {
  if (!isUtf8(buf)) return { ok: false, rule: 'encoding', path: '', message: 'body is not valid UTF-8' };
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { ok: false, rule: 'syntax' as const, path: '', message: 'body must not start with a byte-order mark' };
  }
  const scan = scanJson(buf, maxDepth);
  if (scan !== undefined) return scan;
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch {
    return { ok: false, rule: 'syntax' as const, path: '', message: 'body is not valid JSON' };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runJsonScanBench());
}
