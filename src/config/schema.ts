import { z } from 'zod';
import { duration, size } from './units.js';
import { POLICY_BY_NAME } from '../gateway/policies/index.js';
import { SECTIONS, type Section } from '../gateway/policy.js';
import { identitySchema } from '../identity/schema.js';

/**
 * The schema of gatehouse.yaml. Every object is strict: an unknown key is an error, so a typo
 * never silently disables a security policy. Policy entries are validated against the schema of
 * the policy they name (see `policyList`).
 */

const port = z.number().int().min(0).max(65535);

const listenAddress = z.union([
  port,
  z.strictObject({
    port: port.describe('TCP port (0 picks a free one)'),
    host: z.string().optional().describe('address to bind'),
  }),
]);

const httpListener = z.union([
  port,
  z.strictObject({
    port: port.describe('TCP port (0 picks a free one)'),
    host: z.string().optional().describe('address to bind'),
    'redirect-to-https': z.boolean().default(false).describe('answer every request with 308 to the same URL on the https listener'),
  }),
]);

const certificateSchema = z.strictObject({
  cert: z.string().describe('PEM file: the certificate chain (leaf first)'),
  key: z.string().describe('PEM file: the private key'),
  passphrase: z.string().optional().describe('passphrase of the key (use ${ENV:NAME})'),
});

const httpsListener = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional().describe('listener name in logs (default https, https-2, ...)'),
  port: port.describe('TCP port (0 picks a free one)'),
  host: z.string().optional().describe('address to bind (default gateway.listen.host)'),
  certificates: z.array(certificateSchema).min(1).describe('the first is the default; the others are chosen by SNI from their DNS names (exact and wildcard)'),
  'client-certificate': z.enum(['none', 'request', 'require']).default('none')
    .describe('ask clients for a certificate during the handshake (require: refuse the handshake without a trusted one); APIs decide with validate-client-certificate'),
  'client-ca': z.array(z.string()).default([]).describe('PEM files of the CAs client certificates are verified against'),
  crl: z.array(z.string()).default([]).describe('PEM/DER CRL files checked by validate-client-certificate on this listener'),
  http2: z.boolean().default(true).describe('offer HTTP/2 by ALPN (HTTP/1.1 is always available)'),
  'min-version': z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('lowest TLS version accepted'),
  ciphers: z.string().optional().describe("OpenSSL cipher list for TLS 1.2 (default: Node's modern defaults)"),
  'max-concurrent-streams': z.number().int().min(1).max(10000).default(100).describe('HTTP/2 streams per connection'),
  'max-premature-resets': z.number().int().min(1).default(100)
    .describe('HTTP/2 rapid-reset defence: a connection whose client cancelled this many streams before their response, and at least half of all its streams, gets GOAWAY (ENHANCE_YOUR_CALM) and is closed'),
});
export type HttpsListenerConfig = z.output<typeof httpsListener>;

/** One entry of a policy list: `base`, `{ base: skip }`, or `{ <policy-name>: <config> }`. */
export type PolicyEntry =
  | { kind: 'base' }
  | { kind: 'skip-base' }
  | { kind: 'policy'; name: string; config: unknown };

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

const policySections = z
  .strictObject(
    Object.fromEntries(SECTIONS.map((s) => [s, z.array(policyEntry(s)).optional()])) as Record<Section, z.ZodOptional<z.ZodArray<ReturnType<typeof policyEntry>>>>,
  )
  .describe('policies by section: inbound, backend, outbound, on-error');
export type PolicySections = Partial<Record<Section, PolicyEntry[]>>;

