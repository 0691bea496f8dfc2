import type { Access, BExpr, LValue } from './bound.js';
import { frameAt, OUT, SHORT, type Frame, type Run } from './frame.js';
import { charge, str } from './runtime/budget.js';
import { CsException, nullRef } from './runtime/exceptions.js';
import type { Impl } from './types.js';
import { compileFunction } from './compile-stmt.js';

/**
 * Compiles checked expressions to closures `(frame) => value`. Nothing is looked up at run time:
 * each closure calls the member's implementation directly, specialised by argument count.
 */
export function compileExpr(e: BExpr): Run {
  switch (e.op) {
    case 'const': { const v = e.value; return () => v; }
    case 'local': return readLocal(e.slot, e.depth);
    case 'context': return (f) => f.c;
    case 'call': return compileCall(e);
    case 'invoke': {
      const target = compileExpr(e.target), args = e.args.map(compileExpr);
      return (f) => {
        const g = target(f) as Impl | null;
        if (g === null) return nullRef();
        return g(...args.map((a) => a(f)));
      };
    }
    case 'conv': case 'unary': { const v = compileExpr(e.value), fn = e.fn; return (f) => fn(v(f)); }
    case 'binary': { const l = compileExpr(e.left), r = compileExpr(e.right), fn = e.fn; return (f) => fn(l(f), r(f)); }
    case 'and': { const l = compileExpr(e.left), r = compileExpr(e.right); return (f) => (l(f) as boolean) && (r(f) as boolean); }
    case 'or': { const l = compileExpr(e.left), r = compileExpr(e.right); return (f) => (l(f) as boolean) || (r(f) as boolean); }
    case 'coalesce': { const l = compileExpr(e.left), r = compileExpr(e.right); return (f) => l(f) ?? r(f); }
    case 'cond': { const t = compileExpr(e.test), a = compileExpr(e.then), b = compileExpr(e.otherwise); return (f) => (t(f) ? a(f) : b(f)); }
    case 'assign': return compileAssign(e.target, compileExpr(e.value));
    case 'update': return compileUpdate(e.target, e.fn, e.value && compileExpr(e.value), e.postfix);
    case 'lambda': return compileFunction(e.fn);
    case 'concat': return compileConcat(e.parts.map((p) => ({ v: compileExpr(p.value), s: p.str })));
    case 'interp': return compileConcat(e.parts.map((p) => (typeof p === 'string' ? p : { v: compileExpr(p.value), s: p.fmt })));
    case 'throw': { const v = compileExpr(e.value); return (f) => { throw (v(f) as CsException | null) ?? nullRef(); }; }
    case 'chain': { const v = compileExpr(e.value); return (f) => { const x = v(f); return x === SHORT ? null : x; }; }
    case 'init': {
      const v = compileExpr(e.value);
      const steps = e.steps.map((s) => ({ fn: s.fn, args: s.args.map(compileExpr) }));
      return (f) => {
        const o = v(f);
        for (const s of steps) s.fn(o, ...s.args.map((a) => a(f)));
        return o;
      };
    }
    case 'array': {
      const items = e.items.map(compileExpr), bytes = e.bytes, n = items.length;
      return (f) => {
        charge(n);
        const a = items.map((x) => x(f));
        return bytes ? Uint8Array.from(a as number[]) : a;
      };
    }
    case 'is': {
      const v = compileExpr(e.value), { test, slot, conv, negate } = e;
      return (f) => {
        const x = v(f);
        const ok = test(x);
        if (ok && slot !== undefined) f.l[slot] = conv ? conv(x) : x;
        return negate ? !ok : ok;
      };
    }
  }
}

function readLocal(slot: number, depth: number): Run {
  if (depth === 0) return (f) => f.l[slot];
  if (depth === 1) return (f) => f.p!.l[slot];
  return (f) => frameAt(f, depth).l[slot];
}

/** A member access whose target may be null: a NullReferenceException, or a short-circuit for `?.`. */
function compileGuarded(t: Run, fn: Impl, args: Run[], a: Access): Run {
  const { conditional, inChain } = a;
  const [a0, a1, a2] = args;
  if (!conditional && !inChain) {
    // the common case: only the null check
    if (args.length === 0) return (f) => { const o = t(f); if (o === null || o === undefined) return nullRef(); return fn(o); };
    if (args.length === 1) return (f) => { const o = t(f); if (o === null || o === undefined) return nullRef(); return fn(o, a0!(f)); };
    if (args.length === 2) return (f) => { const o = t(f); if (o === null || o === undefined) return nullRef(); return fn(o, a0!(f), a1!(f)); };
  }
  const nullCheck = a.nullCheck;
  const skip = (o: unknown): boolean => {
    if (o === SHORT) return true;
    if (o === null || o === undefined) {
      if (conditional) return true;
      if (nullCheck) nullRef();
    }
    return false;
  };
  if (args.length === 0) return (f) => { const o = t(f); return skip(o) ? SHORT : fn(o); };
  if (args.length === 1) return (f) => { const o = t(f); return skip(o) ? SHORT : fn(o, a0!(f)); };
  if (args.length === 2) return (f) => { const o = t(f); return skip(o) ? SHORT : fn(o, a0!(f), a1!(f)); };
  if (args.length === 3) return (f) => { const o = t(f); return skip(o) ? SHORT : fn(o, a0!(f), a1!(f), a2!(f)); };
  return (f) => { const o = t(f); return skip(o) ? SHORT : fn(o, ...args.map((x) => x(f))); };
}

