import { BOOL, DECIMAL, DOUBLE, INT, LONG, OBJECT, STRING, BYTE, IENUMERABLE } from '../builtins.js';
import { registerConversion } from '../conversions.js';
import { unsupported } from '../diagnostics.js';
import { OUT } from '../frame.js';
import { CsDateTime } from '../runtime/datetime.js';
import { fail, invalidCast } from '../runtime/exceptions.js';
import { JArray, JContainer, JObject, JProperty, JToken, JType, JValue, jnull, serialize } from '../runtime/json.js';
import { fromObject, parseJson, toPlain } from '../runtime/json-parse.js';
import { selectToken, selectTokens, tokenToBool, tokenToDate, tokenToDouble, tokenToInt, tokenToLong, tokenToString } from '../runtime/json-convert.js';
import { KeyValuePair, typeNameOf } from '../runtime/values.js';
import { addMembers, defineType, elementOf, named, typeName, type Impl, type Type, type TypeDef } from '../types.js';
import { DictionaryValue, DICTIONARY, KVP, LIST } from './collections.js';
import { DATETIME } from './datetime.js';
import { GUID, CsGuid } from './web.js';

/** Newtonsoft.Json: JToken and friends, JsonConvert, and the conversions between JSON and C# values. */
const NS = 'Newtonsoft.Json.Linq';
export const JTOKEN = defineType({ name: 'JToken', ns: NS, is: (v) => v instanceof JToken, elementOf: () => named(JTOKEN) });
export const JCONTAINER = defineType({ name: 'JContainer', ns: NS, base: () => named(JTOKEN), is: (v) => v instanceof JContainer });
export const JOBJECT = defineType({
  name: 'JObject', ns: NS, base: () => named(JCONTAINER), is: (v) => v instanceof JObject,
  elementOf: () => named(KVP, [named(STRING), named(JTOKEN)]),
  iterate: (o: JObject) => [...o.props.values()].map((p) => new KeyValuePair(p.name, p.value)),
});
export const JARRAY = defineType({ name: 'JArray', ns: NS, base: () => named(JCONTAINER), is: (v) => v instanceof JArray, iterate: (a: JArray) => a.items });
export const JVALUE = defineType({ name: 'JValue', ns: NS, base: () => named(JTOKEN), is: (v) => v instanceof JValue });
export const JPROPERTY = defineType({ name: 'JProperty', ns: NS, base: () => named(JCONTAINER), is: (v) => v instanceof JProperty });
export const JTOKEN_TYPE = defineType({
  name: 'JTokenType', ns: NS, valueType: true, is: (v) => typeof v === 'number',
  enumValues: { None: 0, Object: 1, Array: 2, Constructor: 3, Property: 4, Comment: 5, Integer: 6, Float: 7, String: 8, Boolean: 9, Null: 10, Undefined: 11, Date: 12, Raw: 13, Bytes: 14, Guid: 15, Uri: 16, TimeSpan: 17 },
});
export const FORMATTING = defineType({ name: 'Formatting', ns: 'Newtonsoft.Json', valueType: true, is: (v) => typeof v === 'number', enumValues: { None: 0, Indented: 1 } });
const JSON_CONVERT = defineType({ name: 'JsonConvert', ns: 'Newtonsoft.Json', is: () => false });
for (const name of ['XNode', 'XmlDocument', 'XmlReader', 'XmlNode']) {
  defineType({ name, ns: name.startsWith('X') && !name.startsWith('Xml') ? 'System.Xml.Linq' : 'System.Xml', is: () => false, refused: `XML documents ('${name}') are not supported in policy expressions; use Body.As<string>() or JSON` });
}

const def = (t: Type): TypeDef | undefined => (t.k === 'named' ? t.def : t.k === 'nullable' && t.inner.k === 'named' ? t.inner.def : undefined);
const TOKEN_DEFS = new Set([JTOKEN, JCONTAINER, JOBJECT, JARRAY, JVALUE, JPROPERTY]);

