import type { Block, CatchClause, Expr, LocalDecl, Stmt } from './ast.js';
import type { BCatch, BExpr, BFunction, BStmt } from './bound.js';
import { NULL, T } from './builtins.js';
import { ExprChecker } from './check-expr.js';
import { explicitConversion, iterateFn, testFn } from './conversions.js';
import { parseBlock, parseExpression } from './parser.js';
import { endsAbruptly } from './reachability.js';
import { elementOf, findType, sameType, typeName, type Type } from './types.js';

/**
 * The checker: resolves every name, member and overload of an expression against the whitelisted
 * object model and library at load, so that a typo or an unsupported API is a load error with its
 * position, and the compiler only has to emit closures.
 */
export interface CheckedExpression {
  fn: BFunction;
  /** The value's type (the common type of the block's `return`s). */
  type: Type;
}

const STATEMENT_EXPRS = new Set(['call', 'assign', 'new']);
export function checkExpression(code: string, block: boolean, expected?: Type): CheckedExpression {
  if (!block) {
    const c = new Checker(undefined);
    const e = c.bind(parseExpression(code), expected);
    const value = expected ? c.convert(e, expected, e.start) : e;
    if (sameType(value.t, T.void)) throw c.err('the expression has no value', 0);
    return { fn: c.finish({ op: 'empty' }, value), type: value.t };
  }
  const c = new Checker(expected);
  const body = c.bindRoot(parseBlock(code));
  return { fn: c.finish(body), type: c.rootType(expected) };
}

class Checker extends ExprChecker {
  private loops = 0;
  private breakables = 0;
  private catchSlots: number[] = [];

  bindRoot(b: Block): BStmt {
    const body = this.bindStatements(b.body);
    if (!endsAbruptly(b)) {
      const why = this.fn.returns.length === 0 ? 'a @{ } block must return a value' : 'not all code paths return a value';
      throw this.err(why, b.end > 0 ? b.end - 1 : 0);
    }
    return body;
  }

  rootType(expected: Type | undefined): Type {
    if (!expected && this.fn.returns.length === 0) return T.object;
    return expected ?? this.inferReturn(this.fn);
  }

  finish(body: BStmt, expr?: BExpr): BFunction {
    return { params: 0, size: this.fn.size, body, expr };
  }

  protected bindStatements(body: Stmt[]): BStmt {
    return this.inBlock(() => {
      const functions: Array<{ slot: number; fn: BFunction }> = [];
      const declared = new Map<Stmt, number>();
      for (const s of body) {
        if (s.kind !== 'localFunction') continue;
        const params = s.params.map((p) => this.resolveType(p.type));
        const ret = this.resolveType(s.returnType);
        const slot = this.fn.slot();
        if (!this.scope.declare(s.name, { slot, type: { k: 'func', params, ret }, fn: { params, ret } })) throw this.err(`'${s.name}' is already defined here`, s.start);
        declared.set(s, slot);
      }
      const out: BStmt[] = [];
      for (const s of body) {
        if (s.kind === 'localFunction') {
          const ps = s.params.map((p) => ({ name: p.name, type: this.resolveType(p.type), start: s.start }));
          const saved = [this.loops, this.breakables];
          this.loops = this.breakables = 0;
          const r = this.bindFunction(ps, s.body, this.resolveType(s.returnType));
          [this.loops, this.breakables] = saved as [number, number];
          functions.push({ slot: declared.get(s)!, fn: r.fn });
        } else out.push(this.statement(s));
      }
      return { op: 'block', body: out, functions };
    });
  }

  private embedded(s: Stmt): BStmt {
    if (s.kind === 'local') throw this.err('a declaration is not allowed here: use a block { }', s.start);
    return this.inBlock(() => this.statement(s));
  }

  private cond(e: Expr): BExpr {
    return this.convert(this.bind(e), T.bool, e.start);
  }

  private loop<R>(f: () => R): R {
    this.loops++;
    this.breakables++;
    try { return f(); } finally { this.loops--; this.breakables--; }
  }

  private statement(s: Stmt): BStmt {
    switch (s.kind) {
      case 'block': return this.bindStatements(s.body);
      case 'empty': return { op: 'empty' };
      case 'local': return this.local(s);
      case 'expr': {
        const k = s.expr.kind;
        if (!STATEMENT_EXPRS.has(k) && !(k === 'unary' && (s.expr.op === '++' || s.expr.op === '--'))) {
          throw this.err('only assignments, calls, ++, -- and new can be used as a statement', s.start);
        }
        return { op: 'expr', e: this.bind(s.expr) };
      }
      case 'if': return { op: 'if', test: this.cond(s.test), then: this.embedded(s.then), otherwise: s.otherwise && this.embedded(s.otherwise) };
      case 'while': return { op: 'while', test: this.cond(s.test), body: this.loop(() => this.embedded(s.body)), doWhile: false };
      case 'do': {
        const body = this.loop(() => this.embedded(s.body));
        return { op: 'while', test: this.cond(s.test), body, doWhile: true };
      }
      case 'for': return this.inBlock(() => {
        const init = s.init.map((x) => this.statement(x));
        const test = s.test && this.cond(s.test);
        const update = s.update.map((u) => this.bind(u));
        return { op: 'for', init, test, update, body: this.loop(() => this.embedded(s.body)) };
      });
      case 'foreach': return this.foreach(s);
      case 'return': return this.returnStmt(s);
      case 'break':
        if (this.breakables === 0) throw this.err("'break' outside a loop or switch", s.start);
        return { op: 'break' };
      case 'continue':
        if (this.loops === 0) throw this.err("'continue' outside a loop", s.start);
        return { op: 'continue' };
      case 'throw': {
        if (!s.value) {
          const slot = this.catchSlots[this.catchSlots.length - 1];
          if (slot === undefined) throw this.err("'throw;' is only allowed in a catch block", s.start);
          return { op: 'throw', rethrowSlot: slot };
        }
        const v = this.bind(s.value);
        this.requireException(v, s.value.start);
        return { op: 'throw', value: v };
      }
      case 'try': return this.tryStmt(s);
      case 'using': {
        if (!s.body) return this.local(s.resource as LocalDecl);
        return this.inBlock(() => {
          const r = s.resource.kind === 'local' ? this.local(s.resource as LocalDecl) : { op: 'expr' as const, e: this.bind(s.resource as Expr) };
          return { op: 'block', body: [r, this.embedded(s.body!)], functions: [] };
        });
      }
      case 'switch': return this.switchStmt(s);
      case 'localFunction': throw this.err('a local function must be declared directly in a block', s.start);
    }
  }

