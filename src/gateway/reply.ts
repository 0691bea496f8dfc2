/**
 * A Reply is how the gateway ends a request itself: a policy returns one to stop the pipeline,
 * the proxy returns one when the backend fails. Problems (RFC 9457) are Replies whose body is
 * rendered at send time, because the request id and the instance are only known then.
 *
 * Reason codes are stable: they appear in problem+json (`code`, `type`), logs and metrics.
 */
export type HeaderValue = string | string[];
export type Headers = Record<string, HeaderValue>;

export interface ProblemBody {
  /** stable reason code from the catalog (problems.ts); becomes `type: urn:gatehouse:problem:<code>` */
  code: string;
  title: string;
  detail?: string;
  /** extra members (e.g. `errors` for validation) */
  members?: Record<string, unknown>;
}

export interface Reply {
  status: number;
  headers?: Headers;
  /** a literal body; ignored when `problem` is set */
  body?: string | Buffer;
  problem?: ProblemBody;
  /** reason code for logs and metrics (defaults to problem.code) */
  code?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 411: 'Length Required', 413: 'Content Too Large', 417: 'Expectation Failed',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 421: 'Misdirected Request', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** Serialise a problem for the wire. `requestId` is always included. */
export function renderProblem(p: ProblemBody, status: number, requestId: string): string {
  return JSON.stringify({
    type: `urn:gatehouse:problem:${p.code}`,
    title: p.title,
    status,
    ...(p.detail !== undefined ? { detail: p.detail } : {}),
    code: p.code,
    requestId,
    ...p.members,
  });
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
