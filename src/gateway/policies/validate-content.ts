import type { Readable } from 'node:stream';
import type { ValidateFunction } from 'ajv';
import { z } from 'zod';
import { ConfigError } from '../../config/errors.js';
import { size } from '../../config/units.js';
import { definePolicy, type Handler } from '../policy.js';
import { type Reply } from '../reply.js';
import { problem } from '../problems.js';
import { discard } from '../respond.js';
import { decodeContent, readLimited, rejoin } from '../openapi/body.js';
import { compileAt, escapePointer, fromAjv, getPointer, resolveRef, type AdditionalProperties } from '../openapi/compile.js';
import { parseJson } from '../openapi/json.js';
import { parseQuery } from '../openapi/parameters.js';
import { actionField, errorsFields, globMatcher, matchContent, MAX_ERRORS, mediaType, operationsInScope, Reporter, type Action, type Violation } from '../openapi/report.js';
import { checkXml } from '../openapi/xml.js';
import type { OpenApiSource } from '../openapi/load.js';

/** Default cap on `max-size`: what one request may make the gateway hold in memory. */
export const DEFAULT_BUFFER_CAP = 1024 * 1024;

const ContentEntry = z.strictObject({
  type: z.string().min(3).describe('Media type this entry applies to, e.g. `application/json`; `*` matches within a part (`application/*+json`).'),
  'validate-as': z.enum(['json', 'form', 'xml-wellformed']).default('json')
    .describe('`json`: parse (duplicate keys, depth and encoding checked) and validate against the schema of the matching content in the document. `form`: `application/x-www-form-urlencoded`, fields validated against the schema. `xml-wellformed`: well-formedness only, DOCTYPE refused.'),
  action: actionField('when the body is invalid', 'prevent'),
  'allow-additional-properties': z.boolean().optional()
    .describe("Overrides the schemas' `additionalProperties`: `true` accepts unknown properties everywhere, `false` refuses them in every object schema that lists `properties` (outside allOf/anyOf/oneOf)."),
});

const Config = z.strictObject({
  'unspecified-content-type-action': actionField('when the Content-Type is not one the operation declares (or is missing while there is a body)', 'prevent'),
  'max-size': size({ min: 1 }).default(100 * 1024)
    .describe('Largest body accepted (`kb` = 1024 bytes). Counted as the body arrives, with or without Content-Length; a body that must be validated is held in memory up to this size.'),
  'size-exceeded-action': actionField('when the body is larger than `max-size` (inbound `prevent`: 413; outbound `prevent`: 502, `detect`/`ignore`: passed through unvalidated)', 'prevent'),
  'json-max-depth': z.number().int().min(1).max(512).default(32)
    .describe('Deepest nesting of objects and arrays a JSON body may have.'),
  content: z.array(ContentEntry).default([{ type: 'application/json', 'validate-as': 'json', action: 'prevent' }])
    .describe('Which media types are validated, how, and what to do when they are invalid. Media types the operation declares but no entry lists are only checked for size.'),
  ...errorsFields,
});
type Config = z.output<typeof Config>;
type Entry = z.output<typeof ContentEntry>;

interface Media {
  /** the document's content key */
  key: string;
  entry: Entry | undefined;
  validator: ValidateFunction | undefined;
  /** a pointer to a schema exists (validator compiled lazily only for entries that need it) */
}
interface CompiledOp {
  bodyRequired: boolean;
  keys: string[];
  media: Map<string, Media>;
}
/** outbound: status key (`200`, `2XX`, `default`) → media */
interface CompiledResponses { byStatus: Map<string, CompiledOp> }

