import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { FastCounter, FastHistogram } from '../../src/observability/fast-metrics.js';

/**
 * The per-request metrics kept by fast-metrics.ts read exactly as prom-client's own would: the same
 * text on /metrics (Prometheus and OpenMetrics), the same JSON, and the same sums across workers.
 */

const buckets = [0.0005, 0.001, 0.005, 0.1, 1, 10];

function fill(reg: client.Registry, fast: boolean) {
  const C = fast ? FastCounter : client.Counter;
  const H = fast ? FastHistogram : client.Histogram;
  const requests = new C({ name: 'g_requests_total', help: 'Requests', labelNames: ['api', 'operation', 'status'], registers: [reg] });
  const duration = new H({ name: 'g_duration_seconds', help: 'Time', labelNames: ['api'], buckets, registers: [reg] });
  const values = [0, 0.0004, 0.0005, 0.0007, 0.003, 0.2, 5, 10, 11, 1e-9, 0.1];
  for (const [i, v] of values.entries()) {
    const api = i % 3 === 0 ? 'orders' : i % 3 === 1 ? 'a"b\\c\nd' : '';
    requests.labels(api, i % 2 ? 'op' : '', String(200 + (i % 4))).inc();
    requests.labels({ api, status: '500' }).inc(2);
    duration.labels(api).observe(v);
    duration.labels({ api: 'x' }).observe(v * 2);
  }
  const end = duration.labels('timed').startTimer();
  end();
  return { requests, duration };
}

async function both() {
  const a = new client.Registry();
  const b = new client.Registry();
  fill(a, false);
  fill(b, true);
  return { a, b };
}

/** the timed series' sum differs between the two (real time): compare everything else */
function dropTimedSum(text: string): string {
  return text.replace(/^g_duration_seconds_sum\{api="timed"\} .*$/m, '');
}

test('the same Prometheus text as prom-client\'s own counter and histogram', async () => {
  const { a, b } = await both();
  assert.equal(dropTimedSum(await b.metrics()), dropTimedSum(await a.metrics()));
  a.setContentType(client.openMetricsContentType as never);
  b.setContentType(client.openMetricsContentType as never);
  assert.equal(dropTimedSum(await b.metrics()), dropTimedSum(await a.metrics()));
});

test('the same JSON, and the same sums when workers are aggregated', async () => {
  const { a, b } = await both();
  /** each value as JSON with sorted keys, sorted; the timed series' sum left out */
  const canon = (j: Array<{ values: unknown[] }>) => j.map((m) => ({
    ...m,
    values: m.values
      .filter((v) => !((v as { metricName?: string }).metricName === 'g_duration_seconds_sum' && (v as { labels: { api?: string } }).labels.api === 'timed'))
      .map((v) => JSON.stringify(v, Object.keys(v as object).concat(['api', 'operation', 'status', 'le']).sort())).sort(),
  }));
  const ja = await a.getMetricsAsJSON();
  const jb = await b.getMetricsAsJSON();
  assert.deepEqual(canon(jb as never), canon(ja as never));
  const agg = (j: unknown[]) => client.AggregatorRegistry.aggregate([j, j] as never).metrics();
  assert.equal(dropTimedSum(await agg(jb)), dropTimedSum(await agg(ja)));
});

test('reset empties the series; counters refuse to go down', async () => {
  const reg = new client.Registry();
  const { requests, duration } = fill(reg, true);
  assert.throws(() => requests.labels('x', '', '200').inc(-1));
  assert.throws(() => duration.labels('x').observe(Number.NaN));
  assert.throws(() => requests.labels({ nope: 'x' } as never));
  reg.resetMetrics();
  const text = await reg.metrics();
  assert.doesNotMatch(text, /^g_requests_total\{/m);
  assert.doesNotMatch(text, /^g_duration_seconds_count\{/m);
});
