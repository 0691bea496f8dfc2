import { randomUUID } from 'node:crypto';
import {
  CsDateTime, CsGuid, CsTimeSpan, DateTimeKind, MemoryMap, MemoryUrl,
  type ApimApi, type ApimBody, type ApimContext, type ApimDeployment, type ApimLastError, type ApimMap,
  type ApimOperation, type ApimProduct, type ApimRequest, type ApimResponse, type ApimSubscription, type ApimUrl, type ApimUser,
} from '../../apim/index.js';
import type { Exchange } from '../exchange.js';
import type { Headers } from '../reply.js';
import type { ApimEnv } from './env.js';

/**
 * The `context` of policy expressions, bound to one request's Exchange: what expressions read is
 * the gateway's live state (headers set by earlier policies, the backend's response in outbound),
 * and `Variables` is the exchange's variables, shared with YAML policies
 * (`output-token-variable-name`). Created on first use per request and kept on the exchange.
 */

/** A live, case-insensitive view of a lower-cased header record. */
class HeaderView implements ApimMap<readonly string[]> {
  constructor(private readonly h: () => Headers | undefined) {}
  get(key: string): readonly string[] | undefined {
    const v = this.h()?.[key.toLowerCase()];
    return v === undefined ? undefined : Array.isArray(v) ? v : [v];
  }
  has(key: string): boolean { return this.h()?.[key.toLowerCase()] !== undefined; }
  keys(): Iterable<string> { return Object.keys(this.h() ?? {}); }
  get size(): number { return Object.keys(this.h() ?? {}).length; }
}

/** `context.Variables` over the exchange's variables. */
class VariableView implements ApimMap<unknown> {
  constructor(private readonly ex: Exchange) {}
  get(key: string): unknown { return this.ex.vars?.[key]; }
  has(key: string): boolean { return this.ex.vars !== undefined && Object.hasOwn(this.ex.vars, key); }
  keys(): Iterable<string> { return Object.keys(this.ex.vars ?? {}); }
  get size(): number { return Object.keys(this.ex.vars ?? {}).length; }
}

/** A buffered body: reading without `preserveContent` consumes it, as in the service. */
class BufferBody implements ApimBody {
  constructor(private readonly get: () => Buffer | undefined, private readonly consume: () => void) {}
  read(preserveContent: boolean): Uint8Array {
    const b = this.get() ?? Buffer.alloc(0);
    if (!preserveContent) this.consume();
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
}

const EMPTY = Buffer.alloc(0);

function bodyBuffer(b: unknown): Buffer | undefined {
  if (Buffer.isBuffer(b)) return b;
  if (typeof b === 'string') return Buffer.from(b);
  return undefined;
}

export class ExchangeContext implements ApimContext {
  /** set when a policy or an expression failed; read by on-error */
  lastError: ApimLastError | null = null;
  private _request: RequestView | undefined;
  private _response: ResponseView | undefined;
  private _id: CsGuid | undefined;
  private _variables: VariableView | undefined;
  private _api: ApimApi | undefined;
  private _timestamp: CsDateTime | undefined;
  private readonly createdAt = Date.now();

  constructor(readonly ex: Exchange, readonly env: ApimEnv) {}

  get Timestamp(): CsDateTime { return (this._timestamp ??= new CsDateTime(this.createdAt, DateTimeKind.Utc)); }

  /** The context of `ex`, created on first use. */
  static of(ex: Exchange, env: ApimEnv): ExchangeContext {
    const c = ex.apim as ExchangeContext | undefined;
    if (c !== undefined) return c;
    const n = new ExchangeContext(ex, env);
    ex.apim = n;
    return n;
  }

  /** built on first read and kept for the request (an expression may read it often) */
  get Api(): ApimApi { return (this._api ??= new ApiView(this.ex)); }

  get Deployment(): ApimDeployment { return this.env.deploymentModel; }
  get Elapsed(): CsTimeSpan { return new CsTimeSpan(Math.round((performance.now() - this.ex.startTime) * 10_000)); }

