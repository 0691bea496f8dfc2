import type { Arg, Expr, Pattern } from './ast.js';
import type { BExpr, LValue } from './bound.js';
import { NULL, STRING, T } from './builtins.js';
import { CheckerBase, commonType, tryFold } from './check-base.js';
import type { CallChecker } from './check-call.js';
import { bindChain, bindLValue } from './check-member.js';
import { bindAnonymous, bindNew, bindNewArray } from './check-new.js';
import { asFn, explicitConversion, implicitConversion, testFn, castFn } from './conversions.js';
import { resolveBinary, resolveShift, resolveUnary, stepFn, stringifier, type ResolvedOp } from './operators.js';
import { formatHole } from './runtime/format.js';
import { csEquals } from './runtime/values.js';
import { ancestry, findType, isValueType, nullableOf, sameType, typeName, type Impl, type Type } from './types.js';

/** Binds expressions: every node gets its type, its conversions and its run-time function. */
export abstract class ExprChecker extends CheckerBase implements CallChecker {
  bind(e: Expr, expected?: Type): BExpr {
    switch (e.kind) {
      case 'literal': return this.literal(e);
      case 'interpolated': return this.interpolated(e);
      case 'name': case 'member': case 'call': case 'index': case 'predefined': return bindChain(this, e);
      case 'paren': return this.bind(e.inner, expected);
      case 'unary': return this.unary(e);
      case 'binary': return this.binary(e, expected);
      case 'assign': return this.assign(e);
      case 'conditional': return this.conditional(e, expected);
      case 'cast': {
        const t = this.resolveType(e.type);
        return this.convert(this.bind(e.operand, t), t, e.start, true);
      }
      case 'as': {
        const t = this.resolveType(e.type);
        if (isValueType(t) && t.k !== 'nullable') throw this.err(`'as' needs a reference or nullable type, not '${typeName(t)}'`, e.type.start);
        const v = this.bind(e.operand);
        return { op: 'conv', value: v, fn: asFn(t), t, start: e.start };
      }
      case 'is': return this.pattern(this.bind(e.operand), e.pattern, e.start);
      case 'new': return bindNew(this, e);
      case 'newArray': return bindNewArray(this, e);
      case 'anonymous': return bindAnonymous(this, e);
      case 'lambda': return this.lambda(e, expected);
      case 'default': {
        const t = e.type ? this.resolveType(e.type) : expected;
        if (!t) throw this.err("the type of 'default' is unknown here: write default(T)", e.start);
        return { op: 'const', value: this.zero(t), t, start: e.start };
      }
      case 'typeof': throw this.err('typeof is not supported in policy expressions', e.start);
      case 'nameof': return { op: 'const', value: e.name, t: T.string, start: e.start };
      case 'throw': {
        const v = this.bind(e.value);
        this.requireException(v, e.value.start);
        return { op: 'throw', value: v, t: T.null, start: e.start };
      }
    }
  }

  bindArgValue(a: Arg): BExpr { return this.bind(a.value); }
  bindLValue(e: Expr): { lv: LValue; t: Type } { return bindLValue(this as CallChecker, e); }

  requireException(v: BExpr, start: number): void {
    const ex = findType('Exception', 0);
    if (![...ancestry(v.t)].some((a) => a.k === 'named' && a.def === ex)) throw this.err(`only exceptions can be thrown, not '${typeName(v.t)}'`, start);
  }

  private literal(e: Expr & { kind: 'literal' }): BExpr {
    const t = e.type === 'null' ? T.null : T[e.type];
    return { op: 'const', value: e.value, t, start: e.start };
  }

  private interpolated(e: Expr & { kind: 'interpolated' }): BExpr {
    const parts = e.parts.map((p) => {
      if (typeof p === 'string') return p;
      const value = this.bind(p.expr);
      if (sameType(value.t, T.void)) throw this.err('a method returning nothing cannot be interpolated', p.expr.start);
      const fmt: Impl = p.format !== undefined || p.align !== undefined ? formatHole(p.format, p.align) : stringifier(value.t);
      return { value, fmt };
    });
    return { op: 'interp', parts, t: T.string, start: e.start };
  }

