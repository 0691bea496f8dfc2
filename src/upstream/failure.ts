/**
 * What kind of failure an error from the HTTP client (undici) or the socket below it is. The
 * gateway turns a kind into the problem the client gets; retries decide on it.
 */
export type FailureKind = 'connect-failure' | 'reset' | 'timeout' | 'tls' | 'length-mismatch' | 'no-healthy-target' | 'other';

const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const TLS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** The error's code (fetch() wraps the error in a TypeError with a cause). */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

export function failureKind(err: unknown): FailureKind {
  const code = errorCode(err);
  if (code === undefined) return 'other';
  if (TIMEOUT.has(code)) return 'timeout';
  if (code === 'UPSTREAM_NO_HEALTHY_TARGET') return 'no-healthy-target';
  if (CONNECT.has(code)) return 'connect-failure';
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return 'length-mismatch';
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || TLS.has(code)) return 'tls';
  if (RESET.has(code)) return 'reset';
  return 'other';
}

/** The connection failed before anything could have been processed: an idempotent, body-less request may be sent again. */
export function connectionFailedEarly(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ECONNREFUSED' || (code !== undefined && RESET.has(code));
}
