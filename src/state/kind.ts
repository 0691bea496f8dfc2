import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { CounterStore } from './types.js';
import type { StoreUrl } from './url.js';

/**
 * A kind of counter store, found by the scheme of `gateway.store`'s URL. A new store is one file
 * that exports one of these, listed in index.ts's registry.
 */
export interface StoreKind {
  /** URL schemes it serves (`memory`, `redis`, ...) */
  readonly schemes: readonly string[];
  /** the URL forms, for error messages */
  readonly usage: string;
  /** Throws an Error whose message fits a config error when the URL is not usable. */
  create(url: StoreUrl, opts: { logger: Logger; metrics: Metrics }): CounterStore;
}
