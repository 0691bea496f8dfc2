import { BOOL, BYTE, DECIMAL, DOUBLE, INT, LONG, SHORT } from '../builtins.js';
import { fail, formatError } from '../runtime/exceptions.js';
import { formatNumber } from '../runtime/format.js';
import { checkedInt, checkedLong, formatDouble, parseInteger, parseReal, roundEven } from '../runtime/numbers.js';
import { OUT } from '../frame.js';
import { toCsString, type CsValue } from '../runtime/values.js';
import { addMembers, alias, defineType, type MemberSpec } from '../types.js';

/** Numbers: parsing and formatting of int, long, double, decimal, byte, bool; Math; Random; CultureInfo. */

export class CultureValue implements CsValue {
  readonly csType = 'System.Globalization.CultureInfo';
  constructor(readonly name: string) {}
  csString(): string { return this.name; }
}
export const CULTURE = defineType({ name: 'CultureInfo', ns: 'System.Globalization', is: (v) => v instanceof CultureValue });
alias('IFormatProvider', CULTURE);
addMembers(CULTURE, [
  ['static InvariantCulture: CultureInfo', () => new CultureValue('')],
  ['static CurrentCulture: CultureInfo', () => new CultureValue('')],
  ['static GetCultureInfo(string): CultureInfo', (n: string) => new CultureValue(n)],
  ['new(string)', (n: string) => new CultureValue(n)],
  ['Name: string', (c: CultureValue) => c.name],
]);
export const NUMBER_STYLES = defineType({
  name: 'NumberStyles', ns: 'System.Globalization', valueType: true, is: (v) => typeof v === 'number',
  enumValues: { None: 0, Integer: 7, Number: 111, Float: 167, Any: 511, AllowHexSpecifier: 512, HexNumber: 515, AllowDecimalPoint: 32, AllowThousands: 64, AllowLeadingSign: 4 },
});
export const MIDPOINT = defineType({
  name: 'MidpointRounding', valueType: true, is: (v) => typeof v === 'number',
  enumValues: { ToEven: 0, AwayFromZero: 1, ToZero: 2, ToNegativeInfinity: 3, ToPositiveInfinity: 4 },
});

const INT_RANGE: [bigint, bigint] = [-2147483648n, 2147483647n];
const LONG_RANGE: [bigint, bigint] = [-9223372036854775808n, 9223372036854775807n];

function parseIntText(s: string | null, [min, max]: [bigint, bigint], what: string, styles = 7): bigint | undefined {
  if (s === null) return undefined;
  if ((styles & 512) !== 0) {
    if (!/^\s*[0-9A-Fa-f]+\s*$/.test(s)) return undefined;
    const v = BigInt(`0x${s.trim()}`);
    const bits = what === 'Int32' ? 32 : 64;
    return v >= 1n << BigInt(bits) ? undefined : BigInt.asIntN(bits, v);
  }
  const text = (styles & 64) !== 0 ? s.replace(/,/g, '') : s;
  const v = parseInteger(text, min - 1n, max + 1n);
  if (v === undefined) {
    const m = /^\s*[+-]?\d+\s*$/.test(text);
    if (m) return fail('OverflowException', `Value was either too large or too small for an ${what}.`) as never;
    return undefined;
  }
  if (v < min || v > max) fail('OverflowException', `Value was either too large or too small for an ${what}.`);
  return v;
}

const bad = (s: string | null): never => (s === null ? fail('ArgumentNullException', "Value cannot be null. (Parameter 's')") : formatError(`The input string '${s}' was not in a correct format.`));
const parseInt32 = (s: string | null, styles?: number) => { const v = parseIntText(s, INT_RANGE, 'Int32', styles); return v === undefined ? bad(s) : Number(v); };
const parseInt64 = (s: string | null, styles?: number) => { const v = parseIntText(s, LONG_RANGE, 'Int64', styles); return v === undefined ? bad(s) : v; };
const parseDouble = (s: string | null) => { const v = parseReal(s); return v === undefined ? bad(s) : v; };
const parseBool = (s: string | null) => {
  const t = s?.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : s === null ? bad(s) : formatError(`String '${s}' was not recognized as a valid Boolean.`);
};

/** `TryParse(s, out v)`: the parsed value goes to OUT[0]. */
function tryParse(parse: (s: string | null) => unknown, zero: unknown) {
  return (s: string | null) => {
    try {
      OUT[0] = parse(s);
      return true;
    } catch {
      OUT[0] = zero;
      return false;
    }
  };
}

