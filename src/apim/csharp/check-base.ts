import type { Block, Expr, Stmt, TypeNode } from './ast.js';
import type { BExpr, BFunction, BStmt } from './bound.js';
import { NULL, PREDEFINED, T } from './builtins.js';
import { explicitConversion, implicitConversion } from './conversions.js';
import { CompileError, unsupported } from './diagnostics.js';
import { BlockScope, FunctionScope } from './scope.js';
import { endsAbruptly } from './reachability.js';
import { arrayOf, findType, funcOf, isValueType, named, nullableOf, numericRank, sameType, typeName, type Type } from './types.js';

/**
 * The checker's foundation: scopes, type names, conversions and functions (lambdas, local
 * functions, the expression itself). Expressions and statements are bound in the subclasses.
 */
export abstract class CheckerBase {
  protected fn: FunctionScope;
  protected scope: BlockScope;

  constructor(returnType: Type | undefined) {
    this.fn = new FunctionScope(undefined, returnType);
    this.scope = new BlockScope(this.fn, undefined);
  }

  abstract bind(e: Expr, expected?: Type): BExpr;
  protected abstract bindStatements(body: Stmt[]): BStmt;

  err(message: string, start: number): CompileError {
    return unsupported(message, start);
  }

  resolveType(node: TypeNode): Type {
    let t = this.namedType(node);
    if (node.nullable && isValueType(t)) t = nullableOf(t);
    for (let i = 0; i < node.arrays; i++) t = arrayOf(t);
    return t;
  }

  private namedType(node: TypeNode): Type {
    const args = node.args.map((a) => this.resolveType(a));
    const full = node.name.join('.');
    if (node.name.length === 1 && args.length === 0 && PREDEFINED[full]) return PREDEFINED[full]!;
    const simple = full.replace(/^System\./, '');
    if (simple === 'Func' && args.length > 0) return funcOf(args.slice(0, -1), args[args.length - 1]!);
    if (simple === 'Action') return funcOf(args, T.void);
    const def = findType(full, args.length);
    if (!def) throw this.err(`the type '${full}${args.length ? `<${args.map(typeName).join(', ')}>` : ''}' is not available in policy expressions`, node.start);
    if (def.refused) throw this.err(def.refused, node.start);
    return named(def, args);
  }

  /** Converts `e` to `to` (implicitly, or explicitly for casts); an error when C# would not compile it. */
  convert(e: BExpr, to: Type, start: number, explicit = false): BExpr {
    if (e.op === 'throw') return { ...e, t: to };
    const c = explicit ? explicitConversion(e.t, to) : implicitConversion(e.t, to, e.op === 'const' ? e.value : undefined);
    if (!c) {
      const how = explicit ? 'convert' : 'implicitly convert';
      throw this.err(`cannot ${how} '${typeName(e.t)}' to '${typeName(to)}'`, start);
    }
    if (!c.fn) return sameType(e.t, to) ? e : { ...e, t: to };
    if (e.op === 'const' && e.value !== null) {
      const folded = tryFold(c.fn, e.value);
      if (folded.ok) return { op: 'const', value: folded.value, t: to, start: e.start };
    }
    return { op: 'conv', value: e, fn: c.fn, t: to, start: e.start };
  }

  /** `default(T)`. */
  zero(t: Type): unknown {
    return t.k === 'named' && t.def.valueType ? (t.def.zero ?? (t.def.enumValues ? 0 : null)) : null;
  }

  lookup(name: string) {
    return this.scope.lookup(name);
  }

  declare(name: string, type: Type, start: number, readonly = false): number {
    const slot = this.fn.slot();
    if (!this.scope.declare(name, { slot, type, readonly })) throw this.err(`a local variable named '${name}' is already defined here`, start);
    return slot;
  }

  protected inBlock<R>(f: () => R): R {
    const saved = this.scope;
    this.scope = new BlockScope(this.fn, saved);
    try { return f(); } finally { this.scope = saved; }
  }

  /** Binds a function body in a new frame: a lambda or a local function. */
  bindFunction(params: Array<{ name: string; type: Type; start: number }>, body: Expr | Block, ret: Type | undefined): { fn: BFunction; ret: Type } {
    const savedFn = this.fn, savedScope = this.scope;
    this.fn = new FunctionScope(savedFn, ret);
    this.scope = new BlockScope(this.fn, savedScope);
    try {
      for (const p of params) this.declare(p.name, p.type, p.start);
      if (body.kind !== 'block') {
        const e = this.bind(body, ret && ret.k !== 'param' ? ret : undefined);
        const isVoid = ret !== undefined && sameType(ret, T.void);
        const value = ret && !isVoid && ret.k !== 'param' ? this.convert(e, ret, body.start) : e;
        const fn: BFunction = { params: params.length, size: 0, body: { op: 'empty' }, expr: isVoid ? undefined : value };
        if (isVoid) fn.body = { op: 'expr', e };
        fn.size = this.fn.size;
        return { fn, ret: isVoid ? T.void : value.t };
      }
      const stmt = this.bindStatements(body.body);
      const actual = ret && ret.k !== 'param' ? ret : this.fn.returns.length ? this.inferReturn(this.fn) : T.void;
      if (!sameType(actual, T.void) && !endsAbruptly(body)) throw this.err('not all code paths return a value', body.end > 0 ? body.end - 1 : body.start);
      return { fn: { params: params.length, size: this.fn.size, body: stmt }, ret: actual };
    } finally {
      this.fn = savedFn;
      this.scope = savedScope;
    }
  }

  /** The type of a function whose return type is inferred: the common type of its `return`s. */
  inferReturn(fs: FunctionScope): Type {
    const ts = fs.returns.map((r) => r.t);
    const t = commonType(ts);
    for (const r of fs.returns) {
      const s = r as { t: Type; start: number; stmt?: { value?: BExpr } };
      if (s.stmt?.value && !sameType(s.stmt.value.t, t)) s.stmt.value = this.convert(s.stmt.value, t, s.start);
    }
    return t;
  }
}

/** Computes a conversion of a constant at load; one that would throw is left for run time, as in C#. */
export function tryFold(fn: (v: unknown) => unknown, v: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: fn(v) };
  } catch {
    return { ok: false };
  }
}

/** The best common type of several (conditional branches, returns, array items). */
export function commonType(ts: Type[]): Type {
  const real = ts.filter((t) => !(t.k === 'named' && t.def === NULL));
  const hadNull = real.length < ts.length;
  if (real.length === 0) return hadNull ? T.object : T.void;
  let best: Type | undefined;
  for (const cand of real) {
    if (real.every((t) => sameType(t, cand) || implicitConversion(t, cand))) {
      if (!best || (numericRank(cand) ?? 0) > (numericRank(best) ?? 0)) best = cand;
    }
  }
  const t = best ?? T.object;
  return hadNull && isValueType(t) && t.k !== 'nullable' ? nullableOf(t) : t;
}
