import { fail } from './exceptions.js';

/**
 * C# numeric semantics: int arithmetic wraps at 32 bits and long at 64 (unchecked, the C# default),
 * integer division truncates toward zero and divides by zero with DivideByZeroException,
 * `int.MinValue / -1` overflows. Conversions from double to integers saturate (NaN → 0), as .NET 9 does.
 */
const I64 = (v: bigint) => BigInt.asIntN(64, v);

export const divideByZero = (): never => fail('DivideByZeroException', 'Attempted to divide by zero.');
const overflow = (): never => fail('OverflowException', 'Arithmetic operation resulted in an overflow.');

export const intAdd = (a: number, b: number) => (a + b) | 0;
export const intSub = (a: number, b: number) => (a - b) | 0;
export const intMul = (a: number, b: number) => Math.imul(a, b);
export function intDiv(a: number, b: number): number {
  if (b === 0) divideByZero();
  if (b === -1 && a === -2147483648) overflow();
  return (a / b) | 0;
}
export function intRem(a: number, b: number): number {
  if (b === 0) divideByZero();
  if (b === -1) return 0;
  return a % b | 0;
}

export const longAdd = (a: bigint, b: bigint) => I64(a + b);
export const longSub = (a: bigint, b: bigint) => I64(a - b);
export const longMul = (a: bigint, b: bigint) => I64(a * b);
export function longDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) divideByZero();
  if (b === -1n && a === -9223372036854775808n) overflow();
  return a / b;
}
export function longRem(a: bigint, b: bigint): bigint {
  if (b === 0n) divideByZero();
  if (b === -1n) return 0n;
  return a % b;
}
export const longNeg = (a: bigint) => I64(-a);
export const longShl = (a: bigint, n: number) => I64(a << BigInt(n & 63));
export const longShr = (a: bigint, n: number) => a >> BigInt(n & 63);

/**
 * `decimal` is a double whose arithmetic results are rounded to 15 significant digits, so money
 * arithmetic (0.1m + 0.2m == 0.3m) comes out as with a real decimal.
 */
export const dec = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(15)) : x);
export function decimalDiv(a: number, b: number): number {
  if (b === 0) divideByZero();
  return dec(a / b);
}

/** double → int, saturating; NaN → 0. */
export function toInt(v: number): number {
  if (v !== v) return 0;
  if (v >= 2147483647) return 2147483647;
  if (v <= -2147483648) return -2147483648;
  return Math.trunc(v) | 0;
}

export function toLong(v: number): bigint {
  if (v !== v) return 0n;
  // eslint-disable-next-line no-loss-of-precision -- compared as a double on purpose: the nearest double to 2^63
  if (v >= 9223372036854775807) return 9223372036854775807n;

  if (v <= -9223372036854775808) return -9223372036854775808n;
  return BigInt(Math.trunc(v));
}

export const longToInt = (v: bigint) => Number(BigInt.asIntN(32, v));
export const toByte = (v: number) => Math.trunc(v) & 255;
export const charCode = (c: string) => c.charCodeAt(0);
export const fromCode = (n: number) => String.fromCharCode(Math.trunc(n) & 0xffff);

/** Checked conversions (Convert.ToInt32 and friends throw on overflow, and round to even). */
export function checkedInt(v: number): number {
  const r = roundEven(v);
  if (!(r >= -2147483648 && r <= 2147483647)) fail('OverflowException', 'Value was either too large or too small for an Int32.');
  return r;
}

export function checkedLong(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  const r = roundEven(v);
  // eslint-disable-next-line no-loss-of-precision -- the Int64 range as doubles, as .NET checks it
  if (!(r >= -9223372036854775808 && r < 9223372036854775807)) fail('OverflowException', 'Value was either too large or too small for an Int64.');
  return BigInt(r);
}

/** Math.Round's default: to the nearest, halves to even. */
export function roundEven(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `double.ToString()`: the shortest round-trip form, scientific from 1E+15 and below 1E-05. */
export function formatDouble(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp >= 15 || exp < -4) return `${mant}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

/** Parses C# integer text (int.Parse): optional sign, digits, surrounding whitespace. */
export function parseInteger(s: string | null, min: bigint, max: bigint): bigint | undefined {
  if (s === null) return undefined;
  const m = /^\s*([+-]?)(\d+)\s*$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[1] + m[2]!);
  return v < min || v > max ? undefined : v;
}

/** Parses C# floating-point text (double.Parse with the invariant culture). */
export function parseReal(s: string | null): number | undefined {
  if (s === null) return undefined;
  const t = s.trim();
  if (/^[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t.replace(/,/g, ''));
  if (t === 'NaN') return NaN;
  if (/^[+-]?(Infinity|∞)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}
