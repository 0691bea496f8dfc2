import { isUtf8 } from 'node:buffer';

/**
 * Parse a JSON body the way a validator must: the value it validates has to be the value the
 * backend will see. So, besides syntax:
 *
 * - **duplicate keys are refused** (`{"role":"user","role":"admin"}`): JSON.parse keeps the last,
 *   other parsers keep the first, and a validator that checks one while the backend uses the other
 *   is bypassed. Keys are compared after unescaping (`"a"` and `"\u0061"` are the same key).
 * - nesting deeper than `maxDepth` is refused (stack exhaustion in validators and backends);
 * - bytes that are not UTF-8 are refused (a decoder would replace them, the backend may not);
 * - a byte-order mark is refused (JSON text must not begin with one).
 *
 * A structural pre-scan checks depth and keys (one pass, jumping from quote to quote with
 * `indexOf`), then the native JSON.parse builds the value.
 */
export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; rule: 'syntax' | 'max-depth' | 'duplicate-key' | 'encoding'; path: string; message: string };

export function parseJson(buf: Buffer, maxDepth: number): JsonResult {
  if (!isUtf8(buf)) return { ok: false, rule: 'encoding', path: '', message: 'body is not valid UTF-8' };
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { ok: false, rule: 'syntax', path: '', message: 'body must not start with a byte-order mark' };
  }
  const scan = scanJson(buf, maxDepth);
  if (scan !== undefined) return scan;
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch (err) {
    return { ok: false, rule: 'syntax', path: '', message: `body is not valid JSON: ${syntaxMessage(err)}` };
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
