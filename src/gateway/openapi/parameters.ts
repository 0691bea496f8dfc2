import type { ValidateFunction } from 'ajv';
import { ConfigError } from '../../config/errors.js';
import { compileComposite, escapePointer, fromAjv, getPointer, refTo, resolveRef, type ValidationError } from './compile.js';
import type { OpenApiSource, ParameterObject } from './load.js';

/**
 * Parameters of one operation, deserialized by their OpenAPI `style`/`explode` and validated by
 * one compiled schema (`{ path: {...}, query: {...}, header: {...} }`, strings coerced to the
 * declared types).
 *
 * | in | styles | default |
 * |---|---|---|
 * | query | form, spaceDelimited, pipeDelimited, deepObject | form, explode |
 * | path | simple, label, matrix | simple |
 * | header | simple | simple |
 *
 * A query parameter that is not an array and appears twice is refused (`?limit=1&limit=500`:
 * parameter pollution, where the validator and the backend could read different values).
 * Cookie parameters are not validated.
 */
export type Location = 'path' | 'query' | 'header';
type Kind = 'primitive' | 'array' | 'object' | 'json';

interface Param {
  name: string;
  /** header names lower-case */
  key: string;
  in: Location;
  style: string;
  explode: boolean;
  kind: Kind;
  required: boolean;
  /** for exploded form objects: property names that come as query parameters of their own */
  properties: string[];
}

export interface OperationParameters {
  params: Param[];
  validate: ValidateFunction;
  /** declared names by location (headers lower-case), exploded object properties included */
  declared: Record<Location, Set<string>>;
}

export function compileParameters(source: OpenApiSource, operationId: string): OperationParameters {
  const op = source.operations.get(operationId);
  if (op === undefined) throw new ConfigError(`operation "${operationId}" is not in ${source.file}`);
  const doc = source.bundled;
  const itemPtr = `/paths/${escapePointer(op.template)}`;
  const opPtr = `${itemPtr}/${op.method.toLowerCase()}`;
  // path-item parameters first, the operation's own override them by (in, name)
  const byKey = new Map<string, { p: ParameterObject; ptr: string }>();
  const collect = (listPtr: string) => {
    const { node: list, pointer } = resolveRef(doc, getPointer(doc, listPtr), listPtr);
    if (!Array.isArray(list)) return;
    list.forEach((_, i) => {
      const r = resolveRef(doc, list[i], `${pointer}/${i}`);
      const p = r.node as ParameterObject;
      if (p && typeof p === 'object' && typeof p.name === 'string') byKey.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, { p, ptr: r.pointer });
    });
  };
  const item = resolveRef(doc, getPointer(doc, itemPtr), itemPtr);
  collect(`${item.pointer}/parameters`);
  collect(`${item.pointer}/${op.method.toLowerCase()}/parameters`);
  void opPtr;

  const params: Param[] = [];
  const declared: Record<Location, Set<string>> = { path: new Set(), query: new Set(), header: new Set() };
  const groups: Record<Location, { properties: Record<string, unknown>; required: string[] }> = {
    path: { properties: {}, required: [] }, query: { properties: {}, required: [] }, header: { properties: {}, required: [] },
  };
  for (const { p, ptr } of byKey.values()) {
    if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') continue;
    const loc = p.in;
    const key = loc === 'header' ? p.name.toLowerCase() : p.name;
    let kind: Kind;
    let schemaRef: unknown;
    let properties: string[] = [];
    if (p.content && typeof p.content === 'object') {
      const [mt] = Object.keys(p.content);
      if (mt === undefined || !/json/i.test(mt)) throw new ConfigError(`OpenAPI document ${source.file}: parameter "${p.name}" (in ${loc}) of ${operationId} uses content "${mt ?? ''}"; only JSON content is supported`);
      kind = 'json';
      schemaRef = p.content[mt]!.schema !== undefined ? refTo(`${ptr}/content/${escapePointer(mt)}/schema`) : {};
    } else {
      const schema = resolveRef(doc, p.schema, `${ptr}/schema`).node as Record<string, unknown> | undefined;
      kind = kindOf(doc, schema);
      schemaRef = p.schema !== undefined ? refTo(`${ptr}/schema`) : {};
      if (kind === 'object' && schema && typeof schema.properties === 'object') properties = Object.keys(schema.properties as object);
    }
    const style = p.style ?? (loc === 'query' ? 'form' : 'simple');
    const allowed = loc === 'query' ? ['form', 'spaceDelimited', 'pipeDelimited', 'deepObject'] : loc === 'path' ? ['simple', 'label', 'matrix'] : ['simple'];
    if (!allowed.includes(style)) throw new ConfigError(`OpenAPI document ${source.file}: parameter "${p.name}" (in ${loc}) of ${operationId} has style "${style}", which is not allowed in ${loc}`);
    const explode = p.explode ?? style === 'form';
    const required = loc === 'path' || p.required === true;
    const param: Param = { name: p.name, key, in: loc, style, explode, kind, required, properties };
    params.push(param);
    groups[loc].properties[key] = schemaRef;
    if (required) groups[loc].required.push(key);
    declared[loc].add(key);
    if (loc === 'query' && kind === 'object' && style === 'form' && explode) for (const prop of properties) declared.query.add(prop);
  }
  const composite = {
    type: 'object',
    properties: Object.fromEntries((['path', 'query', 'header'] as const).map((l) => [l, { type: 'object', ...groups[l] }])),
  };
  const validate = compileComposite(source, { direction: 'request', additional: 'keep', coerce: true }, `parameters of ${operationId}`, composite);
  return { params, validate, declared };
}

