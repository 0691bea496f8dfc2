import { syntaxError } from './diagnostics.js';

/**
 * The lexer of the C# subset. Tokens keep their offsets in the expression text. `>` is always a
 * token of its own (the parser joins `> >` into a shift), so `List<List<int>>` needs no special case.
 */
export type TokenKind = 'ident' | 'keyword' | 'int' | 'real' | 'string' | 'char' | 'interp' | 'punct' | 'eof';

export interface InterpHole { start: number; end: number; align?: number; format?: string }
export type InterpPart = string | InterpHole;

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** The value of a literal: string/char text, number or bigint. */
  value?: string | number | bigint;
  /** The C# type of a numeric literal. */
  numType?: 'int' | 'long' | 'double' | 'decimal';
  parts?: InterpPart[];
}

export const KEYWORDS = new Set([
  'as', 'base', 'bool', 'break', 'byte', 'case', 'catch', 'char', 'checked', 'const', 'continue', 'decimal', 'default',
  'do', 'double', 'else', 'false', 'finally', 'float', 'for', 'foreach', 'if', 'in', 'int', 'is', 'long', 'new',
  'null', 'object', 'out', 'params', 'ref', 'return', 'sbyte', 'short', 'string', 'switch', 'this', 'throw', 'true',
  'try', 'typeof', 'uint', 'ulong', 'unchecked', 'ushort', 'using', 'void', 'while', 'dynamic', 'goto', 'lock',
  'unsafe', 'fixed', 'stackalloc', 'sizeof', 'delegate', 'event', 'operator', 'implicit', 'explicit', 'static',
  'class', 'struct', 'interface', 'enum', 'namespace', 'public', 'private', 'protected', 'internal', 'abstract',
  'sealed', 'override', 'virtual', 'extern', 'readonly', 'volatile',
]);

const PUNCT = [
  '??=', '<<=', '=>', '==', '!=', '<=', '>=', '&&', '||', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '??', '?.', '::', '<<', '{', '}', '(', ')', '[', ']', ';', ',', '.', ':', '?', '+', '-', '*', '/', '%', '&', '|',
  '^', '!', '~', '=', '<', '>',
];

const IDENT = /@?[\p{L}_][\p{L}\p{Nd}_]*/uy;
const NUMBER = /(?:0[xX][0-9A-Fa-f_]+|0[bB][01_]+)([uU][lL]?|[lL][uU]?)?|(?:\d[\d_]*)?(\.\d[\d_]*)?(?:[eE][+-]?\d+)?([fFdDmM]|[uU][lL]?|[lL][uU]?)?/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

export function lex(src: string, from = 0, to = src.length): Token[] {
  const out: Token[] = [];
  let i = from;
  while (i < to) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\ufeff' || c === '\u00a0') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') { while (i < to && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      if (e < 0 || e + 2 > to) throw syntaxError('the comment is not closed', i);
      i = e + 2;
      continue;
    }
    const t = token(src, i, to);
    out.push(t);
    i = t.end;
  }
  out.push({ kind: 'eof', text: '', start: to, end: to });
  return out;
}

function token(src: string, i: number, to: number): Token {
  const c = src[i]!, n = src[i + 1];
  if (c === '"') return regularString(src, i, to);
  if (c === '@' && n === '"') return verbatimString(src, i, to);
  if (c === '$' || (c === '@' && n === '$')) {
    const verbatim = (c === '@' && n === '$') || (c === '$' && n === '@');
    const q = i + (verbatim ? 2 : 1);
    if (src[q] === '"') return interpolated(src, i, q + 1, to, verbatim);
  }
  if (c === "'") return charLiteral(src, i, to);
  if (/[0-9]/.test(c) || (c === '.' && n !== undefined && /[0-9]/.test(n))) return numberLiteral(src, i);
  IDENT.lastIndex = i;
  const m = IDENT.exec(src);
  if (m && m.index === i && m[0].length > 0 && IDENT.lastIndex <= to) {
    const text = m[0];
    if (text[0] === '@') return { kind: 'ident', text: text.slice(1), start: i, end: i + text.length };
    return { kind: KEYWORDS.has(text) ? 'keyword' : 'ident', text, start: i, end: i + text.length };
  }
  for (const p of PUNCT) {
    if (src.startsWith(p, i) && i + p.length <= to) {
      if (p === '?.' && /[0-9]/.test(src[i + 2] ?? '')) continue;
      return { kind: 'punct', text: p, start: i, end: i + p.length };
    }
  }
  throw syntaxError(`unexpected character '${c}'`, i);
}

