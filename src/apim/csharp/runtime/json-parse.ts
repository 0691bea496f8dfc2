import { charge } from './budget.js';
import { CsDateTime, CsDateTimeOffset, CsTimeSpan, Kind } from './datetime.js';
import { fail } from './exceptions.js';
import { JArray, JObject, JProperty, JToken, JType, JValue, JTYPE_NAMES, jnull } from './json.js';
import { Anonymous, KeyValuePair, toCsString } from './values.js';

/** Parsing JSON text into JTokens (lenient as Newtonsoft: comments, single quotes, bare names). */
const MAX_DEPTH = 64;
const DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$/;

export function jsonReaderError(msg: string, s: string, i: number, path = ''): never {
  const before = s.slice(0, i);
  const line = before.split('\n').length;
  const pos = i - before.lastIndexOf('\n');
  return fail('JsonReaderException', `${msg} Path '${path}', line ${line}, position ${pos}.`);
}

export function parseJson(s: string | null): JToken {
  if (s === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'json')");
  charge(s.length);
  const p = new JsonParser(s);
  p.space();
  if (p.i >= s.length) jsonReaderError('Error reading JToken from JsonReader.', s, p.i);
  const v = p.value(0, '');
  p.space();
  if (p.i < s.length) jsonReaderError('Additional text encountered after finished reading JSON content: ' + s[p.i] + '.', s, p.i + 1);
  return v;
}

class JsonParser {
  i = 0;
  constructor(private readonly s: string) {}

  space(): void {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
      if (s.startsWith('//', this.i)) { const e = s.indexOf('\n', this.i); this.i = e < 0 ? s.length : e; continue; }
      if (s.startsWith('/*', this.i)) { const e = s.indexOf('*/', this.i + 2); this.i = e < 0 ? s.length : e + 2; continue; }
      return;
    }
  }

  value(depth: number, path: string): JToken {
    const s = this.s, c = s[this.i];
    if (depth > MAX_DEPTH) jsonReaderError(`The reader's MaxDepth of ${MAX_DEPTH} has been exceeded.`, s, this.i, path);
    if (c === '{') return this.object(depth, path);
    if (c === '[') return this.array(depth, path);
    if (c === '"' || c === "'") {
      const str = this.string();
      const d = DATE.exec(str);
      return d ? dateToken(d) ?? new JValue(JType.String, str) : new JValue(JType.String, str);
    }
    const m = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(s.slice(this.i, this.i + 400));
    if (m) {
      this.i += m[0].length;
      if (/[.eE]/.test(m[0])) return new JValue(JType.Float, Number(m[0]));
      const big = BigInt(m[0]);
      return new JValue(JType.Integer, big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big);
    }
    for (const [word, v] of [['true', new JValue(JType.Boolean, true)], ['false', new JValue(JType.Boolean, false)], ['null', jnull()], ['undefined', new JValue(JType.Undefined, null)], ['NaN', new JValue(JType.Float, NaN)], ['Infinity', new JValue(JType.Float, Infinity)], ['-Infinity', new JValue(JType.Float, -Infinity)]] as const) {
      if (s.startsWith(word, this.i)) { this.i += word.length; return v; }
    }
    return jsonReaderError(c === undefined ? 'Unexpected end when reading JSON.' : `Unexpected character encountered while parsing value: ${c}.`, s, this.i + 1, path);
  }

  private string(): string {
    const s = this.s, q = s[this.i]!;
    let out = '';
    for (let k = this.i + 1; k < s.length; k++) {
      const c = s[k]!;
      if (c === q) { this.i = k + 1; return out; }
      if (c === '\\') {
        const e = s[++k];
        if (e === 'u') { const h = s.slice(k + 1, k + 5); if (!/^[0-9a-fA-F]{4}$/.test(h)) jsonReaderError('Invalid Unicode escape sequence.', s, k); out += String.fromCharCode(parseInt(h, 16)); k += 4; } else out += ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[e!] ?? e;
      } else out += c;
    }
    return jsonReaderError('Unterminated string. Expected delimiter: ' + q + '.', s, s.length);
  }

  private name(): string {
    const s = this.s, c = s[this.i];
    if (c === '"' || c === "'") return this.string();
    const m = /^[A-Za-z_$][\w$]*/.exec(s.slice(this.i, this.i + 256));
    if (!m) jsonReaderError(`Invalid property identifier character: ${c ?? ''}.`, s, this.i + 1);
    this.i += m![0].length;
    return m![0];
  }

  private object(depth: number, path: string): JObject {
    const o = new JObject();
    this.i++;
    for (;;) {
      this.space();
      if (this.s[this.i] === '}') { this.i++; return o; }
      const name = this.name();
      this.space();
      if (this.s[this.i] !== ':') jsonReaderError(`Invalid character after parsing property name. Expected ':' but got: ${this.s[this.i] ?? 'end'}.`, this.s, this.i + 1, path);
      this.i++;
      this.space();
      const child = path ? `${path}.${name}` : name;
      o.set(name, this.value(depth + 1, child));
      this.space();
      if (this.s[this.i] === ',') { this.i++; continue; }
      if (this.s[this.i] === '}') { this.i++; return o; }
      jsonReaderError(`After parsing a value an unexpected character was encountered: ${this.s[this.i] ?? 'end'}.`, this.s, this.i + 1, child);
    }
  }

  private array(depth: number, path: string): JArray {
    const a = new JArray();
    this.i++;
    for (let n = 0; ; n++) {
      this.space();
      if (this.s[this.i] === ']') { this.i++; return a; }
      a.add(this.value(depth + 1, `${path}[${n}]`));
      this.space();
      if (this.s[this.i] === ',') { this.i++; continue; }
      if (this.s[this.i] === ']') { this.i++; return a; }
      jsonReaderError(`After parsing a value an unexpected character was encountered: ${this.s[this.i] ?? 'end'}.`, this.s, this.i + 1, `${path}[${n}]`);
    }
  }
}

