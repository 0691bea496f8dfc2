import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { HeaderName } from './kit/fields.js';
import { ConfigError } from '../../config/errors.js';
import type { Exchange } from '../exchange.js';
import type { Headers } from '../reply.js';

/** Headers the gateway owns; changing them would break framing or forwarding. */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'connection', 'host', 'upgrade', 'te', 'trailer', 'keep-alive']);

/** what a header value may carry as configured (rendered placeholders are made safe instead) */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const VALUE_MSG = 'a header value cannot contain control characters or characters above U+00FF';
/**
 * A value rendered from request data or claims, as one safe header value: visible ASCII passes;
 * anything else (control and non-ASCII characters, and `,`, which would split it into several
 * values for the backend) makes the value percent-encoded as UTF-8.
 */
const PLAIN = /^[\t\x20-\x2b\x2d-\x7e]*$/;
const headerSafe = (v: string): string => (PLAIN.test(v) ? v : encodeURIComponent(Buffer.from(v).toString()) /* lone surrogates become U+FFFD instead of throwing */);

const schema = z.strictObject({
  name: HeaderName.describe('header name'),
  'exists-action': z.enum(['override', 'skip', 'append', 'delete']).default('override')
    .describe('override: replace; skip: set only when absent; append: add a value; delete: remove'),
  value: z.union([z.string().regex(VALUE, VALUE_MSG), z.array(z.string().regex(VALUE, VALUE_MSG)).min(1)]).optional()
    .describe('value(s); may use key templates such as {jwt.sub} or {request.header.X-Name} (on the request, `override` replaces what the client sent, and removes it when the placeholders resolve to nothing; a rendered value with `,` or non-ASCII characters is percent-encoded into one value)'),
}).refine((c) => c['exists-action'] === 'delete' || c.value !== undefined, { message: 'value is required unless exists-action is delete', path: ['value'] });

export const setHeader = definePolicy({
  name: 'set-header',
  sections: ['inbound', 'backend', 'outbound', 'on-error'],
  capabilities: { phase: 'pipeline' },
  description: 'Sets, appends or deletes a header: on the request to the backend (inbound, backend) or on the response to the client (outbound, on-error).',
  example: `- set-header: { name: X-Api-Version, value: "2" }\n- set-header: { name: X-User, value: "{jwt.sub}" }\n- set-header: { name: Server, exists-action: delete }`,
  schema,
  create(config, ctx) {
    const name = config.name.toLowerCase();
    if (PROTECTED.has(name)) throw new ConfigError(`${config.name} is managed by the gateway and cannot be set`, ['name']);
    const action = config['exists-action'];
    const values = config.value === undefined ? [] : Array.isArray(config.value) ? config.value : [config.value];
    const templates = values.map((v, i) => ctx.compileTemplate(v, Array.isArray(config.value) ? ['value', i] : ['value'], headerSafe));
    const constant = templates.every((t) => t.constant) ? templates.map((t) => t.render(undefined as never)!) : undefined;
    const onResponse = ctx.section === 'outbound' || ctx.section === 'on-error';
    const target = onResponse
      ? (ex: Exchange): Headers | undefined => ex.response?.headers
      : (ex: Exchange): Headers => ex.upstreamHeaders;
    const render = (ex: Exchange): string[] | undefined => {
      if (constant) return constant;
      const out: string[] = [];
      for (const t of templates) { const v = t.render(ex); if (v !== undefined) out.push(v); }
      return out.length ? out : undefined;
    };
    // On the request, `override` owns the header: what the client sent never reaches the backend,
    // even when the value resolves to nothing (a token without the claim, say).
    const owns = !onResponse && action === 'override';
    return (ex) => {
      const h = target(ex);
      if (!h) return undefined;
      if (action === 'delete') { delete h[name]; return undefined; }
      const current = h[name];
      if (action === 'skip' && current !== undefined) return undefined;
      const v = render(ex);
      if (v === undefined) {
        if (owns) delete h[name];
        return undefined;
      }
      if (action === 'append' && current !== undefined) h[name] = [...(Array.isArray(current) ? current : [current]), ...v];
      else h[name] = v.length === 1 ? v[0]! : v;
      return undefined;
    };
  },
});
