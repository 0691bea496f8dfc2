import type { CounterStore } from './types.js';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

/**
 * Create the counter store named by `gateway.store`: `memory` (default), `redis://host:port[/db]`
 * or `redis-cluster://host1:port,host2:port`.
 * (Placeholder until the throttling work lands: only the memory kind exists.)
 */
export function createStore(url: string, _opts: { logger: Logger; metrics: Metrics }): CounterStore {
  if (url !== 'memory') throw new Error(`store ${url} is not supported yet`);
  return { kind: 'memory', ready: () => true, close: async () => {} };
}