function kindOf(doc: Record<string, unknown>, schema: Record<string, unknown> | undefined): Kind {
  if (!schema) return 'primitive';
  const t = schema.type;
  const types = Array.isArray(t) ? t : t === undefined ? [] : [t];
  if (types.includes('array') || (types.length === 0 && schema.items !== undefined)) return 'array';
  if (types.includes('object') || (types.length === 0 && schema.properties !== undefined)) return 'object';
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[k];
    if (Array.isArray(list)) for (const s of list) {
      const inner = kindOf(doc, resolveRef(doc, s, '').node as Record<string, unknown> | undefined);
      if (inner !== 'primitive') return inner;
    }
  }
  return 'primitive';
}

// ---------------------------------------------------------------------------------------------
// deserialization

/** Query string → name → every value (decoded, `+` is a space). Undefined when percent-encoding is broken. */
export function parseQuery(raw: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

const SEPARATOR: Record<string, string> = { form: ',', simple: ',', spaceDelimited: ' ', pipeDelimited: '|', label: '.', matrix: ',' };

function splitPairs(parts: string[]): Record<string, string> | undefined {
  if (parts.length % 2 !== 0) return undefined;
  const o: Record<string, string> = Object.create(null);
  for (let i = 0; i < parts.length; i += 2) o[parts[i]!] = parts[i + 1]!;
  return o;
}

function splitKeyValues(parts: string[]): Record<string, string> | undefined {
  const o: Record<string, string> = Object.create(null);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) return undefined;
    o[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return o;
}

/** One serialized value (path segment, header, or the single value of a query parameter) → value. */
function fromString(p: Param, s: string): unknown {
  if (p.kind === 'json') {
    try { return JSON.parse(s); } catch { return INVALID; }
  }
  let v = s;
  if (p.in === 'path' && p.style === 'label') {
    if (!v.startsWith('.')) return INVALID;
    v = v.slice(1);
  } else if (p.in === 'path' && p.style === 'matrix') {
    // ;id=5  ;id=3,4,5 (explode false)  ;id=3;id=4 (explode true)  ;R=100;G=200 (object, explode)
    if (!v.startsWith(';')) return INVALID;
    const segs = v.slice(1).split(';');
    if (p.kind === 'object' && p.explode) return splitKeyValues(segs) ?? INVALID;
    const vals: string[] = [];
    for (const seg of segs) {
      const eq = seg.indexOf('=');
      if (eq < 0 ? seg !== p.name : seg.slice(0, eq) !== p.name) return INVALID;
      vals.push(eq < 0 ? '' : seg.slice(eq + 1));
    }
    if (p.kind === 'array') return p.explode ? vals : vals.length === 1 ? vals[0]!.split(',') : INVALID;
    if (vals.length !== 1) return INVALID;
    return p.kind === 'object' ? splitPairs(vals[0]!.split(',')) ?? INVALID : vals[0];
  }
  if (p.kind === 'primitive') return v;
  const sep = p.style === 'label' ? (p.explode ? '.' : ',') : SEPARATOR[p.style] ?? ',';
  const parts = v === '' ? [] : v.split(sep);
  if (p.in === 'header') for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
  if (p.kind === 'array') return parts;
  return (p.explode ? splitKeyValues(parts) : splitPairs(parts)) ?? INVALID;
}

const INVALID = Symbol('invalid');

export interface RequestParts {
  /** percent-decoded path parameters */
  params: Record<string, string>;
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Deserialize and validate. Returns the violations (empty when valid): those of declared
 * parameters, then (when `checkUnspecified`) undeclared query parameters and headers.
 */
export function checkParameters(op: OperationParameters, req: RequestParts, unspecified: { query: boolean; header: boolean }, isStandardHeader: (h: string) => boolean, max: number): ValidationError[] {
  const errors: ValidationError[] = [];
  const query = parseQuery(req.query);
  if (query === undefined) {
    errors.push({ in: 'query', name: '', path: '', rule: 'encoding', message: 'the query string has broken percent-encoding' });
    return errors;
  }
  const data = { path: {} as Record<string, unknown>, query: {} as Record<string, unknown>, header: {} as Record<string, unknown> };
  const used = new Set<string>();
  let malformed: Set<string> | undefined;
  for (const p of op.params) {
    let value: unknown;
    if (p.in === 'path') {
      const raw = req.params[p.name];
      if (raw === undefined) continue;
      value = fromString(p, raw);
    } else if (p.in === 'header') {
      const raw = req.headers[p.key];
      if (raw === undefined) continue;
      value = fromString(p, Array.isArray(raw) ? raw.join(', ') : raw);
    } else {
      value = queryValue(p, query, used);
      if (value === undefined) continue;
      if (value === DUPLICATE) {
        errors.push({ in: 'query', name: p.name, path: '', rule: 'duplicate', message: 'must appear at most once' });
        (malformed ??= new Set()).add(`query/${p.key}`);
        continue;
      }
    }
    if (value === INVALID) {
      errors.push(p.kind === 'json'
        ? { in: p.in, name: p.key, path: '', rule: 'syntax', message: 'is not valid JSON' }
        : { in: p.in, name: p.key, path: '', rule: 'style', message: `is not serialized as its style requires (${p.style}${p.explode ? ', explode' : ''})` });
      (malformed ??= new Set()).add(`${p.in}/${p.key}`);
      continue;
    }
    data[p.in][p.key] = value;
  }
  if (!op.validate(data)) {
    for (const e of fromAjv(op.validate.errors, 'params', max)) {
      // a malformed value was left out: it is reported once, not again as missing
      if (malformed !== undefined && e.rule === 'required' && malformed.has(`${e.in}/${e.name}`)) continue;
      errors.push(e);
    }
  }
  if (unspecified.query) {
    for (const name of query.keys()) {
      if (op.declared.query.has(name) || used.has(name)) continue;
      errors.push({ in: 'query', name, path: '', rule: 'unspecified', message: 'is not a parameter of this operation' });
    }
  }
  if (unspecified.header) {
    for (const name of Object.keys(req.headers)) {
      if (op.declared.header.has(name) || isStandardHeader(name)) continue;
      errors.push({ in: 'header', name, path: '', rule: 'unspecified', message: 'is not a parameter of this operation' });
    }
  }
  return errors.length > max ? errors.slice(0, max) : errors;
}

const DUPLICATE = Symbol('duplicate');

function queryValue(p: Param, query: Map<string, string[]>, used: Set<string>): unknown {
  if (p.kind === 'object' && p.style === 'deepObject') {
    // filter[status]=paid&filter[min]=3
    const prefix = `${p.name}[`;
    let o: Record<string, string> | undefined;
    for (const [name, values] of query) {
      if (!name.startsWith(prefix) || !name.endsWith(']')) continue;
      used.add(name);
      if (values.length > 1) return DUPLICATE;
      (o ??= Object.create(null) as Record<string, string>)[name.slice(prefix.length, -1)] = values[0]!;
    }
    return o;
  }
  if (p.kind === 'object' && p.style === 'form' && p.explode) {
    // R=100&G=200: the object's properties are query parameters of their own
    let o: Record<string, string> | undefined;
    for (const prop of p.properties) {
      const values = query.get(prop);
      if (values === undefined) continue;
      if (values.length > 1) return DUPLICATE;
      (o ??= Object.create(null) as Record<string, string>)[prop] = values[0]!;
    }
    return o;
  }
  const values = query.get(p.name);
  if (values === undefined) return undefined;
  if (p.kind === 'array' && p.explode && p.style === 'form') return values;
  if (values.length > 1) return DUPLICATE;
  return fromString(p, values[0]!);
}
