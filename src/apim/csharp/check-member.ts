import type { Arg, Expr } from './ast.js';
import type { Access, BExpr, LValue } from './bound.js';
import { STRING, T } from './builtins.js';
import { resolveOverload, type CallChecker, type Candidate } from './check-call.js';
import { stringifier } from './operators.js';
import { CompileError } from './diagnostics.js';
import { fail, indexRange, nullRef } from './runtime/exceptions.js';
import { extensionMethods, instanceLookup, membersOf, staticLookup } from './signatures.js';
import { contextType } from './stdlib/context.js';
import { regexCallProblem } from './stdlib/regex.js';
import { findType, isEnum, isNamespace, named, nullableOf, typeName, isValueType, type Impl, type Type } from './types.js';

/**
 * Names, member access, calls and element access, including `?.` chains: in `a?.b.c()`, a null
 * `a` skips the whole rest of the chain, whose value is then null.
 */
type Res =
  | { kind: 'value'; e: BExpr }
  | { kind: 'type'; t: Type }
  | { kind: 'ns'; path: string }
  | { kind: 'group'; name: string; cands: Candidate[]; target?: BExpr; typeArgs?: Type[]; access: Access; ext: boolean; start: number; extensions?: Candidate[] }
  | { kind: 'localfn'; slot: number; depth: number; params: Type[]; ret: Type };

interface Chain { cond: boolean }

export function bindChain(cx: CallChecker, e: Expr): BExpr {
  const chain: Chain = { cond: false };
  const v = asValue(cx, resolve(cx, e, chain), e);
  if (!chain.cond) return v;
  const t = isValueType(v.t) ? nullableOf(v.t) : v.t;
  return { op: 'chain', value: v, t, start: e.start };
}

function asValue(cx: CallChecker, r: Res, e: Expr): BExpr {
  if (r.kind === 'value') return r.e;
  if (r.kind === 'group') throw cx.err(`'${r.name}' is a method: call it with ()`, e.start);
  if (r.kind === 'localfn') throw cx.err('a local function must be called', e.start);
  if (r.kind === 'type') throw cx.err(`'${typeName(r.t)}' is a type, not a value`, e.start);
  throw cx.err(`'${r.path}' is a namespace, not a value`, e.start);
}

function resolve(cx: CallChecker, e: Expr, chain: Chain, invoked = false): Res {
  switch (e.kind) {
    case 'name': return resolveName(cx, e);
    case 'predefined': return { kind: 'type', t: cx.resolveType(e.type) };
    case 'member': return resolveMember(cx, e, chain, invoked);
    case 'call': return { kind: 'value', e: bindCall(cx, e, chain) };
    case 'index': return { kind: 'value', e: bindIndex(cx, e, chain) };
    default: return { kind: 'value', e: cx.bind(e) };
  }
}

function resolveName(cx: CallChecker, e: Expr & { kind: 'name' }): Res {
  const local = cx.lookup(e.name);
  if (local) {
    if (local.v.fn) return { kind: 'localfn', slot: local.v.slot, depth: local.depth, params: local.v.fn.params, ret: local.v.fn.ret };
    return { kind: 'value', e: { op: 'local', slot: local.v.slot, depth: local.depth, t: local.v.type, start: e.start } };
  }
  if (e.name === 'context') return { kind: 'value', e: { op: 'context', t: contextType(), start: e.start } };
  const args = e.typeArgs?.map((a) => cx.resolveType(a)) ?? [];
  const def = findType(e.name, args.length);
  if (def) {
    if (def.refused) throw cx.err(def.refused, e.start);
    return { kind: 'type', t: named(def, args) };
  }
  if (isNamespace(e.name)) return { kind: 'ns', path: e.name };
  throw cx.err(`the name '${e.name}' does not exist here (not a variable, 'context' or a supported type)`, e.start);
}

