import { extensionHost } from '../signatures.js';
import { charge, ticks } from '../runtime/budget.js';
import { fail, indexRange, keyNotFound, argRange } from '../runtime/exceptions.js';
import { OUT } from '../frame.js';
import { csEquals, keyOf, KeyValuePair, type CsValue } from '../runtime/values.js';
import { addMembers, alias, defineType, type MemberSpec } from '../types.js';
import { StringComparerValue } from './strings.js';

/** Arrays, List<T>, Dictionary<TKey,TValue>, HashSet<T>, KeyValuePair<TKey,TValue>. */

export const ARRAY = defineType({ name: 'Array', is: (v) => Array.isArray(v) || v instanceof Uint8Array });
addMembers(ARRAY, [
  ['Length: int', (a: ArrayLike<unknown>) => a.length],
  ['static IndexOf<T>(T[], T): int', (a: unknown[], v: unknown) => a.findIndex((x) => csEquals(x, v))],
  ['static Empty<T>(): T[]', () => []],
  ['static Reverse<T>(T[]): void', (a: unknown[]) => { a.reverse(); }],
  ['static Copy<T>(T[], T[], int): void', (a: unknown[], b: unknown[], n: number) => arrayCopy(a, 0, b, 0, n)],
  ['static Copy<T>(T[], int, T[], int, int): void', arrayCopy],
  ['static Exists<T>(T[], Func<T, bool>): bool', (a: unknown[], p: (x: unknown) => boolean) => (ticks(a.length), a.some((x) => p(x)))],
  ['static TrueForAll<T>(T[], Func<T, bool>): bool', (a: unknown[], p: (x: unknown) => boolean) => (ticks(a.length), a.every((x) => p(x)))],
  ['static Find<T>(T[], Func<T, bool>): T', (a: unknown[], p: (x: unknown) => boolean) => (ticks(a.length), a.find((x) => p(x)) ?? null)],
  ['static FindIndex<T>(T[], Func<T, bool>): int', (a: unknown[], p: (x: unknown) => boolean) => (ticks(a.length), a.findIndex((x) => p(x)))],
  ['static FindAll<T>(T[], Func<T, bool>): T[]', (a: unknown[], p: (x: unknown) => boolean) => (charge(a.length), a.filter((x) => p(x)))],
]);

function arrayCopy(a: unknown[] | null, from: number, b: unknown[] | null, to: number, n: number): void {
  if (a === null || b === null) return fail('ArgumentNullException', `Value cannot be null. (Parameter '${a === null ? 'sourceArray' : 'destinationArray'}')`);
  if (from < 0 || to < 0 || n < 0 || from + n > a.length || to + n > b.length) fail('ArgumentException', 'Destination array was not long enough. Check the destination index, length, and the array\'s lower bounds.');
  ticks(n);
  for (let i = 0; i < n; i++) b[to + i] = a[from + i];
}

export const indexOfValue = (a: ArrayLike<unknown>, v: unknown): number => {
  ticks(a.length);
  for (let i = 0; i < a.length; i++) if (csEquals(a[i], v)) return i;
  return -1;
};

const listGet = (a: unknown[], i: number) => (i >= 0 && i < a.length ? a[i] : argRange('index', 'Index was out of range. Must be non-negative and less than the size of the collection.'));
const listSet = (a: unknown[], i: number, v: unknown) => { if (i < 0 || i >= a.length) argRange('index', 'Index was out of range. Must be non-negative and less than the size of the collection.'); a[i] = v; };

