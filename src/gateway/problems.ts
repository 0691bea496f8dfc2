import { statusTitle, type Headers, type Reply } from './reply.js';

/**
 * Every problem the gateway answers, in one closed catalog: its code (stable: it is the
 * problem+json `code`, the `type` `urn:gatehouse:problem:<code>`, a log field and a metric label),
 * its status, what it means and what the caller should do. `problem()` takes a code of this
 * catalog only, so a typo does not compile; docs/problems.md is generated from it.
 *
 * A policy whose status is configurable (ip-filter's `failed-check-httpcode`, validate-jwt's
 * `failed-validation-httpcode`, ...) passes it as `status`; the catalog holds the default.
 */
export interface ProblemEntry {
  readonly status: number;
  /** the title when it is not the status's reason phrase */
  readonly title?: string;
  /** what happened, for the reference */
  readonly meaning: string;
  /** what the caller should do */
  readonly action: string;
}

const FIX_REQUEST = 'Fix the request; sending it again unchanged gets the same answer.';

export const PROBLEMS = {
  // the request as received
  'request-malformed': { status: 400, meaning: 'The request could not be parsed: invalid bytes in a header, or broken chunked framing.', action: 'Send well-formed HTTP/1.1 (RFC 9112). ' + FIX_REQUEST },
  'request-ambiguous': { status: 400, meaning: 'The request framing is ambiguous: Content-Length together with Transfer-Encoding, several Content-Length or Host headers, or a Transfer-Encoding other than chunked. Such requests are never forwarded (request smuggling).', action: 'Send one Content-Length or `Transfer-Encoding: chunked`, and one Host header.' },
  'method-invalid': { status: 400, meaning: 'The request method is not a valid token.', action: FIX_REQUEST },
  'host-missing': { status: 400, meaning: 'An HTTP/1.1 request without a Host header.', action: 'Send the Host header.' },
  'request-target-invalid': { status: 400, meaning: 'The request target is not a path (or an absolute URL naming this host), or the redirecting listener cannot build the HTTPS URL.', action: 'Send an origin-form target such as `/orders/7?x=1`.' },
  'path-invalid': { status: 400, meaning: 'The path is ambiguous: an encoded `/`, `\\` or NUL, dot-segments above the root, or `;` path parameters on an API that does not allow them. Routing and policies would otherwise disagree on what it names.', action: 'Send the path without encoded separators or parameters.' },
  'header-name-invalid': { status: 400, meaning: 'A header name contains an underscore and `gateway.headers-with-underscores` is `reject`.', action: 'Use hyphens in header names (`X-User-Id`).' },
  'url-too-long': { status: 414, meaning: 'The request target is longer than `gateway.limits.max-url-length`.', action: 'Send a shorter URL (move data into the body).' },
  'headers-too-large': { status: 431, meaning: 'The request line and headers are larger than `gateway.limits.max-header-size`.', action: 'Send fewer or smaller headers (large cookies are the usual cause).' },
  'request-timeout': { status: 408, meaning: 'The request headers (or the whole request) did not arrive within `gateway.limits.header-timeout` (`request-timeout`). The connection is closed.', action: 'Send the request promptly on a new connection.' },
  'expectation-failed': { status: 417, meaning: 'An `Expect` header other than `100-continue`.', action: 'Send no Expect header, or `Expect: 100-continue`.' },
  'http-version-not-supported': { status: 505, meaning: 'An HTTP/0.9 request line (no version).', action: 'Use HTTP/1.1 or HTTP/2.' },
  'misdirected-request': { status: 421, meaning: 'The Host of the request is not covered by the certificate of the TLS connection it arrived on (connection reuse across host names).', action: 'Open a new connection for this host name.' },
  'upgrade-not-supported': { status: 400, meaning: 'An Upgrade other than WebSocket.', action: 'Only `Upgrade: websocket` is supported.' },
  // routing
  'route-not-found': { status: 404, meaning: 'No API is published at this host and path.', action: 'Check the URL against the published APIs.' },
  'operation-not-found': { status: 404, meaning: 'The API has no operation at this path.', action: "Check the path against the API's operations." },
  'method-not-allowed': { status: 405, meaning: 'The path exists, but not for this method; `Allow` lists the methods it has.', action: 'Use one of the methods in `Allow`.' },
  // the request body
  'body-too-large': { status: 413, title: 'Content Too Large', meaning: 'The body is larger than the API accepts (`max-body-size`, or validate-content `max-size`): known from Content-Length before reading, or found while it streams.', action: 'Send a smaller body.' },
  'body-too-slow': { status: 408, meaning: 'The body arrived slower than `gateway.limits.min-body-rate` while the gateway was reading it.', action: 'Send the body at a steady rate; retry on a better connection.' },
  'body-length-mismatch': { status: 400, meaning: 'The body does not match its Content-Length.', action: 'Send exactly Content-Length bytes.' },
  'request-body-incomplete': { status: 400, meaning: 'The body ended before it was complete while a policy was reading it.', action: 'Send the whole body.' },
  'client-closed-request': { status: 499, title: 'Client Closed Request', meaning: 'The client went away before the answer (never sent: it appears in logs and metrics).', action: 'Nothing: the client is gone.' },
  // the backend
  'backend-not-configured': { status: 500, meaning: 'The API has no backend and no policy answered the request.', action: "The API's configuration needs a backend (for its operator)." },
  'backend-unreachable': { status: 502, meaning: 'The backend could not be reached: connection refused, no route, name not resolved, or connect timeout.', action: 'Retry later; the operator should check the backend.' },
  'backend-connection-failed': { status: 502, meaning: 'The connection to the backend failed while the request was sent or answered.', action: 'Retry later (an idempotent request is safe to retry).' },
  'backend-tls-failed': { status: 502, meaning: 'The TLS handshake with the backend failed (certificate not trusted, name or pin mismatch). The cause is logged, never sent.', action: 'Retry later; the operator should check the backend certificate.' },
  'backend-timeout': { status: 504, meaning: "The backend did not answer (or went silent mid-body) within the backend's `timeout`.", action: 'Retry later; the operator should check the backend.' },
  'backend-response-incomplete': { status: 502, meaning: 'The backend response ended before it was complete while a policy was reading it.', action: 'Retry later.' },
  'backend-upgrade-failed': { status: 502, meaning: 'The backend refused or failed the WebSocket upgrade.', action: 'Retry later.' },
  'no-healthy-upstream': { status: 503, meaning: 'Every target of the backend is unhealthy (failed health checks) or ejected (failing live traffic).', action: 'Retry after the `Retry-After` seconds; the operator should check the backend.' },
  'upstream-overloaded': { status: 503, meaning: 'Every connection to the backend is busy and its queue is full (`max-pending`), or no connection became free within `queue-timeout`.', action: 'Retry after the `Retry-After` seconds.' },
  'cache-revalidation-mismatch': { status: 502, meaning: 'The cache asked the backend whether its stored response was still current, and the backend answered 304 for another version (a different ETag or Last-Modified). The stored entry is dropped.', action: 'Retry: the next request fetches the response in full.' },
  'response-invalid': { status: 502, meaning: "The backend's response does not match the API description (outbound validation). The details are logged, never sent.", action: "Retry later; the API's operator should fix the backend." },
  'policy-expression-failed': { status: 500, meaning: 'A policy of an XML policy document failed at run time: an expression threw (`context.LastError.Reason` is `ExpressionValueEvaluationFailure`) or a policy could not do its work. The on-error section runs; the log has the details.', action: 'Fix the policy document (the message names the exception), or send the request the policy expects.' },
  'internal-error': { status: 500, meaning: 'The gateway failed while processing the request (a bug: the log has the details).', action: 'Retry later and report the request id.' },
  // tokens (validate-jwt, check-claims)
  'token-missing': { status: 401, meaning: 'The API requires a bearer token and the request has none.', action: 'Get a token from the identity provider and send it as `Authorization: Bearer <token>`.' },
  'token-malformed': { status: 401, meaning: 'The token is not a well-formed compact JWS (three base64url parts, JSON header and claims).', action: 'Send the token exactly as issued.' },
  'token-too-large': { status: 401, meaning: "The token is larger than validate-jwt's `max-token-size`.", action: 'Send the token exactly as issued.' },
  'token-ambiguous': { status: 400, meaning: 'More than one token in the request (two Authorization headers, or a header and a query parameter).', action: 'Send the token in one place only.' },
  'token-expired': { status: 401, meaning: 'The token has expired (`exp`, with the configured clock skew).', action: 'Get a new token (refresh it).' },
  'token-not-yet-valid': { status: 401, meaning: 'The token is not valid yet (`nbf` or `iat` in the future beyond the clock skew).', action: "Check the client's clock; get a new token." },
  'token-signature-invalid': { status: 401, meaning: 'The signature does not verify with any key of the issuer (or the token names an unknown key).', action: 'Get a new token from the configured identity provider.' },
  'token-audience-invalid': { status: 401, meaning: "The token's `aud` is not one the API accepts.", action: 'Ask for a token for this API (the `resource` / audience it expects).' },
  'token-issuer-invalid': { status: 401, meaning: "The token's `iss` is not one the API accepts.", action: 'Get a token from the identity provider this API trusts.' },
  'token-algorithm-not-allowed': { status: 401, meaning: "The token's algorithm is not allowed for its key (`none`, HMAC with a public key, or an algorithm the API refuses).", action: 'Get a token from the configured identity provider.' },
  'token-claim-not-allowed': { status: 403, meaning: 'The token is valid but lacks a required claim value (a scope or role).', action: 'Ask for a token with the scope or role the operation requires.' },
  'token-keys-unavailable': { status: 503, meaning: "The issuer's signing keys could not be loaded yet.", action: 'Retry after the `Retry-After` seconds.' },
  'token-dpop-required': { status: 401, meaning: 'The token is bound to a key (DPoP, `cnf.jkt`) and was not presented with `Authorization: DPoP` and a proof.', action: 'Send the token as `Authorization: DPoP <token>` with a `DPoP` proof of its key.' },
  'token-dpop-proof-invalid': { status: 401, meaning: 'The DPoP proof is missing, malformed, for another key, method or URL, too old, or replayed.', action: 'Send a fresh proof for this request (RFC 9449).' },
  'token-dpop-unavailable': { status: 503, meaning: 'DPoP proof replay could not be checked (the counter store did not answer).', action: 'Retry after the `Retry-After` seconds.' },
  // access policies
  'caller-ip-not-allowed': { status: 403, meaning: "The caller's IP address is not allowed by ip-filter.", action: "Call from an allowed network; the API's operator decides which." },
  'header-check-failed': { status: 403, meaning: 'A header check-header requires is missing or has a value that is not accepted.', action: 'Send the header with an accepted value.' },
  'client-certificate-missing': { status: 403, meaning: 'The API requires a client certificate and the connection has none.', action: 'Connect with a client certificate.' },
  'client-certificate-untrusted': { status: 403, meaning: 'The client certificate does not chain to a trusted CA.', action: 'Use a certificate issued by a CA the API trusts.' },
  'client-certificate-expired': { status: 403, meaning: 'The client certificate has expired.', action: 'Renew the certificate.' },
  'client-certificate-not-yet-valid': { status: 403, meaning: 'The client certificate is not valid yet.', action: "Check the certificate's dates and the client's clock." },
  'client-certificate-revoked': { status: 403, meaning: 'The client certificate is revoked (listed in a configured CRL).', action: 'Get a new certificate.' },
  'client-certificate-identity-mismatch': { status: 403, meaning: 'The client certificate is valid but not one of the identities the API accepts.', action: 'Use a certificate the API accepts.' },
  // throttling
  'rate-limit-exceeded': { status: 429, meaning: 'More calls than rate-limit-by-key allows in its window.', action: 'Retry after the `Retry-After` seconds (RateLimit headers say how many calls remain).' },
  'quota-exceeded': { status: 403, meaning: 'The quota of calls or bandwidth for the period is used up.', action: 'Wait for the period to renew (`Retry-After`), or ask for a larger quota.' },
  'rate-limit-store-unavailable': { status: 503, meaning: 'The counter store did not answer in time and the policy is set to deny then (`on-store-error: deny`).', action: 'Retry after the `Retry-After` seconds.' },
  // subscriptions (products and keys)
  'subscription-key-missing': { status: 401, meaning: 'The API requires a subscription key and the request has none (header `Ocp-Apim-Subscription-Key` or query parameter `subscription-key`, unless the API names others).', action: 'Subscribe to a product that includes the API and send one of its keys.' },
  'subscription-key-invalid': { status: 401, meaning: 'The subscription key is not a key of any subscription, or of none that covers this API (a key that was regenerated stops working).', action: 'Send a current key of a subscription to this API or to a product that includes it.' },
  'subscription-inactive': { status: 401, meaning: 'The key belongs to a subscription that is not active: submitted (awaiting approval), suspended, cancelled or expired.', action: 'Ask the API provider to approve or reactivate the subscription, or subscribe again.' },
  'subscription-key-ambiguous': { status: 400, meaning: 'The request carries more than one subscription key (the header and the query parameter, or either twice).', action: 'Send the key once.' },
  'subscription-store-unavailable': { status: 503, meaning: 'The gateway has not been able to load the subscriptions yet (the database is unreachable since it started).', action: 'Retry after the `Retry-After` seconds.' },
  // the management API (admin listener)
  'management-unauthorized': { status: 401, meaning: 'The management API requires an admin token (`management.auth`) and the request has none, or one that is not valid for it (signature, issuer, audience, expiry).', action: 'Send `Authorization: Bearer <token>` with a token of the configured issuer and audience.' },
  'management-forbidden': { status: 403, meaning: 'The admin token is valid but lacks the admin role.', action: 'Use a token of an account with the admin role (`management.auth.admin-role`).' },
  'management-not-found': { status: 404, meaning: 'No such management resource (product, subscription, key, user, client, API or path), or the method does not apply to it.', action: 'Check the id and the path against /management/openapi.json.' },
  'management-request-invalid': { status: 400, meaning: 'The management request is invalid: not JSON, too large, or not matching the schema (a client as `gatehouse clients add` checks it, roles); or it names an unknown product, API or user.', action: 'Fix the request as `detail` says.' },
  'management-conflict': { status: 409, meaning: 'The change does not apply to the resource as it is: a subscription in another state (approving an active one), a client of the configuration file (read-only) or one that exists already, a public client\'s secret, a reset mail without mail configured, keys without an identity section.', action: 'Read the resource and `detail`: choose an action its state allows, or change the configuration file.' },
  'management-unavailable': { status: 503, meaning: 'The database of the management API (subscriptions, users, clients, keys, audit log) did not answer.', action: 'Retry after the `Retry-After` seconds.' },
  'portal-unauthorized': { status: 401, meaning: 'A developer-portal request that needs the developer\'s access token has none, or one that is not valid for the portal (signature, issuer, audience, expiry).', action: 'Sign in to the portal again; send `Authorization: Bearer <token>`.' },
  'portal-not-found': { status: 404, meaning: 'No such portal resource: an unknown API or product, or a subscription that does not exist or belongs to another developer.', action: 'Check the id; a developer sees only their own subscriptions.' },
  'portal-request-invalid': { status: 400, meaning: 'The portal request is invalid: not JSON, too large, or not naming a product the portal offers.', action: 'Fix the request as `detail` says.' },
  'portal-unavailable': { status: 503, meaning: 'The identity provider\'s keys (to verify the developer\'s token) or the subscriptions database did not answer the portal.', action: 'Retry after the `Retry-After` seconds.' },
  // validation (OpenAPI)
  'request-body-invalid': { status: 400, meaning: 'The body is missing where required, or does not match the schema (invalid JSON, duplicate keys, too deep, wrong types); `errors` lists each violation.', action: 'Fix the body as `errors` says.' },
  'request-parameter-invalid': { status: 400, meaning: 'A path, query or header parameter does not match the API description; `errors` lists each violation.', action: 'Fix the parameters as `errors` says.' },
  'content-type-not-allowed': { status: 415, meaning: 'The body has a Content-Type the operation does not declare (or none).', action: 'Send one of the media types the operation declares.' },
  'content-encoding-not-supported': { status: 415, meaning: 'The body has a Content-Encoding the gateway cannot decode for validation (only gzip, deflate, br, one at a time).', action: 'Send the body uncompressed or with gzip, deflate or br.' },
} as const satisfies Record<string, ProblemEntry>;

export type ProblemCode = keyof typeof PROBLEMS;

/**
 * Build a problem reply from the catalog.
 *
 * ```ts
 * return problem('caller-ip-not-allowed', 'Your IP address is not allowed.');
 * ```
 */
export function problem(
  code: ProblemCode,
  detail?: string,
  opts: { status?: number; title?: string; headers?: Headers; members?: Record<string, unknown> } = {},
): Reply {
  const entry: ProblemEntry = PROBLEMS[code];
  const status = opts.status ?? entry.status;
  return {
    status,
    headers: opts.headers,
    problem: { code, title: opts.title ?? (status === entry.status ? entry.title : undefined) ?? statusTitle(status), detail, members: opts.members },
    code,
  };
}
