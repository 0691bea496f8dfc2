import { z } from 'zod';
import { duration } from '../config/units.js';
import { BALANCER_KINDS } from './balancer.js';

/**
 * `backends.<name>` of gatehouse.yaml: one `url`, or `targets` with weights and priorities, how
 * to balance over them, how health is known (active probes, passive outlier detection), retries
 * with a budget, circuit-breaker limits and timeouts. The short keys of a single-URL backend
 * (`timeout`, `connect-timeout`, `connections`, `max-pending`, `keep-alive-timeout`, `retry`) keep
 * working; the nested ones say the same, and giving both is an error.
 */

const httpUrl = z
  .string()
  .refine((u) => { try { const p = new URL(u); return p.protocol === 'http:' || p.protocol === 'https:'; } catch { return false; } }, 'must be an http:// or https:// URL');

const target = z.strictObject({
  url: httpUrl.describe('the target: origin, and the base path the API path remainder is appended to'),
  weight: z.number().int().min(1).max(1000).default(1).describe('relative share of the traffic among the targets of its priority'),
  priority: z.number().int().min(0).max(100).default(0).describe('0 takes the traffic; a higher priority only while every target of the lower ones is unhealthy'),
});

const statusRange = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/, 'a status (204) or a range ("200-399")'),
]);

const percent = z.union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as 20%')])
  .transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1))));

