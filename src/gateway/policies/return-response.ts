import { z } from 'zod';
import { definePolicy } from '../policy.js';
import type { Reply } from '../reply.js';
import { HeaderName, responseStatus } from './kit/fields.js';

const headerMap = z.record(HeaderName, z.union([z.string(), z.array(z.string())]));

const schema = z.strictObject({
  status: responseStatus(200, 'status code'),
  headers: headerMap.optional().describe('response headers'),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional()
    .describe('body: a string as is, or YAML data sent as JSON'),
  'content-type': z.string().optional().describe('Content-Type (default application/json for data, text/plain for a string)'),
});

/** Build a constant Reply from `status`, `headers`, `body`, `content-type` at load. */
export function constantReply(status: number, headers: Record<string, string | string[]> | undefined, body: unknown, contentType: string | undefined): Reply {
  const h: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) h[k.toLowerCase()] = v;
  let b: Buffer | undefined;
  if (body !== undefined) {
    const isText = typeof body === 'string';
    b = Buffer.from(isText ? (body as string) : JSON.stringify(body));
    h['content-type'] ??= contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json');
  } else if (contentType) h['content-type'] = contentType;
  return { status, headers: h, body: b };
}

export const returnResponse = definePolicy({
  name: 'return-response',
  sections: ['inbound', 'backend', 'outbound', 'on-error'],
  capabilities: { phase: 'pipeline' },
  description: 'Ends the request with the given response; the backend is not called (in outbound and on-error it replaces the response).',
  example: `- return-response: { status: 403, body: { message: "This API is closed on Sundays" } }`,
  schema,
  create(config) {
    const reply = constantReply(config.status, config.headers, config.body, config['content-type']);
    // each request gets its own headers object: later stages add x-request-id and CORS headers
    return () => ({ ...reply, headers: { ...reply.headers } });
  },
});
