import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/identity/db.js';
import { SubscriptionStore } from '../src/identity/subscriptions/store.js';

/**
 * The subscription-key scenario for `npm run bench subscriptions` (issue 16): an API in a product
 * that requires keys, called with a valid key (a cache hit: SHA-256 of the key, a map lookup, a
 * constant-time compare, the key removed from the forwarded headers). The product has no policies,
 * so the difference to the no-policy gateway is the key check alone. `pollInterval`: the
 * subscriptions' poll of the database (default 0.25 s).
 */
export async function subscriptionScenario(backendUrl: string, o: { pollInterval?: string } = {}): Promise<{ name: string; yaml: string; headers: Record<string, string> }> {
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-subs-')), 'identity.db')}`;
  const db = await openDb(url, '/');
  try {
    const made = await new SubscriptionStore(db).create({ scope: 'product', target: 'bench', state: 'active', owner: { type: 'client', id: 'bench' } });
    return {
      name: 'subscription key (cache hit), product without policies',
      yaml: `gateway:
  listen: { http: 0 }
backends:
  b: { url: "${backendUrl}" }
products:
  - { id: bench, name: Bench, apis: [bench] }
apis:
  - { name: bench, path: /, backend: b }
subscriptions: { database: "${url}"${o.pollInterval === undefined ? '' : `, poll-interval: ${o.pollInterval}`} }
`,
      headers: { 'ocp-apim-subscription-key': made.primaryKey },
    };
  } finally {
    await db.close();
  }
}
