import { z } from 'zod';
import { duration } from '../config/units.js';

/** \`backends.<name>\` of gatehouse.yaml. */
export const backendSchema = z.strictObject({
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
