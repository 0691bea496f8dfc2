import { z } from 'zod';
import { duration, size } from '../config/units.js';
import { POLICY_BY_NAME } from './policies/index.js';
import { SECTIONS, type Section } from './policy.js';
import type { BackendConfig } from '../upstream/schema.js';
import { apiSubscriptionSchema } from './subscriptions/schema.js';
import type { ProductConfig } from './subscriptions/products.js';
import type { XmlBlock } from './apim/scope.js';
import type { ApimConfig } from './apim/env.js';

/**
 * The gateway's part of gatehouse.yaml: APIs, operations, policy lists (each entry validated
 * against the schema of the policy it names) and the settings of the \`gateway\` section that the
 * request pipeline reads. src/app/schema.ts composes the whole file from the fragments of each
 * part (edge, gateway, upstream, identity). Every object is strict: an unknown key is an error,
 * so a typo never silently disables a security policy.
 */

/** One entry of a policy list: `base`, `{ base: skip }`, or `{ <policy-name>: <config> }`. */
export type PolicyEntry =
  | { kind: 'base' }
  | { kind: 'skip-base' }
  | { kind: 'policy'; name: string; config: unknown }
  /** policies of an XML policy document (`policy-xml`), compiled together (gateway/apim) */
  | { kind: 'xml'; block: XmlBlock };

function policyEntry(section: Section) {
  return z.unknown().transform((v, ctx): PolicyEntry => {
    if (v === 'base') return { kind: 'base' };
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      ctx.addIssue({ code: 'custom', message: `a policy entry is \`base\` or a map with one policy name, e.g. \`- set-header: {...}\`` });
      return z.NEVER;
    }
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a policy entry names exactly one policy (found ${keys.length === 0 ? 'none' : keys.join(', ')}); start a new list item for each policy` });
      return z.NEVER;
    }
    const name = keys[0]!;
    const raw = (v as Record<string, unknown>)[name];
    if (name === 'base') {
      if (raw === 'skip') return { kind: 'skip-base' };
      ctx.addIssue({ code: 'custom', path: [name], message: '`base` takes no config; write `- base`, or `- base: skip` to leave the outer scope out on purpose' });
      return z.NEVER;
    }
    const def = POLICY_BY_NAME.get(name);
    if (!def) {
      const known = [...POLICY_BY_NAME.keys()].sort().join(', ');
      ctx.addIssue({ code: 'custom', path: [name], message: `unknown policy "${name}"; known policies: ${known}` });
      return z.NEVER;
    }
    if (!def.sections.includes(section)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `${name} cannot be used in ${section}; it belongs in ${def.sections.join(' or ')}` });
      return z.NEVER;
    }
    const parsed = def.schema.safeParse(raw ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ ...issue, path: [name, ...issue.path] } as z.core.$ZodRawIssue);
      }
      return z.NEVER;
    }
    return { kind: 'policy', name, config: parsed.data };
  });
}

export const policySections = z
  .strictObject(
    Object.fromEntries(SECTIONS.map((s) => [s, z.array(policyEntry(s)).optional()])) as Record<Section, z.ZodOptional<z.ZodArray<ReturnType<typeof policyEntry>>>>,
  )
  .describe('policies by section: inbound, backend, outbound, on-error');
export type PolicySections = Partial<Record<Section, PolicyEntry[]>>;

/** `policy-xml`: an API-management policy document instead of `policies` in this scope. */
export const policyXml = z.string().min(1).optional()
  .describe("an API-management policy document (`<policies>` XML, expressions included) instead of `policies` in this scope; relative to the config file. `<base/>` places the outer scope's policies; a section without it inherits nothing (see docs/apim-policies.md)");

export const operationSchema = z.strictObject({
  id: z.string().min(1).describe('operation id (for OpenAPI operations: its operationId or `METHOD /template`)'),
  method: z.string().optional().describe('HTTP method (required unless the id names an OpenAPI operation)'),
  path: z.string().optional().describe('path template relative to the API path, e.g. /{id}'),
  policies: policySections.optional(),
  'policy-xml': policyXml,
});

/** Response compression of an API (applied when the response is sent, after the outbound policies). */
export const compressionSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('compress responses of this API'),
  encodings: z.array(z.enum(['br', 'gzip'])).min(1).default(['br', 'gzip']).describe("the codings offered, in the gateway's order of preference (the client's q-values decide first)"),
  types: z.array(z.string().regex(/^(\*\/\*\+[A-Za-z0-9.+-]+|[A-Za-z0-9.+-]+\/(\*|[A-Za-z0-9.+-]+))$/, 'a media type (application/json), a family (text/*) or a suffix (*/*+json)')).min(1).optional()
    .describe('compressible media types: exact (`application/json`), a family (`text/*`) or a suffix (`*/*+json`). Default: text/*, JSON, JavaScript, XML, form data, WebAssembly, SVG, */*+json, */*+xml. `text/event-stream` is never compressed'),
  'min-size': size().default(1024).describe('a body whose Content-Length is smaller is sent as it is (a body of unknown length is compressed)'),
  'brotli-quality': z.number().int().min(0).max(11).default(4).describe('brotli quality 0-11 (4: fast enough to stream, smaller than gzip 6)'),
  'gzip-level': z.number().int().min(1).max(9).default(6).describe('gzip level 1-9'),
}).describe('compress responses with br or gzip when the client accepts it (Accept-Encoding), the type is compressible, the backend did not encode the body and it does not say `Cache-Control: no-transform`');

export const apiSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').describe('unique API name (used in logs and metrics)'),
  path: z.string().regex(/^\/[^?#]*$/, 'must start with / and contain no ? or #').describe('public path prefix'),
  hosts: z.array(z.string().min(1)).optional().describe('host names this API answers (exact or *.example.com); default any'),
  backend: z.string().optional().describe('name of a backend in `backends` (optional when every request is answered by policies)'),
  public: z.boolean().default(false).describe('the API is meant to be called without authentication: `gatehouse audit` does not flag it for having no validate-jwt, validate-client-certificate or check-header'),
  openapi: z.string().optional().describe('OpenAPI 3.0/3.1 document (YAML or JSON) listing the operations'),
  operations: z.array(operationSchema).optional().describe('operations (and their policies); may add to or attach policies to OpenAPI operations'),
  policies: policySections.optional(),
  'policy-xml': policyXml,
  subscription: apiSubscriptionSchema.optional(),
  'allow-path-parameters': z.boolean().default(false).describe('allow `;` path parameters (refused by default)'),
  'max-body-size': size().optional().describe('request body limit for this API (default gateway.limits.max-body-size)'),
  compression: compressionSchema.optional(),
  'forward-identity-cookies': z.boolean().optional()
    .describe("forward the identity provider's cookies (`gh-idp-*`) to this API's backend. Default: only for the API whose path is the path of `identity.issuer` (when the file has an identity section); set it on the API that publishes an identity provider run elsewhere. Every other API never receives them"),
});
export type ApiConfig = z.output<typeof apiSchema>;

/** Fields of the \`gateway\` section that the request pipeline reads. */
export const gatewayCoreFields = {
  'trusted-proxies': z.array(z.string()).default([]).describe('addresses/CIDRs whose X-Forwarded-For is believed'),
  store: z
    .string()
    .regex(/^(memory(\?.*)?|redis:\/\/.+|rediss:\/\/.+|redis-cluster:\/\/.+)$/, 'memory[?max-keys=N], redis://host:port or redis-cluster://host:port,host:port')
    .default('memory')
    .describe('counter store for rate limits and quotas. A Redis one also carries subscription changes to every gateway process (pub/sub on `<prefix>subscriptions`)'),
  cache: z
    .strictObject({
      external: z.string().regex(/^rediss?:\/\/.+$/, 'redis://host:port[/db] or rediss://host:port').optional()
        .describe('the shared cache that cache-lookup `caching-type: external` (and `prefer-external`, the default) uses: `redis://host:port[/db]?prefix=gatehouse:cache:&timeout=100ms`. A Redis that fails is a miss: requests go to the backend'),
      'max-size': size({ min: 1024 }).default(64 * 1024 * 1024).describe('the in-memory cache (`caching-type: internal`, and the default without `external`): total bytes kept, least recently used dropped first (per gateway process)'),
      'max-entry-size': size({ min: 1 }).default(1024 * 1024).describe('a response whose body is larger is not cached (it is still streamed to the client)'),
    })
    .prefault({})
    .describe('the response cache of the cache-lookup and cache-store policies'),
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1).describe('worker processes (`auto` = one per core)'),
  'headers-with-underscores': z.enum(['drop', 'reject', 'allow']).default('drop')
    .describe('request headers whose name has an underscore (X_User_Id): drop them before forwarding (CGI-style backends would fold them into the names the gateway sets), reject the request with 400, or forward them'),
};