const fmt = (v: number | bigint, f: string | null) => (f ? formatNumber(v, f) : toCsString(v));
const numberSpecs = (name: string, parse: (s: string | null, styles?: number) => unknown, zero: unknown, min: unknown, max: unknown): MemberSpec[] => [
  [`static Parse(string): ${name}`, (s: string | null) => parse(s)],
  [`static Parse(string, IFormatProvider): ${name}`, (s: string | null) => parse(s)],
  [`static Parse(string, NumberStyles): ${name}`, (s: string | null, st: number) => parse(s, st)],
  [`static Parse(string, NumberStyles, IFormatProvider): ${name}`, (s: string | null, st: number) => parse(s, st)],
  [`static TryParse(string, out ${name}): bool`, tryParse(parse, zero)],
  [`static TryParse(string, NumberStyles, IFormatProvider, out ${name}): bool`, (s: string | null, st: number) => tryParse((x) => parse(x, st), zero)(s)],
  [`static MinValue: ${name}`, () => min],
  [`static MaxValue: ${name}`, () => max],
  ['ToString(): string', (v: number | bigint) => toCsString(v)],
  ['ToString(string): string', fmt],
  ['ToString(IFormatProvider): string', (v: number | bigint) => toCsString(v)],
  ['ToString(string, IFormatProvider): string', fmt],
  [`CompareTo(${name}): int`, (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0)],
  [`Equals(${name}): bool`, (a: unknown, b: unknown) => a === b],
];

addMembers(INT, numberSpecs('int', parseInt32, 0, -2147483648, 2147483647));
addMembers(LONG, numberSpecs('long', parseInt64, 0n, -9223372036854775808n, 9223372036854775807n));
addMembers(BYTE, numberSpecs('byte', (s) => { const v = parseInt32(s); return v < 0 || v > 255 ? fail('OverflowException', 'Value was either too large or too small for an unsigned byte.') : v; }, 0, 0, 255));
addMembers(SHORT, numberSpecs('short', (s) => { const v = parseInt32(s); return v < -32768 || v > 32767 ? fail('OverflowException', 'Value was either too large or too small for an Int16.') : v; }, 0, -32768, 32767));
addMembers(DOUBLE, [
  ...numberSpecs('double', parseDouble, 0, -1.7976931348623157e308, 1.7976931348623157e308),
  ['static NaN: double', () => NaN],
  ['static PositiveInfinity: double', () => Infinity],
  ['static NegativeInfinity: double', () => -Infinity],
  ['static Epsilon: double', () => 5e-324],
  ['static IsNaN(double): bool', (v: number) => v !== v],
  ['static IsInfinity(double): bool', (v: number) => v === Infinity || v === -Infinity],
  ['static IsFinite(double): bool', (v: number) => Number.isFinite(v)],
]);
addMembers(DECIMAL, [
  // eslint-disable-next-line no-loss-of-precision -- decimal's range as doubles (decimal is modelled as a double)
  ...numberSpecs('decimal', parseDouble, 0, -79228162514264337593543950335, 79228162514264337593543950335),
  ['static Round(decimal): decimal', (v: number) => roundEven(v)],
  ['static Round(decimal, int): decimal', (v: number, d: number) => round(v, d, 0)],
  ['static Truncate(decimal): decimal', Math.trunc],
  ['static Floor(decimal): decimal', Math.floor],
  ['static Ceiling(decimal): decimal', Math.ceil],
]);
addMembers(BOOL, [
  ['static Parse(string): bool', parseBool],
  ['static TryParse(string, out bool): bool', tryParse(parseBool, false)],
  ['static TrueString: string', () => 'True'],
  ['static FalseString: string', () => 'False'],
  ['ToString(): string', (v: boolean) => (v ? 'True' : 'False')],
  ['Equals(bool): bool', (a: boolean, b: boolean) => a === b],
  ['CompareTo(bool): int', (a: boolean, b: boolean) => Number(a) - Number(b)],
]);

export { parseInt32, parseInt64, parseDouble, parseBool };

/** Math.Round with digits and a midpoint rule. */
export function round(v: number, digits: number, mode: number): number {
  if (digits < 0 || digits > 15) fail('ArgumentOutOfRangeException', "Rounding digits must be between 0 and 15, inclusive. (Parameter 'digits')");
  const p = 10 ** digits;
  const x = v * p;
  let r: number;
  switch (mode) {
    case 1: r = Math.sign(x) * Math.round(Math.abs(x)); break;
    case 2: r = Math.trunc(x); break;
    case 3: r = Math.floor(x); break;
    case 4: r = Math.ceil(x); break;
    default: r = roundEven(x);
  }
  return r / p;
}

