import SwaggerParser from '@apidevtools/swagger-parser';
import { ConfigError } from '../../config/errors.js';

/**
 * Load an OpenAPI 3.0 / 3.1 document for an API: parse (YAML or JSON), resolve `$ref`s across
 * files, validate it against the OpenAPI schema, and list its operations.
 *
 * ```ts
 * const { document, version, operations } = await loadOpenApi('/etc/gatehouse/orders.yaml');
 * for (const op of operations) router.add(op.method, api.path + op.template, op.id);
 * ```
 *
 * - Operation ids come from `operationId`, or `METHOD /template` when there is none.
 * - Templates are the document's path keys, relative to the API's `path`; `servers` is ignored.
 * - `$ref`s to http(s) URLs are not followed: the gateway never fetches at load what it was not
 *   told to. A broken document is a ConfigError naming the file and what is wrong.
 *
 * `document` is fully dereferenced (shared and circular references become shared / circular
 * objects). The validators do not compile from it: they compile from a bundled copy (internal
 * `$ref`s only), kept with the document and found with {@link openApiSource}.
 */
export async function loadOpenApi(file: string): Promise<LoadedOpenApi> {
  let bundled: Record<string, unknown>;
  let document: Record<string, unknown>;
  try {
    bundled = (await new SwaggerParser().bundle(file, PARSER_OPTIONS)) as unknown as Record<string, unknown>;
    // validate() dereferences in place: give it its own copy and keep `bundled` with its $refs
    document = (await new SwaggerParser().validate(structuredClone(bundled) as never, PARSER_OPTIONS)) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`OpenAPI document ${file} is invalid: ${describeParserError(err)}`);
  }
  const openapi = String(document.openapi ?? '');
  if (!/^3\.[01]\./.test(openapi)) {
    throw new ConfigError(`OpenAPI document ${file}: only OpenAPI 3.0 and 3.1 are supported (found ${document.swagger ? `swagger ${String(document.swagger)}` : `"${openapi}"`})`);
  }
  const version: OpenApiVersion = openapi.startsWith('3.1') ? '3.1' : '3.0';
  const operations: OpenApiOperation[] = [];
  const ids = new Map<string, string>();
  const paths = (document.paths ?? {}) as Record<string, Record<string, unknown>>;
  for (const [template, item] of Object.entries(paths)) {
    if (!template.startsWith('/')) throw new ConfigError(`OpenAPI document ${file}: path "${template}" must start with "/"`);
    const pathParameters = (Array.isArray(item.parameters) ? item.parameters : []) as ParameterObject[];
    for (const method of METHODS) {
      const operation = item[method] as OperationObject | undefined;
      if (operation === undefined || operation === null || typeof operation !== 'object') continue;
      const upper = method.toUpperCase();
      const id = typeof operation.operationId === 'string' && operation.operationId !== '' ? operation.operationId : `${upper} ${template}`;
      const where = `${upper} ${template}`;
      const prev = ids.get(id);
      if (prev !== undefined) throw new ConfigError(`OpenAPI document ${file}: operationId "${id}" is used by both ${prev} and ${where}`);
      ids.set(id, where);
      checkPathParameters(file, where, template, pathParameters, operation.parameters);
      operations.push({ id, method: upper, template, operation, pathParameters });
    }
  }
  const loaded: LoadedOpenApi = { file, document, version, operations };
  SOURCES.set(document, { file, version, bundled, operations: new Map(operations.map((o) => [o.id, o])), cache: new Map() });
  return loaded;
}

export type OpenApiVersion = '3.0' | '3.1';

/** A (dereferenced) OpenAPI operation object; only the members the gateway reads are typed. */
export interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, ResponseObject>;
  [k: string]: unknown;
}
export interface ParameterObject {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  required?: boolean;
  style?: string;
  explode?: boolean;
  allowEmptyValue?: boolean;
  schema?: Record<string, unknown>;
  content?: Record<string, MediaTypeObject>;
  [k: string]: unknown;
}
export interface MediaTypeObject { schema?: Record<string, unknown>; [k: string]: unknown }
export interface ResponseObject {
  headers?: Record<string, ParameterObject>;
  content?: Record<string, MediaTypeObject>;
  [k: string]: unknown;
}

export interface OpenApiOperation {
  /** `operationId`, or `METHOD /template` */
  id: string;
  /** upper-case */
  method: string;
  /** path template relative to the API's path, as written in the document: `/orders/{id}` */
  template: string;
  operation: OperationObject;
  /** parameters declared on the path item (the operation's own override them by name + in) */
  pathParameters: ParameterObject[];
}

export interface LoadedOpenApi {
  file: string;
  document: Record<string, unknown>;
  version: OpenApiVersion;
  operations: OpenApiOperation[];
}

/** What the validators compile from, for a document returned by {@link loadOpenApi}. */
export interface OpenApiSource {
  file: string;
  version: OpenApiVersion;
  /** the document with internal `$ref`s only (never dereferenced, so never circular) */
  bundled: Record<string, unknown>;
  operations: ReadonlyMap<string, OpenApiOperation>;
  /** compiled artefacts shared by every policy of this config that uses the document */
  cache: Map<string, unknown>;
}

const SOURCES = new WeakMap<object, OpenApiSource>();

/** The source of a document loaded by {@link loadOpenApi}, or undefined. */
export function openApiSource(document: unknown): OpenApiSource | undefined {
  return document !== null && typeof document === 'object' ? SOURCES.get(document) : undefined;
}

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const PARSER_OPTIONS = {
  resolve: { http: false, external: true },
  dereference: { circular: true },
  validate: { schema: true, spec: true },
} as never;

/** Every `{name}` of a template is declared as a required path parameter, and nothing else is. */
function checkPathParameters(file: string, where: string, template: string, fromItem: ParameterObject[], fromOp: ParameterObject[] | undefined): void {
  const names = new Set<string>();
  for (const m of template.matchAll(/\{([^{}]+)\}/g)) names.add(m[1]!);
  const declared = new Set<string>();
  for (const p of [...fromItem, ...(fromOp ?? [])]) if (p && p.in === 'path') declared.add(p.name);
  for (const n of names) {
    if (!declared.has(n)) throw new ConfigError(`OpenAPI document ${file}: ${where} has no parameter declared for "{${n}}" (in: path)`);
  }
  for (const n of declared) {
    if (!names.has(n)) throw new ConfigError(`OpenAPI document ${file}: ${where} declares path parameter "${n}" that is not in the path`);
  }
}

function describeParserError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // swagger-parser prefixes messages with the file URL and lists every schema error on its own line
  const details = (err as { details?: Array<{ instancePath?: string; message?: string }> }).details;
  let msg = err.message.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 8).join('; ');
  if (Array.isArray(details) && details.length > 0 && !msg) {
    msg = details.slice(0, 8).map((d) => `${d.instancePath || '/'} ${d.message ?? ''}`.trim()).join('; ');
  }
  return msg;
}
