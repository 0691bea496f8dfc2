import { BOOL, CHAR, DECIMAL, DOUBLE, INT, LONG, NULL, STRING, T } from './builtins.js';
import { implicitConversion, numericFn } from './conversions.js';
import * as N from './runtime/numbers.js';
import { toCsString } from './runtime/values.js';
import { membersOf } from './signatures.js';
import { isEnum, isValueType, nullableOf, sameType, type Impl, type Type, type TypeDef } from './types.js';

/**
 * Operator typing with C# semantics: numeric promotion, integer arithmetic that wraps, string
 * concatenation with `ToString()` of the other side, lifted operators on nullable values, and
 * the operators library types declare (DateTime − DateTime, TimeSpan comparisons, …).
 */
export interface ResolvedOp { t: Type; fn: Impl; lconv?: Impl; rconv?: Impl }

const def = (t: Type): TypeDef | undefined => (t.k === 'named' ? t.def : undefined);
const strip = (t: Type): Type => (t.k === 'nullable' ? t.inner : t);

/** `ToString()` for a value of static type `t` (null prints as empty). */
export function stringifier(t: Type): Impl {
  const d = def(strip(t));
  if (d === STRING || d === CHAR) return (v: string | null) => v ?? '';
  if (d === INT) return (v: number | null) => (v === null ? '' : String(v));
  if (d === LONG) return (v: bigint | null) => (v === null ? '' : v.toString());
  if (d === BOOL) return (v: boolean | null) => (v === null ? '' : v ? 'True' : 'False');
  if (d && d.enumValues) {
    const names = new Map(Object.entries(d.enumValues).map(([k, v]) => [v, k]));
    return (v: number | null) => (v === null ? '' : names.get(v) ?? String(v));
  }
  return toCsString;
}

const ARITH: Record<string, Record<string, Impl>> = {
  int: { '+': N.intAdd, '-': N.intSub, '*': N.intMul, '/': N.intDiv, '%': N.intRem, '&': (a, b) => a & b, '|': (a, b) => a | b, '^': (a, b) => a ^ b },
  long: { '+': N.longAdd, '-': N.longSub, '*': N.longMul, '/': N.longDiv, '%': N.longRem, '&': (a, b) => a & b, '|': (a, b) => a | b, '^': (a, b) => a ^ b },
  double: { '+': (a, b) => a + b, '-': (a, b) => a - b, '*': (a, b) => a * b, '/': (a, b) => a / b, '%': (a, b) => a % b },
  decimal: { '+': (a, b) => N.dec(a + b), '-': (a, b) => N.dec(a - b), '*': (a, b) => N.dec(a * b), '/': N.decimalDiv, '%': (a, b) => (b === 0 ? N.divideByZero() : N.dec(a % b)) },
};
const COMPARE: Record<string, Impl> = {
  '<': (a, b) => a < b, '>': (a, b) => a > b, '<=': (a, b) => a <= b, '>=': (a, b) => a >= b,
  '==': (a, b) => a === b, '!=': (a, b) => a !== b,
};

/** The promoted type of two numeric operands, or undefined. */
function promote(a: TypeDef, b: TypeDef): TypeDef | undefined {
  if (!a.numeric || !b.numeric) return undefined;
  if ((a === DECIMAL && b === DOUBLE) || (a === DOUBLE && b === DECIMAL)) return undefined;
  if (a === DOUBLE || b === DOUBLE) return DOUBLE;
  if (a === DECIMAL || b === DECIMAL) return DECIMAL;
  if (a === LONG || b === LONG) return LONG;
  return INT;
}

const OP_NAME: Record<string, string> = { '+': '+', '-': '-', '*': '*', '/': '/', '<': '<', '>': '>', '<=': '<=', '>=': '>=', '==': '==', '!=': '!=' };

export function resolveBinary(op: string, lt: Type, rt: Type): ResolvedOp | undefined {
  const ld = def(lt), rd = def(rt);
  if (op === '+' && (ld === STRING || rd === STRING)) {
    const ls = stringifier(lt), rs = stringifier(rt);
    return { t: T.string, fn: (a, b) => ls(a) + rs(b) };
  }
  const lifted = lt.k === 'nullable' || rt.k === 'nullable' || (ld === NULL && isValueType(rt)) || (rd === NULL && isValueType(lt));
  if (lifted) return liftedBinary(op, lt, rt);
  const user = userOperator(op, lt, rt);
  if (user) return user;
  if (ld && rd) {
    const p = promote(ld, rd);
    if (p) {
      const lconv = numericFn(ld, p), rconv = numericFn(rd, p);
      const pt: Type = { k: 'named', def: p, args: [] };
      if (op in COMPARE) return { t: T.bool, fn: COMPARE[op]!, lconv, rconv };
      const fn: Impl | undefined = (ARITH[p.name] as Record<string, Impl | undefined> | undefined)?.[op] ?? shift(op, p);
      return fn ? { t: pt, fn, lconv, rconv } : undefined;
    }
    if (ld === BOOL && rd === BOOL) {
      if (op === '==' || op === '!=') return { t: T.bool, fn: COMPARE[op]! };
      if (op === '&') return { t: T.bool, fn: (a, b) => a && b };
      if (op === '|') return { t: T.bool, fn: (a, b) => a || b };
      if (op === '^') return { t: T.bool, fn: (a, b) => a !== b };
    }
    if (isEnum(lt) && sameType(lt, rt)) {
      if (op in COMPARE) return { t: T.bool, fn: COMPARE[op]! };
      if (op === '|' || op === '&' || op === '^') return { t: lt, fn: ARITH.int![op]! };
    }
  }
  if ((op === '==' || op === '!=') && referenceComparable(lt, rt)) return { t: T.bool, fn: COMPARE[op]! };
  return undefined;
}

