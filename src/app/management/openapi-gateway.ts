import { errors, json, pageOf, problem, ref, strings, time } from './openapi-kit.js';

/** The running gateway's part of the management API's OpenAPI document: APIs, backends, recent errors. */

const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const sections = { type: 'object', description: 'policy sections (inbound, backend, outbound, on-error) as configured, secrets redacted' };
const chains = { type: 'object', description: 'the policy names of each section, in the order they run', additionalProperties: strings };

export const GATEWAY_PATHS = {
  '/apis': {
    get: { operationId: 'listApis', summary: 'The APIs of the running configuration', responses: { 200: { description: 'every API', ...json(pageOf(ref('ApiSummary'))) }, ...errors } },
  },
  '/apis/{name}': {
    get: {
      operationId: 'getApi',
      summary: 'One API with its effective configuration (read-only: edit the file; secrets redacted)',
      parameters: [nameParam],
      responses: { 200: { description: 'the API', ...json(ref('Api')) }, 404: problem('No such API'), ...errors },
    },
  },
  '/backends': {
    get: {
      operationId: 'listBackends',
      summary: "Each backend's targets: health, ejection, requests in flight and waiting (as /backends of the admin listener; by worker with gateway.workers > 1)",
      responses: { 200: { description: 'backends by name', ...json({ type: 'object', additionalProperties: { type: 'object' } }) }, ...errors },
    },
  },
  '/errors': {
    get: {
      operationId: 'listErrors',
      summary: 'The recent 5xx and problem answers of the gateway, newest first (at most 200 per process; never a path, header or body)',
      responses: { 200: { description: 'the recent errors', ...json(pageOf(ref('RecentError'))) }, ...errors },
    },
  },
} as const;

const apiSummary = {
  name: { type: 'string' }, hosts: strings, path: { type: 'string' }, backend: { type: ['string', 'null'] },
  products: { ...strings, description: 'the products the API is in' },
  operations: { type: 'integer', description: 'how many operations it has' },
};

export const GATEWAY_SCHEMAS = {
  ApiSummary: { type: 'object', required: ['name', 'hosts', 'path', 'backend', 'products', 'operations'], additionalProperties: false, properties: apiSummary },
  Api: {
    type: 'object', required: ['name', 'hosts', 'path', 'backend', 'products', 'operations', 'policies', 'config'], additionalProperties: false,
    properties: {
      ...apiSummary,
      subscription: { type: 'object', description: 'how the API takes subscription keys' },
      policies: {
        type: 'object', required: ['global', 'products', 'api', 'operations'], additionalProperties: false,
        description: 'the policies of each scope as configured; they compose global → product → API → operation, `base` marking where the outer scope runs',
        properties: { global: sections, products: { type: 'object', additionalProperties: sections }, api: sections, operations: { type: 'object', additionalProperties: sections } },
      },
      effective: {
        type: 'object', additionalProperties: false, description: 'what runs after composition',
        properties: {
          beforeOperation: strings, policies: chains,
          operations: { type: 'array', items: { type: 'object', required: ['id', 'method', 'path', 'policies'], properties: { id: { type: 'string' }, method: { type: 'string' }, path: { type: 'string' }, policies: chains } } },
        },
      },
      config: { type: 'object', description: 'the API section of the effective configuration (defaults filled in, secrets redacted)' },
    },
  },
  RecentError: {
    type: 'object', required: ['at', 'requestId', 'status'], additionalProperties: false,
    properties: { at: time, requestId: { type: 'string' }, api: { type: 'string' }, operation: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string', description: 'the problem code (docs/problems.md)' } },
  },
} as const;