/** A function turning a token into a value of `t` (ToObject<T>, Value<T>, DeserializeObject<T>). */
export function converterTo(t: Type): Impl {
  const nullable = t.k === 'nullable';
  const d = def(t);
  if (t.k === 'array') {
    const inner = converterTo(t.elem);
    if (def(t.elem) === BYTE) return (x: JToken | null) => (x === null ? null : new Uint8Array(Buffer.from(tokenToString(x) ?? '', 'base64')));
    return (x: JToken | null) => (x === null || (x instanceof JValue && x.type === JType.Null) ? null : x instanceof JArray ? x.items.map(inner) : invalidCast(typeNameOf(x), typeName(t)));
  }
  if (!d) throw unsupported(`JSON cannot be converted to '${typeName(t)}' here`, -1);
  if (TOKEN_DEFS.has(d)) return (x: unknown) => (x === null || d.is(x) ? x : invalidCast(typeNameOf(x), `Newtonsoft.Json.Linq.${d.name}`));
  switch (d) {
    case STRING: return tokenToString;
    case INT: return tokenToInt(nullable);
    case LONG: return tokenToLong(nullable);
    case DOUBLE: case DECIMAL: return tokenToDouble(nullable);
    case BOOL: return tokenToBool(nullable);
    case DATETIME: return tokenToDate(nullable);
    case GUID: return (x: JToken | null) => { const s = tokenToString(x); return s === null ? (nullable ? null : fail('ArgumentException', 'Can not convert Null to Guid.')) : CsGuid.parse(s); };
    case OBJECT: return (x: JToken | null) => (x === null ? null : x instanceof JValue ? toPlain(x) : x);
  }
  if (d === DICTIONARY && t.k === 'named') {
    const conv = converterTo(t.args[1]!);
    return (x: JToken | null) => {
      if (x === null || (x instanceof JValue && x.type === JType.Null)) return null;
      if (!(x instanceof JObject)) return fail('JsonSerializationException', 'Cannot deserialize the current JSON value into a dictionary: it is not an object.');
      const out = new DictionaryValue();
      for (const p of x.props.values()) out.add(p.name, conv(p.value));
      return out;
    };
  }
  if ((d === LIST || d === IENUMERABLE) && t.k === 'named') return converterTo({ k: 'array', elem: t.args[0]! });
  throw unsupported(`JSON cannot be converted to '${typeName(t)}' in policy expressions`, -1);
}

const zeroOf = (t: Type) => (t.k === 'named' && t.def.valueType ? t.def.zero ?? 0 : null);
const valueOf = { bind: ([t]: Type[]) => { const c = converterTo(t!); const z = zeroOf(t!); return (tok: JToken | null) => (tok === null ? z : c(tok)); } };
const valueAt = { bind: ([t]: Type[]) => { const c = converterTo(t!); const z = zeroOf(t!); return (tok: JToken, key: unknown) => { const v = childOf(tok, key); return v === null ? z : c(v); }; } };

function childOf(t: JToken, key: unknown): JToken | null {
  if (t instanceof JObject) return typeof key === 'string' ? t.get(key) : fail('ArgumentException', `Accessed JObject values with invalid key value: ${String(key)}. Object property name expected.`);
  if (t instanceof JArray) return typeof key === 'number' ? t.at(key) : fail('ArgumentException', `Accessed JArray values with invalid key value: "${String(key)}". Int32 array index expected.`);
  if (t instanceof JProperty) return childOf(t.value, key);
  return fail('InvalidOperationException', `Cannot access child value on ${t.csType}.`);
}
function setChild(t: JToken, key: unknown, v: JToken | null): void {
  if (t instanceof JObject && typeof key === 'string') return t.set(key, v);
  if (t instanceof JArray && typeof key === 'number') return t.setAt(key, v);
  fail('InvalidOperationException', `Cannot set child value on ${t.csType}.`);
}

/** `new JObject(content…)`, `new JArray(content…)`: tokens, properties and sequences of them. */
function fill(c: JObject | JArray, items: unknown[]): JObject | JArray {
  const each = (x: unknown): void => {
    if (x === null) return;
    if (c instanceof JObject) {
      if (x instanceof JProperty) c.addProperty(x);
      else if (x instanceof JObject) for (const p of x.props.values()) c.addProperty(p);
      else if (typeof x === 'object' && Symbol.iterator in (x as object) && !(x instanceof JToken)) for (const y of x as Iterable<unknown>) each(y);
      else fail('ArgumentException', `Can not add ${typeNameOf(x)} to Newtonsoft.Json.Linq.JObject.`);
    } else if (x instanceof JToken) c.add(x);
    else if (typeof x === 'object' && !(x instanceof Uint8Array) && Symbol.iterator in (x as object) && !(x instanceof DictionaryValue)) for (const y of x as Iterable<unknown>) each(y);
    else c.add(fromObject(x));
  };
  for (const x of items) each(x);
  return c;
}
const asContent = (v: unknown): JToken => (v instanceof JToken ? v : fromObject(v));
const requireKind = <T>(t: JToken, ctor: new () => T, name: string): T => (t instanceof ctor ? t : fail('JsonReaderException', `Error reading ${name} from JsonReader. Current JsonReader item is not an ${name === 'JObject' ? 'object' : 'array'}.`));
const format = (t: JToken, f: number) => serialize(t, f === 1);