export const LIST = defineType({ name: 'List', ns: 'System.Collections.Generic', params: ['T'], elementOf: () => ({ k: 'param', name: 'T' }), is: (v) => Array.isArray(v), zero: null });
for (const n of ['IList', 'ICollection', 'IReadOnlyList', 'IReadOnlyCollection']) { alias(n, LIST); alias(`System.Collections.Generic.${n}`, LIST); }
addMembers(LIST, [
  ['new()', () => []],
  ['new(int)', (n: number) => (n < 0 ? argRange('capacity') : [])],
  ['new(IEnumerable<T>)', (xs: Iterable<unknown>) => { const a = [...xs]; charge(a.length); return a; }],
  ['Count: int', (a: unknown[]) => a.length],
  ['this[int]: T set', [listGet, listSet]],
  ['Add(T): void', (a: unknown[], v: unknown) => { charge(1); a.push(v); }],
  ['AddRange(IEnumerable<T>): void', (a: unknown[], xs: Iterable<unknown>) => { for (const x of [...xs]) { charge(1); a.push(x); } }],
  ['Contains(T): bool', (a: unknown[], v: unknown) => indexOfValue(a, v) >= 0],
  ['IndexOf(T): int', indexOfValue],
  ['Remove(T): bool', (a: unknown[], v: unknown) => { const i = indexOfValue(a, v); if (i >= 0) a.splice(i, 1); return i >= 0; }],
  ['RemoveAt(int): void', (a: unknown[], i: number) => { listGet(a, i); a.splice(i, 1); }],
  ['Insert(int, T): void', (a: unknown[], i: number, v: unknown) => { if (i < 0 || i > a.length) argRange('index'); charge(1); a.splice(i, 0, v); }],
  ['Clear(): void', (a: unknown[]) => { a.length = 0; }],
  ['ToArray(): T[]', (a: unknown[]) => (charge(a.length), a.slice())],
  ['Reverse(): void', (a: unknown[]) => { a.reverse(); }],
  ['Exists(Func<T, bool>): bool', (a: unknown[], p: (x: unknown) => boolean) => a.some((x) => p(x))],
  ['Find(Func<T, bool>): T', (a: unknown[], p: (x: unknown) => boolean) => a.find((x) => p(x)) ?? null],
  ['FindAll(Func<T, bool>): List<T>', (a: unknown[], p: (x: unknown) => boolean) => a.filter((x) => p(x))],
  ['FindIndex(Func<T, bool>): int', (a: unknown[], p: (x: unknown) => boolean) => a.findIndex((x) => p(x))],
  ['RemoveAll(Func<T, bool>): int', (a: unknown[], p: (x: unknown) => boolean) => { const keep = a.filter((x) => !p(x)); const n = a.length - keep.length; a.splice(0, a.length, ...keep); return n; }],
  ['ForEach(Action<T>): void', (a: unknown[], f: (x: unknown) => void) => { for (const x of a.slice()) f(x); }],
]);

/** A Dictionary: insertion-ordered, keys compared by value (and by a StringComparer when given). */
export class DictionaryValue implements CsValue {
  readonly csType = 'System.Collections.Generic.Dictionary`2';
  readonly map = new Map<unknown, [unknown, unknown]>();
  constructor(readonly comparer: StringComparerValue | null = null) {}
  csString(): string { return this.csType; }
  private k(key: unknown): unknown {
    if (key === null || key === undefined) fail('ArgumentNullException', "Value cannot be null. (Parameter 'key')");
    return this.comparer ? this.comparer.key(key) : keyOf(key);
  }
  get(key: unknown): unknown {
    const e = this.map.get(this.k(key));
    return e ? e[1] : keyNotFound(key);
  }
  tryGet(key: unknown): [unknown, unknown] | undefined { return this.map.get(this.k(key)); }
  set(key: unknown, v: unknown): void {
    const k = this.k(key);
    if (!this.map.has(k)) charge(1);
    this.map.set(k, [this.map.get(k)?.[0] ?? key, v]);
  }
  add(key: unknown, v: unknown): void {
    const k = this.k(key);
    if (this.map.has(k)) fail('ArgumentException', `An item with the same key has already been added. Key: ${String(key)}`);
    charge(1);
    this.map.set(k, [key, v]);
  }
  has(key: unknown): boolean { return this.map.has(this.k(key)); }
  remove(key: unknown): boolean { return this.map.delete(this.k(key)); }
  *[Symbol.iterator](): Iterator<KeyValuePair> { for (const [k, v] of this.map.values()) yield new KeyValuePair(k, v); }
}

const tryGet = (d: DictionaryValue, key: unknown, zero: unknown) => {
  const e = d.tryGet(key);
  OUT[0] = e ? e[1] : zero;
  return e !== undefined;
};

export const KVP = defineType({ name: 'KeyValuePair', ns: 'System.Collections.Generic', params: ['TKey', 'TValue'], valueType: true, is: (v) => v instanceof KeyValuePair });
addMembers(KVP, [
  ['new(TKey, TValue)', (k: unknown, v: unknown) => new KeyValuePair(k, v)],
  ['Key: TKey', (p: KeyValuePair) => p.Key],
  ['Value: TValue', (p: KeyValuePair) => p.Value],
]);