function resolveMember(cx: CallChecker, e: Expr & { kind: 'member' }, chain: Chain, invoked: boolean): Res {
  const target = resolve(cx, e.target, chain);
  const typeArgs = e.typeArgs?.map((a) => cx.resolveType(a));
  if (target.kind === 'ns') {
    const path = `${target.path}.${e.name}`;
    const def = findType(path, typeArgs?.length ?? 0);
    if (def) {
      if (def.refused) throw cx.err(def.refused, e.nameStart);
      return { kind: 'type', t: named(def, typeArgs ?? []) };
    }
    if (isNamespace(path)) return { kind: 'ns', path };
    throw cx.err(`'${path}' is not a supported type or namespace`, e.nameStart);
  }
  if (target.kind === 'type') return staticMember(cx, target.t, e, typeArgs);
  const recv = asValue(cx, target, e.target);
  const access: Access = { conditional: e.conditional, inChain: chain.cond, nullCheck: true };
  if (e.conditional) chain.cond = true;
  let t = recv.t;
  if (e.conditional && t.k === 'nullable') t = t.inner;
  else if (t.k === 'nullable') return nullableMember(cx, recv, t.inner, e, access);
  if (t.k === 'anon') {
    const f = t.fields.find(([n]) => n === e.name);
    if (!f) throw cx.err(`the anonymous object has no member '${e.name}'`, e.nameStart);
    const name = e.name;
    return { kind: 'value', e: { op: 'call', target: recv, fn: (o: { fields: Record<string, unknown> }) => o.fields[name], args: [], access, t: f[1], start: e.start } };
  }
  if (isEnum(t) && e.name === 'ToString') {
    const m = { name: 'ToString', owner: t.k === 'named' ? t.def : STRING, typeParams: [], params: [], ret: T.string, impl: stringifier(t), isStatic: false };
    return { kind: 'group', name: e.name, cands: [{ m }], target: recv, access, ext: false, start: e.nameStart };
  }
  const found = instanceLookup(t, e.name);
  // `list.Count()` calls the LINQ method although List has a Count property
  if (found.prop && invoked && found.prop.type.k !== 'func') found.prop = undefined;
  if (found.prop) {
    if (typeArgs) throw cx.err(`'${e.name}' is a property`, e.nameStart);
    return { kind: 'value', e: { op: 'call', target: recv, fn: found.prop.get, args: [], access, t: subst(found.prop.type, found.propOn), start: e.start } };
  }
  const ext = extensionMethods(e.name);
  if (found.methods.length) {
    const extensions = ext.map((m) => ({ m, ext: true }));
    return { kind: 'group', name: e.name, cands: found.methods.map(({ m, on }) => ({ m, on })), target: recv, typeArgs, access, ext: false, start: e.nameStart, extensions };
  }
  if (ext.length) return { kind: 'group', name: e.name, cands: ext.map((m) => ({ m, ext: true })), target: recv, typeArgs, access: { ...access, nullCheck: false }, ext: true, start: e.nameStart };
  throw cx.err(`'${typeName(t)}' has no member '${e.name}' that policy expressions support`, e.nameStart);
}

function subst(t: Type, on: Type | undefined): Type {
  if (!on || on.k !== 'named' || on.args.length === 0) return t;
  const map = new Map(on.def.params.map((p, i) => [p, on.args[i]!] as const));
  const s = (x: Type): Type => {
    switch (x.k) {
      case 'param': return map.get(x.name) ?? x;
      case 'named': return x.args.length ? named(x.def, x.args.map(s)) : x;
      case 'array': return { k: 'array', elem: s(x.elem) };
      case 'nullable': return nullableOf(s(x.inner));
      case 'func': return { k: 'func', params: x.params.map(s), ret: s(x.ret) };
      default: return x;
    }
  };
  return s(t);
}

function staticMember(cx: CallChecker, t: Type, e: Expr & { kind: 'member' }, typeArgs: Type[] | undefined): Res {
  if (t.k !== 'named') throw cx.err(`'${typeName(t)}' has no static members`, e.nameStart);
  const ev = t.def.enumValues;
  if (ev) {
    if (!(e.name in ev)) throw cx.err(`'${t.def.name}' has no value '${e.name}'`, e.nameStart);
    return { kind: 'value', e: { op: 'const', value: ev[e.name], t, start: e.start } };
  }
  const found = staticLookup(t.def, e.name);
  if (found.prop) return { kind: 'value', e: { op: 'call', fn: found.prop.get, args: [], access: NO_ACCESS, t: found.prop.type, start: e.start } };
  if (found.methods.length) return { kind: 'group', name: e.name, cands: found.methods.map((m) => ({ m, on: t })), typeArgs, access: NO_ACCESS, ext: false, start: e.nameStart };
  throw cx.err(`'${t.def.name}' has no static member '${e.name}' that policy expressions support`, e.nameStart);
}

