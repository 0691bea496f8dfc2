import type { Arg, Expr } from './ast.js';
import type { BExpr, LValue, Outs } from './bound.js';
import { IENUMERABLE, NULL } from './builtins.js';
import type { CheckerBase } from './check-base.js';
import { implicitConversion } from './conversions.js';
import { CompileError } from './diagnostics.js';
import type { Method, Param } from './signatures.js';
import { ancestry, arrayOf, elementOf, hasParams, named, sameType, substitute, typeName, type GenericImpl, type Impl, type Type } from './types.js';

/**
 * Overload resolution and generic type inference, as far as the subset needs: arguments are
 * matched by position, name, `params` expansion and optional defaults; method type parameters are
 * inferred from ordinary arguments first, then from lambdas (`Select(x => x.Name)`); among the
 * candidates that fit, the one with the cheapest conversions wins.
 */
export interface Candidate { m: Method; on?: Type; ext?: boolean }

export interface CallChecker extends CheckerBase {
  bindArgValue(a: Arg): BExpr;
  bindLValue(e: Expr): { lv: LValue; t: Type };
}

export interface Resolved { m: Method; impl: Impl; args: BExpr[]; outs?: Outs; ret: Type; outSlots?: Array<{ preIndex: number; k: number; type: Type }> }

interface PreArg { arg: Arg; bound?: BExpr; lambda?: Expr & { kind: 'lambda' }; group?: Expr; outType?: Type; lvalue?: LValue }

export function resolveOverload(cx: CallChecker, cands: Candidate[], receiver: BExpr | undefined, args: Arg[], typeArgs: Type[] | undefined, name: string, start: number): Resolved {
  const pre = args.map((a) => preBind(cx, a));
  let best: { r: Resolved; cost: number } | undefined;
  let lambdaError: CompileError | undefined;
  for (const c of cands) {
    try {
      const r = tryCandidate(cx, c, receiver, pre, typeArgs, start);
      if (r && (!best || r.cost < best.cost)) best = r;
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      lambdaError ??= e;
    }
  }
  if (!best) {
    if (lambdaError) throw lambdaError;
    const shown = pre.map((p) => (p.lambda ? 'lambda' : p.group ? 'method group' : p.bound ? typeName(p.bound.t) : p.outType ? `out ${typeName(p.outType)}` : 'out var')).join(', ');
    throw cx.err(`no overload of '${name}' takes (${shown})`, start);
  }
  declareOuts(cx, pre, best.r);
  return best.r;
}

function preBind(cx: CallChecker, a: Arg): PreArg {
  if (a.value.kind === 'lambda') return { arg: a, lambda: a.value };
  if (!a.mod && (a.value.kind === 'member' || a.value.kind === 'name')) {
    try {
      return { arg: a, bound: cx.bindArgValue(a) };
    } catch (e) {
      // a method group (`Where(char.IsDigit)`) converts to a delegate: bind it as a lambda calling it
      if (e instanceof CompileError && /is a method: call it/.test(e.message)) return { arg: a, group: a.value };
      throw e;
    }
  }
  if (a.mod) {
    if (a.declare) return { arg: a, outType: a.declare.type ? cx.resolveType(a.declare.type) : undefined };
    const { lv, t } = cx.bindLValue(a.value);
    return { arg: a, outType: t, lvalue: lv };
  }
  return { arg: a, bound: cx.bindArgValue(a) };
}

/** Declares `out var x` variables once the overload (and so their type) is known. */
function declareOuts(cx: CallChecker, pre: PreArg[], r: Resolved): void {
  for (const o of r.outSlots ?? []) {
    const p = pre[o.preIndex]!;
    if (!p.arg.declare) continue;
    const slot = cx.declare(p.arg.declare.name, o.type, p.arg.start);
    r.outs![o.k] = { kind: 'local', slot, depth: 0 };
  }
}

