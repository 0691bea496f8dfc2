/**
 * Finds where a policy expression (`@(…)` or `@{…}`) ends in the document text: at the bracket
 * matching the opening one, skipping C# strings (regular, verbatim `@"…"`, interpolated `$"…{…}…"`
 * with nested holes, `$@"…"` / `@$"…"`), char literals and comments, so a `)` or `"` inside a
 * string never ends the expression. XML entities are decoded on the way, so the escaped form
 * (`&quot;`, `&lt;`, `&amp;&amp;`) and the raw form read the same. The expression's text is taken
 * from the source as written: newlines and `//` comments survive.
 */

const ENTITY = /&(?:(lt|gt|amp|apos|quot)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));/y;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** The character an entity reference at `i` stands for and its length, if `s[i]` starts one. */
export function entityAt(s: string, i: number): [string, number] | undefined {
  ENTITY.lastIndex = i;
  const m = ENTITY.exec(s);
  if (!m) return undefined;
  if (m[1]) return [NAMED[m[1]]!, m[0].length];
  const code = m[2] ? parseInt(m[2], 10) : parseInt(m[3]!, 16);
  if (code > 0x10ffff || code === 0) return undefined;
  return [String.fromCodePoint(code), m[0].length];
}

/** Decodes known entity references; anything else (a raw `&`, `&&`) stays as written. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length;) {
    const e = s[i] === '&' ? entityAt(s, i) : undefined;
    if (e) { out += e[0]; i += e[1]; } else out += s[i++];
  }
  return out;
}

export interface ScannedExpression {
  /** Decoded text between the brackets. */
  code: string;
  /** Raw offset of each character of `code`, plus one entry for the closing bracket. */
  offsets: Int32Array;
  /** Raw offset just after the closing bracket. */
  end: number;
}

export type ScanResult = ScannedExpression | { error: string; offset: number };

const CLOSE: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** Scans the expression whose `@` is at `at` (followed by `(` or `{`) in `s`. */
export function scanExpression(s: string, at: number): ScanResult {
  const chars: string[] = [];
  const offs: number[] = [];
  let raw = at + 2;
  const get = (k: number): string | undefined => {
    while (chars.length <= k && raw < s.length) {
      offs.push(raw);
      const e = s[raw] === '&' ? entityAt(s, raw) : undefined;
      if (e) { chars.push(e[0]); raw += e[1]; } else chars.push(s[raw++]!);
    }
    return chars[k];
  };
  const opener = s[at + 1]!;
  const end = scanCode(get, 0, CLOSE[opener]!, false);
  if (typeof end !== 'number') return { error: end.error, offset: end.at >= 0 && end.at < offs.length ? offs[end.at]! : at };
  get(end + 1);
  const closeRaw = offs[end]!;
  const offsets = new Int32Array(end + 1);
  for (let k = 0; k < end; k++) offsets[k] = offs[k]!;
  offsets[end] = closeRaw;
  return { code: chars.slice(0, end).join(''), offsets, end: closeRaw + 1 };
}

type Get = (k: number) => string | undefined;
type Fail = { error: string; at: number };

/** Code up to the unmatched `closer`; returns its index. In a hole, `:` at depth 0 starts a format. */
function scanCode(get: Get, i: number, closer: string, hole: boolean): number | Fail {
  const stack: string[] = [];
  for (;;) {
    const c = get(i);
    if (c === undefined) return { error: `the expression is not closed: no matching '${closer}'`, at: -1 };
    const n = get(i + 1);
    if (c === '"') i = skipString(get, i + 1, false);
    else if (c === "'") i = skipChar(get, i + 1);
    else if (c === '@' && n === '"') i = skipString(get, i + 2, true);
    else if ((c === '$' && n === '"') || (c === '$' && n === '@' && get(i + 2) === '"') || (c === '@' && n === '$' && get(i + 2) === '"')) {
      const verbatim = n === '@' || c === '@';
      const r = skipInterpolated(get, i + (verbatim ? 3 : 2), verbatim);
      if (typeof r !== 'number') return r;
      i = r;
    } else if (c === '/' && n === '/') {
      i += 2;
      while (get(i) !== undefined && get(i) !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (get(i) !== undefined && !(get(i) === '*' && get(i + 1) === '/')) i++;
      i += 2;
    } else if (c === '(' || c === '[' || c === '{') {
      stack.push(CLOSE[c]!);
      i++;
    } else if (c === ')' || c === ']' || c === '}') {
      if (stack.length === 0) {
        if (c === closer) return i;
        return { error: `unexpected '${c}': the expression opened with the bracket matching '${closer}'`, at: i };
      }
      if (stack.pop() !== c) return { error: `unexpected '${c}': brackets do not match`, at: i };
      i++;
    } else if (hole && c === ':' && stack.length === 0) {
      while (get(i) !== undefined && get(i) !== '}') i++;
    } else i++;
  }
}

/** Index after a regular or verbatim string whose body starts at `i`. */
function skipString(get: Get, i: number, verbatim: boolean): number {
  for (;;) {
    const c = get(i);
    if (c === undefined) return i;
    if (verbatim) {
      if (c === '"') {
        if (get(i + 1) === '"') { i += 2; continue; }
        return i + 1;
      }
    } else if (c === '\\') { i += 2; continue; } else if (c === '"') return i + 1;
    else if (c === '\n') return i; // unterminated: the expression parser reports it
    i++;
  }
}

function skipChar(get: Get, i: number): number {
  for (let k = 0; k < 10; k++) {
    const c = get(i + k);
    if (c === undefined || c === '\n') return i;
    if (c === '\\') { k++; continue; }
    if (c === "'") return i + k + 1;
  }
  return i;
}

function skipInterpolated(get: Get, i: number, verbatim: boolean): number | Fail {
  for (;;) {
    const c = get(i);
    if (c === undefined) return i;
    if (c === '{') {
      if (get(i + 1) === '{') { i += 2; continue; }
      const r = scanCode(get, i + 1, '}', true);
      if (typeof r !== 'number') return r;
      i = r + 1;
    } else if (c === '}') i += get(i + 1) === '}' ? 2 : 1;
    else if (c === '"') {
      if (verbatim && get(i + 1) === '"') { i += 2; continue; }
      return i + 1;
    } else if (!verbatim && c === '\\') i += 2;
    else if (!verbatim && c === '\n') return i;
    else i++;
  }
}