function dateToken(m: RegExpExecArray): JValue | undefined {
  try {
    const base = CsDateTime.fromParts(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
    const ticks = m[7] ? Number(m[7].padEnd(7, '0')) : 0;
    let dt = new CsDateTime(base.ms + Math.floor(ticks / 10000), Kind.Unspecified, ticks % 10000);
    if (m[8] === 'Z') dt = dt.withKind(Kind.Utc);
    else if (m[8]) {
      const sign = m[8][0] === '-' ? -1 : 1;
      const off = sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
      dt = new CsDateTime(dt.ms - off * 60_000, Kind.Local, dt.sub);
    }
    return new JValue(JType.Date, dt);
  } catch {
    return undefined;
  }
}

/** `JToken.FromObject` / serialization of any run-time value. */
export function fromObject(v: unknown, depth = 0): JToken {
  if (depth > MAX_DEPTH) fail('JsonSerializationException', 'Self referencing loop or nesting deeper than 64 levels.');
  if (v === null || v === undefined) return jnull();
  if (v instanceof JToken) return v.clone();
  switch (typeof v) {
    case 'string': return new JValue(JType.String, v);
    case 'boolean': return new JValue(JType.Boolean, v);
    case 'bigint': return new JValue(JType.Integer, v);
    case 'number': return new JValue(Number.isInteger(v) ? JType.Integer : JType.Float, v);
    case 'function': return fail('JsonSerializationException', 'A delegate cannot be serialized.');
  }
  if (v instanceof CsDateTime) return new JValue(JType.Date, v);
  if (v instanceof CsDateTimeOffset) return new JValue(JType.String, v.csFormat("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK"));
  if (v instanceof CsTimeSpan) return new JValue(JType.String, v.csString());
  if (v instanceof Uint8Array) return new JValue(JType.String, Buffer.from(v).toString('base64'));
  if (v instanceof Anonymous) {
    const o = new JObject();
    for (const [k, x] of Object.entries(v.fields)) o.add(k, fromObject(x, depth + 1));
    return o;
  }
  if (v instanceof KeyValuePair) {
    const o = new JObject();
    o.add('Key', fromObject(v.Key, depth + 1));
    o.add('Value', fromObject(v.Value, depth + 1));
    return o;
  }
  if ((v as { csType?: string }).csType?.startsWith('System.Collections.Generic.Dictionary')) {
    const o = new JObject();
    for (const p of v as Iterable<KeyValuePair>) o.set(toCsString(p.Key), fromObject(p.Value, depth + 1));
    return o;
  }
  if (Array.isArray(v) || (typeof v === 'object' && Symbol.iterator in (v as object))) {
    const a = new JArray();
    for (const x of v as Iterable<unknown>) a.add(fromObject(x, depth + 1));
    return a;
  }
  return new JValue(JType.String, toCsString(v));
}

/** The raw .NET value of a token, as `DeserializeObject` to `object` gives it. */
export function toPlain(t: JToken): unknown {
  if (t instanceof JValue) return t.type === JType.Null || t.type === JType.Undefined ? null : t.value;
  return t;
}

export function cannotConvert(t: JToken | null, to: string): never {
  return fail('ArgumentException', `Can not convert ${t ? JTYPE_NAMES[t.type] : 'Null'} to ${to}.`);
}

export { JProperty };
