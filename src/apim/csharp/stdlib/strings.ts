import { CHAR, OBJECT, STRING } from '../builtins.js';
import { charge, str, ticks } from '../runtime/budget.js';
import { argNull, argRange } from '../runtime/exceptions.js';
import { compositeFormat } from '../runtime/format.js';
import { csEquals, toCsString, type CsValue } from '../runtime/values.js';
import { addMembers, defineType, named, type MemberSpec } from '../types.js';

/** string, char, StringComparison, StringSplitOptions, StringComparer and StringBuilder. */

export const STRING_COMPARISON = defineType({
  name: 'StringComparison', valueType: true, is: (v) => typeof v === 'number',
  enumValues: { CurrentCulture: 0, CurrentCultureIgnoreCase: 1, InvariantCulture: 2, InvariantCultureIgnoreCase: 3, Ordinal: 4, OrdinalIgnoreCase: 5 },
});
export const SPLIT_OPTIONS = defineType({ name: 'StringSplitOptions', valueType: true, is: (v) => typeof v === 'number', enumValues: { None: 0, RemoveEmptyEntries: 1, TrimEntries: 2 } });

const collator = new Intl.Collator('en', { sensitivity: 'variant' });
const collatorIgnoreCase = new Intl.Collator('en', { sensitivity: 'accent' });
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Compares as `StringComparison` says: ordinal by UTF-16 code units, or culture-aware. */
export function compareStrings(a: string | null, b: string | null, comparison = 0): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const ignoreCase = comparison % 2 === 1;
  if (comparison >= 4) {
    const x = ignoreCase ? a.toUpperCase() : a, y = ignoreCase ? b.toUpperCase() : b;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return sign((ignoreCase ? collatorIgnoreCase : collator).compare(a, b));
}

export const equalStrings = (a: string | null, b: string | null, comparison = 4) => compareStrings(a, b, comparison) === 0;

export class StringComparerValue implements CsValue {
  readonly csType = 'System.StringComparer';
  constructor(readonly comparison: number) {}
  csString(): string { return this.csType; }
  key(s: unknown): unknown { return typeof s === 'string' && this.comparison % 2 === 1 ? s.toUpperCase() : s; }
  compare(a: string | null, b: string | null): number { return compareStrings(a, b, this.comparison); }
}

export const STRING_COMPARER = defineType({ name: 'StringComparer', is: (v) => v instanceof StringComparerValue });
addMembers(STRING_COMPARER, [
  ['static Ordinal: StringComparer', () => new StringComparerValue(4)],
  ['static OrdinalIgnoreCase: StringComparer', () => new StringComparerValue(5)],
  ['static InvariantCulture: StringComparer', () => new StringComparerValue(2)],
  ['static InvariantCultureIgnoreCase: StringComparer', () => new StringComparerValue(3)],
  ['static CurrentCulture: StringComparer', () => new StringComparerValue(0)],
  ['static CurrentCultureIgnoreCase: StringComparer', () => new StringComparerValue(1)],
  ['Equals(string, string): bool', (c: StringComparerValue, a: string, b: string) => c.compare(a, b) === 0],
  ['Compare(string, string): int', (c: StringComparerValue, a: string, b: string) => c.compare(a, b)],
]);

function checkRange(s: string, start: number, length?: number): void {
  if (start < 0 || start > s.length) argRange('startIndex', 'startIndex cannot be larger than length of string.');
  if (length !== undefined && (length < 0 || start + length > s.length)) argRange('length', 'Index and length must refer to a location within the string.');
}