const NO_ACCESS: Access = { conditional: false, inChain: false, nullCheck: false };

function nullableMember(cx: CallChecker, recv: BExpr, inner: Type, e: Expr & { kind: 'member' }, access: Access): Res {
  const zero = cx.zero(inner);
  const a = { ...access, nullCheck: false };
  const value = (fn: Impl, t: Type): Res => ({ kind: 'value', e: { op: 'call', target: recv, fn, args: [], access: a, t, start: e.start } });
  switch (e.name) {
    case 'HasValue': return value((v) => v !== null, T.bool);
    case 'Value': return value((v) => (v === null ? fail('InvalidOperationException', 'Nullable object must have a value.') : v), inner);
  }
  const str = stringifier(inner);
  if (e.name === 'GetValueOrDefault') {
    const m = { name: 'GetValueOrDefault', owner: STRING, typeParams: [], params: [], ret: inner, impl: (v: unknown) => v ?? zero, isStatic: false };
    const m2 = { ...m, params: [{ type: inner }], impl: (v: unknown, d: unknown) => v ?? d };
    return { kind: 'group', name: e.name, cands: [{ m }, { m: m2 }], target: recv, access: a, ext: false, start: e.nameStart };
  }
  if (e.name === 'ToString') {
    const m = { name: 'ToString', owner: STRING, typeParams: [], params: [], ret: T.string, impl: str, isStatic: false };
    return { kind: 'group', name: e.name, cands: [{ m }], target: recv, access: a, ext: false, start: e.nameStart };
  }
  throw cx.err(`'${typeName(recv.t)}' has no member '${e.name}' (use ?. or .Value)`, e.nameStart);
}

export function bindCall(cx: CallChecker, e: Expr & { kind: 'call' }, chain: Chain, resolved?: Res): BExpr {
  const callee = resolved ?? resolve(cx, e.callee, chain, true);
  if (callee.kind === 'group' && callee.extensions?.length) {
    // instance methods first; extension methods only when none of them applies, as in C#
    try {
      return bindCall(cx, e, chain, { ...callee, extensions: undefined });
    } catch (err) {
      if (!(err instanceof CompileError)) throw err;
      return bindCall(cx, e, chain, { ...callee, cands: callee.extensions, ext: true, extensions: undefined, access: { ...callee.access, nullCheck: false } });
    }
  }
  if (callee.kind === 'group') {
    const r = resolveOverload(cx, callee.cands, callee.ext ? callee.target : undefined, e.args, callee.typeArgs, callee.name, callee.start);
    const problem = regexCallProblem(r.m, r.args);
    if (problem) throw cx.err(problem.message, problem.start);
    if (callee.ext) return { op: 'call', target: r.args[0], fn: r.impl, args: r.args.slice(1), access: callee.access, outs: r.outs?.slice(1), t: r.ret, start: e.start };
    return { op: 'call', target: callee.target, fn: r.impl, args: r.args, access: callee.access, outs: r.outs, t: r.ret, start: e.start };
  }
  if (callee.kind === 'localfn') {
    const args = invokeArgs(cx, e.args, callee.params, e.start);
    const target: BExpr = { op: 'local', slot: callee.slot, depth: callee.depth, t: { k: 'func', params: callee.params, ret: callee.ret }, start: e.start };
    return { op: 'invoke', target, args, access: NO_ACCESS, t: callee.ret, start: e.start };
  }
  const f = asValue(cx, callee, e.callee);
  if (f.t.k !== 'func') throw cx.err(`'${typeName(f.t)}' cannot be called`, e.start);
  return { op: 'invoke', target: f, args: invokeArgs(cx, e.args, f.t.params, e.start), access: { conditional: false, inChain: false, nullCheck: true }, t: f.t.ret, start: e.start };
}

