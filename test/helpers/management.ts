import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Ajv } from 'ajv';
import { MANAGEMENT_OPENAPI } from '../../src/app/management/openapi.js';

/**
 * Calls to the management API that check every answer against its own OpenAPI document: the
 * operation is found by method and path template, the response schema by status and media type,
 * and the body is validated with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv as unknown as Ajv);
ajv.addSchema(MANAGEMENT_OPENAPI as unknown as object, 'mgmt');

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const templates = Object.keys(MANAGEMENT_OPENAPI.paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

/** how many responses were checked, by `METHOD template status` (the test asserts coverage) */
export const checked = new Set<string>();

export interface Answer { status: number; headers: Headers; body: Record<string, unknown> }

/** Validate one answer against the document; throws with ajv's errors when it does not conform. */
export function conform(method: string, path: string, res: { status: number; headers: Headers }, body: unknown): void {
  const rel = path.replace(/^\/management/, '').split('?')[0]!;
  const tpl = templates.find((x) => x.re.test(rel));
  assert.ok(tpl, `no path of the document matches ${rel}`);
  const op = (MANAGEMENT_OPENAPI.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)[tpl.t]![method.toLowerCase()];
  assert.ok(op, `the document has no ${method} ${tpl.t}`);
  const response = op.responses[String(res.status)];
  assert.ok(response, `the document lists no ${res.status} for ${method} ${tpl.t}`);
  if (res.status === 204) {
    assert.equal(response.content, undefined, `the document lists a body for 204 of ${method} ${tpl.t}`);
    assert.equal(body, null, `${method} ${path} → 204 has a body`);
    checked.add(`${method} ${tpl.t} 204`);
    return;
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
  assert.ok(response.content?.[type], `the document lists no ${type} body for ${res.status} of ${method} ${tpl.t}`);
  const ref = `mgmt#/paths/${escape(tpl.t)}/${method.toLowerCase()}/responses/${res.status}/content/${escape(type)}/schema`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  assert.ok(validate(body), `${method} ${path} → ${res.status} does not conform: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body)}`);
  checked.add(`${method} ${tpl.t} ${res.status}`);
}

/** A management API client on `adminUrl` whose every answer is checked with `conform`. */
export function managementClient(adminUrl: string, token?: string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${adminUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const parsed = (res.status === 204 ? ((await res.text()) || null) : await res.json()) as Record<string, unknown>;
    if (path !== '/management/openapi.json') conform(method, path, res, parsed);
    return { status: res.status, headers: res.headers, body: parsed };
  };
}
