import { BYTE, CHAR, DECIMAL, DOUBLE, IENUMERABLE, INT, LONG, NULL, OBJECT, SHORT, STRING } from './builtins.js';
import { fail, invalidCast, nullRef } from './runtime/exceptions.js';
import { charCode, fromCode, longToInt, toInt, toLong } from './runtime/numbers.js';
import { Anonymous, typeNameOf } from './runtime/values.js';
import { ancestry, elementOf, isEnum, isValueType, sameType, typeName, type Impl, type Type, type TypeDef } from './types.js';

/**
 * Implicit and explicit conversions, as C# defines them for the subset, each with the run-time
 * function that performs it (undefined when the representation does not change) and a cost used
 * to pick the best overload (lower is better).
 */
export interface Conversion { cost: number; fn?: Impl }

export interface ConversionHook {
  explicit: boolean;
  /** Returns the conversion function when the hook applies to `from` → `to`. */
  find(from: Type, to: Type): Impl | undefined;
}

const hooks: ConversionHook[] = [];
export function registerConversion(h: ConversionHook): void { hooks.push(h); }

const def = (t: Type): TypeDef | undefined => (t.k === 'named' ? t.def : undefined);
const IMPLICIT_NUMERIC: ReadonlyMap<TypeDef, TypeDef[]> = new Map([
  [BYTE, [SHORT, INT, LONG, DECIMAL, DOUBLE]],
  [SHORT, [INT, LONG, DECIMAL, DOUBLE]],
  [CHAR, [INT, LONG, DECIMAL, DOUBLE]],
  [INT, [LONG, DOUBLE, DECIMAL]],
  [LONG, [DOUBLE, DECIMAL]],
]);

/** The run-time conversion between two numeric (or char) types; undefined = no change. */
export function numericFn(from: TypeDef, to: TypeDef): Impl | undefined {
  if (from === to) return undefined;
  const isNum = (d: TypeDef) => d === INT || d === BYTE || d === SHORT || d === DOUBLE || d === DECIMAL;
  switch (to) {
    case INT: return from === BYTE || from === SHORT ? undefined : from === CHAR ? charCode : from === LONG ? longToInt : toInt;
    case LONG: return from === CHAR ? (c: string) => BigInt(charCode(c)) : from === INT || from === BYTE || from === SHORT ? BigInt : toLong;
    case SHORT: return from === BYTE ? undefined : from === LONG ? (v: bigint) => Number(BigInt.asIntN(16, v)) : from === CHAR ? (c: string) => (charCode(c) << 16) >> 16 : (v: number) => (toInt(v) << 16) >> 16;
    case DOUBLE: case DECIMAL: return from === LONG ? Number : from === CHAR ? charCode : undefined;
    case BYTE: return from === LONG ? (v: bigint) => Number(v & 255n) : from === CHAR ? (c: string) => charCode(c) & 255 : (v: number) => toInt(v) & 255;
    case CHAR: return from === LONG ? (v: bigint) => fromCode(Number(v & 0xffffn)) : isNum(from) ? (v: number) => fromCode(toInt(v)) : undefined;
  }
  return undefined;
}

function isReference(t: Type): boolean {
  return !isValueType(t) && !(t.k === 'named' && t.def === NULL);
}

/** Identity or reference conversion (no change of representation): covariance of IEnumerable. */
function referenceConv(from: Type, to: Type): number | undefined {
  if (sameType(from, to)) return 0;
  if (isReference(from) && def(to) === OBJECT) return 10;
  let depth = 0;
  for (const a of ancestry(from)) {
    if (sameType(a, to)) return depth;
    depth++;
  }
  return undefined;
}

export function implicitConversion(from: Type, to: Type, constant?: unknown): Conversion | undefined {
  if (sameType(from, to)) return { cost: 0 };
  const fd = def(from), td = def(to);
  if (fd === NULL) return isReference(to) || to.k === 'nullable' ? { cost: 1 } : undefined;
  if (to.k === 'nullable') {
    if (from.k === 'nullable') {
      const inner = implicitConversion(from.inner, to.inner);
      return inner && { cost: inner.cost + 1, fn: inner.fn && liftFn(inner.fn) };
    }
    const inner = implicitConversion(from, to.inner, constant);
    return inner && { cost: inner.cost + 1, fn: inner.fn };
  }
  if (td === OBJECT) return fd?.valueType === false && fd === OBJECT ? { cost: 0 } : { cost: 10 };
  if (fd && td && fd.numeric && td.numeric) {
    if (IMPLICIT_NUMERIC.get(fd)?.includes(td)) return { cost: numericCost(fd, td), fn: numericFn(fd, td) };
    if (fd === INT && td === BYTE && typeof constant === 'number' && constant >= 0 && constant <= 255) return { cost: 1 };
    if (fd === INT && td === SHORT && typeof constant === 'number' && constant >= -32768 && constant <= 32767) return { cost: 1 };
    if (fd === INT && td === LONG) return { cost: 1, fn: BigInt };
    return undefined;
  }
  const ref = referenceConv(from, to);
  if (ref !== undefined) return { cost: ref };
  if (from.k === 'array' && to.k === 'array' && isReference(from.elem) && referenceConv(from.elem, to.elem) !== undefined) return { cost: 2 };
  if (td === IENUMERABLE && to.k === 'named') {
    const elem = elementOf(from);
    if (elem && (sameType(elem, to.args[0]!) || (isReference(elem) && referenceConv(elem, to.args[0]!) !== undefined))) {
      return { cost: 3, fn: iterateFn(from) };
    }
  }
  for (const h of hooks) {
    if (h.explicit) continue;
    const fn = h.find(from, to);
    if (fn) return { cost: 5, fn };
  }
  return undefined;
}