addMembers(JTOKEN, [
  ['static Parse(string): JToken', parseJson],
  ['static FromObject(object): JToken', (v: unknown) => fromObject(v)],
  ['static DeepEquals(JToken, JToken): bool', (a: JToken | null, b: JToken | null) => (a === null || b === null ? a === b : serialize(a, false) === serialize(b, false))],
  ['this[object]: JToken set', [childOf, setChild]],
  ['Value<T>(object): T', valueAt],
  ['Value<T>(): T', valueOf],
  ['Values<T>(): IEnumerable<T>', { bind: ([t]: Type[]) => { const c = converterTo(t!); return (tok: JToken) => tok.children().map((x) => c(x instanceof JProperty ? x.value : x)); } }],
  ['ToObject<T>(): T', valueOf],
  ['ToString(): string', (t: JToken) => t.csString()],
  ['ToString(Formatting): string', format],
  ['Type: JTokenType', (t: JToken) => t.type],
  ['HasValues: bool', (t: JToken) => t.children().length > 0],
  ['Parent: JContainer', (t: JToken) => t.parent],
  ['Path: string', (t: JToken) => t.path],
  ['First: JToken', (t: JToken) => t.children()[0] ?? null],
  ['Last: JToken', (t: JToken) => t.children().at(-1) ?? null],
  ['Children(): IEnumerable<JToken>', (t: JToken) => t.children()],
  ['SelectToken(string): JToken', (t: JToken, p: string | null) => selectToken(t, p)],
  ['SelectToken(string, bool): JToken', selectToken],
  ['SelectTokens(string): IEnumerable<JToken>', selectTokens],
  ['DeepClone(): JToken', (t: JToken) => t.clone()],
  ['Remove(): void', (t: JToken) => { if (!t.parent) fail('InvalidOperationException', 'The parent is missing.'); (t.parent as JContainer).removeChild(t instanceof JProperty ? t : t.parent instanceof JProperty ? t.parent : t); }],
  ['Replace(JToken): void', (t: JToken, v: JToken) => {
    const p = t.parent;
    if (p instanceof JProperty) p.value = v;
    else if (p instanceof JArray) p.setAt(p.items.indexOf(t), v);
    else fail('InvalidOperationException', 'The parent is missing.');
  }],
]);
addMembers(JCONTAINER, [
  ['Count: int', (c: JToken) => c.children().length],
  ['Descendants(): IEnumerable<JToken>', (c: JToken) => { const out: JToken[] = []; const walk = (t: JToken) => { for (const x of t.children()) { out.push(x); walk(x); } }; walk(c); return out; }],
]);
addMembers(JOBJECT, [
  ['new()', () => new JObject()],
  ['new(params object[])', (xs: unknown[]) => fill(new JObject(), xs)],
  ['static Parse(string): JObject', (s: string | null) => requireKind(parseJson(s), JObject, 'JObject')],
  ['static FromObject(object): JObject', (v: unknown) => requireKind(fromObject(v), JObject, 'JObject')],
  ['this[string]: JToken set', [(o: JObject, k: string) => o.get(k), (o: JObject, k: string, v: JToken | null) => o.set(k, v)]],
  ['Add(string, JToken): void', (o: JObject, k: string, v: JToken | null) => o.add(k, v)],
  ['Add(JProperty): void', (o: JObject, p: JProperty) => o.addProperty(p)],
  ['Remove(string): bool', (o: JObject, k: string) => o.remove(k)],
  ['ContainsKey(string): bool', (o: JObject, k: string) => o.props.has(k)],
  ['TryGetValue(string, out JToken): bool', (o: JObject, k: string) => { const v = o.get(k); OUT[0] = v; return v !== null; }],
  ['Property(string): JProperty', (o: JObject, k: string) => o.props.get(k) ?? null],
  ['Property(string, StringComparison): JProperty', (o: JObject, k: string, c: number) => o.props.get(k) ?? (c % 2 ? [...o.props.values()].find((p) => p.name.toLowerCase() === k.toLowerCase()) ?? null : null)],
  ['Properties(): IEnumerable<JProperty>', (o: JObject) => [...o.props.values()]],
  ['GetValue(string): JToken', (o: JObject, k: string) => o.get(k)],
  ['GetValue(string, StringComparison): JToken', (o: JObject, k: string, c: number) => o.get(k) ?? (c % 2 ? [...o.props.values()].find((p) => p.name.toLowerCase() === k.toLowerCase())?.value ?? null : null)],
  ['Merge(object): void', (o: JObject, other: unknown) => merge(o, other instanceof JToken ? other : fromObject(other))],
]);

function merge(target: JObject, src: JToken): void {
  if (!(src instanceof JObject)) return;
  for (const p of src.props.values()) {
    const cur = target.get(p.name);
    if (cur instanceof JObject && p.value instanceof JObject) merge(cur, p.value);
    else if (cur instanceof JArray && p.value instanceof JArray) for (const x of p.value.items) cur.add(x.clone());
    else if (!(p.value instanceof JValue && p.value.type === JType.Null)) target.set(p.name, p.value.clone());
  }
}