function tryCandidate(cx: CallChecker, c: Candidate, receiver: BExpr | undefined, pre: PreArg[], typeArgs: Type[] | undefined, start: number): { r: Resolved; cost: number } | undefined {
  const m = c.m;
  const ownerMap = new Map<string, Type>();
  const on = c.on;
  if (on?.k === 'named') on.def.params.forEach((p, i) => ownerMap.set(p, on.args[i]!));
  const params = m.params.map((p) => ({ ...p, type: substitute(p.type, ownerMap) }));
  const all: PreArg[] = c.ext && receiver ? [{ arg: { value: { kind: 'literal', type: 'null', value: null, start: 0, end: 0 }, start: 0, end: 0 }, bound: receiver }, ...pre] : pre;
  const map = matchParams(params, all);
  if (!map) return undefined;
  const free = new Set(m.typeParams);
  const inferred = new Map<string, Type>();
  if (typeArgs) {
    if (typeArgs.length !== m.typeParams.length) return undefined;
    m.typeParams.forEach((p, i) => inferred.set(p, typeArgs[i]!));
  }
  map.forEach((slot, i) => { const b = all[i]!.bound; if (b) unify(slot.type, b.t, inferred, free); });
  map.forEach((slot, i) => { const o = all[i]!.outType; if (o) unify(slot.type, o, inferred, free); });
  const lambdas = new Map<number, { fn: BExpr; ret: Type }>();
  inferFromLambdas(cx, all, map, inferred, free, lambdas);
  if (m.typeParams.some((p) => !inferred.has(p))) return undefined;
  return finish(cx, c, all, map, params, inferred, lambdas, receiver !== undefined && !!c.ext, start, ownerMap);
}

type Slot = { type: Type; param: Param; expanded: boolean };

/** Which parameter each argument goes to (undefined when the arguments cannot fit). */
function matchParams(params: Param[], args: PreArg[]): Map<number, Slot> | undefined {
  const map = new Map<number, Slot>();
  const filled = new Set<number>();
  let pi = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.arg.name) {
      const k = params.findIndex((p) => p.name === a.arg.name);
      if (k < 0 || filled.has(k)) return undefined;
      map.set(i, { type: params[k]!.type, param: params[k]!, expanded: false });
      filled.add(k);
      continue;
    }
    const p = params[pi];
    if (!p) return undefined;
    if (p.mod === 'params') {
      const elem = p.type.k === 'array' ? p.type.elem : p.type;
      const direct = args.length - i === 1 && a.bound && implicitConversion(a.bound.t, p.type);
      map.set(i, direct ? { type: p.type, param: p, expanded: false } : { type: elem, param: p, expanded: true });
      filled.add(pi);
      continue;
    }
    if ((p.mod === 'out' || p.mod === 'ref') !== !!a.arg.mod) return undefined;
    map.set(i, { type: p.type, param: p, expanded: false });
    filled.add(pi++);
  }
  for (let k = 0; k < params.length; k++) {
    if (!filled.has(k) && !params[k]!.optional && params[k]!.mod !== 'params') return undefined;
  }
  return map;
}

function inferFromLambdas(cx: CallChecker, all: PreArg[], map: Map<number, Slot>, inferred: Map<string, Type>, free: Set<string>, out: Map<number, { fn: BExpr; ret: Type }>): void {
  for (let round = 0; round < 3; round++) {
    map.forEach((slot, i) => {
      const pa = all[i]!;
      if ((!pa.lambda && !pa.group) || out.has(i)) return;
      const ft = substitute(slot.type, inferred);
      if (ft.k !== 'func') return;
      const lam = pa.lambda ?? groupLambda(pa.group!, ft.params.length);
      if (ft.params.length !== lam.params.length) return;
      if (ft.params.some(hasParams)) return;
      const ret = hasParams(ft.ret) ? undefined : ft.ret;
      const ps = lam.params.map((p, k) => ({ name: p.name, type: p.type ? cx.resolveType(p.type) : ft.params[k]!, start: lam.start }));
      const bound = cx.bindFunction(ps, lam.body, ret);
      if (slot.type.k === 'func') unify(slot.type.ret, bound.ret, inferred, free);
      out.set(i, { fn: { op: 'lambda', fn: bound.fn, t: { k: 'func', params: ps.map((p) => p.type), ret: bound.ret }, start: lam.start }, ret: bound.ret });
    });
  }
}

