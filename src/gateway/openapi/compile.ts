import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ConfigError } from '../../config/errors.js';
import type { OpenApiSource } from './load.js';

/**
 * Schema compilation for an OpenAPI document: one Ajv instance per (document, variant), holding a
 * transformed copy of the bundled document, and validators compiled from JSON pointers into it.
 *
 * - 3.1: JSON Schema draft 2020-12 (Ajv2020). 3.0: the 3.0 dialect on Ajv's draft-07 engine, with
 *   `nullable` and boolean `exclusiveMinimum`/`exclusiveMaximum` rewritten into their JSON Schema form.
 * - Direction: in requests, `readOnly` properties are not required; in responses, `writeOnly` ones.
 * - `oneOf` + `discriminator` whose branches pin the property (`const`/`enum`) becomes an if/then
 *   chain on the property, so a client is told what is wrong with the branch it chose, not with all.
 * - `additional`: `keep` the document's `additionalProperties`, `allow` (drop every `false`), or
 *   `forbid` (object schemas with `properties` and no composition get `additionalProperties: false`).
 * - `coerce`: strings are coerced to the schema's types (parameters, form fields), arrays too.
 * Everything happens at config load; nothing is compiled per request.
 */
export type Direction = 'request' | 'response';
export type AdditionalProperties = 'keep' | 'allow' | 'forbid';
export interface Variant { direction: Direction; additional: AdditionalProperties; coerce: boolean }

const DOC_ID = 'urn:gatehouse:openapi';
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Validators compiled from the document at `pointer` (`/paths/~1orders/post/...`). Cached per variant. */
export function compileAt(source: OpenApiSource, variant: Variant, pointer: string): ValidateFunction {
  const key = `v:${variant.direction}:${variant.additional}:${variant.coerce}:${pointer}`;
  const cached = source.cache.get(key) as ValidateFunction | undefined;
  if (cached) return cached;
  const ajv = ajvFor(source, variant);
  let fn: ValidateFunction;
  try {
    fn = ajv.compile({ $ref: `${DOC_ID}#${encodeURI(pointer)}` });
  } catch (err) {
    throw new ConfigError(`OpenAPI document ${source.file}: the schema at #${pointer} cannot be compiled: ${(err as Error).message}`);
  }
  source.cache.set(key, fn);
  return fn;
}

/** Compile a schema built by the gateway (e.g. all parameters of an operation) that `$ref`s into the document. */
export function compileComposite(source: OpenApiSource, variant: Variant, key: string, schema: Record<string, unknown>): ValidateFunction {
  const k = `c:${variant.direction}:${variant.additional}:${variant.coerce}:${key}`;
  const cached = source.cache.get(k) as ValidateFunction | undefined;
  if (cached) return cached;
  const ajv = ajvFor(source, variant);
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(schema);
  } catch (err) {
    throw new ConfigError(`OpenAPI document ${source.file}: ${key} cannot be compiled: ${(err as Error).message}`);
  }
  source.cache.set(k, fn);
  return fn;
}

/** `$ref` to a pointer in the document, for composite schemas. */
export function refTo(pointer: string): { $ref: string } {
  return { $ref: `${DOC_ID}#${encodeURI(pointer)}` };
}

function ajvFor(source: OpenApiSource, variant: Variant): Ajv {
  const key = `ajv:${variant.direction}:${variant.additional}:${variant.coerce}`;
  let ajv = source.cache.get(key) as Ajv | undefined;
  if (ajv) return ajv;
  const opts = {
    strict: false,
    allErrors: true,
    logger: false as const,
    coerceTypes: variant.coerce ? ('array' as const) : false,
    useDefaults: false,
    // the document is the operator's: its regular expressions are compiled once, with the u flag
    unicodeRegExp: true,
  };
  ajv = source.version === '3.1' ? new Ajv2020(opts) : new Ajv(opts);
  addFormats(ajv);
  // OpenAPI annotations Ajv does not know: declared so that they are not mistaken for typos
  ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example', 'x-nullable']);
  const doc = structuredClone(source.bundled);
  transformDocument(doc, source.version, variant);
  try {
    ajv.addSchema(doc, DOC_ID, undefined, false);
  } catch (err) {
    throw new ConfigError(`OpenAPI document ${source.file}: ${(err as Error).message}`);
  }
  source.cache.set(key, ajv);
  return ajv;
}