export const validateContent = definePolicy({
  name: 'validate-content',
  sections: ['inbound', 'outbound'],
  capabilities: { phase: 'pipeline', requires: ['operation', 'openapi'] },
  description:
    'Validates the body of requests (inbound) or responses (outbound) against the operation\'s OpenAPI document: ' +
    'its Content-Type must be one the operation declares, its size at most `max-size` (counted while it streams), and, for the media types ' +
    'listed in `content`, it must parse (JSON with duplicate keys, excess depth and invalid UTF-8 refused) and match the schema. ' +
    'Gzip, deflate and br bodies are decompressed for validation into at most `max-size` bytes. Inbound `prevent` answers 400 ' +
    '(413 for size, 415 for content type or encoding) with an `errors` list; outbound `prevent` answers 502 without the backend\'s body.',
  example: `validate-content:
  unspecified-content-type-action: prevent
  max-size: 100kb
  size-exceeded-action: prevent
  errors-variable-name: body-errors
  content:
    - { type: application/json, validate-as: json, action: prevent }
    - { type: application/x-www-form-urlencoded, validate-as: form, action: detect }`,
  schema: Config,
  create(config, ctx) {
    const cap = ctx.gateway.maxBodyBuffer ?? DEFAULT_BUFFER_CAP;
    if (config['max-size'] > cap) {
      throw new ConfigError(`max-size ${config['max-size']} bytes is above the gateway's body buffer cap (${cap} bytes): every request being validated may hold max-size bytes in memory`, ['max-size']);
    }
    const { source, ids } = operationsInScope(ctx, 'validate-content');
    const entries = config.content.map((e) => ({ e, match: globMatcher(e.type) }));
    const entryFor = (mt: string) => entries.find((x) => x.match(mt))?.e;
    const reporter = new Reporter(ctx, 'validate-content', config['errors-variable-name'], config['errors-detail']);
    const outbound = ctx.section === 'outbound';
    const direction = outbound ? 'response' : 'request';

    const compileContent = (contentPtr: string): Map<string, Media> => {
      const media = new Map<string, Media>();
      const { node, pointer } = resolveRef(source.bundled, getPointer(source.bundled, contentPtr), contentPtr);
      if (node === null || typeof node !== 'object') return media;
      for (const key of Object.keys(node)) {
        const mt = key.toLowerCase().split(';')[0]!.trim();
        const entry = entryFor(mt);
        let validator: ValidateFunction | undefined;
        const mtObj = (node as Record<string, { schema?: unknown }>)[key];
        if (entry !== undefined && entry.action !== 'ignore' && entry['validate-as'] !== 'xml-wellformed' && mtObj?.schema !== undefined) {
          const additional: AdditionalProperties = entry['allow-additional-properties'] === undefined ? 'keep' : entry['allow-additional-properties'] ? 'allow' : 'forbid';
          validator = compileAt(source, { direction, additional, coerce: entry['validate-as'] === 'form' }, `${pointer}/${escapePointer(key)}/schema`);
        }
        media.set(key, { key, entry, validator });
      }
      return media;
    };

    const opPointer = (id: string) => {
      const op = source.operations.get(id)!;
      const itemPtr = `/paths/${escapePointer(op.template)}`;
      const item = resolveRef(source.bundled, getPointer(source.bundled, itemPtr), itemPtr);
      return `${item.pointer}/${op.method.toLowerCase()}`;
    };

    const limits: Limits = { maxSize: config['max-size'], depth: config['json-max-depth'], sizeAction: config['size-exceeded-action'], unspecified: config['unspecified-content-type-action'] };

    if (!outbound) {
      const ops = new Map<string, CompiledOp>();
      for (const id of ids) {
        const ptr = opPointer(id);
        const rb = resolveRef(source.bundled, getPointer(source.bundled, `${ptr}/requestBody`), `${ptr}/requestBody`);
        const media = rb.node ? compileContent(`${rb.pointer}/content`) : new Map<string, Media>();
        ops.set(id, { bodyRequired: (rb.node as { required?: boolean } | undefined)?.required === true, keys: [...media.keys()], media });
      }
      return inboundHandler(ops, limits, reporter);
    }
    const ops = new Map<string, CompiledResponses>();
    for (const id of ids) {
      const ptr = opPointer(id);
      const responses = getPointer(source.bundled, `${ptr}/responses`) as Record<string, unknown> | undefined;
      const byStatus = new Map<string, CompiledOp>();
      for (const status of Object.keys(responses ?? {})) {
        const r = resolveRef(source.bundled, responses![status], `${ptr}/responses/${escapePointer(status)}`);
        const media = r.node ? compileContent(`${r.pointer}/content`) : new Map<string, Media>();
        byStatus.set(status.toUpperCase(), { bodyRequired: false, keys: [...media.keys()], media });
      }
      ops.set(id, { byStatus });
    }
    return outboundHandler(ops, limits, reporter, source);
  },
});

interface Limits { maxSize: number; depth: number; sizeAction: Action; unspecified: Action }

