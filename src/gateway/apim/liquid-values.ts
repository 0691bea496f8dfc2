import { JToken, JValue, serialize } from '../../apim/csharp/runtime/json.js';

/**
 * Liquid's view of values: JSON (plain objects and arrays, and JTokens from expressions turned
 * into them), maps of the object model (headers, variables, query: `Key`/`Value` pairs when
 * iterated), and the object model's own objects, whose capitalized members only are readable.
 * Filters take the DotLiquid names, case-insensitive, with or without underscores (`Upcase`,
 * `divided_by`, `DividedBy`).
 */

export interface Filter { name: string; args: import('./liquid-expr.js').Expr[] }
export const EMPTY = Symbol('empty');

interface MapLike { get(k: string): unknown; has(k: string): boolean; keys(): Iterable<string>; readonly size: number }
const isMap = (v: unknown): v is MapLike => typeof v === 'object' && v !== null && typeof (v as MapLike).get === 'function' && typeof (v as MapLike).has === 'function';
const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
};
/** A JToken as JSON: a JValue its value, a container its parsed serialization. */
const plain = (v: unknown): unknown => {
  if (!(v instanceof JToken)) return v;
  if (v instanceof JValue) return v.value ?? null;
  return JSON.parse(serialize(v, false)) as unknown;
};
const joinStrings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(',') : v);

export function member(v: unknown, key: unknown): unknown {
  v = plain(v);
  if (v === null || v === undefined) return undefined;
  if (typeof key === 'number') {
    if (!Array.isArray(v)) return undefined;
    return plain(v[key < 0 ? v.length + key : key]);
  }
  const k = String(key);
  if (Array.isArray(v)) {
    if (k === 'size') return v.length;
    if (k === 'first') return plain(v[0]);
    if (k === 'last') return plain(v[v.length - 1]);
    if ((k === 'Key' || k === 'Value') && Object.hasOwn(v, k)) return (v as unknown as Record<string, unknown>)[k];
    return /^\d+$/.test(k) ? plain(v[Number(k)]) : undefined;
  }
  if (typeof v === 'string') return k === 'size' ? v.length : undefined;
  if (isMap(v)) return v.has(k) ? joinStrings(plain(v.get(k))) : k === 'size' ? v.size : undefined;
  if (isPlain(v)) return Object.hasOwn(v, k) ? v[k] : k === 'size' ? Object.keys(v).length : undefined;
  if (typeof v !== 'object' || !/^[A-Z][A-Za-z]*$/.test(k)) return undefined;
  const x = (v as Record<string, unknown>)[k];
  return typeof x === 'function' ? undefined : x;
}

const pair = (k: string, v: unknown) => Object.assign([k, v], { Key: k, Value: v });

export function items(v: unknown): unknown[] {
  v = plain(v);
  if (v === null || v === undefined || v === EMPTY) return [];
  if (Array.isArray(v)) return v.map(plain);
  if (isMap(v)) return [...v.keys()].map((k) => pair(k, joinStrings(plain(v.get(k)))));
  if (isPlain(v)) return Object.entries(v).map(([k, x]) => pair(k, x));
  return [v];
}

export function toText(v: unknown): string {
  v = plain(v);
  if (v === null || v === undefined || v === EMPTY) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(toText).join('');
  if (isPlain(v)) return JSON.stringify(v);
  if (isMap(v)) return '';
  const cs = (v as { csString?: () => string }).csString;
  return typeof cs === 'function' ? cs.call(v) : String(v);
}

export const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false;

const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (isPlain(v) && Object.keys(v).length === 0);