/** Fields of \`gateway.limits\` that the request pipeline reads. */
export const coreLimitFields = {
  'max-url-length': size({ min: 64 }).default(8 * 1024).describe('request target length (414 above)'),
  'max-body-size': size().default(10 * 1024 * 1024).describe('default request body limit (413 above)'),
  'max-body-buffer': size().default(1024 * 1024).describe('the most a policy may buffer of one body to validate it (validate-content max-size cannot exceed it)'),
  'min-body-rate': size().default(240).describe('bytes per second a client must send while its request body is being read (408 below it); 0 disables'),
  'body-rate-window': duration({ min: 1 }).default(10).describe('the window over which `min-body-rate` is measured (time the gateway waits on the backend does not count)'),
};

/** The pipeline's view of the \`gateway\` section (its defaults serve a file without one). */
export const gatewayCoreSchema = z.strictObject({ ...gatewayCoreFields, limits: z.strictObject(coreLimitFields).prefault({}) });
export type GatewayCore = z.output<typeof gatewayCoreSchema>;

/** What the gateway reads of a config file; \`G\` is the \`gateway\` section as its caller knows it. */
export interface GatewayFile<G extends GatewayCore = GatewayCore> {
  gateway?: G;
  backends: Record<string, BackendConfig>;
  policies?: PolicySections;
  'policy-xml'?: string;
  /** API-management policy documents: named values, fragments, deployment */
  apim?: ApimConfig;
  apis: ApiConfig[];
  /** products: groups of APIs with their own policy scope, subscribed to with keys */
  products?: ProductConfig[];
  /** an identity provider in the same file: its issuer path publishes its cookies (see forward-identity-cookies) */
  identity?: { issuer: string };
}
