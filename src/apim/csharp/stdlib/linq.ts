import { castFn } from '../conversions.js';
import { extensionHost } from '../signatures.js';
import { charge, ticks } from '../runtime/budget.js';
import { fail, noElements } from '../runtime/exceptions.js';
import { compareValues } from '../runtime/compare.js';
import { dec } from '../runtime/numbers.js';
import { csEquals, keyOf } from '../runtime/values.js';
import { addMembers, defineType, type MemberSpec, type Type } from '../types.js';
import { DictionaryValue } from './collections.js';
import { StringComparerValue } from './strings.js';

/**
 * LINQ to objects, evaluated eagerly: each operator returns an array (charged to the allocation
 * budget); lambdas cost a step per call.
 */
type Seq = Iterable<unknown>;
type Fn = (...a: unknown[]) => unknown;

const arr = (xs: Seq): unknown[] => (Array.isArray(xs) ? xs : Array.from(xs));
const out = (a: unknown[]): unknown[] => (charge(a.length), a);

function first(xs: Seq, p?: Fn, orDefault?: unknown): unknown {
  for (const x of xs) { if (!p || p(x)) return x; }
  return orDefault !== undefined ? orDefault : p ? fail('InvalidOperationException', 'Sequence contains no matching element') : noElements();
}
function last(xs: Seq, p?: Fn, orDefault?: unknown): unknown {
  const a = arr(xs);
  ticks(a.length);
  for (let i = a.length - 1; i >= 0; i--) if (!p || p(a[i])) return a[i];
  return orDefault !== undefined ? orDefault : p ? fail('InvalidOperationException', 'Sequence contains no matching element') : noElements();
}
function single(xs: Seq, p?: Fn, orDefault?: unknown): unknown {
  let found: unknown, n = 0;
  for (const x of xs) if (!p || p(x)) { found = x; if (++n > 1) fail('InvalidOperationException', p ? 'Sequence contains more than one matching element' : 'Sequence contains more than one element'); }
  return n === 1 ? found : orDefault !== undefined ? orDefault : noElements();
}

/** The default of an element type (null, 0, false, …) for FirstOrDefault and friends. */
const zeroOf = (t: Type | undefined): unknown => (t?.k === 'named' && t.def.valueType ? t.def.zero ?? 0 : null);
const withZero = (f: (zero: unknown) => Fn) => ({ bind: ([t]: Type[]) => f(zeroOf(t)) });

function sum(xs: Seq, sel: Fn | undefined, kind: 'int' | 'long' | 'double' | 'decimal'): number | bigint {
  if (kind === 'long') { let s = 0n; for (const x of xs) s += (sel ? sel(x) : x) as bigint; return BigInt.asIntN(64, s); }
  let s = 0;
  for (const x of xs) s += (sel ? sel(x) : x) as number;
  if (kind === 'int' && (s > 2147483647 || s < -2147483648)) fail('OverflowException', 'Arithmetic operation resulted in an overflow.');
  return kind === 'decimal' ? dec(s) : s;
}
function extreme(xs: Seq, sel: Fn | undefined, max: boolean, orNull: boolean): unknown {
  let best: unknown, any = false;
  for (const x of xs) {
    const v = sel ? sel(x) : x;
    if (v === null && orNull) continue;
    if (!any || (max ? compareValues(v, best) > 0 : compareValues(v, best) < 0)) best = v;
    any = true;
  }
  return any ? best : orNull ? null : noElements();
}
function average(xs: Seq, sel?: Fn): number {
  let s = 0, n = 0;
  for (const x of xs) { s += Number(sel ? sel(x) : x); n++; }
  return n === 0 ? noElements() : s / n;
}

