import { redact } from '../../../state/index.js';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../../../config/errors.js';
import type { CounterStore } from '../../../state/types.js';
import type { PolicyContext } from '../../policy.js';
import { HeaderName, StatusList, compileStatusList } from './fields.js';

/**
 * What rate-limit-by-key and quota-by-key share: counter keys, increment conditions, the
 * worker check, the store's readiness and the fallback metric.
 */

/** The counter every request shares when its `counter-key` cannot be rendered. */
export const FALLBACK_KEY = '(missing)';
/** Rendered keys longer than this are stored as a SHA-256 digest (bounded memory per key). */
export const MAX_RAW_KEY = 128;

/**
 * The store key of one counter: a short, stable namespace of the policy (its location in the
 * config) and the rendered `counter-key`. A key that does not render (a missing header or
 * claim) maps to the one fallback counter: it never skips the limit, and no client value can
 * name the fallback counter (rendered values are prefixed with `=`, digests with `#`).
 */
export function counterKey(ns: string, rendered: string | undefined): string {
  if (rendered === undefined) return ns + FALLBACK_KEY;
  if (rendered.length > MAX_RAW_KEY) return ns + '#' + createHash('sha256').update(rendered).digest('base64url');
  return ns + '=' + rendered;
}

/**
 * `counterKey` for one policy, remembered per rendered value (up to 10,000, then forgotten all at
 * once): the same caller's key is not concatenated, flattened and hashed again on every request.
 */
export function counterKeys(ns: string): (rendered: string | undefined) => string {
  let memo = new Map<string, string>();
  return (rendered) => {
    if (rendered === undefined) return ns + FALLBACK_KEY;
    let key = memo.get(rendered);
    if (key === undefined) {
      key = counterKey(ns, rendered);
      if (memo.size >= 10_000) memo = new Map();
      memo.set(rendered, key);
    }
    return key;
  };
}

/** A short namespace for a policy at `location` (`rl:` / `q:` + 12 chars of its digest). */
export function namespace(kind: 'rl' | 'q', location: string): string {
  return `${kind}:${createHash('sha256').update(location).digest('base64url').slice(0, 12)}:`;
}

export const IncrementCondition = z
  .strictObject({
    status: StatusList.describe('Response statuses that count, as codes (404) or classes ("2xx"). Other responses are not counted.'),
  })
  .describe(
    'Which responses count. The call is counted before it is forwarded and refunded when the response does not match, ' +
      'so a concurrent burst cannot overshoot the limit. Default: every response counts.',
  );

/** Compile `increment-condition` to a status test; undefined = every response counts. */
export function compileCondition(c: { status: Array<number | string> } | undefined): ((status: number) => boolean) | undefined {
  if (c === undefined) return undefined;
  const counts = compileStatusList(c.status);
  // status 0: the client went away before a response was sent; the outcome at the backend is
  // unknown, so the call stays counted
  return (status) => status === 0 || counts(status);
}

/** The header of the seconds to wait on a refusal. */
export const retryAfterHeader = (doc: string) => HeaderName.default('Retry-After').describe(doc);

export const OnStoreError = z
  .enum(['allow', 'deny'])
  .default('allow')
  .describe(
    'What to do when the counter store cannot answer in time (Redis down, timeout, circuit open): allow the request ' +
      'uncounted, or deny it with 503 `rate-limit-store-unavailable`.',
  );

/**
 * The memory store counts per process. With several workers (`gateway.workers` > 1) each
 * worker would enforce its own limit, `workers` times the configured one, so an exact policy is
 * refused at load with a pointer to Redis.
 */
export function checkWorkers(store: CounterStore, policy: string, workers: number): void {
  if (store.kind === 'memory' && Number.isFinite(workers) && workers > 1) {
    throw new ConfigError(
      `${policy} needs one counter shared by every worker, but gateway.store is memory and gateway.workers is ${workers}: ` +
        'each worker would admit the full limit. Set gateway.store to redis://host:port (or redis-cluster://...), or gateway.workers to 1.',
    );
  }
}

/** Whole seconds a client must wait, at least 1. */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A non-negative integer from config text, or undefined. */
export function parseCount(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
}

/**
 * Register (once per config) a readiness check: the gateway is not ready until its counter store
 * has answered a first call (not only connected: a Redis Cluster that has just formed accepts
 * connections before it serves its slots). A store that fails later does not make the gateway
 * unready: `on-store-error` decides what its calls get. The check is named after the store
 * (`counter-store redis://host:port`, the password redacted) so /readyz says what it waits for.
 */
export function storeReadiness(ctx: PolicyContext, store: CounterStore, url: string): void {
  ctx.shared('gatehouse:counter-store-readiness', () => {
    ctx.readiness(`counter-store ${redact(url.split('?')[0]!)}`, () => store.started());
    return true;
  });
}

/** The counter of decisions taken by `on-store-error` (one metric for both policies). */
export function storeFallbacks(ctx: PolicyContext) {
  return ctx.metrics.counter(
    'gatehouse_throttle_store_fallbacks_total',
    'Decisions taken by on-store-error because the counter store could not answer',
    ['policy', 'action'],
  );
}
