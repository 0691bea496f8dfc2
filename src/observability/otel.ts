import type { Logger } from 'pino';
import type * as api from '@opentelemetry/api';
import type { TracingConfig } from './schema.js';
import { installTracer, type Parent, type Span, type SpanAttributes, type SpanKind, type SpanValue, type Tracer } from './tracing.js';

/**
 * The OpenTelemetry implementation of tracing.ts, loaded (with the SDK) only when
 * `observability.tracing` is on: spans batched and exported over OTLP/HTTP (JSON), W3C trace
 * context read from callers and written to backends, sampling by ratio and by the caller's choice.
 *
 * A collector that is slow or down never reaches a request: spans wait in a bounded queue (new
 * ones are dropped when it is full), every export has a timeout, and failures are logged at most
 * once a minute with how many there were.
 */

export interface TracingOptions {
  logger: Logger;
  /** the `service.version` resource attribute */
  version: string;
}

const REPORT_EVERY_MS = 60_000;

type Api = typeof import('@opentelemetry/api');
type Sdk = typeof import('@opentelemetry/sdk-trace-node');
type Provider = InstanceType<Sdk['NodeTracerProvider']>;
type Propagator = InstanceType<typeof import('@opentelemetry/core')['W3CTraceContextPropagator']>;

/** Load the SDK, start exporting, and install the tracer for the whole process. */
export async function startTracing(cfg: TracingConfig, opts: TracingOptions): Promise<Tracer> {
  const [otel, sdk, core, exporterMod, resources, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const report = rateLimited(opts.logger, 'tracing: span export failed; requests are not affected, spans are dropped while the collector is unreachable');
  core.setGlobalErrorHandler((err) => report(err));
  const said = rateLimited(opts.logger, 'tracing: the OpenTelemetry SDK warns');
  otel.diag.setLogger({ error: said, warn: said, info: noop, debug: noop, verbose: noop }, otel.DiagLogLevel.WARN);

  const ratio = new sdk.TraceIdRatioBasedSampler(cfg.sampling.ratio);
  const exporter = new exporterMod.OTLPTraceExporter({ url: cfg.endpoint, headers: { ...cfg.headers }, timeoutMillis: cfg.timeout * 1000 });
  const provider = new sdk.NodeTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: cfg['service-name'],
      [semconv.ATTR_SERVICE_VERSION]: opts.version,
      ...cfg['resource-attributes'],
    })),
    sampler: cfg.sampling['parent-based'] ? new sdk.ParentBasedSampler({ root: ratio }) : ratio,
    // a bounded queue, a bounded export: a dead collector costs dropped spans, never a request
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, {
      maxQueueSize: cfg.batch['max-queue-size'],
      maxExportBatchSize: cfg.batch['max-export-batch-size'],
      scheduledDelayMillis: Math.round(cfg.batch.delay * 1000),
      exportTimeoutMillis: cfg.timeout * 1000,
    })],
  });
  const propagator = new core.W3CTraceContextPropagator();
  // the context manager (AsyncLocalStorage) carries the active span into awaited calls
  provider.register({ propagator });
  const t = tracerOn(otel, provider, propagator, opts.version, async () => {
    // a collector that does not answer cannot hold up the stop
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      provider.shutdown().catch((err: unknown) => report(err)),
      new Promise<void>((r) => { timer = setTimeout(r, cfg.timeout * 1000 + 1000); timer.unref(); }),
    ]);
    clearTimeout(timer);
  });
  installTracer(t);
  opts.logger.info({ endpoint: redactedUrl(cfg.endpoint), ratio: cfg.sampling.ratio, parentBased: cfg.sampling['parent-based'] }, 'tracing on: exporting spans over OTLP/HTTP');
  return t;
}

/** tracing.ts's Tracer over an SDK provider. */
function tracerOn(otel: Api, provider: Provider, propagator: Propagator, version: string, stop: () => Promise<void>): Tracer {
  const tracer = provider.getTracer('gatehouse', version);
  const KINDS: Record<SpanKind, api.SpanKind> = { internal: otel.SpanKind.INTERNAL, client: otel.SpanKind.CLIENT, server: otel.SpanKind.SERVER };

  class OtelSpan implements Span {
    constructor(private readonly span: api.Span, private readonly ctx: api.Context) {}
    get traceId(): string { return this.span.spanContext().traceId; }
    get spanId(): string { return this.span.spanContext().spanId; }
    set(key: string, value: SpanValue): void { if (value !== undefined) this.span.setAttribute(key, value); }
    rename(name: string): void { this.span.updateName(name); }
    child(name: string, kind: SpanKind = 'internal', attributes?: SpanAttributes): Span { return open(name, kind, this.ctx, attributes); }
    run<T>(fn: () => T): T { return otel.context.with(this.ctx, fn); }
    inject(headers: Record<string, unknown>): void {
      delete headers.traceparent;
      delete headers.tracestate;
      propagator.inject(this.ctx, headers, otel.defaultTextMapSetter);
    }
    fail(message: string): void { this.span.setStatus({ code: otel.SpanStatusCode.ERROR, message }); }
    end(): void { this.span.end(); }
  }

  const open = (name: string, kind: SpanKind, parent: api.Context, attributes?: SpanAttributes): OtelSpan => {
    const s = tracer.startSpan(name, { kind: KINDS[kind], attributes: attributes && defined(attributes) }, parent);
    return new OtelSpan(s, otel.trace.setSpan(parent, s));
  };

  let stopped: Promise<void> | undefined;
  return {
    incoming(name, headers, attributes) {
      return open(name, 'server', propagator.extract(otel.ROOT_CONTEXT, headers, otel.defaultTextMapGetter), attributes);
    },
    start(name, kind, parent: Parent, attributes) {
      if (parent === 'root') return open(name, kind, otel.ROOT_CONTEXT, attributes);
      const active = otel.context.active();
      if (parent === 'active-only' && otel.trace.getSpan(active) === undefined) return undefined;
      return open(name, kind, active, attributes);
    },
    shutdown() {
      stopped ??= (async () => {
        installTracer(undefined);
        await stop();
      })();
      return stopped;
    },
  };
}

function noop(): void {}

/** attributes without the undefined ones (OpenTelemetry drops them with a warning) */
function defined(attributes: SpanAttributes): api.Attributes {
  const out: api.Attributes = {};
  for (const k in attributes) {
    const v = attributes[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A warning logged at most once a minute, with how many more there were since the last line. */
function rateLimited(logger: Logger, msg: string): (err: unknown) => void {
  let last = 0;
  let suppressed = 0;
  return (err: unknown) => {
    const now = Date.now();
    if (last !== 0 && now - last < REPORT_EVERY_MS) { suppressed++; return; }
    last = now;
    const reason = err instanceof Error ? err.message : String(err);
    logger.warn({ reason: reason.slice(0, 300), suppressed }, msg);
    suppressed = 0;
  };
}

/** the endpoint for the log: without user information or query */
function redactedUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