const ORDER = Symbol('order');
type Ordered = unknown[] & { [ORDER]?: Array<(a: unknown, b: unknown) => number> };
function orderBy(xs: Seq, key: Fn, desc: boolean, comparer: StringComparerValue | null, then: boolean): Ordered {
  const a = arr(xs);
  const prev = then ? (a as Ordered)[ORDER] ?? [] : [];
  const keys = new Map<unknown, unknown>();
  const cmp = (x: unknown, y: unknown) => {
    if (!keys.has(x)) keys.set(x, key(x));
    if (!keys.has(y)) keys.set(y, key(y));
    const kx = keys.get(x), ky = keys.get(y);
    const r = comparer ? comparer.compare(kx as string, ky as string) : compareValues(kx, ky);
    return desc ? -r : r;
  };
  const all = [...prev, cmp];
  const sorted = out(a.slice()) as Ordered;
  ticks(a.length * Math.ceil(Math.log2(a.length + 1)));
  const keyed = sorted.map((x) => x);
  keyed.sort((x, y) => { for (const c of all) { const r = c(x, y); if (r) return r; } return 0; });
  Object.defineProperty(keyed, ORDER, { value: all, enumerable: false });
  return keyed as Ordered;
}
function distinct(xs: Seq, comparer: StringComparerValue | null = null): unknown[] {
  const seen = new Set<unknown>();
  const res: unknown[] = [];
  for (const x of xs) { const k = comparer ? comparer.key(x) : keyOf(x); if (!seen.has(k)) { seen.add(k); res.push(x); } }
  return out(res);
}
const contains = (xs: Seq, v: unknown, comparer?: StringComparerValue | null) => {
  for (const x of xs) if (comparer ? comparer.compare(x as string, v as string) === 0 : csEquals(x, v)) return true;
  return false;
};
function toDictionary(xs: Seq, key: Fn, value: Fn | undefined, comparer: StringComparerValue | null): DictionaryValue {
  const d = new DictionaryValue(comparer);
  for (const x of xs) d.add(key(x), value ? value(x) : x);
  return d;
}

const NUMERIC: Array<['int' | 'long' | 'double' | 'decimal', 'int' | 'long' | 'double' | 'decimal']> = [['int', 'int'], ['long', 'long'], ['double', 'double'], ['decimal', 'decimal']];
const numericSpecs = (): MemberSpec[] => NUMERIC.flatMap(([t, k]): MemberSpec[] => [
  [`static Sum(this IEnumerable<${t}>): ${t}`, (xs: Seq) => sum(xs, undefined, k)],
  [`static Sum<T>(this IEnumerable<T>, Func<T, ${t}>): ${t}`, (xs: Seq, f: Fn) => sum(xs, f, k)],
  [`static Max(this IEnumerable<${t}>): ${t}`, (xs: Seq) => extreme(xs, undefined, true, false)],
  [`static Max<T>(this IEnumerable<T>, Func<T, ${t}>): ${t}`, (xs: Seq, f: Fn) => extreme(xs, f, true, false)],
  [`static Min(this IEnumerable<${t}>): ${t}`, (xs: Seq) => extreme(xs, undefined, false, false)],
  [`static Min<T>(this IEnumerable<T>, Func<T, ${t}>): ${t}`, (xs: Seq, f: Fn) => extreme(xs, f, false, false)],
  [`static Average(this IEnumerable<${t}>): double`, (xs: Seq) => average(xs)],
  [`static Average<T>(this IEnumerable<T>, Func<T, ${t}>): double`, (xs: Seq, f: Fn) => average(xs, f)],
]);