const WS = /^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/g;
function trim(s: string, chars: string[] | null, start: boolean, end: boolean): string {
  if (!chars || chars.length === 0) {
    if (start && end) return s.replace(WS, '');
    return start ? s.replace(/^[\s\u0085\u00a0]+/, '') : s.replace(/[\s\u0085\u00a0]+$/, '');
  }
  let a = 0, b = s.length;
  if (start) while (a < b && chars.includes(s[a]!)) a++;
  if (end) while (b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** `Split` with C# semantics: several separators, a count, RemoveEmptyEntries and TrimEntries. */
export function split(s: string, seps: string[] | null, count = 2147483647, options = 0): string[] {
  if (count < 0) argRange('count', 'Count cannot be less than zero.');
  if (count === 0) return [];
  const ws = !seps || seps.length === 0;
  if (!ws && seps.length === 1 && count === 2147483647 && options === 0) {
    const parts = seps[0] === '' ? [s] : s.split(seps[0]!);
    charge(parts.length);
    ticks(parts.length);
    return parts;
  }
  const list = (seps ?? []).filter((x) => x !== '');
  const sepAt = (i: number): number => (ws ? (/[\s\u0085\u00a0]/.test(s[i]!) ? 1 : 0) : (list.find((x) => s.startsWith(x, i))?.length ?? 0));
  const parts: string[] = [];
  const add = (piece: string) => {
    const p = options & 2 ? piece.trim() : piece;
    if (!(options & 1) || p !== '') parts.push(p);
  };
  let from = 0;
  for (let i = 0; i < s.length && parts.length < count - 1;) {
    const n = ws || list.length ? sepAt(i) : 0;
    if (n) { add(s.slice(from, i)); i += n; from = i; } else i++;
  }
  add(s.slice(from));
  charge(parts.length);
  ticks(parts.length);
  return parts;
}

function indexOf(s: string, v: string, from = 0, comparison = 4): number {
  checkRange(s, from);
  if (comparison % 2 === 1) return s.toUpperCase().indexOf(v.toUpperCase(), from);
  return s.indexOf(v, from);
}

function join(sep: string | null, items: Iterable<unknown>): string {
  const list: string[] = [];
  for (const x of items) list.push(toCsString(x));
  ticks(list.length);
  return str(list.join(sep ?? ''));
}

function replace(s: string, a: string | null, b: string | null, comparison = 4): string {
  if (a === null) return argNull('oldValue');
  if (a === '') argRange('oldValue', 'String cannot be of zero length.');
  if (comparison % 2 === 1) return str(s.replace(new RegExp(a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), () => b ?? ''));
  return str(s.split(a).join(b ?? ''));
}

const pad = (s: string, n: number, c: string, left: boolean) => {
  if (n < 0) argRange('totalWidth', 'Non-negative number required.');
  if (n > s.length) charge(n);
  return left ? s.padStart(n, c) : s.padEnd(n, c);
};

addMembers(OBJECT, [
  ['ToString(): string', (o: unknown) => toCsString(o)],
  ['Equals(object): bool', (a: unknown, b: unknown) => csEquals(a, b)],
  ['GetHashCode(): int', (o: unknown) => hash(toCsString(o))],
  ['static Equals(object, object): bool', (a: unknown, b: unknown) => a === b || csEquals(a, b)],
  ['static ReferenceEquals(object, object): bool', (a: unknown, b: unknown) => a === b],
]);

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

const specs: MemberSpec[] = [
  ['Length: int', (s: string) => s.length],
  ['Substring(int): string', (s: string, i: number) => (checkRange(s, i), s.slice(i))],
  ['Substring(int, int): string', (s: string, i: number, n: number) => (checkRange(s, i, n), s.slice(i, i + n))],
  ['IndexOf(string): int', (s: string, v: string) => indexOf(s, v)],
  ['IndexOf(char): int', (s: string, v: string) => s.indexOf(v)],
  ['IndexOf(string, int): int', (s: string, v: string, i: number) => indexOf(s, v, i)],
  ['IndexOf(char, int): int', (s: string, v: string, i: number) => indexOf(s, v, i)],
  ['IndexOf(string, StringComparison): int', (s: string, v: string, c: number) => indexOf(s, v, 0, c)],
  ['IndexOf(string, int, StringComparison): int', (s: string, v: string, i: number, c: number) => indexOf(s, v, i, c)],
  ['IndexOfAny(char[]): int', (s: string, cs: string[]) => { for (let i = 0; i < s.length; i++) if (cs.includes(s[i]!)) return i; return -1; }],
  ['LastIndexOf(string): int', (s: string, v: string) => s.lastIndexOf(v)],
  ['LastIndexOf(char): int', (s: string, v: string) => s.lastIndexOf(v)],
  ['LastIndexOf(string, StringComparison): int', (s: string, v: string, c: number) => (c % 2 ? s.toUpperCase().lastIndexOf(v.toUpperCase()) : s.lastIndexOf(v))],
  ['Contains(string): bool', (s: string, v: string | null) => (v === null ? argNull('value') : s.includes(v))],
  ['Contains(char): bool', (s: string, v: string) => s.includes(v)],
  ['Contains(string, StringComparison): bool', (s: string, v: string, c: number) => indexOf(s, v, 0, c) >= 0],
  ['StartsWith(string): bool', (s: string, v: string | null) => (v === null ? argNull('value') : s.startsWith(v))],
  ['StartsWith(char): bool', (s: string, v: string) => s.startsWith(v)],
  ['StartsWith(string, StringComparison): bool', (s: string, v: string, c: number) => equalStrings(s.slice(0, v.length), v, c)],
  ['StartsWith(string, bool, object): bool', (s: string, v: string, ic: boolean) => equalStrings(s.slice(0, v.length), v, ic ? 5 : 4)],
  ['EndsWith(string): bool', (s: string, v: string | null) => (v === null ? argNull('value') : s.endsWith(v))],
  ['EndsWith(char): bool', (s: string, v: string) => s.endsWith(v)],
  ['EndsWith(string, StringComparison): bool', (s: string, v: string, c: number) => v.length <= s.length && equalStrings(s.slice(s.length - v.length), v, c)],
  ['ToUpper(): string', (s: string) => s.toUpperCase()],
  ['ToLower(): string', (s: string) => s.toLowerCase()],
  ['ToUpperInvariant(): string', (s: string) => s.toUpperCase()],
  ['ToLowerInvariant(): string', (s: string) => s.toLowerCase()],
  ['Trim(): string', (s: string) => trim(s, null, true, true)],
  ['Trim(params char[]): string', (s: string, cs: string[]) => trim(s, cs, true, true)],
  ['TrimStart(): string', (s: string) => trim(s, null, true, false)],
  ['TrimStart(params char[]): string', (s: string, cs: string[]) => trim(s, cs, true, false)],
  ['TrimEnd(): string', (s: string) => trim(s, null, false, true)],
  ['TrimEnd(params char[]): string', (s: string, cs: string[]) => trim(s, cs, false, true)],
  ['Replace(string, string): string', (s: string, a: string, b: string) => replace(s, a, b)],
  ['Replace(char, char): string', (s: string, a: string, b: string) => s.split(a).join(b)],
  ['Replace(string, string, StringComparison): string', (s: string, a: string, b: string, c: number) => replace(s, a, b, c)],
  ['Split(params char[]): string[]', (s: string, seps: string[]) => split(s, seps)],
  ['Split(char[], int): string[]', (s: string, seps: string[], n: number) => split(s, seps, n)],
  ['Split(char[], StringSplitOptions): string[]', (s: string, seps: string[], o: number) => split(s, seps, undefined, o)],
  ['Split(char, StringSplitOptions): string[]', (s: string, sep: string, o: number) => split(s, [sep], undefined, o)],
  ['Split(char, int, StringSplitOptions = 0): string[]', (s: string, sep: string, n: number, o: number) => split(s, [sep], n, o)],
  ['Split(string): string[]', (s: string, sep: string | null) => split(s, sep === null ? null : [sep])],
  ['Split(string, StringSplitOptions): string[]', (s: string, sep: string, o: number) => split(s, [sep], undefined, o)],
  ['Split(string[], StringSplitOptions): string[]', (s: string, seps: string[], o: number) => split(s, seps, undefined, o)],
  ['Split(string[], int, StringSplitOptions): string[]', (s: string, seps: string[], n: number, o: number) => split(s, seps, n, o)],
  ['Split(char[], int, StringSplitOptions): string[]', (s: string, seps: string[], n: number, o: number) => split(s, seps, n, o)],
  ['Split(string, int, StringSplitOptions = 0): string[]', (s: string, sep: string, n: number, o: number) => split(s, [sep], n, o)],
  ['PadLeft(int): string', (s: string, n: number) => pad(s, n, ' ', true)],
  ['PadLeft(int, char): string', (s: string, n: number, c: string) => pad(s, n, c, true)],
  ['PadRight(int): string', (s: string, n: number) => pad(s, n, ' ', false)],
  ['PadRight(int, char): string', (s: string, n: number, c: string) => pad(s, n, c, false)],
  ['Insert(int, string): string', (s: string, i: number, v: string) => (checkRange(s, i), str(s.slice(0, i) + v + s.slice(i)))],
  ['Remove(int): string', (s: string, i: number) => (checkRange(s, i), s.slice(0, i))],
  ['Remove(int, int): string', (s: string, i: number, n: number) => (checkRange(s, i, n), s.slice(0, i) + s.slice(i + n))],
  ['Equals(string): bool', (s: string, v: string | null) => s === v],
  ['Equals(string, StringComparison): bool', (s: string, v: string | null, c: number) => equalStrings(s, v, c)],
  ['CompareTo(string): int', (s: string, v: string | null) => compareStrings(s, v, 0)],
  ['ToCharArray(): char[]', (s: string) => (charge(s.length), s.split(''))],
  ['ToString(): string', (s: string) => s],
  ['Normalize(): string', (s: string) => s.normalize('NFC')],
  ['static Empty: string', () => ''],
  ['static IsNullOrEmpty(string): bool', (s: string | null) => s === null || s === ''],
  ['static IsNullOrWhiteSpace(string): bool', (s: string | null) => s === null || /^[\s\u0085\u00a0]*$/.test(s)],
  ['static Join(string, params string[]): string', join],
  ['static Join(string, IEnumerable<string>): string', join],
  ['static Join(string, params object[]): string', join],
  ['static Join<T>(string, IEnumerable<T>): string', join],
  ['static Join(char, params string[]): string', join],
  ['static Join(char, params object[]): string', join],
  ['static Join<T>(char, IEnumerable<T>): string', join],
  ['static Concat(params string[]): string', (xs: Iterable<unknown>) => join('', xs)],
  ['static Concat(params object[]): string', (xs: Iterable<unknown>) => join('', xs)],
  ['static Concat(IEnumerable<string>): string', (xs: Iterable<unknown>) => join('', xs)],
  ['static Concat<T>(IEnumerable<T>): string', (xs: Iterable<unknown>) => join('', xs)],
  ['static Format(string, params object[]): string', (f: string, args: unknown[]) => str(compositeFormat(f, args))],
  ['static Compare(string, string): int', (a: string, b: string) => compareStrings(a, b, 0)],
  ['static Compare(string, string, bool): int', (a: string, b: string, ic: boolean) => compareStrings(a, b, ic ? 1 : 0)],
  ['static Compare(string, string, StringComparison): int', compareStrings],
  ['static CompareOrdinal(string, string): int', (a: string, b: string) => compareStrings(a, b, 4)],
  ['static Equals(string, string): bool', (a: string | null, b: string | null) => a === b],
  ['static Equals(string, string, StringComparison): bool', equalStrings],
  ['new(char, int)', (c: string, n: number) => (n < 0 ? argRange('count') : (charge(n), c.repeat(n)))],
  ['new(char[])', (cs: string[] | null) => (cs === null ? '' : (charge(cs.length), cs.join('')))],
];
addMembers(STRING, specs);

const test = (re: RegExp) => (c: string) => re.test(c);
const at = (re: RegExp) => (s: string, i: number) => (i < 0 || i >= s.length ? argRange('index') : re.test(s[i]!));
const CHAR_TESTS: Array<[string, RegExp]> = [
  ['IsDigit', /^\p{Nd}$/u], ['IsLetter', /^\p{L}$/u], ['IsLetterOrDigit', /^[\p{L}\p{Nd}]$/u], ['IsWhiteSpace', /^[\s\u0085]$/],
  ['IsUpper', /^\p{Lu}$/u], ['IsLower', /^\p{Ll}$/u], ['IsPunctuation', /^\p{P}$/u], ['IsNumber', /^\p{N}$/u],
  ['IsControl', /^\p{Cc}$/u], ['IsSymbol', /^\p{S}$/u], ['IsSeparator', /^\p{Z}$/u],
];
addMembers(CHAR, [
  ...CHAR_TESTS.flatMap(([name, re]): MemberSpec[] => [[`static ${name}(char): bool`, test(re)], [`static ${name}(string, int): bool`, at(re)]]),
  ['static ToUpper(char): char', (c: string) => c.toUpperCase()],
  ['static ToLower(char): char', (c: string) => c.toLowerCase()],
  ['static ToUpperInvariant(char): char', (c: string) => c.toUpperCase()],
  ['static ToLowerInvariant(char): char', (c: string) => c.toLowerCase()],
  ['static ToString(char): string', (c: string) => c],
  ['static IsSurrogate(char): bool', (c: string) => /[\ud800-\udfff]/.test(c)],
  ['static GetNumericValue(char): double', (c: string) => (/\d/.test(c) ? Number(c) : -1)],
  ['static MinValue: char', () => '\0'],
  ['static MaxValue: char', () => '\uffff'],
  ['ToString(): string', (c: string) => c],
  ['Equals(char): bool', (a: string, b: string) => a === b],
  ['CompareTo(char): int', (a: string, b: string) => a.charCodeAt(0) - b.charCodeAt(0)],
]);

/** StringBuilder: appends are charged to the allocation budget. */
export class StringBuilderValue implements CsValue {
  readonly csType = 'System.Text.StringBuilder';
  private parts: string[] = [];
  length = 0;
  append(s: string): this {
    charge(s.length);
    this.parts.push(s);
    this.length += s.length;
    return this;
  }
  csString(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }
}
export const STRING_BUILDER = defineType({ name: 'StringBuilder', ns: 'System.Text', is: (v) => v instanceof StringBuilderValue });
const sb = named(STRING_BUILDER);
void sb;
addMembers(STRING_BUILDER, [
  ['new()', () => new StringBuilderValue()],
  ['new(int)', () => new StringBuilderValue()],
  ['new(string)', (s: string | null) => new StringBuilderValue().append(s ?? '')],
  ['Append(string): StringBuilder', (b: StringBuilderValue, s: string | null) => b.append(s ?? '')],
  ['Append(char): StringBuilder', (b: StringBuilderValue, s: string) => b.append(s)],
  ['Append(object): StringBuilder', (b: StringBuilderValue, v: unknown) => b.append(toCsString(v))],
  ['Append(char, int): StringBuilder', (b: StringBuilderValue, c: string, n: number) => b.append((charge(n), c.repeat(Math.max(0, n))))],
  ['AppendLine(): StringBuilder', (b: StringBuilderValue) => b.append('\n')],
  ['AppendLine(string): StringBuilder', (b: StringBuilderValue, s: string | null) => b.append(`${s ?? ''}\n`)],
  ['AppendFormat(string, params object[]): StringBuilder', (b: StringBuilderValue, f: string, args: unknown[]) => b.append(compositeFormat(f, args))],
  ['Clear(): StringBuilder', (b: StringBuilderValue) => { (b as unknown as { parts: string[] }).parts = []; b.length = 0; return b; }],
  ['Length: int', (b: StringBuilderValue) => b.length],
  ['ToString(): string', (b: StringBuilderValue) => b.csString()],
]);