function numericCost(from: TypeDef, to: TypeDef): number {
  if (to === LONG) return 1;
  if (to === DOUBLE) return 2;
  if (to === INT) return 1;
  return 3;
}

/** How to turn a value of an enumerable type into a JS iterable (strings iterate UTF-16 units). */
export function iterateFn(t: Type): Impl | undefined {
  if (t.k === 'named' && t.def === STRING) return (s: string) => s.split('');
  for (const a of ancestry(t)) if (a.k === 'named' && a.def.iterate) return a.def.iterate;
  return undefined;
}

const liftFn = (fn: Impl): Impl => (v: unknown) => (v === null ? null : fn(v));

export function explicitConversion(from: Type, to: Type): Conversion | undefined {
  const imp = implicitConversion(from, to);
  if (imp) return imp;
  const fd = def(from), td = def(to);
  if (fd && td && fd.numeric && td.numeric) return { cost: 20, fn: numericFn(fd, td) };
  if (from.k === 'nullable' && to.k !== 'nullable') {
    const inner = explicitConversion(from.inner, to);
    if (inner) return { cost: inner.cost + 1, fn: (v: unknown) => (v === null ? noValue() : inner.fn ? inner.fn(v) : v) };
  }
  if (from.k === 'nullable' && to.k === 'nullable') {
    const inner = explicitConversion(from.inner, to.inner);
    if (inner) return { cost: inner.cost + 1, fn: inner.fn && liftFn(inner.fn) };
  }
  if (isEnum(from) && td === INT) return { cost: 20 };
  if (fd === INT && isEnum(to)) return { cost: 20 };
  for (const h of hooks) {
    const fn = h.find(from, to);
    if (fn) return { cost: 20, fn };
  }
  // downcasts and unboxing: from object, a base class or IEnumerable to something more specific
  if (fd === OBJECT || fd === IENUMERABLE || referenceConv(to, from) !== undefined) return { cost: 30, fn: castFn(to) };
  return undefined;
}

const noValue = (): never => fail('InvalidOperationException', 'Nullable object must have a value.');

/** Run-time type test for `is`, `as`, casts and `catch`. */
export function testFn(t: Type): (v: unknown) => boolean {
  switch (t.k) {
    case 'nullable': return testFn(t.inner);
    case 'array': return def(t.elem) === BYTE ? (v) => v instanceof Uint8Array : (v) => Array.isArray(v);
    case 'func': return (v) => typeof v === 'function';
    case 'anon': return (v) => v instanceof Anonymous;
    case 'param': return () => true;
    case 'named': return t.def.is;
  }
}

const CLR: Record<string, string> = { int: 'System.Int32', long: 'System.Int64', double: 'System.Double', decimal: 'System.Decimal', bool: 'System.Boolean', string: 'System.String', char: 'System.Char', byte: 'System.Byte' };
export const clrName = (t: Type): string => (t.k === 'named' && CLR[t.def.name]) || typeName(t);

/** A cast from `object` (or a base type) to `t`: unboxing or a checked downcast. */
export function castFn(t: Type): Impl {
  const test = testFn(t);
  const name = clrName(t);
  const valueType = t.k !== 'nullable' && isValueType(t);
  const fix = def(t) === LONG ? (v: unknown) => (typeof v === 'number' ? BigInt(v) : v) : undefined;
  return (v: unknown) => {
    if (v === null || v === undefined) return valueType ? nullRef() : null;
    if (!test(v)) return invalidCast(typeNameOf(v), name);
    return fix ? fix(v) : v;
  };
}

/** `x as T`: the value when it is a T, null otherwise. */
export function asFn(t: Type): Impl {
  const test = testFn(t);
  const fix = def(t) === LONG ? (v: unknown) => (typeof v === 'number' ? BigInt(v) : v) : undefined;
  return (v: unknown) => (v !== null && v !== undefined && test(v) ? (fix ? fix(v) : v) : null);
}