function compileCall(e: BExpr & { op: 'call' }): Run {
  const fn = e.fn;
  const args = e.args.map(compileExpr);
  const outs = e.outs;
  let run: Run;
  const [a0, a1, a2] = args;
  if (!e.target) {
    if (args.length === 0) run = () => fn();
    else if (args.length === 1) run = (f) => fn(a0!(f));
    else if (args.length === 2) run = (f) => fn(a0!(f), a1!(f));
    else if (args.length === 3) run = (f) => fn(a0!(f), a1!(f), a2!(f));
    else run = (f) => fn(...args.map((a) => a(f)));
  } else {
    const t = compileExpr(e.target);
    const { conditional, inChain, nullCheck } = e.access;
    if (conditional || inChain || nullCheck) run = compileGuarded(t, fn, args, e.access);
    else if (args.length === 0) run = (f) => fn(t(f));
    else if (args.length === 1) run = (f) => fn(t(f), a0!(f));
    else if (args.length === 2) run = (f) => fn(t(f), a0!(f), a1!(f));
    else run = (f) => fn(t(f), ...args.map((a) => a(f)));
  }
  if (!outs) return run;
  const stores = outs.map((lv, k) => (lv ? { k, store: storeFn(lv) } : undefined)).filter((x) => x !== undefined);
  return (f) => {
    const r = run(f);
    let k = 0;
    for (const s of stores) s.store(f, OUT[k++]);
    return r;
  };
}

type Store = (f: Frame, v: unknown) => void;

function storeFn(lv: LValue): Store {
  if (lv.kind === 'local') {
    const { slot, depth } = lv;
    return depth === 0 ? (f, v) => { f.l[slot] = v; } : (f, v) => { frameAt(f, depth).l[slot] = v; };
  }
  throw new Error('out arguments must be local variables');
}

function compileAssign(lv: LValue, value: Run): Run {
  if (lv.kind === 'local') {
    const { slot, depth } = lv;
    if (depth === 0) return (f) => (f.l[slot] = value(f));
    return (f) => (frameAt(f, depth).l[slot] = value(f));
  }
  const target = lv.target && compileExpr(lv.target), args = lv.args.map(compileExpr), set = lv.set;
  return (f) => {
    const o = target ? target(f) : undefined;
    if (target && (o === null || o === undefined)) return nullRef();
    const a = args.map((x) => x(f));
    const v = value(f);
    if (target) set(o, ...a, v); else set(...a, v);
    return v;
  };
}

function compileUpdate(lv: LValue, fn: Impl, value: Run | undefined, postfix: boolean): Run {
  if (lv.kind === 'local') {
    const { slot, depth } = lv;
    return (f) => {
      const fr = depth === 0 ? f : frameAt(f, depth);
      const old = fr.l[slot];
      const nv = fn(old, value ? value(f) : undefined);
      fr.l[slot] = nv;
      return postfix ? old : nv;
    };
  }
  const target = lv.target && compileExpr(lv.target), args = lv.args.map(compileExpr), { get, set } = lv;
  return (f) => {
    const o = target ? target(f) : undefined;
    if (target && (o === null || o === undefined)) return nullRef();
    const a = args.map((x) => x(f));
    const old = target ? get(o, ...a) : get(...a);
    const nv = fn(old, value ? value(f) : undefined);
    if (target) set(o, ...a, nv); else set(...a, nv);
    return postfix ? old : nv;
  };
}

function compileConcat(parts: Array<string | { v: Run; s: Impl }>): Run {
  if (parts.length === 2 && typeof parts[0] !== 'string' && typeof parts[1] !== 'string') {
    const [a, b] = parts as [{ v: Run; s: Impl }, { v: Run; s: Impl }];
    return (f) => str(a.s(a.v(f)) + b.s(b.v(f)));
  }
  return (f) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p.s(p.v(f));
    return str(s);
  };
}
