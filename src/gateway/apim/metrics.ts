import type client from 'prom-client';
import { childElements, content, type SourcePos, type XmlElement } from '../../apim/index.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ExchangeContext } from './context.js';
import { loadError, type XCompile } from './registry.js';
import { contentOf, literalAttr, strAttr, type Get } from './values.js';

/**
 * emit-metric and the *-emit-token-metric policies on the gateway's Prometheus registry: one
 * counter per namespace and metric name (`apim_<namespace>_<name>_total`), its dimensions as
 * labels. Label values come from requests, so each metric holds at most `maxSeries` label
 * combinations: a new combination beyond that is dropped and counted in
 * `gatehouse_apim_metric_series_dropped_total{metric}`.
 */

/** A Prometheus name part: lower case, `[a-z0-9_]`, no leading digit. */
export function promName(s: string): string {
  const n = s.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return n === '' ? 'x' : /^[0-9]/.test(n) ? `_${n}` : n;
}

export function metricName(namespace: string, name: string): string {
  return `apim_${promName(namespace)}_${promName(name)}_total`;
}

const SERIES = new WeakMap<client.Counter<string>, Set<string>>();
/** the label names each metric has in one config load (its env): two policies must agree */
const LOADED = new WeakMap<object, Map<string, string>>();

export type Emit = (labelValues: readonly string[], value: number) => void;

/**
 * The emitter of a metric with these label names. A metric registered before (an earlier load)
 * with other labels is replaced: the document that defines it now wins.
 */
export function emitter(metrics: Metrics, name: string, labels: readonly string[], maxSeries: number, load: object, pos: SourcePos): Emit {
  let inLoad = LOADED.get(load);
  if (inLoad === undefined) { inLoad = new Map(); LOADED.set(load, inLoad); }
  const had = inLoad.get(name);
  if (had !== undefined && had !== labels.join(',')) {
    throw loadError('unsupported-attribute', `the metric ${name} is emitted elsewhere with the dimensions [${had}]; one metric has one set of dimensions, here [${labels.join(',')}]`, pos);
  }
  inLoad.set(name, labels.join(','));
  const existing = metrics.registry.getSingleMetric(name) as (client.Counter<string> & { labelNames?: string[] }) | undefined;
  if (existing !== undefined && JSON.stringify(existing.labelNames ?? []) !== JSON.stringify(labels)) metrics.registry.removeSingleMetric(name);
  const counter = metrics.counter(name, 'emit-metric of an API-management policy document', labels);
  const dropped = metrics.counter('gatehouse_apim_metric_series_dropped_total', 'emit-metric values dropped: the metric already had apim.metrics.max-series label combinations', ['metric']);
  let seen = SERIES.get(counter);
  if (seen === undefined) { seen = new Set(); SERIES.set(counter, seen); }
  const series = seen;
  return (values, value) => {
    if (!Number.isFinite(value) || value < 0) return;
    if (values.length > 0) {
      const key = values.join('\u0000');
      if (!series.has(key)) {
        if (series.size >= maxSeries) { dropped.inc({ metric: name }); return; }
        series.add(key);
      }
      counter.inc(Object.fromEntries(labels.map((l, i) => [l, values[i]!])), value);
    } else {
      counter.inc(value);
    }
  };
}

/** Dimensions the service fills when `<dimension name="…"/>` has no value. */
const DEFAULTS: Record<string, (c: ExchangeContext) => string> = {
  'api id': (c) => c.Api.Id,
  'operation id': (c) => c.Operation?.Id ?? '',
  'product id': (c) => c.Product?.Id ?? '',
  'user id': (c) => c.User?.Id ?? '',
  'subscription id': (c) => c.Subscription?.Id ?? '',
  location: (c) => c.Deployment.Region,
  'gateway id': (c) => c.Deployment.GatewayId,
  'client ip': (c) => c.ex.clientIp,
};

/** The `<dimension>` children of a metric policy: label names and getters (at most 5 in the service; 10 here). */
export function dimensions(el: XmlElement, ctx: XCompile): { labels: string[]; values: Array<Get<string>> } {
  const dims = childElements(el).filter((d) => d.name === 'dimension');
  if (dims.length > 10) throw loadError('unsupported-attribute', `<${el.name}> has ${dims.length} dimensions; at most 10`, dims[10]!.pos);
  const pairs: Array<{ label: string; get: Get<string> }> = [];
  for (const d of dims) {
    const a = d.attributes.find((x) => x.name !== 'name' && x.name !== 'value');
    if (a) throw loadError('unsupported-attribute', `<dimension> has no attribute "${a.name}" (it takes name, value)`, a.pos);
    const name = literalAttr(d, 'name');
    if (name === undefined) throw loadError('unsupported-attribute', '<dimension> needs the attribute "name"', d.pos);
    const label = promName(name);
    if (pairs.some((p) => p.label === label)) throw loadError('unsupported-attribute', `dimension "${name}" is given twice (as the label ${label})`, d.pos);
    const v = strAttr(d, 'value', ctx) ?? (content(d) !== undefined ? contentOf(d, ctx) : undefined) ?? DEFAULTS[name.toLowerCase()] ?? (() => '');
    pairs.push({ label, get: v });
  }
  pairs.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return { labels: pairs.map((p) => p.label), values: pairs.map((p) => p.get) };
}
