import { charge } from './budget.js';
import { CsDateTime, Kind } from './datetime.js';
import { formatDateTime } from './datetime-format.js';
import { fail } from './exceptions.js';
import { formatDouble } from './numbers.js';
import { toCsString, type CsValue } from './values.js';

/**
 * Newtonsoft.Json.Linq: JToken, JValue, JObject, JArray, JProperty. Integers and floats are told
 * apart (1 and 1.0 serialize differently), strings that look like ISO dates parse as dates, as
 * Newtonsoft does by default, and `ToString()` writes indented JSON (two spaces, "\n").
 */
export const enum JType { None = 0, Object = 1, Array = 2, Property = 4, Integer = 6, Float = 7, String = 8, Boolean = 9, Null = 10, Undefined = 11, Date = 12, Bytes = 14, Guid = 15, Uri = 16, TimeSpan = 17 }
export const JTYPE_NAMES: Record<number, string> = { 0: 'None', 1: 'Object', 2: 'Array', 4: 'Property', 6: 'Integer', 7: 'Float', 8: 'String', 9: 'Boolean', 10: 'Null', 11: 'Undefined', 12: 'Date', 14: 'Bytes', 15: 'Guid', 16: 'Uri', 17: 'TimeSpan' };

export abstract class JToken implements CsValue {
  parent: JContainer | null = null;
  abstract readonly type: JType;
  abstract readonly csType: string;
  abstract clone(): JToken;
  csString(): string { return serialize(this, true); }
  /** Children, for iteration and LINQ (`IEnumerable<JToken>`). */
  children(): JToken[] { return []; }
  [Symbol.iterator](): Iterator<unknown> { return this.children()[Symbol.iterator](); }
  get path(): string {
    const parts: string[] = [];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks up from this token
    for (let t: JToken | null = this; t && t.parent; t = t.parent) {
      const p = t.parent;
      if (p instanceof JArray) parts.unshift(`[${p.items.indexOf(t)}]`);
      else if (t instanceof JProperty) parts.unshift(/^[A-Za-z_]\w*$/.test(t.name) ? `.${t.name}` : `['${t.name}']`);
    }
    return parts.join('').replace(/^\./, '');
  }
}

export abstract class JContainer extends JToken {
  /** Newtonsoft copies a token that already has a parent when it is added elsewhere. */
  protected adopt(t: JToken | null): JToken {
    const token = t ?? new JValue(JType.Null, null);
    const own = token.parent ? token.clone() : token;
    own.parent = this;
    return own;
  }
  abstract removeChild(t: JToken): boolean;
}

