import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { StoreKind } from './kind.js';
import { memoryStoreKind } from './memory.js';
import { redisStoreKind } from './redis.js';
import type { CounterStore } from './types.js';
import { parseStoreUrl, redact } from './url.js';

export type { CounterStore } from './types.js';
export type { StoreKind } from './kind.js';
export { redact } from './url.js';

/** The registry: every kind of counter store, by URL scheme. */
const KINDS: readonly StoreKind[] = [memoryStoreKind, redisStoreKind];
const BY_SCHEME: ReadonlyMap<string, StoreKind> = new Map(KINDS.flatMap((k) => k.schemes.map((s) => [s, k] as const)));

/** Every scheme a store URL may have. */
export const STORE_SCHEMES: readonly string[] = [...BY_SCHEME.keys()];

/**
 * Create the counter store named by `gateway.store` (see each kind for its URL form and
 * parameters). Throws an Error with a message fit for a config error when the URL is not usable.
 */
export function createStore(url: string, opts: { logger: Logger; metrics: Metrics }): CounterStore {
  const parsed = parseStoreUrl(url);
  const kind = BY_SCHEME.get(parsed.scheme);
  if (kind === undefined) {
    throw new Error(`store "${redact(url)}" is not supported; use ${KINDS.map((k) => k.usage).join(', ')}`);
  }
  return kind.create(parsed, opts);
}
