import type { ApimBody, ApimCertificate, ApimContext, ApimLastError, ApimMap, ApimProduct, ApimResponse, ApimSubscription, ApimUrl, ApimUser } from './csharp/model.js';
import { CsDateTime, CsTimeSpan, Kind } from './csharp/runtime/datetime.js';
import { CsGuid } from './csharp/stdlib/web.js';

/**
 * An in-memory implementation of the object model, for tests and for `apim check`-style dry
 * runs: plain data in, a context out.
 */
export class MemoryMap<V> implements ApimMap<V> {
  private readonly m = new Map<string, [string, V]>();
  constructor(entries: Iterable<[string, V]> = [], private readonly caseInsensitive = false) {
    for (const [k, v] of entries) this.set(k, v);
  }
  private k(key: string): string { return this.caseInsensitive ? key.toLowerCase() : key; }
  get(key: string): V | undefined { return this.m.get(this.k(key))?.[1]; }
  has(key: string): boolean { return this.m.has(this.k(key)); }
  set(key: string, v: V): this { this.m.set(this.k(key), [key, v]); return this; }
  delete(key: string): boolean { return this.m.delete(this.k(key)); }
  keys(): Iterable<string> { return [...this.m.values()].map((e) => e[0]); }
  get size(): number { return this.m.size; }
}

/** A body read once unless `preserveContent` is true, as the service's. */
export class MemoryBody implements ApimBody {
  private bytes: Uint8Array;
  consumed = false;
  constructor(content: string | Uint8Array) {
    this.bytes = typeof content === 'string' ? new Uint8Array(Buffer.from(content, 'utf8')) : content;
  }
  read(preserveContent: boolean): Uint8Array {
    const b = this.bytes;
    if (!preserveContent) { this.bytes = new Uint8Array(0); this.consumed = true; }
    return b;
  }
  /** What would be forwarded now. */
  get remaining(): string { return Buffer.from(this.bytes).toString('utf8'); }
}

export class MemoryUrl implements ApimUrl {
  readonly Scheme: string;
  readonly Host: string;
  readonly Port: number;
  readonly Path: string;
  readonly QueryString: string;
  readonly Query: MemoryMap<readonly string[]>;
  constructor(private readonly href: string) {
    const u = new URL(href);
    this.Scheme = u.protocol.replace(/:$/, '');
    this.Host = u.hostname;
    this.Port = u.port ? Number(u.port) : this.Scheme === 'https' ? 443 : 80;
    this.Path = u.pathname;
    this.QueryString = u.search;
    const q = new MemoryMap<string[]>([], true);
    for (const [k, v] of u.searchParams) q.set(k, [...(q.get(k) ?? []), v]);
    this.Query = q;
  }
  toString(): string { return this.href; }
}

const headerMap = (h: Record<string, string | string[]> = {}) =>
  new MemoryMap<readonly string[]>(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]), true);

export interface MemoryContextInit {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  ipAddress?: string;
  matchedParameters?: Record<string, string>;
  variables?: Record<string, unknown>;
  response?: { statusCode?: number; statusReason?: string; headers?: Record<string, string | string[]>; body?: string };
  api?: { id?: string; name?: string; path?: string; version?: string | null; revision?: string; serviceUrl?: string };
  operation?: { id?: string; name?: string; method?: string; urlTemplate?: string } | null;
  product?: Partial<ApimProduct> | null;
  subscription?: Partial<ApimSubscription> | null;
  user?: Partial<ApimUser> | null;
  lastError?: ApimLastError | null;
  certificate?: ApimCertificate | null;
  deployment?: { region?: string; serviceName?: string; gatewayId?: string };
  requestId?: string;
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number;
  elapsedMs?: number;
}

export interface MemoryContext extends ApimContext {
  readonly Variables: MemoryMap<unknown>;
  readonly traces: string[];
}

export function memoryResponse(init: MemoryContextInit['response'] = {}): ApimResponse & { Body: MemoryBody | null } {
  return {
    StatusCode: init.statusCode ?? 200,
    StatusReason: init.statusReason ?? 'OK',
    Headers: headerMap(init.headers),
    Body: init.body === undefined ? null : new MemoryBody(init.body),
  };
}

export function memoryContext(init: MemoryContextInit = {}): MemoryContext {
  const url = new MemoryUrl(init.url ?? 'https://api.example.com/orders/7');
  const traces: string[] = [];
  const api = init.api ?? {};
  return {
    Api: {
      Id: api.id ?? 'orders-api', Name: api.name ?? 'Orders', Path: api.path ?? 'orders', Protocols: ['https'],
      ServiceUrl: new MemoryUrl(api.serviceUrl ?? 'https://backend.example.com/api'),
      SubscriptionKeyParameterNames: { Header: 'Ocp-Apim-Subscription-Key', Query: 'subscription-key' },
      Version: api.version ?? null, Revision: api.revision ?? '1', IsCurrentRevision: true,
    },
    Deployment: {
      GatewayId: init.deployment?.gatewayId ?? 'managed', Region: init.deployment?.region ?? 'West Europe',
      ServiceId: 'gatehouse', ServiceName: init.deployment?.serviceName ?? 'gatehouse', Certificates: new MemoryMap(),
    },
    Elapsed: new CsTimeSpan((init.elapsedMs ?? 12) * 10_000),
    LastError: init.lastError ?? null,
    Operation: init.operation === null ? null : { Id: 'get-order', Name: 'Get order', Method: init.method ?? 'GET', UrlTemplate: '/orders/{id}', ...capitalize(init.operation ?? {}) },
    Product: init.product === null ? null : { Apis: [], ApprovalRequired: false, Groups: [], Id: 'starter', Name: 'Starter', State: 1, SubscriptionLimit: null, SubscriptionRequired: true, ...init.product },
    Request: {
      Method: init.method ?? 'GET', Url: url, OriginalUrl: url, Headers: headerMap(init.headers), IpAddress: init.ipAddress ?? '203.0.113.9',
      MatchedParameters: new MemoryMap(Object.entries(init.matchedParameters ?? {})), Body: init.body === undefined ? null : new MemoryBody(init.body),
      Certificate: init.certificate ?? null,
    },
    RequestId: new CsGuid(init.requestId ?? '6f1c2a4e-1b2c-4d3e-8f90-0123456789ab'),
    Response: init.response ? memoryResponse(init.response) : null,
    Subscription: init.subscription === null ? null : {
      CreatedDate: new CsDateTime(Date.UTC(2024, 0, 1), Kind.Utc), EndDate: null, Id: 'sub-1', Key: 'key-1', Name: 'Contoso', PrimaryKey: 'key-1', SecondaryKey: 'key-2', StartDate: null,
      ...init.subscription,
    },
    Timestamp: new CsDateTime(init.timestamp ?? Date.now(), Kind.Utc),
    Tracing: false,
    User: init.user === null || init.user === undefined ? null : {
      Email: 'alice@example.com', FirstName: 'Alice', Groups: [], Id: 'alice', Identities: [], LastName: 'Liddell', Note: '', RegistrationDate: new CsDateTime(Date.UTC(2024, 0, 1), Kind.Utc), ...init.user,
    },
    Variables: new MemoryMap(Object.entries(init.variables ?? {})),
    Trace: (m: string) => { traces.push(m); },
    traces,
  };
}

function capitalize(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k[0]!.toUpperCase() + k.slice(1), v]));
}