export const ENUMERABLE = defineType({ name: 'Enumerable', ns: 'System.Linq', is: () => false });
extensionHost(ENUMERABLE);
addMembers(ENUMERABLE, [
  ['static Where<T>(this IEnumerable<T>, Func<T, bool>): IEnumerable<T>', (xs: Seq, p: Fn) => out(arr(xs).filter((x) => p(x)))],
  ['static Where<T>(this IEnumerable<T>, Func<T, int, bool>): IEnumerable<T>', (xs: Seq, p: Fn) => out(arr(xs).filter((x, i) => p(x, i)))],
  ['static Select<T, R>(this IEnumerable<T>, Func<T, R>): IEnumerable<R>', (xs: Seq, f: Fn) => out(arr(xs).map((x) => f(x)))],
  ['static Select<T, R>(this IEnumerable<T>, Func<T, int, R>): IEnumerable<R>', (xs: Seq, f: Fn) => out(arr(xs).map((x, i) => f(x, i)))],
  ['static SelectMany<T, R>(this IEnumerable<T>, Func<T, IEnumerable<R>>): IEnumerable<R>', (xs: Seq, f: Fn) => out(arr(xs).flatMap((x) => arr(f(x) as Seq)))],
  ['static Any<T>(this IEnumerable<T>): bool', (xs: Seq) => { for (const _ of xs) return true; return false; }],
  ['static Any<T>(this IEnumerable<T>, Func<T, bool>): bool', (xs: Seq, p: Fn) => { for (const x of xs) if (p(x)) return true; return false; }],
  ['static All<T>(this IEnumerable<T>, Func<T, bool>): bool', (xs: Seq, p: Fn) => { for (const x of xs) if (!p(x)) return false; return true; }],
  ['static Count<T>(this IEnumerable<T>): int', (xs: Seq) => { const a = arr(xs); return a.length; }],
  ['static Count<T>(this IEnumerable<T>, Func<T, bool>): int', (xs: Seq, p: Fn) => { let n = 0; for (const x of xs) if (p(x)) n++; return n; }],
  ['static First<T>(this IEnumerable<T>): T', (xs: Seq) => first(xs)],
  ['static First<T>(this IEnumerable<T>, Func<T, bool>): T', (xs: Seq, p: Fn) => first(xs, p)],
  ['static FirstOrDefault<T>(this IEnumerable<T>): T', withZero((z) => (xs) => first(xs as Seq, undefined, z))],
  ['static FirstOrDefault<T>(this IEnumerable<T>, Func<T, bool>): T', withZero((z) => (xs, p) => first(xs as Seq, p as Fn, z))],
  ['static Last<T>(this IEnumerable<T>): T', (xs: Seq) => last(xs)],
  ['static Last<T>(this IEnumerable<T>, Func<T, bool>): T', (xs: Seq, p: Fn) => last(xs, p)],
  ['static LastOrDefault<T>(this IEnumerable<T>): T', withZero((z) => (xs) => last(xs as Seq, undefined, z))],
  ['static LastOrDefault<T>(this IEnumerable<T>, Func<T, bool>): T', withZero((z) => (xs, p) => last(xs as Seq, p as Fn, z))],
  ['static Single<T>(this IEnumerable<T>): T', (xs: Seq) => single(xs)],
  ['static Single<T>(this IEnumerable<T>, Func<T, bool>): T', (xs: Seq, p: Fn) => single(xs, p)],
  ['static SingleOrDefault<T>(this IEnumerable<T>): T', withZero((z) => (xs) => single(xs as Seq, undefined, z))],
  ['static SingleOrDefault<T>(this IEnumerable<T>, Func<T, bool>): T', withZero((z) => (xs, p) => single(xs as Seq, p as Fn, z))],
  ['static ElementAt<T>(this IEnumerable<T>, int): T', (xs: Seq, i: number) => { const a = arr(xs); return i >= 0 && i < a.length ? a[i] : fail('ArgumentOutOfRangeException', "Index was out of range. (Parameter 'index')"); }],
  ['static ElementAtOrDefault<T>(this IEnumerable<T>, int): T', withZero((z) => (xs, i) => { const a = arr(xs as Seq); return (i as number) >= 0 && (i as number) < a.length ? a[i as number] : z; })],
  ...numericSpecs(),
  ['static Max<T>(this IEnumerable<T>): T', (xs: Seq) => extreme(xs, undefined, true, false)],
  ['static Min<T>(this IEnumerable<T>): T', (xs: Seq) => extreme(xs, undefined, false, false)],
  ['static Max<T, R>(this IEnumerable<T>, Func<T, R>): R', (xs: Seq, f: Fn) => extreme(xs, f, true, false)],
  ['static Min<T, R>(this IEnumerable<T>, Func<T, R>): R', (xs: Seq, f: Fn) => extreme(xs, f, false, false)],
  ['static OrderBy<T, K>(this IEnumerable<T>, Func<T, K>): IEnumerable<T>', (xs: Seq, f: Fn) => orderBy(xs, f, false, null, false)],
  ['static OrderBy<T>(this IEnumerable<T>, Func<T, string>, StringComparer): IEnumerable<T>', (xs: Seq, f: Fn, c: StringComparerValue) => orderBy(xs, f, false, c, false)],
  ['static OrderByDescending<T, K>(this IEnumerable<T>, Func<T, K>): IEnumerable<T>', (xs: Seq, f: Fn) => orderBy(xs, f, true, null, false)],
  ['static ThenBy<T, K>(this IEnumerable<T>, Func<T, K>): IEnumerable<T>', (xs: Seq, f: Fn) => orderBy(xs, f, false, null, true)],
  ['static ThenByDescending<T, K>(this IEnumerable<T>, Func<T, K>): IEnumerable<T>', (xs: Seq, f: Fn) => orderBy(xs, f, true, null, true)],
  ['static Reverse<T>(this IEnumerable<T>): IEnumerable<T>', (xs: Seq) => out(arr(xs).slice().reverse())],
  ['static Distinct<T>(this IEnumerable<T>): IEnumerable<T>', (xs: Seq) => distinct(xs)],
  ['static Distinct(this IEnumerable<string>, StringComparer): IEnumerable<string>', (xs: Seq, c: StringComparerValue) => distinct(xs, c)],
  ['static Contains<T>(this IEnumerable<T>, T): bool', (xs: Seq, v: unknown) => contains(xs, v)],
  ['static Contains(this IEnumerable<string>, string, StringComparer): bool', (xs: Seq, v: unknown, c: StringComparerValue) => contains(xs, v, c)],
  ['static Concat<T>(this IEnumerable<T>, IEnumerable<T>): IEnumerable<T>', (a: Seq, b: Seq) => out([...arr(a), ...arr(b)])],
  ['static Union<T>(this IEnumerable<T>, IEnumerable<T>): IEnumerable<T>', (a: Seq, b: Seq) => distinct([...arr(a), ...arr(b)])],
  ['static Intersect<T>(this IEnumerable<T>, IEnumerable<T>): IEnumerable<T>', (a: Seq, b: Seq) => { const bs = arr(b); return distinct(arr(a).filter((x) => contains(bs, x))); }],
  ['static Except<T>(this IEnumerable<T>, IEnumerable<T>): IEnumerable<T>', (a: Seq, b: Seq) => { const bs = arr(b); return distinct(arr(a).filter((x) => !contains(bs, x))); }],
  ['static Skip<T>(this IEnumerable<T>, int): IEnumerable<T>', (xs: Seq, n: number) => out(arr(xs).slice(Math.max(0, n)))],
  ['static Take<T>(this IEnumerable<T>, int): IEnumerable<T>', (xs: Seq, n: number) => out(arr(xs).slice(0, Math.max(0, n)))],
  ['static SkipWhile<T>(this IEnumerable<T>, Func<T, bool>): IEnumerable<T>', (xs: Seq, p: Fn) => { const a = arr(xs); let i = 0; while (i < a.length && p(a[i])) i++; return out(a.slice(i)); }],
  ['static TakeWhile<T>(this IEnumerable<T>, Func<T, bool>): IEnumerable<T>', (xs: Seq, p: Fn) => { const a = arr(xs); let i = 0; while (i < a.length && p(a[i])) i++; return out(a.slice(0, i)); }],
  ['static ToArray<T>(this IEnumerable<T>): T[]', { bind: ([t]: Type[]) => (xs: Seq) => (t?.k === 'named' && t.def.name === 'byte' ? Uint8Array.from(xs as Iterable<number>) : out(Array.from(xs))) }],
  ['static ToList<T>(this IEnumerable<T>): List<T>', (xs: Seq) => out(Array.from(xs))],
  ['static ToDictionary<T, K>(this IEnumerable<T>, Func<T, K>): Dictionary<K, T>', (xs: Seq, k: Fn) => toDictionary(xs, k, undefined, null)],
  ['static ToDictionary<T, K, V>(this IEnumerable<T>, Func<T, K>, Func<T, V>): Dictionary<K, V>', (xs: Seq, k: Fn, v: Fn) => toDictionary(xs, k, v, null)],
  ['static ToDictionary<T, V>(this IEnumerable<T>, Func<T, string>, Func<T, V>, StringComparer): Dictionary<string, V>', (xs: Seq, k: Fn, v: Fn, c: StringComparerValue) => toDictionary(xs, k, v, c)],
  ['static Aggregate<T>(this IEnumerable<T>, Func<T, T, T>): T', (xs: Seq, f: Fn) => { const a = arr(xs); if (!a.length) noElements(); return a.reduce((acc, x) => f(acc, x)); }],
  ['static Aggregate<T, A>(this IEnumerable<T>, A, Func<A, T, A>): A', (xs: Seq, seed: unknown, f: Fn) => arr(xs).reduce((acc, x) => f(acc, x), seed)],
  ['static SequenceEqual<T>(this IEnumerable<T>, IEnumerable<T>): bool', (a: Seq, b: Seq) => { const x = arr(a), y = arr(b); return x.length === y.length && x.every((v, i) => csEquals(v, y[i])); }],
  ['static Cast<R>(this IEnumerable<object>): IEnumerable<R>', { bind: ([r]: Type[]) => { const c = castFn(r!); return (xs: Seq) => out(arr(xs).map((x) => c(x))); } }],
  ['static DefaultIfEmpty<T>(this IEnumerable<T>): IEnumerable<T>', withZero((z) => (xs) => { const a = arr(xs as Seq); return a.length ? a : [z]; })],
  ['static Empty<T>(): IEnumerable<T>', () => []],
  ['static Range(int, int): IEnumerable<int>', (start: number, n: number) => { if (n < 0) fail('ArgumentOutOfRangeException', "Specified argument was out of the range of valid values. (Parameter 'count')"); charge(n); ticks(n); return Array.from({ length: n }, (_, i) => start + i); }],
  ['static Repeat<T>(T, int): IEnumerable<T>', (v: unknown, n: number) => { if (n < 0) fail('ArgumentOutOfRangeException', "Specified argument was out of the range of valid values. (Parameter 'count')"); charge(n); return new Array(n).fill(v); }],
]);