  get LastError(): ApimLastError | null {
    if (this.lastError !== null) return this.lastError;
    const e = this.ex.error;
    if (e === undefined) return null;
    return { Source: this.ex.rejectedBy ?? 'gateway', Reason: e.code, Message: errorMessage(this.ex), Scope: '', Section: '', Path: '', PolicyId: '' };
  }

  get Operation(): ApimOperation | null {
    const o = this.ex.operation;
    return o === undefined ? null : { Id: o.id, Method: o.method, Name: o.id, UrlTemplate: o.template };
  }

  get Product(): ApimProduct | null {
    const p = this.ex.subscription?.product;
    if (p === undefined) return null;
    const known = this.env.products?.get(p);
    return { Apis: [], ApprovalRequired: false, Groups: [], Id: p, Name: known?.name ?? p, State: 1, SubscriptionLimit: null, SubscriptionRequired: known?.subscriptionRequired ?? true };
  }

  get Subscription(): ApimSubscription | null {
    const s = this.ex.subscription;
    if (s === undefined) return null;
    const created = new CsDateTime(s.createdAt ?? Date.UTC(2024, 0, 1), DateTimeKind.Utc);
    const end = s.expiresAt === undefined ? null : new CsDateTime(s.expiresAt, DateTimeKind.Utc);
    // the store keeps only hashes of the keys: the one the request carried is the one known
    return { CreatedDate: created, EndDate: end, Id: s.id, Key: s.key ?? '', Name: s.name ?? s.id, PrimaryKey: '', SecondaryKey: '', StartDate: created };
  }

  get User(): ApimUser | null {
    const u = this.ex.subscription?.userId;
    if (u === undefined) return null;
    // a validated token of the same user tells its name and email
    const cl = this.ex.claims !== undefined && this.ex.claims.sub === u ? this.ex.claims : undefined;
    const str = (k: string) => (typeof cl?.[k] === 'string' ? cl[k] as string : '');
    return {
      Email: str('email'), FirstName: str('given_name'), Groups: [], Id: u, Identities: cl ? [{ Id: u, Provider: str('iss') }] : [], LastName: str('family_name'), Note: '',
      RegistrationDate: new CsDateTime(this.ex.subscription?.createdAt ?? Date.UTC(2024, 0, 1), DateTimeKind.Utc),
    };
  }

  get RequestId(): CsGuid {
    if (this._id === undefined) {
      const id = this.ex.requestId.trim();
      this._id = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? new CsGuid(id.toLowerCase()) : new CsGuid(randomUUID());
    }
    return this._id;
  }

  get Tracing(): boolean { return false; }
  get Variables(): ApimMap<unknown> { return (this._variables ??= new VariableView(this.ex)); }

  Trace(message: string): void {
    this.env.logger.info({ requestId: this.ex.requestId, source: 'context.Trace' }, message);
  }

  get Request(): ApimRequest { return (this._request ??= new RequestView(this)); }

  get Response(): ApimResponse | null {
    if (this.ex.response === undefined) return null;
    return (this._response ??= new ResponseView(this.ex));
  }

  /** the path of set-backend-service's base-url, which rewrite-uri keeps in front of its template */
  basePath = '';

