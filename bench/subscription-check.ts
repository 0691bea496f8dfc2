import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ROOT } from './harness.js';

/**
 * The subscription-key check alone, in-process (issue 16): the real subscriptions cache on SQLite,
 * `n` checks of a valid key, each in a new string as a parsed header is. No sockets, no timers, so
 * under callgrind its instructions are exact:
 *
 *   valgrind --tool=callgrind --separate-threads=yes node dist/bench/subscription-check.js <n> <check|bare> [--root=<checkout>]
 *
 * (main thread's instructions with `check` minus with `bare`, the same loop without the check) ÷ n.
 * `--root` loads another built checkout's modules (before/after).
 */

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const root = process.argv.find((a) => a.startsWith('--root='))?.slice(7) ?? ROOT;
const n = Number(args[0] ?? 50_000);
const mode = args[1] ?? 'check';

/* eslint-disable @typescript-eslint/no-explicit-any -- modules of another checkout, loaded by path */
const load = (p: string): Promise<any> => import(join(root, 'dist', p));

async function main(): Promise<void> {
  const { openDb } = await load('src/identity/db.js');
  const { SubscriptionStore } = await load('src/identity/subscriptions/store.js');
  const { SubscriptionCache } = await load('src/identity/subscriptions/cache.js');
  const { checkSubscription } = await load('src/gateway/subscriptions/check.js');
  const { buildRuntime } = await load('src/gateway/compile/index.js');
  const { loadConfigText } = await load('src/app/config.js');
  const { gatewaySchema } = await load('src/app/schema.js');
  const { Metrics } = await load('src/observability/metrics.js');
  const { testExchange } = await load('test/helpers/exchange.js');
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-subcheck-')), 'identity.db')}`;
  const db = await openDb(url, '/');
  const made = await new SubscriptionStore(db).create({ scope: 'product', target: 'bench', state: 'active', owner: { type: 'client', id: 'bench' } });
  await db.close();
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const cache = new SubscriptionCache({ open: () => openDb(url, '/'), url, pollMs: 60_000, timeoutMs: 2000, logger, metrics });
  await cache.refresh();
  const yaml = 'backends: { b: { url: "http://127.0.0.1:9" } }\nproducts:\n  - { id: bench, name: Bench, apis: [bench] }\napis:\n  - { name: bench, path: /, backend: b }\n';
  const rt = await buildRuntime(loadConfigText(yaml, '/cfg/gatehouse.yaml', {}), { logger, metrics, subscriptions: cache }, gatewaySchema.parse({}));
  const api = rt.apis[0];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const ex = testExchange({ headers: { 'ocp-apim-subscription-key': (' ' + String(made.primaryKey)).slice(1) }, upstream: true, api });
    if (mode !== 'check') ok++;
    else if ('inbound' in checkSubscription(api, api.subscription, cache, ex, api.pipeline)) ok++;
  }
  await cache.close();
  await rt.close();
  if (ok !== n) throw new Error(`${n - ok} of ${n} checks refused the key`);
  console.log(JSON.stringify({ root, n, mode }));
}
/* eslint-enable @typescript-eslint/no-explicit-any */

main().catch((e) => { console.error(e); process.exit(1); });