function finish(cx: CallChecker, c: Candidate, all: PreArg[], map: Map<number, Slot>, params: Param[], inferred: Map<string, Type>,
  lambdas: Map<number, { fn: BExpr; ret: Type }>, extReceiver: boolean, start: number, ownerMap: Map<string, Type>): { r: Resolved; cost: number } | undefined {
  let cost = c.m.typeParams.length ? 0.5 : 0;
  const finalParams = params.map((p) => substitute(p.type, inferred));
  const values: BExpr[] = new Array(params.length);
  const expandedItems: BExpr[] = [];
  let expandedIndex = -1;
  const outs: Outs = new Array(params.length).fill(undefined);
  const outSlots: Resolved['outSlots'] = [];
  for (const [i, slot] of map) {
    const k = params.indexOf(slot.param);
    const target = slot.expanded ? substitute(slot.type, inferred) : finalParams[k]!;
    const a = all[i]!;
    let v: BExpr;
    if (a.lambda || a.group) {
      const l = lambdas.get(i);
      if (!l || target.k !== 'func') return undefined;
      const tr = target.ret;
      const isVoid = tr.k === 'named' && tr.def.name === 'void';
      if (!isVoid && !sameType(tr, l.ret) && !implicitConversion(l.ret, tr)) return undefined;
      v = l.fn;
    } else if (a.arg.mod) {
      if (a.outType && !sameType(a.outType, target)) return undefined;
      outs[k] = a.lvalue;
      outSlots.push({ preIndex: i - (extReceiver ? 1 : 0), k, type: target });
      v = { op: 'const', value: undefined, t: target, start: a.arg.start };
    } else {
      const b = a.bound!;
      const conv = implicitConversion(b.t, target, b.op === 'const' ? b.value : undefined);
      if (!conv) return undefined;
      cost += conv.cost;
      v = cx.convert(b, target, a.arg.start);
    }
    if (slot.expanded) { if (expandedIndex < 0) cost += 0.1; expandedItems.push(v); expandedIndex = k; } else values[k] = v;
  }
  params.forEach((p, k) => {
    if (p.mod === 'params' && values[k] === undefined && expandedIndex < 0) { expandedIndex = k; }
    if (values[k] === undefined && p.optional && k !== expandedIndex) { values[k] = { op: 'const', value: p.optional.value, t: finalParams[k]!, start: 0 }; cost += 0.25; }
  });
  if (expandedIndex >= 0) {
    const pt = finalParams[expandedIndex]!;
    const elem = pt.k === 'array' ? pt.elem : pt;
    const isBytes = elem.k === 'named' && elem.def.name === 'byte';
    // a params array of constants (Split(',', ';')) is built once; library methods only read it
    values[expandedIndex] = !isBytes && expandedItems.every((x) => x.op === 'const')
      ? { op: 'const', value: Object.freeze(expandedItems.map((x) => (x as { value: unknown }).value)), t: arrayOf(elem), start: 0 }
      : { op: 'array', items: expandedItems, bytes: isBytes, t: arrayOf(elem), start: 0 };
  }
  const impl = typeof c.m.impl === 'function' ? c.m.impl : bindGeneric(c, inferred, start);
  const ret = substitute(substitute(c.m.ret, ownerMap), inferred);
  const r: Resolved = { m: c.m, impl, args: values, outs: outSlots.length ? outs : undefined, ret, outSlots };
  return { r, cost };
}

/** Infers method type parameters from a parameter type and an argument type. */
export function unify(p: Type, a: Type, map: Map<string, Type>, free: Set<string>): void {
  if (a.k === 'named' && a.def === NULL) return;
  switch (p.k) {
    case 'param':
      if (free.has(p.name) && !map.has(p.name)) map.set(p.name, a);
      return;
    case 'array':
      if (a.k === 'array') unify(p.elem, a.elem, map, free);
      return;
    case 'nullable':
      unify(p.inner, a.k === 'nullable' ? a.inner : a, map, free);
      return;
    case 'func':
      if (a.k === 'func' && a.params.length === p.params.length) {
        p.params.forEach((x, i) => unify(x, a.params[i]!, map, free));
        unify(p.ret, a.ret, map, free);
      }
      return;
    case 'named': {
      if (p.args.length === 0) return;
      if (p.def === IENUMERABLE) {
        const e = elementOf(a);
        if (e) unify(p.args[0]!, e, map, free);
        return;
      }
      for (const x of ancestry(a)) {
        if (x.k === 'named' && x.def === p.def) { p.args.forEach((y, i) => unify(y, x.args[i]!, map, free)); return; }
      }
      return;
    }
    case 'anon': return;
  }
}

export const enumerable = (t: Type): Type => named(IENUMERABLE, [t]);

/** A generic implementation specialised for its type arguments; a refusal points at the call. */
function bindGeneric(c: Candidate, inferred: Map<string, Type>, callStart: number): Impl {
  const generic = c.m.impl as GenericImpl;
  try {
    return generic.bind([...c.m.typeParams.map((p) => inferred.get(p)!), ...(c.on?.k === 'named' ? c.on.args : [])]);
  } catch (e) {
    if (e instanceof CompileError && e.offset < 0) throw new CompileError(e.code, e.message, callStart);
    throw e;
  }
}

/** `(a0, a1) => group(a0, a1)` for a method group passed where a delegate is expected. */
function groupLambda(group: Expr, n: number): Expr & { kind: 'lambda' } {
  const at = { start: group.start, end: group.end };
  const params = Array.from({ length: n }, (_, i) => ({ name: `\u0000arg${i}` }));
  const args = params.map((p) => ({ value: { kind: 'name' as const, name: p.name, ...at }, ...at }));
  return { kind: 'lambda', params, body: { kind: 'call', callee: group, args, ...at }, ...at };
}