function invokeArgs(cx: CallChecker, args: Arg[], params: Type[], start: number): BExpr[] {
  if (args.length !== params.length) throw cx.err(`expected ${params.length} argument(s), got ${args.length}`, start);
  return args.map((a, i) => {
    if (a.mod || a.name) throw cx.err('out, ref and named arguments are not supported here', a.start);
    return cx.convert(cx.bind(a.value, params[i]), params[i]!, a.start);
  });
}

const arrayGet = (a: ArrayLike<unknown> | null, i: number) => {
  if (a === null) return nullRef();
  if (i < 0 || i >= a.length || !Number.isInteger(i)) return indexRange();
  return a[i];
};
const arraySet = (a: unknown[] | null, i: number, v: unknown) => {
  if (a === null) return nullRef();
  if (i < 0 || i >= a.length) return indexRange();
  a[i] = v;
};

export function bindIndex(cx: CallChecker, e: Expr & { kind: 'index' }, chain: Chain): BExpr {
  const r = indexer(cx, e, chain);
  return { op: 'call', target: r.target, fn: r.get, args: r.args, access: r.access, t: r.t, start: e.start };
}

function indexer(cx: CallChecker, e: Expr & { kind: 'index' }, chain: Chain): { target: BExpr; args: BExpr[]; get: Impl; set?: Impl; t: Type; access: Access } {
  const target = asValue(cx, resolve(cx, e.target, chain), e.target);
  const access: Access = { conditional: e.conditional, inChain: chain.cond, nullCheck: true };
  if (e.conditional) chain.cond = true;
  let t = target.t;
  if (e.conditional && t.k === 'nullable') t = t.inner;
  if (t.k === 'array' || (t.k === 'named' && t.def === STRING)) {
    if (e.args.length !== 1) throw cx.err('expected one index', e.start);
    const idx = cx.convert(cx.bind(e.args[0]!), T.int, e.args[0]!.start);
    return t.k === 'array' ? { target, args: [idx], get: arrayGet, set: arraySet, t: t.elem, access } : { target, args: [idx], get: (s: string, i: number) => (i >= 0 && i < s.length ? s[i] : indexRange()), t: T.char, access };
  }
  const cands: Candidate[] = [];
  for (let c: Type | undefined = t; c; c = c.k === 'named' && c.def.base ? subst(c.def.base(), c) : undefined) {
    if (c.k === 'named') for (const m of membersOf(c.def).indexers) cands.push({ m, on: c });
  }
  if (cands.length === 0) throw cx.err(`'${typeName(t)}' cannot be indexed`, e.start);
  const args: Arg[] = e.args.map((a) => ({ value: a, start: a.start, end: a.end }));
  const r = resolveOverload(cx, cands, undefined, args, undefined, 'this[]', e.start);
  return { target, args: r.args, get: r.impl, set: r.m.set, t: r.ret, access };
}

export function bindLValue(cx: CallChecker, e: Expr): { lv: LValue; t: Type } {
  if (e.kind === 'paren') return bindLValue(cx, e.inner);
  if (e.kind === 'name') {
    const local = cx.lookup(e.name);
    if (!local || local.v.fn) throw cx.err(`'${e.name}' is not a variable that can be assigned`, e.start);
    if (local.v.readonly) throw cx.err(`'${e.name}' is read-only here (a foreach variable)`, e.start);
    return { lv: { kind: 'local', slot: local.v.slot, depth: local.depth }, t: local.v.type };
  }
  if (e.kind === 'index') {
    const r = indexer(cx, e, { cond: false });
    if (!r.set) throw cx.err(`the indexer of '${typeName(r.target.t)}' is read-only`, e.start);
    return { lv: { kind: 'member', target: r.target, args: r.args, get: r.get, set: r.set }, t: r.t };
  }
  if (e.kind === 'member' && !e.conditional) {
    const target = resolve(cx, e.target, { cond: false });
    if (target.kind === 'value') {
      const found = instanceLookup(target.e.t, e.name);
      if (found.prop?.set) return { lv: { kind: 'member', target: target.e, args: [], get: found.prop.get, set: found.prop.set }, t: found.prop.type };
      if (found.prop) throw cx.err(`'${e.name}' is read-only`, e.nameStart);
    }
  }
  throw cx.err('this cannot be assigned to', e.start);
}