const absInt = (v: number) => (v === -2147483648 ? fail('OverflowException', 'Negating the minimum value of a twos complement number is invalid.') : Math.abs(v));
const MATH = defineType({ name: 'Math', is: () => false });
const minMax = (name: 'Min' | 'Max'): MemberSpec[] => {
  const pick = name === 'Max' ? (a: number, b: number) => (a !== a || b !== b ? NaN : a > b ? a : b) : (a: number, b: number) => (a !== a || b !== b ? NaN : a < b ? a : b);
  return [
    [`static ${name}(int, int): int`, pick],
    [`static ${name}(long, long): long`, (a: bigint, b: bigint) => (name === 'Max' ? (a > b ? a : b) : a < b ? a : b)],
    [`static ${name}(double, double): double`, pick],
    [`static ${name}(decimal, decimal): decimal`, pick],
  ];
};
addMembers(MATH, [
  ['static PI: double', () => Math.PI],
  ['static E: double', () => Math.E],
  ['static Abs(int): int', absInt],
  ['static Abs(long): long', (v: bigint) => (v < 0n ? -v : v)],
  ['static Abs(double): double', Math.abs],
  ['static Abs(decimal): decimal', Math.abs],
  ...minMax('Max'),
  ...minMax('Min'),
  ['static Floor(double): double', Math.floor],
  ['static Floor(decimal): decimal', Math.floor],
  ['static Ceiling(double): double', Math.ceil],
  ['static Ceiling(decimal): decimal', Math.ceil],
  ['static Truncate(double): double', Math.trunc],
  ['static Truncate(decimal): decimal', Math.trunc],
  ['static Round(double): double', roundEven],
  ['static Round(decimal): decimal', roundEven],
  ['static Round(double, int): double', (v: number, d: number) => round(v, d, 0)],
  ['static Round(decimal, int): decimal', (v: number, d: number) => round(v, d, 0)],
  ['static Round(double, MidpointRounding): double', (v: number, m: number) => round(v, 0, m)],
  ['static Round(decimal, MidpointRounding): decimal', (v: number, m: number) => round(v, 0, m)],
  ['static Round(double, int, MidpointRounding): double', round],
  ['static Round(decimal, int, MidpointRounding): decimal', round],
  ['static Pow(double, double): double', Math.pow],
  ['static Sqrt(double): double', Math.sqrt],
  ['static Exp(double): double', Math.exp],
  ['static Log(double): double', Math.log],
  ['static Log(double, double): double', (a: number, b: number) => Math.log(a) / Math.log(b)],
  ['static Log10(double): double', Math.log10],
  ['static Log2(double): double', Math.log2],
  ['static Sign(int): int', Math.sign],
  ['static Sign(double): int', (v: number) => (v !== v ? fail('ArithmeticException', 'Function does not accept floating point Not-a-Number values.') : Math.sign(v))],
  ['static Clamp(int, int, int): int', (v: number, a: number, b: number) => Math.min(Math.max(v, a), b)],
  ['static Clamp(double, double, double): double', (v: number, a: number, b: number) => Math.min(Math.max(v, a), b)],
  ['static Sin(double): double', Math.sin],
  ['static Cos(double): double', Math.cos],
  ['static Tan(double): double', Math.tan],
  ['static Atan(double): double', Math.atan],
  ['static Atan2(double, double): double', Math.atan2],
]);

/** System.Random: unseeded instances use Math.random; a seed gives a repeatable (not .NET's) sequence. */
export class RandomValue implements CsValue {
  readonly csType = 'System.Random';
  private state: number | undefined;
  constructor(seed?: number) { this.state = seed === undefined ? undefined : seed >>> 0; }
  csString(): string { return this.csType; }
  next(): number {
    if (this.state === undefined) return Math.random();
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  between(min: number, max: number): number {
    if (min > max) fail('ArgumentOutOfRangeException', "'minValue' cannot be greater than maxValue. (Parameter 'minValue')");
    return min + Math.floor(this.next() * (max - min));
  }
}
const RANDOM = defineType({ name: 'Random', is: (v) => v instanceof RandomValue });
addMembers(RANDOM, [
  ['new()', () => new RandomValue()],
  ['new(int)', (seed: number) => new RandomValue(seed)],
  ['static Shared: Random', () => new RandomValue()],
  ['Next(): int', (r: RandomValue) => r.between(0, 2147483647)],
  ['Next(int): int', (r: RandomValue, max: number) => (max < 0 ? fail('ArgumentOutOfRangeException', "'maxValue' must be greater than zero. (Parameter 'maxValue')") : r.between(0, max))],
  ['Next(int, int): int', (r: RandomValue, a: number, b: number) => r.between(a, b)],
  ['NextDouble(): double', (r: RandomValue) => r.next()],
  ['NextBytes(byte[]): void', (r: RandomValue, b: Uint8Array) => { for (let i = 0; i < b.length; i++) b[i] = Math.floor(r.next() * 256); }],
]);

export { checkedInt, checkedLong, formatDouble };