function shift(op: string, p: TypeDef): Impl | undefined {
  if (op === '<<') return p === INT ? (a, b) => a << b : p === LONG ? N.longShl : undefined;
  if (op === '>>') return p === INT ? (a, b) => a >> b : p === LONG ? N.longShr : undefined;
  return undefined;
}

/** Shifts take an int count whatever the left type is. */
export function resolveShift(op: string, lt: Type, rt: Type): ResolvedOp | undefined {
  const ld = def(lt), rd = def(rt);
  if (!ld || !rd || !rd.numeric || rd === LONG || rd === DOUBLE || rd === DECIMAL) return undefined;
  const p = ld === LONG ? LONG : ld.numeric && ld !== DOUBLE && ld !== DECIMAL ? INT : undefined;
  if (!p) return undefined;
  return { t: { k: 'named', def: p, args: [] }, fn: shift(op, p)!, lconv: numericFn(ld, p), rconv: numericFn(rd, INT) };
}

function referenceComparable(lt: Type, rt: Type): boolean {
  if (isValueType(lt) || isValueType(rt)) return false;
  return def(lt) === NULL || def(rt) === NULL || !!implicitConversion(lt, rt) || !!implicitConversion(rt, lt);
}

function userOperator(op: string, lt: Type, rt: Type): ResolvedOp | undefined {
  const name = OP_NAME[op];
  if (!name) return undefined;
  for (const d of [def(lt), def(rt)]) {
    if (!d) continue;
    for (const m of membersOf(d).operators.get(name) ?? []) {
      const [a, b] = m.params;
      if (!a || !b) continue;
      const lc = implicitConversion(lt, a.type), rc = implicitConversion(rt, b.type);
      if (lc && rc) return { t: m.ret, fn: m.impl as Impl, lconv: lc.fn, rconv: rc.fn };
    }
  }
  return undefined;
}

function liftedBinary(op: string, lt: Type, rt: Type): ResolvedOp | undefined {
  const li = def(lt) === NULL ? strip(rt) : strip(lt);
  const ri = def(rt) === NULL ? strip(lt) : strip(rt);
  const inner = resolveBinary(op, li, ri);
  if (!inner) return undefined;
  const { fn, lconv, rconv } = inner;
  const l = lconv ? (a: unknown) => (a === null ? null : lconv(a)) : undefined;
  const r = rconv ? (b: unknown) => (b === null ? null : rconv(b)) : undefined;
  if (op === '==' || op === '!=') {
    const eq = op === '==';
    return { t: T.bool, fn: (a, b) => (a === null || b === null ? (a === b) === eq : fn(a, b)), lconv: l, rconv: r };
  }
  if (sameType(inner.t, T.bool) && op in COMPARE) return { t: T.bool, fn: (a, b) => (a === null || b === null ? false : fn(a, b)), lconv: l, rconv: r };
  return { t: nullableOf(inner.t), fn: (a, b) => (a === null || b === null ? null : fn(a, b)), lconv: l, rconv: r };
}

export function resolveUnary(op: string, t: Type): ResolvedOp | undefined {
  if (t.k === 'nullable') {
    const inner = resolveUnary(op, t.inner);
    if (!inner) return undefined;
    const { fn, lconv } = inner;
    return { t: nullableOf(inner.t), fn: (v) => (v === null ? null : fn(lconv ? lconv(v) : v)) };
  }
  const d = def(t);
  if (!d) return undefined;
  if (op === '!') return d === BOOL ? { t, fn: (v) => !v } : undefined;
  const p = d.numeric ? (d === CHAR || d.name === 'byte' || d.name === 'short' ? INT : d) : undefined;
  if (!p) return undefined;
  const pt: Type = { k: 'named', def: p, args: [] };
  const lconv = numericFn(d, p);
  if (op === '+') return { t: pt, fn: (v) => v, lconv };
  if (op === '-') return { t: pt, fn: p === INT ? (v) => -v | 0 : p === LONG ? N.longNeg : (v) => -v, lconv };
  if (op === '~') return p === INT ? { t: pt, fn: (v) => ~v, lconv } : p === LONG ? { t: pt, fn: (v: bigint) => BigInt.asIntN(64, ~v), lconv } : undefined;
  return undefined;
}

/** `++` / `--` on a value of type `t`: the function from old to new value. */
export function stepFn(op: '++' | '--', t: Type): Impl | undefined {
  const d = def(strip(t));
  const k = op === '++' ? 1 : -1;
  let fn: Impl | undefined;
  if (d === INT) fn = (v: number) => (v + k) | 0;
  else if (d === LONG) fn = (v: bigint) => BigInt.asIntN(64, v + BigInt(k));
  else if (d === DOUBLE || d === DECIMAL) fn = (v: number) => v + k;
  else if (d === CHAR) fn = (v: string) => String.fromCharCode((v.charCodeAt(0) + k) & 0xffff);
  else if (d?.name === 'byte') fn = (v: number) => (v + k) & 255;
  else if (d?.name === 'short') fn = (v: number) => ((v + k) << 16) >> 16;
  if (!fn || t.k !== 'nullable') return fn;
  const inner = fn;
  return (v: unknown) => (v === null ? null : inner(v));
}
