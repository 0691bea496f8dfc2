/**
 * Static types of the C# subset. Every expression gets a type at load, as the C# compiler would
 * give it, so members, overloads and conversions are resolved once and compiled to direct calls.
 *
 * Named types (including `int`, `string`, `object`) share one shape: a definition plus type
 * arguments. Member tables are written as signature strings (see signatures.ts) and parsed on
 * first use.
 */

/** A runtime function implementing a member. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Impl = (...args: any[]) => any;
/** A generic member whose implementation depends on its type arguments (`As<T>`, `Value<T>`). */
export interface GenericImpl { bind: (typeArgs: Type[]) => Impl }
export type MemberSpec = readonly [signature: string, impl: Impl | GenericImpl | readonly [Impl, Impl] | unknown];

export interface TypeDef {
  /** The C# name, as written in code (`int`, `string`, `JObject`, `List`). */
  name: string;
  /** The namespace it lives in (for qualified names such as `System.Text.Encoding`). */
  ns: string;
  /** Generic parameter names. */
  params: string[];
  valueType: boolean;
  /** Numeric promotion rank: byte 1, char 1, int 2, long 3, decimal 4, double 5. */
  numeric?: number;
  /** The base class, in terms of `params`. */
  base?: () => Type;
  /** The element type when the type is enumerable, in terms of `params`. */
  elementOf?: () => Type;
  /** Turns a value into a JS iterable of its elements (default: the value itself). */
  iterate?: (v: any) => Iterable<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each type's own value shape
  /** Runtime type test, for casts, `is`, `as` and `catch`. */
  is: (v: unknown) => boolean;
  /** Enum members (values are numbers at run time). */
  enumValues?: Record<string, number>;
  /** Member signatures with their implementations. */
  specs: MemberSpec[];
  /** Parsed on first use (signatures.ts). */
  members?: unknown;
  /** `default(T)` for value types (0, false, '\0', TimeSpan.Zero, …). */
  zero?: unknown;
  /** A reason to refuse the type at load (XDocument, …). */
  refused?: string;
}

export type Type =
  | { k: 'named'; def: TypeDef; args: Type[] }
  | { k: 'array'; elem: Type }
  | { k: 'nullable'; inner: Type }
  | { k: 'param'; name: string }
  | { k: 'func'; params: Type[]; ret: Type }
  | { k: 'anon'; fields: Array<[string, Type]> };

const registry = new Map<string, TypeDef>();

const key = (name: string, arity: number) => (arity ? `${name}\`${arity}` : name);

export function defineType(d: Partial<TypeDef> & { name: string; is: TypeDef['is'] }): TypeDef {
  const def: TypeDef = { ns: 'System', params: [], valueType: false, specs: [], ...d };
  registry.set(key(def.name, def.params.length), def);
  if (def.ns) registry.set(key(`${def.ns}.${def.name}`, def.params.length), def);
  return def;
}

/** Adds more members to a definition (stdlib modules extend the same types). */
export function addMembers(def: TypeDef, specs: MemberSpec[]): void {
  def.specs.push(...specs);
  def.members = undefined;
}

export function alias(name: string, def: TypeDef): void {
  registry.set(key(name, def.params.length), def);
}

export function findType(name: string, arity: number): TypeDef | undefined {
  return registry.get(key(name, arity));
}

/** Whether `prefix` is a namespace some type lives in (for `System.Text.Encoding`). */
export function isNamespace(prefix: string): boolean {
  for (const d of registry.values()) if (d.ns === prefix || d.ns.startsWith(`${prefix}.`)) return true;
  return false;
}

export const named = (def: TypeDef, args: Type[] = []): Type => ({ k: 'named', def, args });
export const arrayOf = (elem: Type): Type => ({ k: 'array', elem });
export const nullableOf = (inner: Type): Type => (inner.k === 'nullable' ? inner : { k: 'nullable', inner });
export const funcOf = (params: Type[], ret: Type): Type => ({ k: 'func', params, ret });