function numberLiteral(src: string, i: number): Token {
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(src)!;
  const text = m[0];
  const end = i + text.length;
  if (/[\p{L}_0-9]/u.test(src[end] ?? '')) throw syntaxError(`malformed number '${text}${src[end]}'`, i);
  const suffix = (m[1] ?? m[3] ?? '').toLowerCase();
  const body = text.slice(0, text.length - suffix.length).replace(/_/g, '');
  const isReal = !/^0[xb]/i.test(body) && (/[.eE]/.test(body) || ['f', 'd', 'm'].includes(suffix));
  if (isReal) {
    const v = Number(body);
    return { kind: 'real', text, start: i, end, value: v, numType: suffix === 'm' ? 'decimal' : 'double' };
  }
  if (suffix.includes('u')) throw syntaxError(`unsigned literals ('${text}') are not supported`, i);
  const big = /^0b/i.test(body) ? BigInt(body) : BigInt(body);
  if (suffix === '' && big <= 2147483647n) return { kind: 'int', text, start: i, end, value: Number(big), numType: 'int' };
  if (big > 9223372036854775807n) throw syntaxError(`the number ${text} is too large`, i);
  return { kind: 'int', text, start: i, end, value: big, numType: 'long' };
}

function escape(src: string, i: number): [string, number] {
  const e = src[i + 1];
  if (e === undefined) throw syntaxError('the string is not closed', i);
  if (e in ESCAPES) return [ESCAPES[e]!, 2];
  if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(src.slice(i + 2, i + 6))) return [String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16)), 6];
  if (e === 'U' && /^[0-9A-Fa-f]{8}$/.test(src.slice(i + 2, i + 10))) {
    const cp = parseInt(src.slice(i + 2, i + 10), 16);
    if (cp > 0x10ffff) throw syntaxError('an invalid \\U escape', i);
    return [String.fromCodePoint(cp), 10];
  }
  if (e === 'x') {
    const m = /^[0-9A-Fa-f]{1,4}/.exec(src.slice(i + 2, i + 6));
    if (m) return [String.fromCharCode(parseInt(m[0], 16)), 2 + m[0].length];
  }
  throw syntaxError(`unknown escape sequence '\\${e}'`, i);
}

function regularString(src: string, i: number, to: number): Token {
  let v = '';
  for (let k = i + 1; k < to; k++) {
    const c = src[k]!;
    if (c === '"') return { kind: 'string', text: src.slice(i, k + 1), start: i, end: k + 1, value: v };
    if (c === '\n') break;
    if (c === '\\') { const [s, len] = escape(src, k); v += s; k += len - 1; } else v += c;
  }
  throw syntaxError('the string is not closed', i);
}

function verbatimString(src: string, i: number, to: number): Token {
  let v = '';
  for (let k = i + 2; k < to; k++) {
    const c = src[k]!;
    if (c === '"') {
      if (src[k + 1] === '"') { v += '"'; k++; continue; }
      return { kind: 'string', text: src.slice(i, k + 1), start: i, end: k + 1, value: v };
    }
    v += c;
  }
  throw syntaxError('the verbatim string is not closed', i);
}

function charLiteral(src: string, i: number, to: number): Token {
  let v: string, k: number;
  if (src[i + 1] === '\\') { const [s, len] = escape(src, i + 1); v = s; k = i + 1 + len; } else { v = src[i + 1] ?? ''; k = i + 2; }
  if (k >= to || src[k] !== "'" || v === '' || v === "'" || v === '\n' || v.length !== 1) throw syntaxError('a malformed character literal', i);
  return { kind: 'char', text: src.slice(i, k + 1), start: i, end: k + 1, value: v };
}

