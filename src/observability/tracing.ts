import diagnostics_channel from 'node:diagnostics_channel';

/**
 * The request lifecycle as diagnostics_channel events, so that tracing (OpenTelemetry or anything
 * else) can subscribe without the gateway knowing it. Nothing is published while nobody
 * subscribes: each event costs one boolean check then.
 *
 * | channel | message |
 * |---|---|
 * | `gatehouse:request:start` | `{ exchange }` when a request is accepted |
 * | `gatehouse:request:stage` | `{ exchange, stage, ms, ended }` after each stage (`ended`: it answered the request) |
 * | `gatehouse:request:end` | `{ exchange }` when the exchange is over (status, timings and bytes are set) |
 *
 * `exchange` is the gateway's Exchange (method, path, api, operation, status, requestId, ...).
 */
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