function equals(a: unknown, b: unknown): boolean {
  a = plain(a); b = plain(b);
  if (a === EMPTY) return isEmpty(b);
  if (b === EMPTY) return isEmpty(a);
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

export function compare(op: string, a: unknown, b: unknown): boolean {
  a = plain(a); b = plain(b);
  switch (op) {
    case '==': return equals(a, b);
    case '!=': case '<>': return !equals(a, b);
    case 'contains':
      if (typeof a === 'string') return b !== null && b !== undefined && a.includes(toText(b));
      if (Array.isArray(a)) return a.some((x) => equals(x, b));
      return isPlain(a) ? Object.hasOwn(a, toText(b)) : false;
  }
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
  switch (op) {
    case '<': return a < b;
    case '>': return a > b;
    case '<=': return a <= b;
    default: return a >= b;
  }
}

const num = (v: unknown): number => { const n = Number(plain(v)); return Number.isFinite(n) ? n : 0; };
const str = (v: unknown): string => toText(v);
const arith = (v: unknown, n: number) => (Number.isInteger(num(v)) && Number.isInteger(n) ? Math.trunc(n) : n);
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const sortable = (xs: unknown[]) => xs.slice().sort((x, y) => (typeof x === 'number' && typeof y === 'number' ? x - y : toText(x) < toText(y) ? -1 : toText(x) > toText(y) ? 1 : 0));

type Fn = (v: unknown, args: unknown[]) => unknown;
export const FILTERS: Record<string, Fn> = {
  // internal: rendering, iteration and case/when equality
  tostring: (v) => toText(v),
  items: (v) => items(v),
  equals: (v, [b]) => equals(v, b),
  default: (v, [d]) => (isEmpty(plain(v)) || v === false ? d : v),
  upcase: (v) => str(v).toUpperCase(),
  downcase: (v) => str(v).toLowerCase(),
  capitalize: (v) => { const s = str(v); return s.charAt(0).toUpperCase() + s.slice(1); },
  append: (v, [a]) => str(v) + str(a),
  prepend: (v, [a]) => str(a) + str(v),
  size: (v) => { const p = plain(v); return Array.isArray(p) ? p.length : isMap(p) ? p.size : isPlain(p) ? Object.keys(p).length : str(p).length; },
  join: (v, [sep]) => items(v).map(toText).join(sep === undefined ? ' ' : str(sep)),
  split: (v, [sep]) => str(v).split(str(sep)),
  first: (v) => items(v)[0],
  last: (v) => { const xs = items(v); return xs[xs.length - 1]; },
  reverse: (v) => items(v).reverse(),
  sort: (v) => sortable(items(v)),
  uniq: (v) => { const seen = new Set<string>(); return items(v).filter((x) => { const k = JSON.stringify(x) ?? ''; if (seen.has(k)) return false; seen.add(k); return true; }); },
  map: (v, [k]) => items(v).map((x) => member(x, str(k))),
  strip: (v) => str(v).trim(),
  lstrip: (v) => str(v).trimStart(),
  rstrip: (v) => str(v).trimEnd(),
  stripnewlines: (v) => str(v).replace(/\r?\n/g, ''),
  striphtml: (v) => str(v).replace(/<[^>]*>/g, ''),
  newlinetobr: (v) => str(v).replace(/\r?\n/g, '<br />\n'),
  replace: (v, [a, b]) => str(v).split(str(a)).join(str(b)),
  replacefirst: (v, [a, b]) => str(v).replace(str(a), () => str(b)),
  remove: (v, [a]) => str(v).split(str(a)).join(''),
  removefirst: (v, [a]) => str(v).replace(str(a), ''),
  truncate: (v, [n, end]) => { const s = str(v), e = end === undefined ? '...' : str(end), len = n === undefined ? 50 : num(n); return s.length <= len ? s : s.slice(0, Math.max(0, len - e.length)) + e; },
  truncatewords: (v, [n, end]) => { const w = str(v).split(/\s+/), len = n === undefined ? 15 : num(n); return w.length <= len ? str(v) : w.slice(0, Math.max(1, len)).join(' ') + (end === undefined ? '...' : str(end)); },
  slice: (v, [start, len]) => { const p = plain(v), s = num(start), l = len === undefined ? 1 : num(len); const from = s < 0 ? Math.max(0, (Array.isArray(p) ? p.length : str(p).length) + s) : s; return Array.isArray(p) ? p.slice(from, from + l) : str(p).slice(from, from + l); },
  escape: (v) => escapeHtml(str(v)),
  h: (v) => escapeHtml(str(v)),
  urlencode: (v) => encodeURIComponent(str(v)).replace(/%20/g, '+'),
  urldecode: (v) => { try { return decodeURIComponent(str(v).replace(/\+/g, ' ')); } catch { return str(v); } },
  plus: (v, [n]) => arith(n, num(v) + num(n)),
  minus: (v, [n]) => arith(n, num(v) - num(n)),
  times: (v, [n]) => arith(n, num(v) * num(n)),
  dividedby: (v, [n]) => { const d = num(n); if (d === 0) throw new Error('liquid: divided by 0'); const q = num(v) / d; return Number.isInteger(num(v)) && Number.isInteger(d) ? Math.floor(q) : q; },
  modulo: (v, [n]) => { const d = num(n); if (d === 0) throw new Error('liquid: modulo 0'); return num(v) % d; },
  round: (v, [n]) => { const f = 10 ** (n === undefined ? 0 : num(n)); return Math.round(num(v) * f) / f; },
  ceil: (v) => Math.ceil(num(v)),
  floor: (v) => Math.floor(num(v)),
  abs: (v) => Math.abs(num(v)),
};