  private local(s: LocalDecl): BStmt {
    const declared = s.type && this.resolveType(s.type);
    const body: BStmt[] = s.decls.map((d) => {
      let init: BExpr;
      let t: Type;
      if (declared) {
        t = declared;
        init = d.init ? this.convert(this.bind(d.init, t), t, d.init.start) : { op: 'const', value: this.zero(t), t, start: d.start };
      } else {
        if (!d.init) throw this.err(`'var ${d.name}' needs an initial value`, d.start);
        init = this.bind(d.init);
        t = init.t;
        if (t.k === 'named' && (t.def === NULL || sameType(t, T.void))) throw this.err(`cannot infer the type of '${d.name}' from ${t.def === NULL ? 'null' : 'a method returning nothing'}`, d.start);
      }
      return { op: 'local', slot: this.declare(d.name, t, d.start), init };
    });
    return body.length === 1 ? body[0]! : { op: 'block', body, functions: [] };
  }

  private foreach(s: Stmt & { kind: 'foreach' }): BStmt {
    const source = this.bind(s.source);
    const elem = elementOf(source.t);
    if (!elem) throw this.err(`foreach cannot enumerate '${typeName(source.t)}'`, s.source.start);
    return this.inBlock(() => {
      const declared = s.type ? this.resolveType(s.type) : elem;
      const conv = sameType(declared, elem) ? undefined : explicitConversion(elem, declared);
      if (!sameType(declared, elem) && !conv) throw this.err(`cannot convert the elements ('${typeName(elem)}') to '${typeName(declared)}'`, s.start);
      const slot = this.declare(s.name, declared, s.start, true);
      const body = this.loop(() => this.embedded(s.body));
      return { op: 'foreach', slot, source, iterate: iterateFn(source.t), conv: conv?.fn, body };
    });
  }

  private returnStmt(s: Stmt & { kind: 'return' }): BStmt {
    const rt = this.fn.returnType;
    if (rt && sameType(rt, T.void)) {
      if (s.value) throw this.err('this function returns nothing (void)', s.value.start);
      return { op: 'return' };
    }
    if (!s.value) throw this.err("'return' needs a value here", s.start);
    const v = this.bind(s.value, rt);
    if (rt) return { op: 'return', value: this.convert(v, rt, s.value.start) };
    if (sameType(v.t, T.void)) throw this.err('cannot return the result of a method returning nothing', s.value.start);
    const stmt: BStmt & { op: 'return' } = { op: 'return', value: v };
    this.fn.returns.push(Object.assign({ t: v.t, start: s.value.start }, { stmt }));
    return stmt;
  }

  private tryStmt(s: Stmt & { kind: 'try' }): BStmt {
    const block = this.bindStatements(s.block.body);
    const catches = s.catches.map((c) => this.catchClause(c));
    const fin = s.finally && this.bindStatements(s.finally.body);
    return { op: 'try', block, catches, finally: fin };
  }

  private catchClause(c: CatchClause): BCatch {
    return this.inBlock(() => {
      const t = c.type ? this.resolveType(c.type) : { k: 'named' as const, def: findType('Exception', 0)!, args: [] };
      this.requireException({ op: 'const', value: null, t, start: c.start }, c.start);
      const slot = c.name ? this.declare(c.name, t, c.start) : undefined;
      const caught = this.fn.slot();
      const filter = c.filter && this.cond(c.filter);
      this.catchSlots.push(caught);
      try {
        return { test: testFn(t), slot, caught, filter, body: this.bindStatements(c.body.body) };
      } finally {
        this.catchSlots.pop();
      }
    });
  }

  private switchStmt(s: Stmt & { kind: 'switch' }): BStmt {
    const subject = this.bind(s.subject);
    return this.inBlock(() => {
      this.breakables++;
      try {
        const sections = s.sections.map((sec) => {
          const values = sec.labels.filter((l): l is Expr => l !== 'default').map((l) => {
            const v = this.convert(this.bind(l), subject.t, l.start);
            if (v.op !== 'const') throw this.err('a case label must be a constant', l.start);
            return v.value;
          });
          return { values, isDefault: sec.labels.includes('default'), body: sec.body.map((b) => this.statement(b)) };
        });
        return { op: 'switch', subject, sections };
      } finally {
        this.breakables--;
      }
    });
  }
}