  private unary(e: Expr & { kind: 'unary' }): BExpr {
    if (e.op === '++' || e.op === '--') {
      const { lv, t } = this.bindLValue(e.operand);
      const fn = stepFn(e.op, t);
      if (!fn) throw this.err(`'${e.op}' cannot be applied to '${typeName(t)}'`, e.start);
      return { op: 'update', target: lv, fn, postfix: e.postfix, t, start: e.start };
    }
    const v = this.bind(e.operand);
    const r = resolveUnary(e.op, v.t);
    if (!r) throw this.err(`operator '${e.op}' cannot be applied to '${typeName(v.t)}'`, e.start);
    const value = this.wrap(v, r.lconv);
    if (value.op === 'const' && value.value !== null) {
      const folded = tryFold(r.fn, value.value);
      if (folded.ok) return { op: 'const', value: folded.value, t: r.t, start: e.start };
    }
    return { op: 'unary', value, fn: r.fn, t: r.t, start: e.start };
  }

  private wrap(e: BExpr, fn: Impl | undefined): BExpr {
    if (!fn) return e;
    if (e.op === 'const' && e.value !== null) {
      const folded = tryFold(fn, e.value);
      if (folded.ok) return { ...e, value: folded.value };
    }
    return { op: 'conv', value: e, fn, t: e.t, start: e.start };
  }

  private binary(e: Expr & { kind: 'binary' }, expected: Type | undefined): BExpr {
    if (e.op === '&&' || e.op === '||') {
      const left = this.convert(this.bind(e.left), T.bool, e.left.start);
      const right = this.convert(this.bind(e.right), T.bool, e.right.start);
      return { op: e.op === '&&' ? 'and' : 'or', left, right, t: T.bool, start: e.start };
    }
    if (e.op === '??') return this.coalesce(e, expected);
    const left = this.bind(e.left), right = this.bind(e.right);
    const r = this.operator(e.op, left.t, right.t, e.start);
    if (r.t.k === 'named' && r.t.def === STRING && e.op === '+') {
      const parts = [...this.concatParts(left), ...this.concatParts(right)];
      return { op: 'concat', parts, t: T.string, start: e.start };
    }
    return { op: 'binary', left: this.wrap(left, r.lconv), right: this.wrap(right, r.rconv), fn: r.fn, t: r.t, start: e.start };
  }

  private concatParts(e: BExpr): Array<{ value: BExpr; str: Impl }> {
    if (e.op === 'concat') return e.parts;
    return [{ value: e, str: stringifier(e.t) }];
  }

  private operator(op: string, lt: Type, rt: Type, start: number): ResolvedOp {
    const r = op === '<<' || op === '>>' ? resolveShift(op, lt, rt) : resolveBinary(op, lt, rt);
    if (!r) throw this.err(`operator '${op}' cannot be applied to '${typeName(lt)}' and '${typeName(rt)}'`, start);
    return r;
  }

  private coalesce(e: Expr & { kind: 'binary' }, expected: Type | undefined): BExpr {
    const left = this.bind(e.left, expected);
    if (isValueType(left.t) && left.t.k !== 'nullable') throw this.err(`'??' needs a nullable left side, not '${typeName(left.t)}'`, e.start);
    const inner = left.t.k === 'nullable' ? left.t.inner : left.t;
    const right = this.bind(e.right, inner);
    let t: Type;
    if (right.op === 'throw' || implicitConversion(right.t, inner)) t = inner;
    else if (implicitConversion(right.t, left.t)) t = left.t;
    else if (implicitConversion(inner, right.t)) t = right.t;
    else throw this.err(`'??' cannot combine '${typeName(left.t)}' and '${typeName(right.t)}'`, e.start);
    const l = left.t.k === 'nullable' && !sameType(t, left.t) ? { ...left, t: nullableOf(t) } : sameType(inner, t) ? left : this.convert(left, t, e.left.start);
    return { op: 'coalesce', left: l, right: this.convert(right, t, e.right.start), t, start: e.start };
  }