export function isDef(t: Type, def: TypeDef): boolean {
  return t.k === 'named' && t.def === def;
}

export function typeName(t: Type): string {
  switch (t.k) {
    case 'named': return t.args.length ? `${t.def.name}<${t.args.map(typeName).join(', ')}>` : t.def.name;
    case 'array': return `${typeName(t.elem)}[]`;
    case 'nullable': return `${typeName(t.inner)}?`;
    case 'param': return t.name;
    case 'func': return t.ret.k === 'named' && t.ret.def.name === 'void'
      ? `Action<${t.params.map(typeName).join(', ')}>`
      : `Func<${[...t.params, t.ret].map(typeName).join(', ')}>`;
    case 'anon': return `new { ${t.fields.map(([n, f]) => `${typeName(f)} ${n}`).join(', ')} }`;
  }
}

export function sameType(a: Type, b: Type): boolean {
  if (a === b) return true;
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'named': return a.def === (b as typeof a).def && a.args.every((x, i) => sameType(x, (b as typeof a).args[i]!));
    case 'array': return sameType(a.elem, (b as typeof a).elem);
    case 'nullable': return sameType(a.inner, (b as typeof a).inner);
    case 'param': return a.name === (b as typeof a).name;
    case 'func': {
      const f = b as typeof a;
      return a.params.length === f.params.length && sameType(a.ret, f.ret) && a.params.every((x, i) => sameType(x, f.params[i]!));
    }
    case 'anon': {
      const o = b as typeof a;
      return a.fields.length === o.fields.length && a.fields.every(([n, x], i) => n === o.fields[i]![0] && sameType(x, o.fields[i]![1]));
    }
  }
}

export function substitute(t: Type, map: ReadonlyMap<string, Type>): Type {
  if (map.size === 0) return t;
  switch (t.k) {
    case 'param': return map.get(t.name) ?? t;
    case 'named': return t.args.length ? named(t.def, t.args.map((a) => substitute(a, map))) : t;
    case 'array': return arrayOf(substitute(t.elem, map));
    case 'nullable': return nullableOf(substitute(t.inner, map));
    case 'func': return funcOf(t.params.map((p) => substitute(p, map)), substitute(t.ret, map));
    case 'anon': return t;
  }
}

export function hasParams(t: Type): boolean {
  switch (t.k) {
    case 'param': return true;
    case 'named': return t.args.some(hasParams);
    case 'array': return hasParams(t.elem);
    case 'nullable': return hasParams(t.inner);
    case 'func': return t.params.some(hasParams) || hasParams(t.ret);
    case 'anon': return false;
  }
}

function paramMap(t: Type & { k: 'named' }): Map<string, Type> {
  return new Map(t.def.params.map((p, i) => [p, t.args[i]!]));
}

/** The base class of a named type, with its type arguments applied. */
export function baseOf(t: Type): Type | undefined {
  if (t.k !== 'named' || !t.def.base) return undefined;
  return substitute(t.def.base(), paramMap(t));
}

/** The element type when `t` is enumerable (arrays, lists, strings, dictionaries, JArray, …). */
export function elementOf(t: Type): Type | undefined {
  if (t.k === 'array') return t.elem;
  for (let c: Type | undefined = t; c; c = baseOf(c)) {
    if (c.k === 'named' && c.def.elementOf) return substitute(c.def.elementOf(), paramMap(c));
  }
  return undefined;
}

export function isValueType(t: Type): boolean {
  return t.k === 'nullable' || (t.k === 'named' && t.def.valueType);
}

/** Numeric rank of a type (undefined when not numeric). */
export function numericRank(t: Type): number | undefined {
  return t.k === 'named' ? t.def.numeric : undefined;
}

export function isEnum(t: Type): boolean {
  return t.k === 'named' && t.def.enumValues !== undefined;
}

/** Walks from `t` up its base classes. */
export function* ancestry(t: Type): Generator<Type> {
  for (let c: Type | undefined = t; c; c = baseOf(c)) yield c;
}
