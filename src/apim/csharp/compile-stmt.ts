import type { BFunction, BStmt } from './bound.js';
import { compileExpr } from './compile-expr.js';
import { BREAK, CONTINUE, NORMAL, RETURN, type Exec, type Frame, type Run } from './frame.js';
import { enter, leave, tick } from './runtime/budget.js';
import { asCsException, nullRef } from './runtime/exceptions.js';

/**
 * Compiles statements to closures returning a completion (normal, break, continue, return), and
 * functions (lambdas, local functions) to JS functions with their own frame. Every loop
 * iteration and every call costs a step of the evaluation budget.
 */
export function compileFunction(fn: BFunction): (f: Frame) => (...args: unknown[]) => unknown {
  const body = compileStmt(fn.body);
  const expr = fn.expr && compileExpr(fn.expr);
  const { size, params } = fn;
  const run = (f: Frame): unknown => {
    tick();
    enter();
    try {
      if (expr) { body(f); return expr(f); }
      return body(f) === RETURN ? f.r : undefined;
    } finally {
      leave();
    }
  };
  const frame = (outer: Frame): Frame => ({ l: new Array(size), p: outer, c: outer.c, r: undefined });
  if (params === 0) return (outer) => () => run(frame(outer));
  if (params === 1) return (outer) => (a: unknown) => { const f = frame(outer); f.l[0] = a; return run(f); };
  if (params === 2) return (outer) => (a: unknown, b: unknown) => { const f = frame(outer); f.l[0] = a; f.l[1] = b; return run(f); };
  return (outer) => (...args: unknown[]) => {
    const f = frame(outer);
    for (let i = 0; i < params; i++) f.l[i] = args[i];
    return run(f);
  };
}

/** The body of the expression itself: its value. */
export function compileRoot(fn: BFunction): { size: number; run: (f: Frame) => unknown } {
  const body = compileStmt(fn.body);
  const expr = fn.expr && compileExpr(fn.expr);
  if (expr) return { size: fn.size, run: expr };
  return { size: fn.size, run: (f) => (body(f) === RETURN ? f.r : null) };
}

export function compileStmt(s: BStmt): Exec {
  switch (s.op) {
    case 'empty': return () => NORMAL;
    case 'expr': { const e = compileExpr(s.e); return (f) => { e(f); return NORMAL; }; }
    case 'local': { const slot = s.slot, init = compileExpr(s.init); return (f) => { f.l[slot] = init(f); return NORMAL; }; }
    case 'block': return compileBlock(s);
    case 'if': {
      const test = compileExpr(s.test), a = compileStmt(s.then), b = s.otherwise ? compileStmt(s.otherwise) : undefined;
      return b ? (f) => (test(f) ? a(f) : b(f)) : (f) => (test(f) ? a(f) : NORMAL);
    }
    case 'while': return compileWhile(compileExpr(s.test), compileStmt(s.body), s.doWhile);
    case 'for': return compileFor(s.init.map(compileStmt), s.test && compileExpr(s.test), s.update.map(compileExpr), compileStmt(s.body));
    case 'foreach': return compileForeach(s);
    case 'return': {
      const v = s.value && compileExpr(s.value);
      return v ? (f) => { f.r = v(f); return RETURN; } : () => RETURN;
    }
    case 'break': return () => BREAK;
    case 'continue': return () => CONTINUE;
    case 'throw': {
      if (s.rethrowSlot !== undefined) { const slot = s.rethrowSlot; return (f) => { throw f.l[slot]; }; }
      const v = compileExpr(s.value!);
      return (f) => { throw v(f) ?? nullRef(); };
    }
    case 'try': return compileTry(s);
    case 'switch': return compileSwitch(s);
  }
}

function compileBlock(s: BStmt & { op: 'block' }): Exec {
  const list = s.body.map(compileStmt);
  const fns = s.functions.map((x) => ({ slot: x.slot, make: compileFunction(x.fn) }));
  const run: Exec = list.length === 1 ? list[0]! : (f) => {
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!(f);
      if (c !== NORMAL) return c;
    }
    return NORMAL;
  };
  if (fns.length === 0) return run;
  return (f) => {
    for (const x of fns) f.l[x.slot] = x.make(f);
    return run(f);
  };
}

function compileWhile(test: Run, body: Exec, doWhile: boolean): Exec {
  return (f) => {
    if (doWhile) {
      tick();
      const c = body(f);
      if (c === BREAK) return NORMAL;
      if (c === RETURN) return c;
    }
    while (test(f)) {
      tick();
      const c = body(f);
      if (c === BREAK) break;
      if (c === RETURN) return c;
    }
    return NORMAL;
  };
}

function compileFor(init: Exec[], test: Run | undefined, update: Run[], body: Exec): Exec {
  return (f) => {
    for (const i of init) i(f);
    for (; !test || test(f); ) {
      tick();
      const c = body(f);
      if (c === BREAK) break;
      if (c === RETURN) return c;
      for (const u of update) u(f);
    }
    return NORMAL;
  };
}

function compileForeach(s: BStmt & { op: 'foreach' }): Exec {
  const source = compileExpr(s.source), body = compileStmt(s.body), { slot, iterate, conv } = s;
  return (f) => {
    const src = source(f);
    if (src === null || src === undefined) return nullRef();
    for (const x of (iterate ? iterate(src) : src) as Iterable<unknown>) {
      tick();
      f.l[slot] = conv ? conv(x) : x;
      const c = body(f);
      if (c === BREAK) break;
      if (c === RETURN) return c;
    }
    return NORMAL;
  };
}

function compileTry(s: BStmt & { op: 'try' }): Exec {
  const block = compileStmt(s.block);
  const catches = s.catches.map((c) => ({ ...c, filter: c.filter && compileExpr(c.filter), body: compileStmt(c.body) }));
  const fin = s.finally && compileStmt(s.finally);
  return (f) => {
    try {
      return block(f);
    } catch (err) {
      if (catches.length === 0) throw err;
      const ex = asCsException(err);
      for (const c of catches) {
        if (!c.test(ex)) continue;
        if (c.slot !== undefined) f.l[c.slot] = ex;
        if (c.filter && !c.filter(f)) continue;
        f.l[c.caught] = ex;
        return c.body(f);
      }
      throw ex;
    } finally {
      if (fin) fin(f);
    }
  };
}

function compileSwitch(s: BStmt & { op: 'switch' }): Exec {
  const subject = compileExpr(s.subject);
  const sections = s.sections.map((x) => ({ values: x.values, isDefault: x.isDefault, body: compileBlock({ op: 'block', body: x.body, functions: [] }) }));
  const fallback = sections.find((x) => x.isDefault);
  return (f) => {
    const v = subject(f);
    const sec = sections.find((x) => x.values.some((k) => k === v)) ?? fallback;
    if (!sec) return NORMAL;
    const c = sec.body(f);
    return c === BREAK ? NORMAL : c;
  };
}