// ---------------------------------------------------------------------------------------------
// walking the schemas of a document

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_ARRAYS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_SINGLE = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Visit every schema object reachable from the document's schema locations (each once). */
function forEachSchema(doc: Obj, visit: (schema: Obj, parentKeyword: string) => void): void {
  const seen = new Set<object>();
  const schema = (s: unknown, parentKeyword: string) => {
    if (!isObj(s) || seen.has(s)) return;
    seen.add(s);
    visit(s, parentKeyword);
    for (const k of SCHEMA_MAPS) if (isObj(s[k])) for (const v of Object.values(s[k] as Obj)) schema(v, k);
    for (const k of SCHEMA_ARRAYS) if (Array.isArray(s[k])) for (const v of s[k] as unknown[]) schema(v, k);
    for (const k of SCHEMA_SINGLE) {
      const v = s[k];
      if (Array.isArray(v)) for (const x of v) schema(x, k);
      else schema(v, k);
    }
  };
  const content = (c: unknown) => { if (isObj(c)) for (const mt of Object.values(c)) if (isObj(mt)) schema(mt.schema, ''); };
  const parameter = (p: unknown) => { if (isObj(p)) { schema(p.schema, ''); content(p.content); } };
  const headers = (h: unknown) => { if (isObj(h)) for (const v of Object.values(h)) parameter(v); };
  const response = (r: unknown) => { if (isObj(r)) { headers(r.headers); content(r.content); } };
  const operation = (o: unknown) => {
    if (!isObj(o)) return;
    if (Array.isArray(o.parameters)) o.parameters.forEach(parameter);
    if (isObj(o.requestBody)) content(o.requestBody.content);
    if (isObj(o.responses)) for (const r of Object.values(o.responses)) response(r);
  };
  if (isObj(doc.paths)) {
    for (const item of Object.values(doc.paths)) {
      if (!isObj(item)) continue;
      if (Array.isArray(item.parameters)) item.parameters.forEach(parameter);
      for (const m of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) operation(item[m]);
    }
  }
  const comps = isObj(doc.components) ? doc.components : {};
  if (isObj(comps.schemas)) for (const s of Object.values(comps.schemas)) schema(s, '');
  if (isObj(comps.parameters)) for (const p of Object.values(comps.parameters)) parameter(p);
  if (isObj(comps.headers)) for (const p of Object.values(comps.headers)) parameter(p);
  if (isObj(comps.responses)) for (const r of Object.values(comps.responses)) response(r);
  if (isObj(comps.requestBodies)) for (const b of Object.values(comps.requestBodies)) if (isObj(b)) content(b.content);
}

/** Follow internal `$ref`s of the bundled document. */
export function resolveRef(doc: Obj, node: unknown, pointer: string): { node: unknown; pointer: string } {
  let guard = 0;
  while (isObj(node) && typeof node.$ref === 'string' && node.$ref.startsWith('#') && guard++ < 32) {
    pointer = decodeURIComponent(node.$ref.slice(1));
    node = getPointer(doc, pointer);
  }
  return { node, pointer };
}

export function getPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[part];
  }
  return cur;
}

export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function transformDocument(doc: Obj, version: '3.0' | '3.1', variant: Variant): void {
  const hidden = variant.direction === 'request' ? 'readOnly' : 'writeOnly';
  forEachSchema(doc, (s, parentKeyword) => {
    if (version === '3.0') to2019(s);
    // properties that one direction never carries are not required in it
    if (Array.isArray(s.required) && isObj(s.properties)) {
      const props = s.properties as Obj;
      s.required = (s.required as string[]).filter((name) => {
        const p = resolveRef(doc, props[name], '').node;
        return !(isObj(p) && p[hidden] === true);
      });
    }
    if (variant.additional === 'allow') {
      if (s.additionalProperties === false) delete s.additionalProperties;
      if (s.unevaluatedProperties === false) delete s.unevaluatedProperties;
    } else if (variant.additional === 'forbid') {
      const composed = s.allOf !== undefined || s.anyOf !== undefined || s.oneOf !== undefined || s.$ref !== undefined;
      const inComposition = parentKeyword === 'allOf' || parentKeyword === 'anyOf' || parentKeyword === 'oneOf';
      if (isObj(s.properties) && !composed && !inComposition && s.additionalProperties === undefined && s.unevaluatedProperties === undefined && s.patternProperties === undefined) {
        s.additionalProperties = false;
      }
    }
    discriminatorToIf(doc, s);
  });
}