  /** @internal the URL as the backend will get it (after rewrite-uri, set-query-parameter) */
  url(): ApimUrl {
    const ex = this.ex;
    const q = ex.backendQuery ?? ex.query;
    const path = this.basePath !== '' && ex.backendPath.startsWith(this.basePath) ? ex.backendPath.slice(this.basePath.length) : ex.backendPath;
    return safeUrl(`${ex.protocol}://${hostOf(ex)}${ex.api?.prefix ?? ''}${path}${q === '' ? '' : '?' + q}`);
  }
}

/**
 * Views as classes with prototype getters: an object literal with accessors is rebuilt slowly
 * per request (measured: ~15 µs each under load), a class instance is not.
 */
class ApiView implements ApimApi {
  private _serviceUrl: MemoryUrl | undefined;
  readonly Protocols = PROTOCOLS;
  readonly SubscriptionKeyParameterNames = KEY_NAMES;
  readonly Version = null;
  readonly Revision = '1';
  readonly IsCurrentRevision = true;
  constructor(private readonly ex: Exchange) {}
  get Id(): string { return this.ex.api?.name ?? ''; }
  get Name(): string { return this.ex.api?.name ?? ''; }
  get Path(): string { return (this.ex.api?.prefix ?? '').replace(/^\//, ''); }
  get ServiceUrl(): ApimUrl {
    if (this._serviceUrl === undefined) {
      const backend = (this.ex.backend ?? (this.ex.api as { backend?: unknown } | undefined)?.backend) as { config?: { url?: unknown } } | undefined;
      this._serviceUrl = safeUrl(typeof backend?.config?.url === 'string' ? backend.config.url : 'http://localhost/');
    }
    return this._serviceUrl;
  }
}
const PROTOCOLS = Object.freeze(['http', 'https']);
const KEY_NAMES = Object.freeze({ Header: 'Ocp-Apim-Subscription-Key', Query: 'subscription-key' });

class ResponseView implements ApimResponse {
  private _headers: HeaderView | undefined;
  private _body: BufferBody | undefined;
  constructor(private readonly ex: Exchange) {}
  get StatusCode(): number { return this.ex.response?.status ?? 200; }
  get StatusReason(): string { return this.ex.response?.reason ?? reasonOf(this.StatusCode); }
  get Headers(): ApimMap<readonly string[]> {
    const ex = this.ex;
    return (this._headers ??= new HeaderView(() => ex.response?.headers));
  }
  get Body(): ApimBody | null {
    const ex = this.ex;
    if (ex.response === undefined || ex.response.body === null) return null;
    return (this._body ??= new BufferBody(() => bodyBuffer(ex.response?.body), () => { if (ex.response) ex.response.body = EMPTY; }));
  }
}

/** `context.Request`: a view of the exchange; its parts are built on first read. */
class RequestView implements ApimRequest {
  private _headers: HeaderView | undefined;
  private _params: MemoryMap<string> | undefined;
  private _body: BufferBody | undefined;
  private _original: MemoryUrl | undefined;
  constructor(private readonly c: ExchangeContext) {}
  get Method(): string { return this.c.ex.method; }
  get Url(): ApimUrl { return this.c.url(); }
  get OriginalUrl(): ApimUrl {
    const ex = this.c.ex;
    return (this._original ??= safeUrl(`${ex.protocol}://${hostOf(ex)}${ex.path}${ex.query === '' ? '' : '?' + ex.query}`));
  }
  get Headers(): ApimMap<readonly string[]> {
    const ex = this.c.ex;
    return (this._headers ??= new HeaderView(() => ex.upstreamHeaders));
  }
  get IpAddress(): string { return this.c.ex.clientIp; }
  get MatchedParameters(): ApimMap<string> { return (this._params ??= new MemoryMap<string>(Object.entries(this.c.ex.params))); }
  get Body(): ApimBody | null {
    const ex = this.c.ex;
    if (ex.requestBody === null) return null;
    return (this._body ??= new BufferBody(() => bodyBuffer(ex.requestBody), () => { ex.requestBody = EMPTY; }));
  }
  get Certificate(): null { return null; }
}

function hostOf(ex: Exchange): string {
  const h = ex.req.headers.host ?? (ex.req.headers[':authority'] as string | undefined);
  return h !== undefined && /^[A-Za-z0-9.:[\]-]+$/.test(h) ? h : 'localhost';
}

function safeUrl(s: string): MemoryUrl {
  try { return new MemoryUrl(s); } catch { return new MemoryUrl('http://localhost/'); }
}

function errorMessage(ex: Exchange): string {
  const b = ex.response?.body;
  if (typeof b === 'string') {
    try { const p = JSON.parse(b) as { detail?: unknown; message?: unknown }; return String(p.detail ?? p.message ?? ''); } catch { return ''; }
  }
  return '';
}

const REASONS: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
export function reasonOf(status: number): string { return REASONS[status] ?? ''; }
