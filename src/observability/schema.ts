import { z } from 'zod';
import { duration } from '../config/units.js';

/**
 * `observability.tracing`: OpenTelemetry traces exported over OTLP/HTTP. Off unless the section
 * is present (and `enabled` is not false); the SDK is only loaded when it is on.
 */
export const tracingSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('export traces (the section being present turns tracing on; `false` keeps it off)'),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces' })
    .default('http://127.0.0.1:4318/v1/traces')
    .describe('the collector\'s OTLP/HTTP traces URL (the full path, usually ending in /v1/traces)'),
  headers: z.record(z.string().min(1), z.string()).default({}).describe('headers sent with every export (e.g. an API key for a hosted collector); values are redacted in the admin /config'),
  'service-name': z.string().min(1).default('gatehouse').describe('the `service.name` resource attribute'),
  'resource-attributes': z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({})
    .describe('more resource attributes, e.g. `deployment.environment.name: prod`'),
  sampling: z.strictObject({
    ratio: z.number().min(0).max(1).default(1).describe('the share of new traces recorded (0 to 1)'),
    'parent-based': z.boolean().default(true).describe('a request that carries a `traceparent` is recorded when its caller recorded it, whatever the ratio'),
  }).prefault({}).describe('which requests are recorded (every request still gets trace and span ids, logged and propagated)'),
  batch: z.strictObject({
    'max-queue-size': z.number().int().min(1).max(1_000_000).default(2048).describe('spans waiting for export; past it new spans are dropped (a dead collector costs bounded memory)'),
    'max-export-batch-size': z.number().int().min(1).max(100_000).default(512).describe('spans per export request'),
    delay: duration({ min: 0.01 }).default(5).describe('the longest a span waits before its batch is sent'),
  }).prefault({}).describe('batching of spans before export'),
  timeout: duration({ min: 0.1, max: 300 }).default(10).describe('the longest one export request may take; a slow or dead collector never delays requests'),
}).refine((t) => t.batch['max-export-batch-size'] <= t.batch['max-queue-size'], {
  message: '`batch.max-export-batch-size` must not be larger than `batch.max-queue-size`',
  path: ['batch', 'max-export-batch-size'],
});
export type TracingConfig = z.output<typeof tracingSchema>;

export const observabilitySchema = z.strictObject({
  tracing: tracingSchema.optional().describe('OpenTelemetry tracing over OTLP/HTTP (see docs/operations/tracing.md); off unless present'),
}).describe('traces (logs and metrics are configured under `gateway.log` and the admin listener)');
export type ObservabilityConfig = z.output<typeof observabilitySchema>;
