import { z } from 'zod';
import { apiSchema, coreLimitFields, gatewayCoreFields, policySections, policyXml } from '../gateway/schema.js';
import { edgeFields, edgeLimitFields, listenAddress } from '../edge/schema.js';
import { backendSchema } from '../upstream/schema.js';
import { identitySchema } from '../identity/schema.js';
import { observabilitySchema } from '../observability/schema.js';
import { apimSchema } from '../gateway/apim/env.js';
import { productSchema } from '../gateway/subscriptions/products.js';
import { subscriptionsSchema } from '../identity/subscriptions/schema.js';
import { managementSchema } from './management/schema.js';
import { consoleSchema, portalSchema } from './portal/schema.js';

/**
 * The schema of gatehouse.yaml, composed from the fragments each part owns: the edge (listeners,
 * connection limits), the gateway (APIs, policies, pipeline settings), upstream (backends),
 * identity, and what the process itself runs (admin listener, config watching). Keys keep the
 * order of the configuration reference.
 */

const own = {
  admin: z
    .strictObject({
      listen: listenAddress.default(9090).describe('admin port; binds 127.0.0.1 unless a host is given'),
    })
    .optional()
    .describe('admin listener: /healthz /readyz /metrics, never on the public port'),
  'watch-config': z.boolean().default(true).describe('reload when the config file changes'),
};

const fields: Record<string, z.ZodType> = { ...gatewayCoreFields, ...edgeFields, ...own };
const limitFields: Record<string, z.ZodType> = { ...coreLimitFields, ...edgeLimitFields };
const LIMITS = ['max-header-size', 'max-url-length', 'max-body-size', 'max-body-buffer', 'header-timeout', 'request-timeout', 'min-body-rate', 'body-rate-window', 'keep-alive-timeout', 'max-connections', 'max-requests-per-socket'] as const;
const GATEWAY = ['listen', 'admin', 'trusted-proxies', 'store', 'cache', 'workers', 'log', 'limits', 'hsts', 'headers-with-underscores', 'shutdown-timeout', 'watch-config'] as const;

const limits = z.strictObject(Object.fromEntries(LIMITS.map((k) => [k, limitFields[k]!])) as { [K in (typeof LIMITS)[number]]: (typeof coreLimitFields & typeof edgeLimitFields)[K] })
  .prefault({})
  .describe('resource limits');

type Fields = typeof gatewayCoreFields & typeof edgeFields & typeof own & { limits: typeof limits };
export const gatewaySchema = z.strictObject(
  Object.fromEntries(GATEWAY.map((k) => [k, k === 'limits' ? limits : fields[k]!])) as { [K in (typeof GATEWAY)[number]]: Fields[K] },
);
export type GatewayConfig = z.output<typeof gatewaySchema>;

export const configSchema = z.strictObject({
  gateway: gatewaySchema.optional(),
  backends: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), backendSchema).default({}).describe('named backends'),
  policies: policySections.optional().describe('global scope policies'),
  'policy-xml': policyXml,
  apim: apimSchema.optional(),
  apis: z.array(apiSchema).default([]),
  products: z.array(productSchema).optional().describe('products: groups of APIs that callers subscribe to (scope order global → product → API → operation)'),
  subscriptions: subscriptionsSchema.optional(),
  management: managementSchema.optional(),
  portal: portalSchema.optional(),
  console: consoleSchema.optional(),
  identity: identitySchema.optional(),
  observability: observabilitySchema.optional(),
});

export type Config = z.output<typeof configSchema>;
