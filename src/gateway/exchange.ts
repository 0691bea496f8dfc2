import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Headers } from './reply.js';
import type { RequestBody } from './body.js';
import type { ClientTrust } from './mtls/trust.js';
import type { Span } from '../observability/tracing.js';
import type { DirectResponse } from './direct.js';
import type { RequestSubscription } from './subscriptions/check.js';

/** Claims of a validated JWT. */
export type Claims = Record<string, unknown>;

/** What the gateway knows about the matched API, as policies and templates see it. */
export interface ApiInfo {
  readonly name: string;
  /** public path prefix, normalized, without trailing slash ('' for the root API) */
  readonly prefix: string;
}

export interface OperationInfo {
  readonly id: string;
  readonly method: string;
  /** path template relative to the API prefix, e.g. `/{id}` */
  readonly template: string;
}

/** The backend a request goes to; `set-backend-service` may swap it. */
export interface BackendRef {
  readonly name: string;
}

/** The backend's response while outbound policies run. */
export interface UpstreamResponse {
  status: number;
  /** the reason phrase a policy set (set-status, return-response), if any */
  reason?: string;
  /** lower-case header names; hop-by-hop headers already removed */
  headers: Headers;
  /**
   * The body: a stream as it comes from the backend, or a Buffer once a policy has read it
   * (e.g. validate-content), or a string/Buffer a policy substituted; on a route where nothing
   * reads it, the backend's response on its way straight to the client (direct.ts).
   */
  body: Readable | Buffer | string | null | DirectResponse;
}

/**
 * One request's state on its way through the pipeline. Created per request, so it is a plain
 * class with fixed fields (monomorphic, cheap to allocate).
 */
export class Exchange {
  /** lower-case header names of the request that will be sent to the backend */
  upstreamHeaders: Headers;
  /** the path appended to the backend URL's path (starts with `/`, or is '') */
  backendPath: string;
  /** the query string sent to the backend, when a policy changed it (default: `query`) */
  backendQuery: string | undefined = undefined;
  /** the Host sent to the backend, when a policy set it (default: the backend's, or the client's with `preserve-host`) */
  backendHost: string | undefined = undefined;
  /**
   * The request body's one owner, when the request has a body: every reader reads from it, never
   * from `req` (see body.ts).
   */
  body: RequestBody | undefined = undefined;
  /**
   * The request body to forward: `body` by default; a policy that had to read it
   * (validate-content) replaces it with the Buffer it read.
   */
  requestBody: Readable | Buffer | null = null;
  api: ApiInfo | undefined = undefined;
  operation: OperationInfo | undefined = undefined;
  /** path parameters of the matched operation, percent-decoded */
  params: Record<string, string> = EMPTY;
  backend: BackendRef | undefined = undefined;
  /** claims of the token validated by the nearest preceding validate-jwt */
  claims: Claims | undefined = undefined;
  /** the subscription whose key the request carried (see subscriptions/check.ts) */
  subscription: RequestSubscription | undefined = undefined;
  /** named variables set by policies (`output-token-variable-name`, `errors-variable-name`) */
  vars: Record<string, unknown> | undefined = undefined;
  /** the backend's response timeout for this request, when a policy set one (forward-request `timeout`) */
  backendTimeoutMs: number | undefined = undefined;
  /**
   * Nothing after the forward reads or replaces the backend's body (no outbound policy, no
   * compression): the response may go from undici's dispatch callbacks straight to the client
   * (direct.ts). Set when the backend section starts.
   */
  forwardDirect = false;
  /** the policy-expression `context` of an XML-defined scope (gateway/apim), created on first use */
  apim: unknown = undefined;
  /** set while outbound policies run */
  response: UpstreamResponse | undefined = undefined;
  /** the policy and reason that ended the request, for logs and metrics */
  rejectedBy: string | undefined = undefined;
  rejectCode: string | undefined = undefined;
  /** callbacks run once the response has been sent (or the client went away) */
  private doneCallbacks: Array<(ex: Exchange) => void> | undefined = undefined;
  /** status actually sent to the client (set when the response is written) */
  status = 0;
  /** bytes of request body forwarded / response body sent */
  bytesIn = 0;
  bytesOut = 0;
  /** backend time in ms (NaN when the backend was not called) */
  backendMs = Number.NaN;
  /** emits `abort` when the client goes away (undici accepts it as a request signal) */
  readonly signal = new CancelSignal();
  /** the error that sent the request to `on-error`, if any */
  error: { status: number; code: string } | undefined = undefined;
  /** tracing on: the request's server span, the span of the stage running and of the backend call (trace.ts) */
  span: Span | undefined = undefined;
  stageSpan: Span | undefined = undefined;
  backendSpan: Span | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse | null,
    readonly requestId: string,
    /** the client's IP: the socket's address unless the socket is a trusted proxy */
    readonly clientIp: string,
    /** the listener the request arrived on (`protocol` is `http` or `https`) */
    readonly listener: { readonly name: string; readonly protocol: string; readonly clientTrust?: ClientTrust },
    /** the request method (upper-case) */
    readonly method: string,
    /** normalized path, as routing and every policy see it */
    readonly path: string,
    /** raw query string without `?` ('' when none) */
    readonly query: string,
    readonly startTime: number,
  ) {
    this.upstreamHeaders = {};
    this.backendPath = '';
  }

  /** `http` or `https`, as the client connected to us */
  get protocol(): string {
    return this.listener.protocol;
  }

  /** Run `cb` once the exchange is over (response sent or client gone); at once if it is over already. */
  onDone(cb: (ex: Exchange) => void): void {
    if (this.finished) {
      try { cb(this); } catch { /* a callback never breaks the response path */ }
      return;
    }
    (this.doneCallbacks ??= []).push(cb);
  }

  /** the exchange is over (see `finish`) */
  finished = false;

  /** @internal called by the server exactly once */
  finish(): void {
    this.finished = true;
    const cbs = this.doneCallbacks;
    if (cbs === undefined) return;
    this.doneCallbacks = undefined;
    for (const cb of cbs) {
      try { cb(this); } catch { /* a callback never breaks the response path */ }
    }
  }

  /** Parsed query parameters (first value per name), computed on first use. */
  get queryParams(): URLSearchParams {
    return (this._query ??= new URLSearchParams(this.query));
  }
  private _query: URLSearchParams | undefined = undefined;

  /**
   * Headers added to whatever response the client gets (backend response or problem), e.g.
   * rate-limit state set by an inbound policy. Merged by the server when it writes the head.
   */
  responseHeaders: Headers | undefined = undefined;

  addResponseHeader(name: string, value: string): void {
    (this.responseHeaders ??= {})[name.toLowerCase()] = value;
  }

  /** Set a named variable. */
  setVar(name: string, value: unknown): void {
    (this.vars ??= {})[name] = value;
  }
}

/**
 * A request's cancellation signal: an EventEmitter with `aborted`, which undici accepts as a
 * `signal`. An AbortController costs a DOMException (with a stack trace) per abort and EventTarget
 * listeners per request; this is a plain emitter (measured: AbortController + its listener were
 * ~5% of the gateway's busy CPU in a profile of the no-policy proxy).
 */
export class CancelSignal extends EventEmitter {
  aborted = false;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