function declaredLength(v: string | string[] | undefined): number {
  if (v === undefined || Array.isArray(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** Parse and validate a buffered body. Returns violations (empty: valid). */
async function checkBody(body: Buffer, encoding: string | string[] | undefined, media: Media, limits: Limits, where: 'body'): Promise<Violation[] | 'unsupported-encoding' | 'over'> {
  const entry = media.entry!;
  const action = entry.action;
  let plain = body;
  if (encoding !== undefined) {
    const enc = Array.isArray(encoding) ? encoding.join(',') : encoding;
    if (enc.includes(',')) return 'unsupported-encoding';
    const d = await decodeContent(enc, body, limits.maxSize);
    if (d.kind === 'unsupported') return 'unsupported-encoding';
    if (d.kind === 'over') return 'over';
    if (d.kind === 'error') return [{ in: where, name: '', path: '', rule: 'encoding', message: d.message, action }];
    plain = d.body;
  }
  if (entry['validate-as'] === 'xml-wellformed') {
    const r = checkXml(plain, limits.depth);
    return r.ok ? [] : [{ in: where, name: '', path: '', rule: r.rule, message: r.message, action }];
  }
  let value: unknown;
  if (entry['validate-as'] === 'form') {
    const fields = parseQuery(plain.toString('utf8'));
    if (fields === undefined) return [{ in: where, name: '', path: '', rule: 'encoding', message: 'the form has broken percent-encoding', action }];
    const o: Record<string, unknown> = Object.create(null);
    for (const [k, v] of fields) o[k] = v.length === 1 ? v[0] : v;
    value = o;
  } else {
    const r = parseJson(plain, limits.depth);
    if (!r.ok) return [{ in: where, name: r.path === '' ? '' : r.path.slice(r.path.lastIndexOf('/') + 1), path: r.path, rule: r.rule, message: r.message, action }];
    value = r.value;
  }
  const v = media.validator;
  if (v === undefined || v(value)) return [];
  return fromAjv(v.errors, where, MAX_ERRORS).map((e) => ({ ...e, action }));
}

function inboundHandler(ops: Map<string, CompiledOp>, limits: Limits, reporter: Reporter): Handler {
  const refuseSize = (): Reply => problem('body-too-large', `The request body is larger than ${limits.maxSize} bytes.`, { headers: { connection: 'close' } });
  return async (ex) => {
    const op = ex.operation === undefined ? undefined : ops.get(ex.operation.id);
    if (op === undefined) return undefined;
    const headers = ex.req.headers;
    if (ex.body === undefined) {
      if (!op.bodyRequired) return undefined;
      const entry = op.keys.map((k) => op.media.get(k)!.entry).find((e) => e !== undefined);
      const v: Violation[] = [{ in: 'body', name: '', path: '', rule: 'required', message: 'a request body is required', action: entry?.action ?? limits.unspecified }];
      return reporter.record(ex, v) ? reporter.inbound(v, 'request-body-invalid', 'The request body is missing.') : undefined;
    }
    const mt = mediaType(headers['content-type']);
    const key = matchContent(op.keys, mt);
    if (key === undefined) {
      const v: Violation[] = [{
        in: 'header', name: 'content-type', path: '', rule: 'unspecified',
        message: mt === '' ? 'a body needs a Content-Type' : `"${mt}" is not accepted here${op.keys.length ? `; use ${op.keys.join(', ')}` : ': the operation takes no body'}`,
        action: limits.unspecified,
      }];
      if (reporter.record(ex, v)) return reporter.inbound(v, 'content-type-not-allowed', mt === '' ? 'The request has a body but no Content-Type.' : `Content-Type ${mt} is not allowed for this operation.`);
    }
    const media = key === undefined ? undefined : op.media.get(key);
    const validate = media?.entry !== undefined && media.entry.action !== 'ignore';
    const length = declaredLength(headers['content-length']);
    if (length > limits.maxSize) {
      const v: Violation[] = [{ in: 'body', name: '', path: '', rule: 'max-size', message: `is larger than ${limits.maxSize} bytes`, action: limits.sizeAction }];
      if (reporter.record(ex, v)) return refuseSize();
      return undefined; // detect/ignore: forwarded as it streams, unvalidated
    }
    const body = ex.body;
    if (body === undefined) return undefined;
    if (!validate) {
      // not buffered: forwarded as it arrives, and cut once it passes max-size (413)
      if (length < 0 && limits.sizeAction === 'prevent') body.restrict(limits.maxSize, `The request body is larger than ${limits.maxSize} bytes.`);
      return undefined;
    }
    const read = await readLimited(body, limits.maxSize, ex.signal);
    if (read.kind === 'error') {
      const f = body.failure;
      return f !== undefined && f.status !== 499 ? problem(f.code, f.detail) : problem('request-body-incomplete', 'The request body ended before it was complete.');
    }
    if (read.kind === 'over') {
      const v: Violation[] = [{ in: 'body', name: '', path: '', rule: 'max-size', message: `is larger than ${limits.maxSize} bytes`, action: limits.sizeAction }];
      if (reporter.record(ex, v)) return refuseSize();
      // detect/ignore: what was read, then the rest, is forwarded
      ex.requestBody = rejoin(read.chunks, body);
      return undefined;
    }
    ex.requestBody = read.body;
    const result = await checkBody(read.body, headers['content-encoding'], media!, limits, 'body');
    if (result === 'unsupported-encoding') {
      const v: Violation[] = [{ in: 'header', name: 'content-encoding', path: '', rule: 'unsupported', message: 'use gzip, deflate, br or none', action: media!.entry!.action }];
      return reporter.record(ex, v) ? reporter.inbound(v, 'content-encoding-not-supported', 'The Content-Encoding of the request body is not supported.') : undefined;
    }
    if (result === 'over') {
      const v: Violation[] = [{ in: 'body', name: '', path: '', rule: 'max-size', message: `decompresses to more than ${limits.maxSize} bytes`, action: limits.sizeAction }];
      return reporter.record(ex, v) ? refuseSize() : undefined;
    }
    if (result.length === 0) return undefined;
    return reporter.record(ex, result) ? reporter.inbound(result, 'request-body-invalid', 'The request body does not match the API description.') : undefined;
  };
}

function statusEntry(byStatus: Map<string, CompiledOp>, status: number): CompiledOp | undefined {
  return byStatus.get(String(status)) ?? byStatus.get(`${Math.floor(status / 100)}XX`) ?? byStatus.get('DEFAULT');
}

function outboundHandler(ops: Map<string, CompiledResponses>, limits: Limits, reporter: Reporter, _source: OpenApiSource): Handler {
  return async (ex) => {
    const res = ex.response;
    const op = ex.operation === undefined ? undefined : ops.get(ex.operation.id);
    if (res === undefined || op === undefined) return undefined;
    const declared = statusEntry(op.byStatus, res.status);
    if (declared === undefined) return undefined; // undeclared status: validate-status-code's business
    const noBody = res.body === null || ex.method === 'HEAD' || res.status === 204 || res.status === 304 || res.headers['content-length'] === '0';
    if (noBody) return undefined;
    const mt = mediaType(res.headers['content-type']);
    const key = matchContent(declared.keys, mt);
    if (key === undefined) {
      const v: Violation[] = [{ in: 'header', name: 'content-type', path: '', rule: 'unspecified', message: `response content type "${mt}" is not declared for status ${res.status}`, action: limits.unspecified }];
      if (reporter.record(ex, v)) { discard(res.body); return reporter.outbound(ex, v); }
    }
    const media = key === undefined ? undefined : declared.media.get(key);
    const validate = media?.entry !== undefined && media.entry.action !== 'ignore';
    const sizeViolation = (): Violation[] => [{ in: 'body', name: '', path: '', rule: 'max-size', message: `response is larger than ${limits.maxSize} bytes`, action: limits.sizeAction === 'ignore' ? 'ignore' : limits.sizeAction }];
    const length = declaredLength(res.headers['content-length'] as string | string[] | undefined);
    if (length > limits.maxSize) {
      const v = sizeViolation();
      if (reporter.record(ex, v)) { discard(res.body); return reporter.outbound(ex, v); }
      return undefined;
    }
    if (!validate) return undefined;
    let body: Buffer;
    if (Buffer.isBuffer(res.body) || typeof res.body === 'string') {
      body = Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body);
      if (body.length > limits.maxSize) {
        const v = sizeViolation();
        return reporter.record(ex, v) ? reporter.outbound(ex, v) : undefined;
      }
    } else {
      const stream = res.body as Readable;
      const read = await readLimited(stream, limits.maxSize, ex.signal);
      if (read.kind === 'error') return problem('backend-response-incomplete', 'The backend response ended before it was complete.');
      if (read.kind === 'over') {
        const v = sizeViolation();
        if (reporter.record(ex, v)) { discard(stream); return reporter.outbound(ex, v); }
        res.body = rejoin(read.chunks, stream);
        return undefined;
      }
      body = read.body;
      res.body = body;
    }
    const result = await checkBody(body, res.headers['content-encoding'], media!, limits, 'body');
    if (result === 'unsupported-encoding' || result === 'over') {
      const v: Violation[] = [{ in: 'body', name: '', path: '', rule: result === 'over' ? 'max-size' : 'encoding', message: result === 'over' ? `decompresses to more than ${limits.maxSize} bytes` : 'content encoding not supported for validation', action: result === 'over' ? limits.sizeAction : media!.entry!.action }];
      return reporter.record(ex, v) ? reporter.outbound(ex, v) : undefined;
    }
    if (result.length === 0) return undefined;
    return reporter.record(ex, result) ? reporter.outbound(ex, result) : undefined;
  };
}