/** OpenAPI 3.0 schema → the JSON Schema Ajv's draft-07 engine understands. */
function to2019(s: Obj): void {
  if (s.exclusiveMinimum === true && typeof s.minimum === 'number') { s.exclusiveMinimum = s.minimum; delete s.minimum; } else if (typeof s.exclusiveMinimum === 'boolean') delete s.exclusiveMinimum;
  if (s.exclusiveMaximum === true && typeof s.maximum === 'number') { s.exclusiveMaximum = s.maximum; delete s.maximum; } else if (typeof s.exclusiveMaximum === 'boolean') delete s.exclusiveMaximum;
  if (s.nullable === true) {
    delete s.nullable;
    if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null];
    if (typeof s.type === 'string') s.type = [s.type, 'null'];
    else if (s.type === undefined && s.enum === undefined) {
      // `nullable` beside allOf/oneOf/$ref: null, or whatever the rest says
      const rest: Obj = {};
      for (const k of Object.keys(s)) { rest[k] = s[k]; delete s[k]; }
      s.anyOf = [{ type: 'null' }, rest];
    }
  } else if (s.nullable === false) delete s.nullable;
}

/**
 * `oneOf` + `discriminator` → `if property = v then branch` chain, when every branch pins the
 * property to known values (`const` or `enum`). Unknown values fail on the property itself.
 */
function discriminatorToIf(doc: Obj, s: Obj): void {
  const d = s.discriminator;
  if (!isObj(d) || typeof d.propertyName !== 'string' || !Array.isArray(s.oneOf)) return;
  const prop = d.propertyName;
  const branches: Array<{ values: unknown[]; schema: unknown }> = [];
  for (const b of s.oneOf as unknown[]) {
    const target = resolveRef(doc, b, '').node;
    if (!isObj(target)) return;
    const p = isObj(target.properties) ? resolveRef(doc, target.properties[prop], '').node : undefined;
    if (!isObj(p)) return;
    const values = p.const !== undefined ? [p.const] : Array.isArray(p.enum) ? p.enum : undefined;
    if (values === undefined) return;
    branches.push({ values, schema: b });
  }
  const all = branches.flatMap((b) => b.values);
  let chain: Obj = { properties: { [prop]: { enum: all } }, required: [prop] };
  for (let i = branches.length - 1; i >= 0; i--) {
    const b = branches[i]!;
    chain = { if: { properties: { [prop]: { enum: b.values } }, required: [prop] }, then: b.schema, else: chain };
  }
  delete s.oneOf;
  if (s.allOf === undefined) s.allOf = [chain];
  else (s.allOf as unknown[]).push(chain);
}

// ---------------------------------------------------------------------------------------------
// errors

/** One violation, as clients (`errors` of the problem) and later policies see it. */
export interface ValidationError {
  in: 'body' | 'query' | 'path' | 'header' | 'status' | 'content-type';
  name: string;
  /** JSON pointer into the value ('' for the value itself) */
  path: string;
  /** the keyword or check that failed: `required`, `type`, `pattern`, `duplicate-key`, ... */
  rule: string;
  message: string;
}

const HIDDEN_KEYWORDS = new Set(['if', 'then', 'else']);

/** Ajv errors → ValidationErrors, at most `max`. `prefixDepth` path segments name the parameter. */
export function fromAjv(errors: ErrorObject[] | null | undefined, where: ValidationError['in'] | 'params', max: number): ValidationError[] {
  const out: ValidationError[] = [];
  if (!errors) return out;
  for (const e of errors) {
    if (HIDDEN_KEYWORDS.has(e.keyword)) continue;
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') path += `/${escapePointer(String(e.params.missingProperty))}`;
    else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const extra = String(e.params.additionalProperty ?? e.params.unevaluatedProperty);
      path += `/${escapePointer(extra)}`;
      message = 'is not allowed';
    } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
      message = `must be one of: ${e.params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      message = `must be ${JSON.stringify(e.params.allowedValue)}`;
    }
    let inn: ValidationError['in'];
    let name: string;
    if (where === 'params') {
      // /query/limit/0 → in query, name limit, path /0
      const parts = path.split('/');
      inn = parts[1] as ValidationError['in'];
      name = (parts[2] ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
      path = parts.length > 3 ? '/' + parts.slice(3).join('/') : '';
    } else {
      inn = where;
      const last = path.lastIndexOf('/');
      name = last < 0 ? '' : path.slice(last + 1).replace(/~1/g, '/').replace(/~0/g, '~');
    }
    out.push({ in: inn, name, path, rule: e.keyword, message });
    if (out.length >= max) break;
  }
  return out;
}