const backendSchema = z.strictObject({
  url: z
    .string()
    .refine((u) => { try { const p = new URL(u); return p.protocol === 'http:' || p.protocol === 'https:'; } catch { return false; } }, 'must be an http:// or https:// URL')
    .describe('base URL; the API path remainder is appended to its path'),
  timeout: duration({ min: 0.001 }).default(30).describe('time allowed for the backend response headers and between body chunks'),
  'connect-timeout': duration({ min: 0.001 }).default(5).describe('TCP/TLS connect timeout'),
  connections: z.number().int().min(1).default(128).describe('connections to the backend, and so the requests in flight to it at once'),
  'max-pending': z.number().int().min(0).default(1024).describe('requests that may wait for a free connection when all are busy (503 upstream-overloaded beyond)'),
  'queue-timeout': duration({ min: 0.001 }).default(10).describe('how long a request may wait for a free connection (503 upstream-overloaded after)'),
  'keep-alive-timeout': duration().default(4).describe('how long an idle backend connection is kept'),
  retry: z.boolean().default(true).describe('retry an idempotent body-less request once on a fresh connection when the connection failed before any byte was sent'),
  'preserve-host': z.boolean().default(false).describe("send the client's Host header instead of the backend's"),
  tls: z
    .strictObject({
      ca: z.union([z.string(), z.array(z.string())]).optional().describe('CA bundle file(s) to verify the backend'),
      servername: z.string().optional().describe('SNI name and name to verify'),
      cert: z.string().optional().describe('client certificate file presented to the backend'),
      key: z.string().optional().describe('key file of the client certificate'),
      passphrase: z.string().optional(),
      'insecure-skip-verify': z.boolean().default(false).describe('do not verify the backend certificate (logs a warning)'),
      'pin-sha256': z.array(z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 SHA-256 of the SubjectPublicKeyInfo')).optional()
        .describe('SPKI pins: the backend certificate chain must contain one of these public keys'),
    })
    .optional()
    .describe('TLS to an https:// backend'),
});
export type BackendConfig = z.output<typeof backendSchema>;

const operationSchema = z.strictObject({
  id: z.string().min(1).describe('operation id (for OpenAPI operations: its operationId or `METHOD /template`)'),
  method: z.string().optional().describe('HTTP method (required unless the id names an OpenAPI operation)'),
  path: z.string().optional().describe('path template relative to the API path, e.g. /{id}'),
  policies: policySections.optional(),
});

const apiSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').describe('unique API name (used in logs and metrics)'),
  path: z.string().regex(/^\/[^?#]*$/, 'must start with / and contain no ? or #').describe('public path prefix'),
  hosts: z.array(z.string().min(1)).optional().describe('host names this API answers (exact or *.example.com); default any'),
  backend: z.string().optional().describe('name of a backend in `backends` (optional when every request is answered by policies)'),
  openapi: z.string().optional().describe('OpenAPI 3.0/3.1 document (YAML or JSON) listing the operations'),
  operations: z.array(operationSchema).optional().describe('operations (and their policies); may add to or attach policies to OpenAPI operations'),
  policies: policySections.optional(),
  'allow-path-parameters': z.boolean().default(false).describe('allow `;` path parameters (refused by default)'),
  'max-body-size': size().optional().describe('request body limit for this API (default gateway.limits.max-body-size)'),
  'forward-identity-cookies': z.boolean().optional()
    .describe("forward the identity provider's cookies (`gh-idp-*`) to this API's backend. Default: only for the API whose path is the path of `identity.issuer` (when the file has an identity section); set it on the API that publishes an identity provider run elsewhere. Every other API never receives them"),
});
export type ApiConfig = z.output<typeof apiSchema>;

export const gatewaySchema = z.strictObject({
  listen: z
    .strictObject({
      http: httpListener.optional().describe('plain HTTP listener port (or { port, host, redirect-to-https })'),
      https: z.union([httpsListener, z.array(httpsListener).min(1)]).optional().describe('HTTPS listener(s): HTTP/2 and HTTP/1.1 by ALPN, SNI certificates, client certificates'),
      host: z.string().default('0.0.0.0').describe('default bind address of the public listeners'),
    })
    .prefault({})
    .describe('public listeners'),
  admin: z
    .strictObject({
      listen: listenAddress.default(9090).describe('admin port; binds 127.0.0.1 unless a host is given'),
    })
    .optional()
    .describe('admin listener: /healthz /readyz /metrics, never on the public port'),
  'trusted-proxies': z.array(z.string()).default([]).describe('addresses/CIDRs whose X-Forwarded-For is believed'),
  store: z
    .string()
    .regex(/^(memory(\?.*)?|redis:\/\/.+|rediss:\/\/.+|redis-cluster:\/\/.+)$/, 'memory[?max-keys=N], redis://host:port or redis-cluster://host:port,host:port')
    .default('memory')
    .describe('counter store for rate limits and quotas'),
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1).describe('worker processes (`auto` = one per core)'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      access: z.boolean().default(true).describe('one JSON line per request'),
    })
    .prefault({}),
  limits: z
    .strictObject({
      'max-header-size': size({ min: 1024, max: 1024 * 1024 }).default(16 * 1024).describe('request line + headers (431 above)'),
      'max-url-length': size({ min: 64 }).default(8 * 1024).describe('request target length (414 above)'),
      'max-body-size': size().default(10 * 1024 * 1024).describe('default request body limit (413 above)'),
      'max-body-buffer': size().default(1024 * 1024).describe('the most a policy may buffer of one body to validate it (validate-content max-size cannot exceed it)'),
      'header-timeout': duration({ min: 0.1 }).default(10).describe('time to receive the request headers (slowloris)'),
      'request-timeout': duration().default(300).describe('time to receive the whole request; 0 disables'),
      'min-body-rate': size().default(240).describe('bytes per second a client must send while its request body is being read (408 below it); 0 disables'),
      'body-rate-window': duration({ min: 1 }).default(10).describe('the window over which `min-body-rate` is measured (time the gateway waits on the backend does not count)'),
      'keep-alive-timeout': duration().default(5).describe('idle client keep-alive connections are closed after this'),
      'max-connections': z.number().int().min(1).default(10000).describe('concurrent client connections'),
      'max-requests-per-socket': z.number().int().min(0).default(0).describe('requests per keep-alive connection (0 = unlimited)'),
    })
    .prefault({})
    .describe('resource limits'),
  hsts: z
    .strictObject({
      'max-age': duration().default(31536000).describe('seconds browsers remember to use HTTPS'),
      'include-subdomains': z.boolean().default(false),
      preload: z.boolean().default(false),
    })
    .optional()
    .describe('send Strict-Transport-Security on HTTPS responses'),
  'headers-with-underscores': z.enum(['drop', 'reject', 'allow']).default('drop')
    .describe('request headers whose name has an underscore (X_User_Id): drop them before forwarding (CGI-style backends would fold them into the names the gateway sets), reject the request with 400, or forward them'),
  'shutdown-timeout': duration().default(15).describe('SIGTERM: how long in-flight requests may take to drain'),
  'watch-config': z.boolean().default(true).describe('reload when the config file changes'),
});
export type GatewayConfig = z.output<typeof gatewaySchema>;

export const configSchema = z.strictObject({
  gateway: gatewaySchema.optional(),
  backends: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), backendSchema).default({}).describe('named backends'),
  policies: policySections.optional().describe('global scope policies'),
  apis: z.array(apiSchema).default([]),
  identity: identitySchema.optional(),
});

export type Config = z.output<typeof configSchema>;
