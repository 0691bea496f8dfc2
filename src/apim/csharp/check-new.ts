import type { Expr } from './ast.js';
import type { BExpr } from './bound.js';
import { BYTE, T } from './builtins.js';
import { commonType } from './check-base.js';
import { resolveOverload, type CallChecker } from './check-call.js';
import { Anonymous } from './runtime/values.js';
import { regexCallProblem } from './stdlib/regex.js';
import { charge } from './runtime/budget.js';
import { argRange } from './runtime/exceptions.js';
import { instanceLookup, membersOf } from './signatures.js';
import { arrayOf, substitute, typeName, type Impl, type Type } from './types.js';

/** `new T(…) { … }`, `new[] { … }`, `new T[n]` and anonymous objects. */
export function bindNew(cx: CallChecker, e: Expr & { kind: 'new' }): BExpr {
  const t = cx.resolveType(e.type);
  if (t.k !== 'named') throw cx.err(`'${typeName(t)}' cannot be created with new`, e.start);
  const ctors = membersOf(t.def).ctors;
  if (ctors.length === 0) throw cx.err(`'${typeName(t)}' cannot be created in policy expressions`, e.type.start);
  const map = new Map(t.def.params.map((p, i) => [p, t.args[i]!] as const));
  const cands = ctors.map((m) => ({ m: { ...m, params: m.params.map((p) => ({ ...p, type: substitute(p.type, map) })), ret: t } }));
  const r = resolveOverload(cx, cands, undefined, e.args, undefined, `new ${typeName(t)}`, e.start);
  const problem = regexCallProblem(r.m, r.args);
  if (problem) throw cx.err(problem.message, problem.start);
  const created: BExpr = { op: 'call', fn: r.impl, args: r.args, access: { conditional: false, inChain: false, nullCheck: false }, t, start: e.start };
  if (!e.init) return created;
  const steps: Array<{ fn: Impl; args: BExpr[] }> = [];
  for (const item of e.init.items) {
    if (item.kind === 'member') {
      const p = instanceLookup(t, item.name).prop;
      if (!p?.set) throw cx.err(`'${typeName(t)}' has no settable property '${item.name}'`, item.value.start);
      steps.push({ fn: p.set, args: [cx.convert(cx.bind(item.value), p.type, item.value.start)] });
    } else if (item.kind === 'indexed') {
      const idx = membersOf(t.def).indexers.find((m) => m.set && m.params.length === item.index.length);
      if (!idx?.set) throw cx.err(`'${typeName(t)}' has no settable indexer`, item.value.start);
      const ps = idx.params.map((p) => substitute(p.type, map));
      const args = item.index.map((x, i) => cx.convert(cx.bind(x), ps[i]!, x.start));
      steps.push({ fn: idx.set, args: [...args, cx.convert(cx.bind(item.value), substitute(idx.ret, map), item.value.start)] });
    } else {
      const values = item.kind === 'pair' ? item.values : [item.value];
      const add = instanceLookup(t, 'Add').methods.map(({ m, on }) => ({ m, on }));
      if (add.length === 0) throw cx.err(`'${typeName(t)}' has no Add method for a collection initializer`, e.init.start);
      const args = values.map((v) => ({ value: v, start: v.start, end: v.end }));
      const rr = resolveOverload(cx, add, undefined, args, undefined, 'Add', values[0]!.start);
      steps.push({ fn: rr.impl, args: rr.args });
    }
  }
  return { op: 'init', value: created, steps, t, start: e.start };
}

export function bindNewArray(cx: CallChecker, e: Expr & { kind: 'newArray' }): BExpr {
  let elem: Type;
  let items: BExpr[] | undefined;
  if (e.elem) {
    elem = cx.resolveType(e.elem);
    items = e.items?.map((x) => cx.convert(cx.bind(x, elem), elem, x.start));
  } else {
    const bound = (e.items ?? []).map((x) => cx.bind(x));
    if (bound.length === 0) throw cx.err('cannot infer the element type of an empty new[] { }', e.start);
    elem = commonType(bound.map((b) => b.t));
    items = bound.map((b, i) => cx.convert(b, elem, e.items![i]!.start));
  }
  const bytes = elem.k === 'named' && elem.def === BYTE;
  const t = arrayOf(elem);
  if (e.size && !items) {
    const size = cx.convert(cx.bind(e.size), T.int, e.size.start);
    const zero = cx.zero(elem);
    const make: Impl = (n: number) => {
      if (n < 0) argRange('length', 'Arithmetic operation resulted in an overflow.');
      charge(n);
      return bytes ? new Uint8Array(n) : new Array(n).fill(zero);
    };
    return { op: 'call', fn: make, args: [size], access: { conditional: false, inChain: false, nullCheck: false }, t, start: e.start };
  }
  return { op: 'array', items: items ?? [], bytes, t, start: e.start };
}

export function bindAnonymous(cx: CallChecker, e: Expr & { kind: 'anonymous' }): BExpr {
  const values = e.fields.map((f) => cx.bind(f.value));
  const names = e.fields.map((f) => f.name);
  const make: Impl = (...vals: unknown[]) => {
    const o: Record<string, unknown> = Object.create(null);
    names.forEach((n, i) => { o[n] = vals[i]; });
    return new Anonymous(o);
  };
  const t: Type = { k: 'anon', fields: names.map((n, i) => [n, values[i]!.t]) };
  return { op: 'call', fn: make, args: values, access: { conditional: false, inChain: false, nullCheck: false }, t, start: e.start };
}
