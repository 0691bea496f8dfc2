import type { CsDateTime, CsTimeSpan } from './runtime/datetime.js';
import type { CsGuid } from './stdlib/web.js';

/**
 * The object model policy expressions see as `context`, as TypeScript interfaces the gateway
 * implements (member names are the service's). Values are in the engine's run-time
 * representation (see builtins.ts): `int` is a number, `DateTime` a CsDateTime, and so on;
 * `Variables` holds whatever expressions and policies stored.
 *
 * Maps are read-only views; header and query maps are case-insensitive (the implementer's job).
 */
export interface ApimMap<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  keys(): Iterable<string>;
  readonly size: number;
}

export interface ApimContext {
  readonly Api: ApimApi;
  readonly Deployment: ApimDeployment;
  readonly Elapsed: CsTimeSpan;
  readonly LastError: ApimLastError | null;
  readonly Operation: ApimOperation | null;
  readonly Product: ApimProduct | null;
  readonly Request: ApimRequest;
  readonly RequestId: CsGuid;
  readonly Response: ApimResponse | null;
  readonly Subscription: ApimSubscription | null;
  readonly Timestamp: CsDateTime;
  readonly Tracing: boolean;
  readonly User: ApimUser | null;
  readonly Variables: ApimMap<unknown>;
  /** `context.Trace(message)`: writes to the trace, when tracing is on. */
  Trace(message: string): void;
}

export interface ApimUrl {
  readonly Scheme: string;
  readonly Host: string;
  readonly Port: number;
  /** With a leading `/`. */
  readonly Path: string;
  /** `?a=1&b=2`, or empty. */
  readonly QueryString: string;
  readonly Query: ApimMap<readonly string[]>;
  /** The whole URL. */
  toString(): string;
}

/**
 * A message body. `read(false)` consumes it, as the service's `As<T>()` does without
 * `preserveContent: true`: a later read gets an empty body, and the body is no longer forwarded.
 * `read(true)` leaves it in place.
 */
export interface ApimBody {
  read(preserveContent: boolean): Uint8Array;
}

export interface ApimCertificate {
  readonly Subject: string;
  readonly Issuer: string;
  readonly Thumbprint: string;
  readonly SerialNumber: string;
  readonly NotBefore: CsDateTime;
  readonly NotAfter: CsDateTime;
  /** Chain and validity check, done by the gateway. */
  Verify(): boolean;
}

export interface ApimRequest {
  readonly Method: string;
  readonly Url: ApimUrl;
  readonly OriginalUrl: ApimUrl;
  readonly Headers: ApimMap<readonly string[]>;
  readonly IpAddress: string;
  readonly MatchedParameters: ApimMap<string>;
  readonly Body: ApimBody | null;
  readonly Certificate: ApimCertificate | null;
}

/** `context.Response`, and the response of send-request (`IResponse`). */
export interface ApimResponse {
  readonly StatusCode: number;
  readonly StatusReason: string;
  readonly Headers: ApimMap<readonly string[]>;
  readonly Body: ApimBody | null;
}

export interface ApimApi {
  readonly Id: string;
  readonly Name: string;
  readonly Path: string;
  readonly Protocols: readonly string[];
  readonly ServiceUrl: ApimUrl;
  readonly SubscriptionKeyParameterNames: { readonly Header: string; readonly Query: string };
  readonly Version: string | null;
  readonly Revision: string;
  readonly IsCurrentRevision: boolean;
}

export interface ApimOperation {
  readonly Id: string;
  readonly Method: string;
  readonly Name: string;
  readonly UrlTemplate: string;
}

export interface ApimGroup { readonly Id: string; readonly Name: string }

export interface ApimProduct {
  readonly Apis: readonly ApimApi[];
  readonly ApprovalRequired: boolean;
  readonly Groups: readonly ApimGroup[];
  readonly Id: string;
  readonly Name: string;
  /** 0 = NotPublished, 1 = Published. */
  readonly State: number;
  readonly SubscriptionLimit: number | null;
  readonly SubscriptionRequired: boolean;
}

export interface ApimSubscription {
  readonly CreatedDate: CsDateTime;
  readonly EndDate: CsDateTime | null;
  readonly Id: string;
  readonly Key: string;
  readonly Name: string;
  readonly PrimaryKey: string;
  readonly SecondaryKey: string;
  readonly StartDate: CsDateTime | null;
}

export interface ApimUser {
  readonly Email: string;
  readonly FirstName: string;
  readonly Groups: readonly ApimGroup[];
  readonly Id: string;
  readonly Identities: ReadonlyArray<{ readonly Id: string; readonly Provider: string }>;
  readonly LastName: string;
  readonly Note: string;
  readonly RegistrationDate: CsDateTime;
}

export interface ApimDeployment {
  readonly GatewayId: string;
  readonly Region: string;
  readonly ServiceId: string;
  readonly ServiceName: string;
  readonly Certificates: ApimMap<ApimCertificate>;
}

/** What `context.LastError` holds in on-error. */
export interface ApimLastError {
  readonly Source: string;
  readonly Reason: string;
  readonly Message: string;
  readonly Scope: string;
  readonly Section: string;
  readonly Path: string;
  readonly PolicyId: string;
}
