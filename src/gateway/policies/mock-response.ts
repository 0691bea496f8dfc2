import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { constantReply } from './return-response.js';
import { responseStatus } from './kit/fields.js';

const schema = z.strictObject({
  status: responseStatus(200, 'status code to answer'),
  'content-type': z.string().default('application/json').describe('media type of the example to use'),
  body: z.unknown().optional().describe('body when the OpenAPI document has no example (data is sent as JSON)'),
});

interface MediaType { example?: unknown; examples?: Record<string, { value?: unknown }>; schema?: { example?: unknown; examples?: unknown[] } }

/** The example of an OpenAPI response, if the document has one. */
function openApiExample(op: unknown, status: number, contentType: string): unknown {
  const responses = (op as { operation?: { responses?: Record<string, { content?: Record<string, MediaType> }> } } | undefined)?.operation?.responses;
  const r = responses?.[String(status)] ?? responses?.[`${String(status)[0]}XX`] ?? responses?.default;
  const media = r?.content?.[contentType];
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values(media.examples)[0];
  if (first?.value !== undefined) return first.value;
  if (media.schema?.example !== undefined) return media.schema.example;
  if (Array.isArray(media.schema?.examples) && media.schema.examples.length) return media.schema.examples[0];
  return undefined;
}

export const mockResponse = definePolicy({
  name: 'mock-response',
  sections: ['inbound', 'backend', 'outbound', 'on-error'],
  capabilities: { phase: 'pipeline', requires: ['operation'] },
  description: "Answers with a sample response: the example of the operation's OpenAPI response for that status and media type when there is one, else the given body. The backend is not called.",
  example: `- mock-response: { status: 200, content-type: application/json }`,
  schema,
  create(config, ctx) {
    const example = openApiExample(ctx.operation?.openapi, config.status, config['content-type']);
    const body = example ?? config.body;
    const text = typeof body === 'string' && !config['content-type'].includes('json');
    const reply = constantReply(config.status, undefined, body === undefined ? undefined : text ? body : JSON.parse(JSON.stringify(body)), config['content-type']);
    return () => ({ ...reply, headers: { ...reply.headers } });
  },
});
