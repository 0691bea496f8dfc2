import { OBJECT, PREDEFINED, IENUMERABLE } from './builtins.js';
import { ancestry, arrayOf, elementOf, findType, funcOf, named, nullableOf, type GenericImpl, type Impl, type Type, type TypeDef } from './types.js';

/**
 * Member tables are written as C#-like signatures next to their implementation:
 *
 *   ['Substring(int, int): string', (s, i, n) => …]      an instance method (receiver first)
 *   ['static IsNullOrEmpty(string): bool', (s) => …]      a static method
 *   ['Length: int', (s) => s.length]                      a property; `Key: byte[] set` with [get, set]
 *   ['this[int]: char', (s, i) => …]                      an indexer
 *   ['new(string)', (s) => …]                             a constructor
 *   ['static operator -(DateTime, DateTime): TimeSpan', …] an operator
 *   ['static Where<T>(this IEnumerable<T>, Func<T, bool>): IEnumerable<T>', …]  an extension method
 *   ['As<T>(bool preserveContent = false): T', { bind: ([t]) => … }]  a generic implementation
 */
export interface Param { type: Type; name?: string; mod?: 'out' | 'params' | 'this' | 'ref'; optional?: { value: unknown } }

export interface Method {
  name: string;
  owner: TypeDef;
  typeParams: string[];
  params: Param[];
  ret: Type;
  impl: Impl | GenericImpl;
  isStatic: boolean;
  /** Indexers and settable properties. */
  set?: Impl;
}

export interface Prop { name: string; owner: TypeDef; type: Type; get: Impl; set?: Impl; isStatic: boolean }

export interface Members {
  props: Map<string, Prop>;
  methods: Map<string, Method[]>;
  ctors: Method[];
  indexers: Method[];
  operators: Map<string, Method[]>;
}

const extensionHosts: TypeDef[] = [];
let extensions: Map<string, Method[]> | undefined;

/** Marks a type whose static methods with a `this` parameter are extension methods. */
export function extensionHost(def: TypeDef): void {
  extensionHosts.push(def);
  extensions = undefined;
}

export function extensionMethods(name: string): Method[] {
  if (!extensions) {
    extensions = new Map();
    for (const def of extensionHosts) {
      for (const list of membersOf(def).methods.values()) {
        for (const m of list) if (m.isStatic && m.params[0]?.mod === 'this') push(extensions, m.name, m);
      }
    }
  }
  return extensions.get(name) ?? [];
}

export function membersOf(def: TypeDef): Members {
  if (def.members) return def.members as Members;
  const m: Members = { props: new Map(), methods: new Map(), ctors: [], indexers: [], operators: new Map() };
  for (const [sig, impl] of def.specs) parseMember(def, m, sig, impl);
  def.members = m;
  return m;
}

function push<V>(map: Map<string, V[]>, key: string, v: V): void {
  const list = map.get(key);
  if (list) list.push(v); else map.set(key, [v]);
}

const CTOR = /^new\((.*)\)$/;
const OPERATOR = /^static (operator \S+|implicit|explicit)\((.*)\): (.+)$/;
const INDEXER = /^this\[(.*)\]: (.+?)( set)?$/;
const METHOD = /^(static )?(\w+)(?:<([\w, ]+)>)?\((.*)\): (.+)$/;
const PROP = /^(static )?(\w+): (.+?)( set)?$/;