  private assign(e: Expr & { kind: 'assign' }): BExpr {
    const { lv, t } = this.bindLValue(e.target);
    const raw = this.bind(e.value, t);
    if (e.op === '=') return { op: 'assign', target: lv, value: this.convert(raw, t, e.value.start), t, start: e.start };
    if (e.op === '??=') {
      const value = this.convert(raw, t.k === 'nullable' ? t.inner : t, e.value.start);
      return { op: 'update', target: lv, fn: (old: unknown, v: unknown) => old ?? v, value, postfix: false, t, start: e.start };
    }
    const r = this.operator(e.op.slice(0, -1), t, raw.t, e.start);
    const back = sameType(r.t, t) ? undefined : explicitConversion(r.t, t);
    if (!sameType(r.t, t) && !back) throw this.err(`cannot convert '${typeName(r.t)}' back to '${typeName(t)}'`, e.start);
    const { fn, lconv } = r;
    const b = back?.fn;
    const step: Impl = (old, v) => {
      const res = fn(lconv ? lconv(old) : old, v);
      return b ? b(res) : res;
    };
    return { op: 'update', target: lv, fn: step, value: this.wrap(raw, r.rconv), postfix: false, t, start: e.start };
  }

  private conditional(e: Expr & { kind: 'conditional' }, expected: Type | undefined): BExpr {
    const test = this.convert(this.bind(e.test), T.bool, e.test.start);
    const a = this.bind(e.then, expected), b = this.bind(e.otherwise, expected);
    let t: Type;
    if (a.op === 'throw') t = b.t;
    else if (b.op === 'throw') t = a.t;
    else if (sameType(a.t, b.t)) t = a.t;
    else if (implicitConversion(b.t, a.t) && !(b.t.k === 'named' && b.t.def === NULL && isValueType(a.t) && a.t.k !== 'nullable')) t = a.t;
    else if (implicitConversion(a.t, b.t) && !(a.t.k === 'named' && a.t.def === NULL && isValueType(b.t) && b.t.k !== 'nullable')) t = b.t;
    else if (expected && implicitConversion(a.t, expected) && implicitConversion(b.t, expected)) t = expected;
    else {
      t = commonType([a.t, b.t]);
      if (sameType(t, T.object) && !sameType(a.t, T.object) && !sameType(b.t, T.object)) {
        throw this.err(`the branches of '?:' have no common type ('${typeName(a.t)}' and '${typeName(b.t)}')`, e.start);
      }
    }
    return { op: 'cond', test, then: this.convert(a, t, e.then.start), otherwise: this.convert(b, t, e.otherwise.start), t, start: e.start };
  }

  private pattern(v: BExpr, p: Pattern, start: number): BExpr {
    switch (p.kind) {
      case 'notPattern': {
        const inner = this.pattern(v, p.pattern, start);
        if (inner.op !== 'is') throw this.err('unsupported pattern', p.start);
        return { ...inner, negate: !inner.negate };
      }
      case 'constPattern': {
        const c = this.bind(p.value);
        if (c.op !== 'const') throw this.err('a pattern constant must be a literal', p.start);
        const k = c.value;
        const conv = c.t.k === 'named' && v.t.k === 'named' && c.t.def.numeric && v.t.def.numeric ? implicitConversion(c.t, v.t)?.fn : undefined;
        const want = conv ? conv(k) : k;
        return { op: 'is', value: v, test: k === null ? (x) => x === null : (x) => csEquals(x, want), negate: false, t: T.bool, start };
      }
      case 'varPattern': {
        const slot = this.declare(p.designation, v.t, p.start);
        return { op: 'is', value: v, test: () => true, slot, negate: false, t: T.bool, start };
      }
      case 'typePattern': {
        const t = this.resolveType(p.type);
        const test = testFn(t);
        const slot = p.designation ? this.declare(p.designation, t, p.start) : undefined;
        const conv = t.k === 'named' && t.def.name === 'long' ? castFn(t) : undefined;
        return { op: 'is', value: v, test: (x) => x !== null && x !== undefined && test(x), slot, conv, negate: false, t: T.bool, start };
      }
    }
  }

  private lambda(e: Expr & { kind: 'lambda' }, expected: Type | undefined): BExpr {
    if (!expected || expected.k !== 'func' || expected.params.length !== e.params.length) {
      throw this.err('the type of this lambda is unknown here: assign it to a Func<…> or pass it to a method', e.start);
    }
    const ps = e.params.map((p, i) => ({ name: p.name, type: p.type ? this.resolveType(p.type) : expected.params[i]!, start: e.start }));
    const r = this.bindFunction(ps, e.body, expected.ret);
    return { op: 'lambda', fn: r.fn, t: { k: 'func', params: ps.map((p) => p.type), ret: r.ret }, start: e.start };
  }
}
