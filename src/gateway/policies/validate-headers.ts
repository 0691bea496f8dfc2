import { discard } from '../respond.js';
import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { compileComposite, escapePointer, fromAjv, getPointer, refTo, resolveRef } from '../openapi/compile.js';
import { actionField, errorsFields, MAX_ERRORS, operationsInScope, Reporter, type Action, type Violation } from '../openapi/report.js';
import type { ValidateFunction } from 'ajv';

const Config = z.strictObject({
  'specified-header-action': actionField('when a header the response declares is missing (if required) or does not match its schema', 'prevent'),
  'unspecified-header-action': actionField('when the response has a header the document does not declare (standard HTTP response headers never count)', 'ignore'),
  headers: z.array(z.strictObject({
    name: z.string().min(1).describe('Header name (any case).'),
    action: z.enum(['ignore', 'detect', 'prevent']).describe('Action for this header, overriding the two above.'),
  })).default([]).describe('Per-header actions.'),
  ...errorsFields,
});

/** Response headers that belong to HTTP, caching, CORS, security and tracing, never "unspecified". */
const STANDARD = new Set([
  'content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'content-range', 'content-disposition',
  'date', 'server', 'connection', 'keep-alive', 'transfer-encoding', 'vary', 'etag', 'last-modified', 'expires', 'age', 'cache-control', 'pragma',
  'accept-ranges', 'allow', 'retry-after', 'location', 'www-authenticate', 'set-cookie', 'link', 'via', 'alt-svc',
  'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-headers', 'access-control-allow-methods',
  'access-control-expose-headers', 'access-control-max-age', 'strict-transport-security', 'x-content-type-options', 'x-frame-options',
  'content-security-policy', 'referrer-policy', 'permissions-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy',
  'traceparent', 'tracestate', 'x-request-id', 'x-correlation-id', 'server-timing',
  'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
]);

interface Declared { names: Set<string>; validate: ValidateFunction; kinds: Map<string, boolean> }

export const validateHeaders = definePolicy({
  name: 'validate-headers',
  sections: ['outbound'],
  capabilities: { phase: 'pipeline', requires: ['operation', 'openapi'] },
  description:
    'Validates the backend\'s response headers against the headers the OpenAPI document declares for the operation and status ' +
    '(required, schema with simple-style arrays), and optionally reports headers it does not declare. `prevent` replaces the response with a 502.',
  example: `validate-headers:
  specified-header-action: prevent
  unspecified-header-action: detect
  headers:
    - { name: X-Debug-Trace, action: ignore }`,
  schema: Config,
  create(config, ctx) {
    const { source, ids } = operationsInScope(ctx, 'validate-headers');
    const reporter = new Reporter(ctx, 'validate-headers', config['errors-variable-name'], config['errors-detail']);
    const overrides = new Map<string, Action>(config.headers.map((h) => [h.name.toLowerCase(), h.action]));
    const ops = new Map<string, Map<string, Declared>>();
    for (const id of ids) {
      const op = source.operations.get(id)!;
      const itemPtr = `/paths/${escapePointer(op.template)}`;
      const item = resolveRef(source.bundled, getPointer(source.bundled, itemPtr), itemPtr);
      const responsesPtr = `${item.pointer}/${op.method.toLowerCase()}/responses`;
      const responses = getPointer(source.bundled, responsesPtr) as Record<string, unknown> | undefined;
      const byStatus = new Map<string, Declared>();
      for (const status of Object.keys(responses ?? {})) {
        const r = resolveRef(source.bundled, responses![status], `${responsesPtr}/${escapePointer(status)}`);
        const headers = (r.node as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
        const properties: Record<string, unknown> = {};
        const required: string[] = [];
        const names = new Set<string>();
        const kinds = new Map<string, boolean>();
        for (const name of Object.keys(headers)) {
          const lower = name.toLowerCase();
          if (lower === 'content-type') continue; // described by `content`, per the OpenAPI spec
          const h = resolveRef(source.bundled, headers[name], `${r.pointer}/headers/${escapePointer(name)}`);
          const hn = h.node as { required?: boolean; schema?: Record<string, unknown> } | undefined;
          names.add(lower);
          if (hn?.required === true) required.push(lower);
          const schema = resolveRef(source.bundled, hn?.schema, '').node as { type?: unknown } | undefined;
          const isArray = schema?.type === 'array' || (Array.isArray(schema?.type) && schema.type.includes('array'));
          kinds.set(lower, isArray);
          properties[lower] = hn?.schema !== undefined ? refTo(`${h.pointer}/schema`) : {};
        }
        const validate = compileComposite(source, { direction: 'response', additional: 'keep', coerce: true }, `response headers of ${id} ${status}`, { type: 'object', properties, required });
        byStatus.set(status.toUpperCase(), { names, validate, kinds });
      }
      ops.set(id, byStatus);
    }
    const specified = config['specified-header-action'];
    const unspecified = config['unspecified-header-action'];
    return (ex) => {
      const res = ex.response;
      const byStatus = ex.operation === undefined ? undefined : ops.get(ex.operation.id);
      if (res === undefined || byStatus === undefined) return undefined;
      const d = byStatus.get(String(res.status)) ?? byStatus.get(`${Math.floor(res.status / 100)}XX`) ?? byStatus.get('DEFAULT');
      if (d === undefined) return undefined;
      const data: Record<string, unknown> = {};
      for (const name of d.names) {
        const v = res.headers[name];
        if (v === undefined) continue;
        const s = Array.isArray(v) ? v.join(', ') : v;
        data[name] = d.kinds.get(name) ? s.split(',').map((x) => x.trim()) : s;
      }
      const violations: Violation[] = [];
      if (!d.validate(data)) {
        for (const e of fromAjv(d.validate.errors, 'header', MAX_ERRORS)) {
          const segs = e.path.split('/');
          const name = segs[1] ?? '';
          violations.push({ ...e, name, path: segs.length > 2 ? '/' + segs.slice(2).join('/') : '', action: overrides.get(name) ?? specified });
        }
      }
      if (unspecified !== 'ignore' || overrides.size > 0) {
        for (const name of Object.keys(res.headers)) {
          if (d.names.has(name) || STANDARD.has(name)) continue;
          const action = overrides.get(name) ?? unspecified;
          if (action !== 'ignore') violations.push({ in: 'header', name, path: '', rule: 'unspecified', message: 'is not declared for this response', action });
        }
      }
      if (violations.length === 0 || !reporter.record(ex, violations)) return undefined;
      const body = res.body;
      discard(body);
      return reporter.outbound(ex, violations);
    };
  },
});