addMembers(JARRAY, [
  ['new()', () => new JArray()],
  ['new(params object[])', (xs: unknown[]) => fill(new JArray(), xs)],
  ['static Parse(string): JArray', (s: string | null) => requireKind(parseJson(s), JArray, 'JArray')],
  ['static FromObject(object): JArray', (v: unknown) => requireKind(fromObject(v), JArray, 'JArray')],
  ['this[int]: JToken set', [(a: JArray, i: number) => a.at(i), (a: JArray, i: number, v: JToken | null) => a.setAt(i, v)]],
  ['Add(JToken): void', (a: JArray, v: JToken | null) => a.add(v)],
  ['Add(object): void', (a: JArray, v: unknown) => a.add(asContent(v))],
  ['Insert(int, JToken): void', (a: JArray, i: number, v: JToken | null) => a.insert(i, v)],
  ['Remove(JToken): bool', (a: JArray, v: JToken) => a.removeChild(v)],
  ['RemoveAt(int): void', (a: JArray, i: number) => a.removeChild(a.at(i))],
  ['Clear(): void', (a: JArray) => { for (const x of a.items.slice()) a.removeChild(x); }],
  ['IndexOf(JToken): int', (a: JArray, v: JToken) => a.items.indexOf(v)],
]);
addMembers(JVALUE, [
  ['new(string)', (s: string | null) => (s === null ? jnull() : new JValue(JType.String, s))],
  ['new(long)', (v: bigint) => new JValue(JType.Integer, Number(v))],
  ['new(int)', (v: number) => new JValue(JType.Integer, v)],
  ['new(double)', (v: number) => new JValue(JType.Float, v)],
  ['new(bool)', (v: boolean) => new JValue(JType.Boolean, v)],
  ['new(object)', (v: unknown) => (v instanceof JValue ? v.clone() : fromObject(v))],
  ['static CreateNull(): JValue', jnull],
  ['static CreateString(string): JValue', (s: string | null) => new JValue(s === null ? JType.Null : JType.String, s)],
  ['Value: object set', [(v: JValue) => toPlain(v), (v: JValue, x: unknown) => { const t = fromObject(x) as JValue; v.type = t.type; v.value = t.value; }]],
]);
addMembers(JPROPERTY, [
  ['new(string, object)', (n: string, v: unknown) => new JProperty(n, asContent(v))],
  ['Name: string', (p: JProperty) => p.name],
  ['Value: JToken set', [(p: JProperty) => p.value, (p: JProperty, v: JToken | null) => { p.value = v; }]],
]);

const serializeObject = (v: unknown, f = 0) => serialize(fromObject(v), f === 1);
addMembers(JSON_CONVERT, [
  ['static SerializeObject(object): string', (v: unknown) => serializeObject(v)],
  ['static SerializeObject(object, Formatting): string', serializeObject],
  ['static DeserializeObject(string): object', (s: string | null) => toPlain(parseJson(s))],
  ['static DeserializeObject<T>(string): T', { bind: ([t]: Type[]) => { const c = converterTo(t!); return (s: string | null) => c(parseJson(s)); } }],
]);

// Newtonsoft's implicit conversions to JToken and explicit conversions from it.
const PRIM_TO_TOKEN = new Map<TypeDef, (v: never) => JToken>([
  [STRING, (v: string) => new JValue(JType.String, v)],
  [INT, (v: number) => new JValue(JType.Integer, v)],
  [LONG, (v: bigint) => new JValue(JType.Integer, Number.isSafeInteger(Number(v)) ? Number(v) : v)],
  [DOUBLE, (v: number) => new JValue(JType.Float, v)],
  [DECIMAL, (v: number) => new JValue(JType.Float, v)],
  [BOOL, (v: boolean) => new JValue(JType.Boolean, v)],
  [DATETIME, (v: CsDateTime) => new JValue(JType.Date, v)],
  [GUID, (v: CsGuid) => new JValue(JType.Guid, v)],
]);
registerConversion({
  explicit: false,
  find: (from, to) => {
    if (!(to.k === 'named' && to.def === JTOKEN)) return undefined;
    if (from.k === 'array' && def(from.elem) === BYTE) return (v: Uint8Array | null) => (v === null ? jnull() : new JValue(JType.String, Buffer.from(v).toString('base64')));
    const d = def(from);
    const make = d && PRIM_TO_TOKEN.get(d);
    if (!make) return undefined;
    return (v: unknown) => (v === null ? jnull() : make(v as never));
  },
});
registerConversion({
  explicit: true,
  find: (from, to) => {
    const d = def(from);
    if (!d || !TOKEN_DEFS.has(d) || d === JOBJECT || d === JARRAY) return undefined;
    const td = def(to);
    if (!td || !(PRIM_TO_TOKEN.has(td) && td !== undefined)) return undefined;
    return converterTo(to);
  },
});

export { elementOf };