const health = z.strictObject({
  active: z.strictObject({
    path: z.string().regex(/^\/[^\s#]*$/, 'an absolute path such as /healthz').describe('probed on each target'),
    interval: duration({ min: 0.05 }).default(5).describe('time between probes of a target'),
    timeout: duration({ min: 0.01 }).default(1).describe('a probe without an answer in this time failed'),
    healthy: z.number().int().min(1).default(2).describe('good probes in a row that make an unhealthy target healthy'),
    unhealthy: z.number().int().min(1).default(3).describe('failed probes in a row that make a healthy target unhealthy'),
    expect: z.array(statusRange).min(1).default(['200-399']).describe('statuses that count as healthy'),
  }).optional().describe('active health checks: periodic HTTP probes'),
  passive: z.strictObject({
    'consecutive-failures': z.number().int().min(1).default(5).describe('failures in a row of live traffic (connect failures, resets, timeouts, 5xx) that eject a target'),
    ejection: duration({ min: 0.01 }).default(30).describe('first ejection; each further one lasts longer, up to ten times this'),
    'max-ejected': percent.default(50).describe('the most targets ejected at once, in percent of the backend\'s targets'),
  }).optional().describe('passive health: outlier detection from live traffic'),
}).optional().describe('how the gateway knows a target is healthy (without it: every target is)');

const retryOn = z.union([z.enum(['connect-failure', 'reset', 'timeout', 'gateway-error', '5xx']), z.number().int().min(400).max(599)]);

const retries = z.strictObject({
  attempts: z.number().int().min(0).max(10).default(2).describe('retries after the first try, each to another target when there is one'),
  on: z.array(retryOn).min(1).default(['connect-failure', 'gateway-error']).describe('what is retried: connect-failure, reset, timeout, gateway-error (502, 503, 504), 5xx, or statuses'),
  budget: percent.default(20).describe('retries allowed as a share of the live requests (plus a reserve of 10 per second), so retries never multiply an outage'),
  'per-try-timeout': duration({ min: 0.001 }).optional().describe('each try\'s own timeout (default: only the response timeout bounds the whole)'),
}).optional().describe('retries of requests that are safe to retry: idempotent methods, or a request that never reached the target; never a streamed body');

const circuitBreaker = z.strictObject({
  'max-connections': z.number().int().min(1).optional().describe('connections per target (same as `connections`)'),
  'max-requests': z.number().int().min(1).optional().describe('requests in flight to the backend (default: max-connections × targets)'),
  'max-pending': z.number().int().min(0).optional().describe('requests that may wait for a slot (same as `max-pending`)'),
}).optional().describe('limits past which the backend is answered 503 upstream-overloaded at once');

const timeouts = z.strictObject({
  connect: duration({ min: 0.001 }).optional().describe('TCP/TLS connect timeout (same as `connect-timeout`)'),
  response: duration({ min: 0.001 }).optional().describe('time for the response headers and between body chunks, and the bound of all retries (same as `timeout`)'),
  idle: duration().optional().describe('how long an idle backend connection is kept (same as `keep-alive-timeout`)'),
}).optional().describe('timeouts, in the nested form (the short keys below say the same)');

const backendFields = z.strictObject({
  url: httpUrl.optional().describe('base URL; the API path remainder is appended to its path (or give `targets`)'),
  targets: z.array(target).min(1).optional().describe('several targets to balance over (instead of `url`)'),
  balancer: z.enum(BALANCER_KINDS as unknown as [string, ...string[]]).default('round-robin')
    .describe('round-robin (smooth, weighted), least-request (power of two choices), random (weighted), consistent-hash (Maglev, on `hash-key`)'),
  'hash-key': z.string().optional().describe('consistent-hash: a key template, e.g. "{request.header.x-tenant}" (a request whose key does not render is balanced at random)'),
  health,
  retries,
  'circuit-breaker': circuitBreaker,
  timeouts,
  timeout: duration({ min: 0.001 }).default(30).describe('time allowed for the backend response headers and between body chunks'),
  'connect-timeout': duration({ min: 0.001 }).default(5).describe('TCP/TLS connect timeout'),
  connections: z.number().int().min(1).default(128).describe('connections to each target, and so the requests in flight to it at once'),
  'max-pending': z.number().int().min(0).default(1024).describe('requests that may wait for a free connection when all are busy (503 upstream-overloaded beyond)'),
  'queue-timeout': duration({ min: 0.001 }).default(10).describe('how long a request may wait for a free connection (503 upstream-overloaded after)'),
  'keep-alive-timeout': duration().default(4).describe('how long an idle backend connection is kept'),
  retry: z.boolean().default(true).describe('without `retries`: retry an idempotent body-less request once when the connection failed before any byte was sent'),
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
    .describe('TLS to https:// targets'),
}).superRefine((b, ctx) => {
  if ((b.url === undefined) === (b.targets === undefined)) ctx.addIssue({ code: 'custom', message: 'give `url` or `targets` (one of them)', path: b.url === undefined ? [] : ['targets'] });
  if (b.balancer === 'consistent-hash' && b['hash-key'] === undefined) ctx.addIssue({ code: 'custom', message: 'consistent-hash balances on `hash-key`: give a key template such as "{request.header.x-tenant}"', path: ['hash-key'] });
  if (b.balancer !== 'consistent-hash' && b['hash-key'] !== undefined) ctx.addIssue({ code: 'custom', message: '`hash-key` is for the consistent-hash balancer', path: ['hash-key'] });
});

/** The short key and its nested twin say the same thing: giving both is refused (before defaults apply). */
const TWINS: Array<[string, string, string]> = [
  ['timeout', 'timeouts', 'response'], ['connect-timeout', 'timeouts', 'connect'], ['keep-alive-timeout', 'timeouts', 'idle'],
  ['connections', 'circuit-breaker', 'max-connections'], ['max-pending', 'circuit-breaker', 'max-pending'],
];

export const backendSchema = z.preprocess((raw, ctx) => {
  if (raw !== null && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    for (const [short, group, key] of TWINS) {
      const g = r[group];
      if (r[short] !== undefined && g !== null && typeof g === 'object' && (g as Record<string, unknown>)[key] !== undefined) {
        ctx.addIssue({ code: 'custom', message: `\`${short}\` and \`${group}.${key}\` say the same: keep one`, path: [short] });
      }
    }
  }
  return raw;
}, backendFields);
export type BackendConfig = z.output<typeof backendSchema>;

/** A backend's settings with the short and nested forms resolved and the defaults applied. */
export interface BackendSettings {
  targets: Array<{ url: string; weight: number; priority: number }>;
  connectMs: number;
  responseMs: number;
  idleMs: number;
  maxConnections: number;
  maxRequests: number;
  maxPending: number;
  queueMs: number;
}

export function backendSettings(b: BackendConfig): BackendSettings {
  const targets = b.targets ?? [{ url: b.url!, weight: 1, priority: 0 }];
  const maxConnections = b['circuit-breaker']?.['max-connections'] ?? b.connections;
  return {
    targets,
    connectMs: (b.timeouts?.connect ?? b['connect-timeout']) * 1000,
    responseMs: (b.timeouts?.response ?? b.timeout) * 1000,
    idleMs: (b.timeouts?.idle ?? b['keep-alive-timeout']) * 1000,
    maxConnections,
    maxRequests: b['circuit-breaker']?.['max-requests'] ?? maxConnections * targets.length,
    maxPending: b['circuit-breaker']?.['max-pending'] ?? b['max-pending'],
    queueMs: b['queue-timeout'] * 1000,
  };
}
