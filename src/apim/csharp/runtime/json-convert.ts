import { CsDateTime } from './datetime.js';
import { parseDateTime } from './datetime-parse.js';
import { fail, formatError } from './exceptions.js';
import { JArray, JObject, JProperty, JToken, JType, JValue } from './json.js';
import { cannotConvert } from './json-parse.js';
import { checkedInt, checkedLong, formatDouble, parseInteger, parseReal, roundEven } from './numbers.js';

/**
 * Newtonsoft's explicit conversions of tokens (`(string)token`, `(int)token`, `Value<T>`), and
 * SelectToken paths: `$`, `.name`, `['name']`, `[index]`, `[*]` and `..name` (no filters).
 */
export function tokenToString(t: JToken | null): string | null {
  if (t === null) return null;
  if (!(t instanceof JValue)) return cannotConvert(t, 'String');
  switch (t.type) {
    case JType.Null: case JType.Undefined: return null;
    case JType.String: return t.value as string;
    case JType.Float: return formatDouble(t.value as number);
    case JType.Boolean: return t.value ? 'True' : 'False';
    case JType.Date: return (t.value as CsDateTime).csString();
    default: return String(t.value);
  }
}

function numberOf(t: JToken | null, to: string, nullable: boolean): number | bigint | null {
  if (t === null || (t instanceof JValue && (t.type === JType.Null || t.type === JType.Undefined))) return nullable ? null : cannotConvert(t, to);
  if (!(t instanceof JValue)) return cannotConvert(t, to);
  switch (t.type) {
    case JType.Integer: case JType.Float: return t.value as number | bigint;
    case JType.Boolean: return t.value ? 1 : 0;
    case JType.String: {
      const s = t.value as string;
      const v = to === 'Int32' || to === 'Int64' ? parseInteger(s, -(2n ** 63n), 2n ** 63n - 1n) : parseReal(s);
      return v === undefined ? formatError(`The input string '${s}' was not in a correct format.`) : v;
    }
    default: return cannotConvert(t, to);
  }
}

export const tokenToInt = (nullable: boolean) => (t: JToken | null) => { const v = numberOf(t, 'Int32', nullable); return v === null ? null : checkedInt(Number(v)); };
export const tokenToLong = (nullable: boolean) => (t: JToken | null) => { const v = numberOf(t, 'Int64', nullable); return v === null ? null : checkedLong(typeof v === 'bigint' ? v : roundEven(v)); };
export const tokenToDouble = (nullable: boolean) => (t: JToken | null) => { const v = numberOf(t, 'Double', nullable); return v === null ? null : Number(v); };
export const tokenToBool = (nullable: boolean) => (t: JToken | null) => {
  if (t instanceof JValue && t.type === JType.String) {
    const s = (t.value as string).trim().toLowerCase();
    return s === 'true' ? true : s === 'false' ? false : formatError(`String '${t.value}' was not recognized as a valid Boolean.`);
  }
  const v = numberOf(t, 'Boolean', nullable);
  return v === null ? null : Number(v) !== 0;
};
export const tokenToDate = (nullable: boolean) => (t: JToken | null) => {
  if (t === null || (t instanceof JValue && t.type === JType.Null)) return nullable ? null : cannotConvert(t, 'DateTime');
  if (t instanceof JValue && t.type === JType.Date) return t.value;
  if (t instanceof JValue && t.type === JType.String) return parseDateTime(t.value as string)?.dt ?? formatError(`String '${t.value}' was not recognized as a valid DateTime.`);
  return cannotConvert(t, 'DateTime');
};

type Step = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'wild' } | { kind: 'deep'; name: string };

function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  let i = path.startsWith('$') ? 1 : 0;
  const bad = (): never => fail('JsonException', `Unexpected character while parsing path: ${path.slice(i, i + 1)}`);
  while (i < path.length) {
    const c = path[i]!;
    if (c === '.') {
      if (path[i + 1] === '.') {
        const m = /^[^.[\]]+/.exec(path.slice(i + 2));
        if (!m) bad();
        steps.push({ kind: 'deep', name: m![0] });
        i += 2 + m![0].length;
        continue;
      }
      i++;
      if (path[i] === '*') { steps.push({ kind: 'wild' }); i++; continue; }
    } else if (c === '[') {
      const m = /^\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\d+)|(\*))\s*\]/.exec(path.slice(i));
      if (!m) return fail('JsonException', `Unsupported path (filters and slices are not supported): ${path}`);
      if (m[4]) steps.push({ kind: 'wild' });
      else if (m[3] !== undefined) steps.push({ kind: 'index', index: Number(m[3]) });
      else steps.push({ kind: 'name', name: (m[1] ?? m[2])!.replace(/\\(.)/g, '$1') });
      i += m[0].length;
      continue;
    } else if (steps.length > 0 && i > 0 && path[i - 1] !== '.') bad();
    const m = /^[^.[\]]+/.exec(path.slice(i));
    if (!m) { if (i >= path.length) break; bad(); }
    steps.push({ kind: 'name', name: m![0] });
    i += m![0].length;
  }
  return steps;
}

function descend(t: JToken, name: string, out: JToken[]): void {
  if (t instanceof JObject) {
    for (const p of t.props.values()) {
      if (p.name === name) out.push(p.value);
      descend(p.value, name, out);
    }
  } else if (t instanceof JArray) for (const x of t.items) descend(x, name, out);
}

export function selectTokens(root: JToken, path: string): JToken[] {
  let cur: JToken[] = [root];
  for (const step of parsePath(path)) {
    const next: JToken[] = [];
    for (const t of cur) {
      if (step.kind === 'name') { if (t instanceof JObject) { const v = t.get(step.name); if (v) next.push(v); } } else if (step.kind === 'index') { if (t instanceof JArray && step.index < t.items.length) next.push(t.items[step.index]!); } else if (step.kind === 'wild') next.push(...(t instanceof JObject ? [...t.props.values()].map((p: JProperty) => p.value) : t instanceof JArray ? t.items : []));
      else descend(t, step.name, next);
    }
    cur = next;
  }
  return cur;
}

export function selectToken(root: JToken, path: string | null, errorWhenNoMatch = false): JToken | null {
  if (path === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'path')");
  const r = selectTokens(root, path);
  if (r.length > 1) fail('JsonException', 'Path returned multiple tokens.');
  if (r.length === 0 && errorWhenNoMatch) fail('JsonException', `Property '${path}' does not exist on JObject.`);
  return r[0] ?? null;
}