export const DICTIONARY = defineType({
  name: 'Dictionary', ns: 'System.Collections.Generic', params: ['TKey', 'TValue'], is: (v) => v instanceof DictionaryValue,
  elementOf: () => ({ k: 'named', def: KVP, args: [{ k: 'param', name: 'TKey' }, { k: 'param', name: 'TValue' }] }),
});
for (const n of ['IDictionary', 'IReadOnlyDictionary']) { alias(n, DICTIONARY); alias(`System.Collections.Generic.${n}`, DICTIONARY); }
const dictionarySpecs: MemberSpec[] = [
  ['new()', () => new DictionaryValue()],
  ['new(int)', () => new DictionaryValue()],
  ['new(StringComparer)', (c: StringComparerValue) => new DictionaryValue(c)],
  ['new(IEnumerable<KeyValuePair<TKey, TValue>>)', (xs: Iterable<KeyValuePair>) => { const d = new DictionaryValue(); for (const p of xs) d.add(p.Key, p.Value); return d; }],
  ['new(IEnumerable<KeyValuePair<TKey, TValue>>, StringComparer)', (xs: Iterable<KeyValuePair>, c: StringComparerValue) => { const d = new DictionaryValue(c); for (const p of xs) d.add(p.Key, p.Value); return d; }],
  ['Count: int', (d: DictionaryValue) => d.map.size],
  ['Keys: List<TKey>', (d: DictionaryValue) => [...d.map.values()].map((e) => e[0])],
  ['Values: List<TValue>', (d: DictionaryValue) => [...d.map.values()].map((e) => e[1])],
  ['this[TKey]: TValue set', [(d: DictionaryValue, k: unknown) => d.get(k), (d: DictionaryValue, k: unknown, v: unknown) => d.set(k, v)]],
  ['Add(TKey, TValue): void', (d: DictionaryValue, k: unknown, v: unknown) => d.add(k, v)],
  ['TryAdd(TKey, TValue): bool', (d: DictionaryValue, k: unknown, v: unknown) => (d.has(k) ? false : (d.add(k, v), true))],
  ['ContainsKey(TKey): bool', (d: DictionaryValue, k: unknown) => d.has(k)],
  ['ContainsValue(TValue): bool', (d: DictionaryValue, v: unknown) => [...d.map.values()].some((e) => csEquals(e[1], v))],
  ['Remove(TKey): bool', (d: DictionaryValue, k: unknown) => d.remove(k)],
  ['Clear(): void', (d: DictionaryValue) => d.map.clear()],
  ['TryGetValue(TKey, out TValue): bool', { bind: ([, v]: Array<{ k: string; def?: { zero?: unknown; valueType: boolean } }>) => (d: DictionaryValue, k: unknown) => tryGet(d, k, v?.k === 'named' && v.def?.valueType ? v.def.zero ?? null : null) }],
  ['GetValueOrDefault(TKey): TValue', (d: DictionaryValue, k: unknown) => d.tryGet(k)?.[1] ?? null],
  ['GetValueOrDefault(TKey, TValue): TValue', (d: DictionaryValue, k: unknown, def: unknown) => { const e = d.tryGet(k); return e ? e[1] : def; }],
];
addMembers(DICTIONARY, dictionarySpecs);

/** A HashSet keeps distinct values (by value, or by a StringComparer). */
export class HashSetValue implements CsValue {
  readonly csType = 'System.Collections.Generic.HashSet`1';
  readonly map = new Map<unknown, unknown>();
  constructor(readonly comparer: StringComparerValue | null = null) {}
  csString(): string { return this.csType; }
  private k(v: unknown): unknown { return this.comparer ? this.comparer.key(v) : keyOf(v); }
  add(v: unknown): boolean { const k = this.k(v); if (this.map.has(k)) return false; charge(1); this.map.set(k, v); return true; }
  has(v: unknown): boolean { return this.map.has(this.k(v)); }
  remove(v: unknown): boolean { return this.map.delete(this.k(v)); }
  [Symbol.iterator](): Iterator<unknown> { return this.map.values(); }
}
export const HASHSET = defineType({ name: 'HashSet', ns: 'System.Collections.Generic', params: ['T'], elementOf: () => ({ k: 'param', name: 'T' }), is: (v) => v instanceof HashSetValue });
alias('ISet', HASHSET);
addMembers(HASHSET, [
  ['new()', () => new HashSetValue()],
  ['new(StringComparer)', (c: StringComparerValue) => new HashSetValue(c)],
  ['new(IEnumerable<T>)', (xs: Iterable<unknown>) => { const s = new HashSetValue(); for (const x of xs) s.add(x); return s; }],
  ['new(IEnumerable<T>, StringComparer)', (xs: Iterable<unknown>, c: StringComparerValue) => { const s = new HashSetValue(c); for (const x of xs) s.add(x); return s; }],
  ['Count: int', (s: HashSetValue) => s.map.size],
  ['Add(T): bool', (s: HashSetValue, v: unknown) => s.add(v)],
  ['Contains(T): bool', (s: HashSetValue, v: unknown) => s.has(v)],
  ['Remove(T): bool', (s: HashSetValue, v: unknown) => s.remove(v)],
]);

export { indexRange, extensionHost };
