import { z } from 'zod';
import { duration, size } from '../config/units.js';
import { coreLimitFields, gatewayCoreFields } from '../gateway/schema.js';

/** The edge's part of the \`gateway\` section: listeners, TLS, connection limits, HSTS, logging, draining. */

const port = z.number().int().min(0).max(65535);

export const listenAddress = z.union([
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

export const httpsListener = z.strictObject({
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

/** Fields of the \`gateway\` section that the listeners read. */
export const edgeFields = {
  listen: z
    .strictObject({
      http: httpListener.optional().describe('plain HTTP listener port (or { port, host, redirect-to-https })'),
      https: z.union([httpsListener, z.array(httpsListener).min(1)]).optional().describe('HTTPS listener(s): HTTP/2 and HTTP/1.1 by ALPN, SNI certificates, client certificates'),
      host: z.string().default('0.0.0.0').describe('default bind address of the public listeners'),
    })
    .prefault({})
    .describe('public listeners'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      access: z.boolean().default(true).describe('one JSON line per request'),
    })
    .prefault({}),
  hsts: z
    .strictObject({
      'max-age': duration().default(31536000).describe('seconds browsers remember to use HTTPS'),
      'include-subdomains': z.boolean().default(false),
      preload: z.boolean().default(false),
    })
    .optional()
    .describe('send Strict-Transport-Security on HTTPS responses'),
  'shutdown-timeout': duration().default(15).describe('SIGTERM: how long in-flight requests may take to drain'),
};

/** Fields of \`gateway.limits\` that the listeners read. */
export const edgeLimitFields = {
  'max-header-size': size({ min: 1024, max: 1024 * 1024 }).default(16 * 1024).describe('request line + headers (431 above)'),
  'header-timeout': duration({ min: 0.1 }).default(10).describe('time to receive the request headers (slowloris)'),
  'request-timeout': duration().default(300).describe('time to receive the whole request; 0 disables'),
  'keep-alive-timeout': duration().default(5).describe('idle client keep-alive connections are closed after this'),
  'max-connections': z.number().int().min(1).default(10000).describe('concurrent client connections'),
  'max-requests-per-socket': z.number().int().min(0).default(0).describe('requests per keep-alive connection (0 = unlimited)'),
};

/** The listeners' view of the \`gateway\` section (its defaults serve a file without one). */
export const edgeGatewaySchema = z.strictObject({
  ...gatewayCoreFields,
  ...edgeFields,
  limits: z.strictObject({ ...coreLimitFields, ...edgeLimitFields }).prefault({}),
});
export type EdgeSection = z.output<typeof edgeGatewaySchema>;