export class JValue extends JToken {
  readonly csType = 'Newtonsoft.Json.Linq.JValue';
  constructor(public type: JType, public value: unknown) { super(); }
  clone(): JValue { return new JValue(this.type, this.value); }
  override csString(): string {
    if (this.type === JType.Null || this.type === JType.Undefined) return '';
    if (this.type === JType.Float) return formatDouble(this.value as number);
    return toCsString(this.value);
  }
  csEquals(o: unknown): boolean { return o instanceof JValue && o.type === this.type && (o.value === this.value || toCsString(o.value) === toCsString(this.value)); }
  csCompare(o: unknown): number {
    const a = this.value, b = (o as JValue).value;
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
}

export class JProperty extends JContainer {
  readonly csType = 'Newtonsoft.Json.Linq.JProperty';
  readonly type = JType.Property;
  private v: JToken;
  constructor(readonly name: string, value: JToken | null) {
    super();
    this.v = this.adopt(value);
  }
  get value(): JToken { return this.v; }
  set value(t: JToken | null) { this.v.parent = null; this.v = this.adopt(t); }
  clone(): JProperty { return new JProperty(this.name, this.v.clone()); }
  override children(): JToken[] { return [this.v]; }
  removeChild(): boolean { return false; }
}

export class JObject extends JContainer {
  readonly csType = 'Newtonsoft.Json.Linq.JObject';
  readonly type = JType.Object;
  readonly props = new Map<string, JProperty>();
  clone(): JObject {
    const o = new JObject();
    for (const p of this.props.values()) o.addProperty(p.clone());
    return o;
  }
  get(name: string): JToken | null { return this.props.get(name)?.value ?? null; }
  set(name: string, value: JToken | null): void {
    const p = this.props.get(name);
    if (p) p.value = value;
    else this.addProperty(new JProperty(name, value));
  }
  add(name: string, value: JToken | null): void {
    if (this.props.has(name)) fail('ArgumentException', `Can not add property ${name} to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.`);
    this.addProperty(new JProperty(name, value));
  }
  addProperty(p: JProperty): void {
    if (this.props.has(p.name)) fail('ArgumentException', `Can not add property ${p.name} to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.`);
    charge(1);
    const own = p.parent ? p.clone() : p;
    own.parent = this;
    this.props.set(p.name, own);
  }
  remove(name: string): boolean {
    const p = this.props.get(name);
    if (p) p.parent = null;
    return this.props.delete(name);
  }
  removeChild(t: JToken): boolean { return t instanceof JProperty && this.props.get(t.name) === t ? this.remove(t.name) : false; }
  override children(): JToken[] { return [...this.props.values()]; }
}

export class JArray extends JContainer {
  readonly csType = 'Newtonsoft.Json.Linq.JArray';
  readonly type = JType.Array;
  readonly items: JToken[] = [];
  clone(): JArray {
    const a = new JArray();
    for (const x of this.items) a.add(x.clone());
    return a;
  }
  add(t: JToken | null): void { charge(1); this.items.push(this.adopt(t)); }
  insert(i: number, t: JToken | null): void {
    if (i < 0 || i > this.items.length) fail('ArgumentOutOfRangeException', "Index must be within the bounds of the List. (Parameter 'index')");
    charge(1);
    this.items.splice(i, 0, this.adopt(t));
  }
  at(i: number): JToken {
    if (!(i >= 0 && i < this.items.length)) fail('ArgumentOutOfRangeException', "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
    return this.items[i]!;
  }
  setAt(i: number, t: JToken | null): void { this.at(i).parent = null; this.items[i] = this.adopt(t); }
  removeChild(t: JToken): boolean {
    const i = this.items.indexOf(t);
    if (i < 0) return false;
    this.items.splice(i, 1);
    t.parent = null;
    return true;
  }
  override children(): JToken[] { return this.items; }
}

export const jnull = () => new JValue(JType.Null, null);

const ESC: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
export function quote(s: string): string {
  // eslint-disable-next-line no-control-regex -- JSON escapes exactly these control characters
  return `"${s.replace(/["\\\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => ESC[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** The JSON text of a float as Newtonsoft writes it: round-trip digits and always a decimal point. */
export function jsonFloat(v: number): string {
  if (!Number.isFinite(v)) return v !== v ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
  const s = formatDouble(v);
  return /[.E]/.test(s) ? s : `${s}.0`;
}

export const isoDate = (d: CsDateTime, offset?: number) =>
  offset === undefined ? formatDateTime(d, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", 0) : formatDateTime(d, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", offset, true);

function valueText(v: JValue): string {
  switch (v.type) {
    case JType.Null: case JType.Undefined: return 'null';
    case JType.Boolean: return v.value ? 'true' : 'false';
    case JType.Integer: return String(v.value);
    case JType.Float: return jsonFloat(v.value as number);
    case JType.Date: return quote(isoDate(v.value as CsDateTime));
    case JType.String: return quote(v.value as string);
    default: return quote(toCsString(v.value));
  }
}

/** Writes JSON: indented (Formatting.Indented, two spaces) or compact (Formatting.None). */
export function serialize(t: JToken, indented: boolean): string {
  const parts: string[] = [];
  let size = 0;
  const push = (s: string) => { parts.push(s); size += s.length; if (size > 65536) { charge(size); size = 0; } };
  const nl = (depth: number) => (indented ? `\n${'  '.repeat(depth)}` : '');
  const write = (x: JToken, depth: number): void => {
    if (x instanceof JValue) return push(valueText(x));
    if (x instanceof JProperty) { push(quote(x.name) + (indented ? ': ' : ':')); return write(x.value, depth); }
    const isObj = x instanceof JObject;
    const items = x.children();
    if (items.length === 0) return push(isObj ? '{}' : '[]');
    push(isObj ? '{' : '[');
    items.forEach((c, i) => {
      push((i ? ',' : '') + nl(depth + 1));
      write(c, depth + 1);
    });
    push(nl(depth) + (isObj ? '}' : ']'));
  };
  write(t, 0);
  charge(size);
  return parts.join('');
}

export function dateValue(d: CsDateTime): JValue {
  return new JValue(JType.Date, d);
}

export { Kind };
