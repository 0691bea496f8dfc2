import type { Logger } from 'pino';
import type { Config } from './schema.js';
import type { Tracer } from '../observability/tracing.js';
import { version } from './version.js';

/**
 * `observability.tracing`: load the OpenTelemetry SDK and install the tracer for this process.
 * When tracing is off nothing is loaded, and every traced place costs one check.
 */
export async function startTracingIfOn(cfg: Pick<Config, 'observability'>, logger: Logger): Promise<Tracer | undefined> {
  const t = cfg.observability?.tracing;
  if (t === undefined || !t.enabled) return undefined;
  const { startTracing } = await import('../observability/otel.js');
  return startTracing(t, { logger, version: version() });
}