/** `$"…{expr,align:format}…"`: text parts and holes (offsets of the hole's expression). */
function interpolated(src: string, i: number, body: number, to: number, verbatim: boolean): Token {
  const parts: InterpPart[] = [];
  let text = '';
  for (let k = body; k < to; k++) {
    const c = src[k]!;
    if (c === '"') {
      if (verbatim && src[k + 1] === '"') { text += '"'; k++; continue; }
      if (text) parts.push(text);
      return { kind: 'interp', text: src.slice(i, k + 1), start: i, end: k + 1, parts };
    }
    if (c === '{' && src[k + 1] === '{') { text += '{'; k++; continue; }
    if (c === '}' && src[k + 1] === '}') { text += '}'; k++; continue; }
    if (c === '}') throw syntaxError("a lone '}' in an interpolated string (write '}}')", k);
    if (c === '{') {
      if (text) parts.push(text);
      text = '';
      const hole = holeAt(src, k + 1, to);
      parts.push(hole.hole);
      k = hole.close;
      continue;
    }
    if (!verbatim && c === '\n') break;
    if (!verbatim && c === '\\') { const [s, len] = escape(src, k); text += s; k += len - 1; continue; }
    text += c;
  }
  throw syntaxError('the interpolated string is not closed', i);
}

function holeAt(src: string, start: number, to: number): { hole: InterpHole; close: number } {
  const inner = lexUntilHoleEnd(src, start, to);
  const hole: InterpHole = { start, end: inner.exprEnd };
  let k = inner.exprEnd;
  if (src[k] === ',') {
    const m = /^\s*(-?\d+)\s*/.exec(src.slice(k + 1, to));
    if (!m) throw syntaxError('a malformed alignment in an interpolation hole', k);
    hole.align = Number(m[1]);
    if (Math.abs(hole.align) >= 1_000_000) throw syntaxError('the alignment of an interpolation hole must be less than 1000000', k);
    k += 1 + m[0].length;
  }
  if (src[k] === ':') {
    const e = src.indexOf('}', k);
    if (e < 0 || e >= to) throw syntaxError('the interpolation hole is not closed', start - 1);
    hole.format = src.slice(k + 1, e);
    k = e;
  }
  if (src[k] !== '}') throw syntaxError('the interpolation hole is not closed', start - 1);
  if (hole.end === hole.start || src.slice(hole.start, hole.end).trim() === '') throw syntaxError('an empty interpolation hole', start - 1);
  return { hole, close: k };
}

/** The end of a hole's expression: the first `,`, `:` or `}` outside brackets, strings and chars. */
function lexUntilHoleEnd(src: string, start: number, to: number): { exprEnd: number } {
  let depth = 0;
  for (let k = start; k < to;) {
    const c = src[k]!;
    if (depth === 0 && (c === '}' || c === ',' || c === ':')) {
      if (c === ':' && src[k + 1] === ':') { k += 2; continue; }
      return { exprEnd: k };
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (c === '"' || c === "'" || c === '$' || c === '@') {
      const t = c === '$' || c === '@' ? tryToken(src, k, to) : token(src, k, to);
      if (t) { k = t.end; continue; }
    }
    if (c === '?' && (src[k + 1] === '?' || src[k + 1] === '.')) { k += 2; continue; }
    if (c === '?' && src[k + 1] === '[') { k++; continue; }
    if (c === '?' && depth === 0) throw syntaxError('a conditional expression in an interpolation hole must be in parentheses', k);
    k++;
  }
  throw syntaxError('the interpolation hole is not closed', start - 1);
}

function tryToken(src: string, k: number, to: number): Token | undefined {
  const n = src[k + 1];
  if (n === '"' || n === '$' || n === '@') return token(src, k, to);
  return undefined;
}
