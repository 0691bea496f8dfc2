/**
 * Micro-benchmark: the JSON parse of validate-content (src/gateway/openapi/json.ts `parseJson`:
 * UTF-8 check, duplicate keys, depth, then JSON.parse) against JSON.parse alone and against the
 * previous implementation (a per-key exact scan before JSON.parse, kept below as `parseJsonBefore`).
 * Prints µs per parse as a markdown table.
 *
 *   node dist/bench/json-scan.js
 */
import { isUtf8 } from 'node:buffer';
import { pathToFileURL } from 'node:url';
import { parseJson, type JsonResult } from '../src/gateway/openapi/json.js';
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

// ---- the previous implementation, verbatim, for the comparison ----

function parseJsonBefore(buf: Buffer, maxDepth: number): JsonResult {
  if (!isUtf8(buf)) return { ok: false, rule: 'encoding', path: '', message: 'body is not valid UTF-8' };
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { ok: false, rule: 'syntax' as const, path: '', message: 'body must not start with a byte-order mark' };
  }
  const scan = scanJson(buf, maxDepth);
  if (scan !== undefined) return scan;
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch (err) {
    return { ok: false, rule: 'syntax' as const, path: '', message: `body is not valid JSON: ${syntaxMessage(err)}` };
  }
}

function syntaxMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : 'unparsable';
  // V8 may quote a slice of the input; keep the part that says what and where
  return m.replace(/,? *"[^"]*"[^"]*is not valid JSON/, ' is not valid JSON').slice(0, 160);
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACK = 0x5b, RBRACK = 0x5d, COMMA = 0x2c;

interface Frame {
  object: boolean;
  expectKey: boolean;
  /** first key, then a Set once there are two */
  first: string | undefined;
  keys: Set<string> | undefined;
  /** index of the current element (arrays) or current key (objects), for the error path */
  index: number;
  key: string;
}

/** Returns an error result, or undefined when depth and keys are fine (syntax is JSON.parse's job). */
function scanJson(buf: Buffer, maxDepth: number): JsonResult | undefined {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  const len = buf.length;
  let i = 0;
  let nextBs = 0;
  while (i < len) {
    const c = buf[i]!;
    if (c === QUOTE) {
      // find the closing quote: the next quote not preceded by an odd number of backslashes
      let end = buf.indexOf(QUOTE, i + 1);
      while (end > 0) {
        let bs = 0;
        for (let k = end - 1; buf[k] === BACKSLASH; k--) bs++;
        if ((bs & 1) === 0) break;
        end = buf.indexOf(QUOTE, end + 1);
      }
      if (end < 0) return undefined; // unterminated: JSON.parse says so
      if (top !== undefined && top.object && top.expectKey) {
        let key: string;
        // the next backslash of the whole buffer, searched again only once passed (one pass in all)
        if (nextBs !== -1 && nextBs <= i) nextBs = buf.indexOf(BACKSLASH, i + 1);
        if (nextBs >= 0 && nextBs < end) {
          try { key = JSON.parse(buf.toString('utf8', i, end + 1)) as string; } catch { return undefined; }
        } else key = buf.toString('utf8', i + 1, end);
        if (top.first === undefined && top.keys === undefined) top.first = key;
        else {
          if (top.keys === undefined) { top.keys = new Set([top.first!]); top.first = undefined; }
          if (top.keys.has(key)) {
            return { ok: false, rule: 'duplicate-key', path: pathOf(stack, stack.length - 1) + '/' + escape(key), message: `key "${key.slice(0, 64)}" appears more than once` };
          }
          top.keys.add(key);
        }
        top.key = key;
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === LBRACE || c === LBRACK) {
      if (stack.length >= maxDepth) {
        return { ok: false, rule: 'max-depth', path: pathOf(stack, stack.length), message: `nesting is deeper than ${maxDepth} levels` };
      }
      top = { object: c === LBRACE, expectKey: c === LBRACE, first: undefined, keys: undefined, index: 0, key: '' };
      stack.push(top);
    } else if (c === RBRACE || c === RBRACK) {
      stack.pop();
      top = stack[stack.length - 1];
    } else if (c === COMMA && top !== undefined) {
      if (top.object) top.expectKey = true;
      else top.index++;
    }
    i++;
  }
  return undefined;
}

function escape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** JSON pointer of the container at depth `n` (the current member of each enclosing frame). */
function pathOf(stack: Frame[], n: number): string {
  let p = '';
  for (let d = 0; d < n; d++) { const f = stack[d]!; p += '/' + (f.object ? escape(f.key) : String(f.index)); }
  return p;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runJsonScanBench());
}
