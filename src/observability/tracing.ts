import diagnostics_channel from 'node:diagnostics_channel';

/**
 * Tracing, as the rest of the code sees it: a small span interface that knows nothing of
 * OpenTelemetry. `observability.tracing` installs an implementation (otel.ts, loaded only then);
 * until then `tracer()` is undefined and every instrumented place costs one check.
 *
 * The request lifecycle is also published as diagnostics_channel events, so that other tools can
 * subscribe without the gateway knowing it. Nothing is published while nobody subscribes.
 *
 * | channel | message |
 * |---|---|
 * | `gatehouse:request:start` | `{ exchange }` when a request is accepted |
 * | `gatehouse:request:stage` | `{ exchange, stage, ms, ended }` after each stage (`ended`: it answered the request) |
 * | `gatehouse:request:end` | `{ exchange }` when the exchange is over (status, timings and bytes are set) |
 *
 * `exchange` is the gateway's Exchange (method, path, api, operation, status, requestId, ...).
 */

export type SpanValue = string | number | boolean | undefined;
export type SpanAttributes = Readonly<Record<string, SpanValue>>;
export type SpanKind = 'internal' | 'client' | 'server';

/** An open span. Every method is safe to call on a span that is not recorded (not sampled). */
export interface Span {
  /** 32 lower-case hex digits */
  readonly traceId: string;
  /** 16 lower-case hex digits */
  readonly spanId: string;
  set(key: string, value: SpanValue): void;
  rename(name: string): void;
  /** a child of this span */
  child(name: string, kind?: SpanKind, attributes?: SpanAttributes): Span;
  /** run `fn` with this span as the active one: spans started deeper (key fetches, store and database calls) are its children */
  run<T>(fn: () => T): T;
  /** write W3C `traceparent` (and `tracestate`, else remove it) naming this span as the caller */
  inject(headers: Record<string, unknown>): void;
  /** the operation failed: status error, with what failed */
  fail(message: string): void;
  end(): void;
}

/** Where a span started outside a request's code path finds its parent. */
export type Parent = 'active' | 'active-only' | 'root';

export interface Tracer {
  /** a server span that continues the caller's trace (a valid `traceparent`, and `tracestate`) or starts one */
  incoming(name: string, headers: Readonly<Record<string, string | string[] | undefined>>, attributes?: SpanAttributes): Span;
  /**
   * A span under the active span (`active`: a root span when none is active; `active-only`:
   * none then, for calls that only matter inside a request; `root`: always a new trace).
   */
  start(name: string, kind: SpanKind, parent: Parent, attributes?: SpanAttributes): Span | undefined;
  /** export what is queued (bounded by the export timeout) and stop */
  shutdown(): Promise<void>;
}

let installed: Tracer | undefined;

/** The tracer, when `observability.tracing` is on. */
export function tracer(): Tracer | undefined {
  return installed;
}

/** @internal set by the start-up code once the SDK is loaded (undefined: off again) */
export function installTracer(t: Tracer | undefined): void {
  installed = t;
}

export const CHANNELS = {
  start: 'gatehouse:request:start',
  stage: 'gatehouse:request:stage',
  end: 'gatehouse:request:end',
} as const;

const start = diagnostics_channel.channel(CHANNELS.start);
const stage = diagnostics_channel.channel(CHANNELS.stage);
const end = diagnostics_channel.channel(CHANNELS.end);

/** true while anyone listens to stage events (stages are timed only then) */
export function tracingStages(): boolean {
  return stage.hasSubscribers;
}

export function requestStarted(exchange: object): void {
  if (start.hasSubscribers) start.publish({ exchange });
}

export function stageDone(exchange: object, name: string, ms: number, ended: boolean): void {
  stage.publish({ exchange, stage: name, ms, ended });
}

export function requestEnded(exchange: object): void {
  if (end.hasSubscribers) end.publish({ exchange });
}