function parseMember(def: TypeDef, m: Members, sig: string, impl: unknown): void {
  const scope = new Set(def.params);
  const fn = impl as Impl | GenericImpl;
  const pair = Array.isArray(impl) ? (impl as [Impl, Impl]) : undefined;
  let r: RegExpExecArray | null;
  if ((r = CTOR.exec(sig))) {
    m.ctors.push({ name: '.ctor', owner: def, typeParams: [], params: params(r[1]!, scope), ret: named(def, def.params.map((p) => ({ k: 'param', name: p }))), impl: fn, isStatic: true });
  } else if ((r = OPERATOR.exec(sig))) {
    push(m.operators, r[1]!.replace('operator ', ''), { name: r[1]!, owner: def, typeParams: [], params: params(r[2]!, scope), ret: parseType(r[3]!, scope), impl: fn, isStatic: true });
  } else if ((r = INDEXER.exec(sig))) {
    m.indexers.push({ name: 'this[]', owner: def, typeParams: [], params: params(r[1]!, scope), ret: parseType(r[2]!, scope), impl: pair ? pair[0] : fn, set: pair?.[1], isStatic: false });
  } else if ((r = METHOD.exec(sig))) {
    const tps = r[3] ? r[3].split(',').map((s) => s.trim()) : [];
    const inner = new Set([...scope, ...tps]);
    push(m.methods, r[2]!, { name: r[2]!, owner: def, typeParams: tps, params: params(r[4]!, inner), ret: parseType(r[5]!, inner), impl: fn, isStatic: !!r[1] });
  } else if ((r = PROP.exec(sig))) {
    m.props.set(r[2]!, { name: r[2]!, owner: def, type: parseType(r[3]!, scope), get: pair ? pair[0] : (fn as Impl), set: pair?.[1], isStatic: !!r[1] });
  } else {
    throw new Error(`bad member signature on ${def.name}: ${sig}`);
  }
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0, from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<' || c === '(' || c === '[') depth++;
    else if (c === '>' || c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) { out.push(s.slice(from, i).trim()); from = i + 1; }
  }
  const last = s.slice(from).trim();
  if (last) out.push(last);
  return out;
}

const PARAM = /^(this |out |params |ref )?(.+?)(?: (\w+))?(?: = (.+))?$/;

function params(s: string, scope: Set<string>): Param[] {
  return splitTop(s).map((p) => {
    const r = PARAM.exec(p);
    if (!r) throw new Error(`bad parameter: ${p}`);
    const param: Param = { type: parseType(r[2]!, scope) };
    if (r[1]) param.mod = r[1].trim() as Param['mod'];
    if (r[3]) param.name = r[3];
    if (r[4] !== undefined) param.optional = { value: literal(r[4]) };
    return param;
  });
}

function literal(s: string): unknown {
  if (s === 'null') return null;
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+$/.test(s)) return Number(s);
  if (/^".*"$/.test(s)) return s.slice(1, -1);
  throw new Error(`bad default value: ${s}`);
}

/** Parses a type written in a signature (`IEnumerable<T>`, `Func<T, bool>`, `int?`, `string[]`). */
export function parseType(s: string, scope: ReadonlySet<string> = new Set()): Type {
  s = s.trim();
  if (s.endsWith('[]')) return arrayOf(parseType(s.slice(0, -2), scope));
  if (s.endsWith('?')) return nullableOf(parseType(s.slice(0, -1), scope));
  const lt = s.indexOf('<');
  const name = lt < 0 ? s : s.slice(0, lt);
  const args = lt < 0 ? [] : splitTop(s.slice(lt + 1, -1)).map((a) => parseType(a, scope));
  if (scope.has(name)) return { k: 'param', name };
  if (name === 'Func') return funcOf(args.slice(0, -1), args[args.length - 1]!);
  if (name === 'Action') return funcOf(args, PREDEFINED.void!);
  if (args.length === 0 && PREDEFINED[name]) return PREDEFINED[name]!;
  const def = findType(name, args.length);
  if (!def) throw new Error(`unknown type in signature: ${s}`);
  return named(def, args);
}

/** Instance members named `name` visible on `t`: its own, its bases', IEnumerable's, object's. */
export function instanceLookup(t: Type, name: string): { prop?: Prop; propOn?: Type; methods: Array<{ m: Method; on: Type }> } {
  const methods: Array<{ m: Method; on: Type }> = [];
  let prop: { prop: Prop; propOn: Type } | undefined;
  const chain: Type[] = [...ancestry(t)];
  if (t.k === 'array') chain.push(named(findType('Array', 0) ?? OBJECT));
  const elem = elementOf(t);
  if (elem) chain.push(named(IENUMERABLE, [elem]));
  chain.push(named(OBJECT));
  for (const c of chain) {
    if (c.k !== 'named') continue;
    const mem = membersOf(c.def);
    const p = mem.props.get(name);
    if (p && !p.isStatic && methods.length === 0 && !prop) prop = { prop: p, propOn: c };
    for (const m of mem.methods.get(name) ?? []) if (!m.isStatic) methods.push({ m, on: c });
  }
  if (prop && methods.length === 0) return { ...prop, methods };
  return { methods };
}

export function staticLookup(def: TypeDef, name: string): { prop?: Prop; methods: Method[] } {
  const mem = membersOf(def);
  const p = mem.props.get(name);
  if (p && p.isStatic) return { prop: p, methods: [] };
  return { methods: (mem.methods.get(name) ?? []).filter((m) => m.isStatic) };
}
