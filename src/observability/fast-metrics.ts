import client from 'prom-client';

/**
 * The gateway's per-request metrics (requests by status, gateway and backend time), counted
 * without prom-client's per-call work (issue 19): prom-client hashes and validates the label set
 * on every `inc`/`observe`, even through a `labels()` handle, about 2,000 instructions a call and
 * three calls a request. Here `labels()` finds the series once; its handle only adds numbers. The
 * metrics are still prom-client's (same registry, names, help, types, aggregation across
 * workers): only the series made through `labels()` are kept here and handed to prom-client when
 * it reads them (`inc`/`observe` with labels still go through prom-client: use one or the other
 * for a given label set).
 */

type Labels = Record<string, string | number>;

/** the values prom-client's registry reads: `getForPromString` keeps label sets apart, `get` merges them */
interface Value { labels: Labels; sharedLabels?: Labels; value: number; metricName?: string; exemplar?: null }

function keyOf(names: readonly string[], labels: Labels): string {
  let k = '';
  for (const n of names) k += String(labels[n] ?? '') + '\u0000';
  return k;
}

/** The series of a label set, made on first use (a label not declared is refused, as prom-client does). */
function seriesIn<S>(series: Map<string, S>, names: readonly string[], labels: Labels, make: (labels: Labels) => S): S {
  const k = keyOf(names, labels);
  let s = series.get(k);
  if (s === undefined) {
    for (const n of Object.keys(labels)) if (!names.includes(n)) throw new Error(`Added label "${n}" is not included in initial labelset`);
    series.set(k, (s = make({ ...labels })));
  }
  return s;
}

/** `labels('a', 'b')` or `labels({ name: 'a' })`, as prom-client takes them */
function labelsArg(names: readonly string[], args: ReadonlyArray<string | number | object>): Labels {
  if (args.length === 1 && typeof args[0] === 'object') return args[0] as Labels;
  return labelsOf(names, args as ReadonlyArray<string | number>);
}

function labelsOf(names: readonly string[], values: ReadonlyArray<string | number>): Labels {
  if (values.length > names.length) throw new Error(`Invalid number of arguments: ${values.length} labels for ${names.length} names`);
  const l: Labels = {};
  names.forEach((n, i) => { if (values[i] !== undefined) l[n] = values[i]!; });
  return l;
}

class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(v = 1): void {
    if (!(v >= 0) || !Number.isFinite(v)) throw new TypeError(`a counter only goes up by a finite amount, not ${v}`);
    this.value += v;
  }
}

/** A prom-client Counter whose series are counted here (see above). */
export class FastCounter<L extends string> extends client.Counter<L> {
  private readonly series = new Map<string, CounterSeries>();
  private readonly names: readonly string[];

  constructor(cfg: client.CounterConfiguration<L>) {
    super(cfg);
    this.names = cfg.labelNames ?? [];
  }

  private seriesOf(labels: Labels): CounterSeries {
    return seriesIn(this.series, this.names, labels, (l) => new CounterSeries(l));
  }

  override labels(...args: Array<string | number | Partial<Record<L, string | number>>>): ReturnType<client.Counter<L>['labels']> {
    return this.seriesOf(labelsArg(this.names, args));
  }

  override reset(): void {
    super.reset();
    this.series?.clear(); // prom-client's constructor resets before the fields exist
  }

  override async get(): Promise<client.MetricObjectWithValues<client.MetricValue<L>>> {
    const d = await super.get();
    for (const s of this.series.values()) (d.values as Value[]).push({ labels: { ...s.labels }, value: s.value });
    return d;
  }
}

class HistogramSeries {
  sum = 0;
  count = 0;
  readonly counts: Float64Array;
  constructor(readonly labels: Labels, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${v}`);
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) { this.counts[i]!++; break; }
    }
    this.sum += v;
    this.count++;
  }
}

/** A prom-client Histogram whose series are counted here (see above). */
export class FastHistogram<L extends string> extends client.Histogram<L> {
  private readonly series = new Map<string, HistogramSeries>();
  private readonly names: readonly string[];
  private readonly bounds: readonly number[];
  private readonly metricName: string;

  constructor(cfg: client.HistogramConfiguration<L>) {
    super(cfg);
    this.metricName = cfg.name;
    this.names = cfg.labelNames ?? [];
    this.bounds = (this as unknown as { upperBounds: number[] }).upperBounds;
  }

  private seriesOf(labels: Labels): HistogramSeries {
    return seriesIn(this.series, this.names, labels, (l) => new HistogramSeries(l, this.bounds));
  }

  override labels(...args: Array<string | number | Partial<Record<L, string | number>>>): ReturnType<client.Histogram<L>['labels']> {
    const s = this.seriesOf(labelsArg(this.names, args));
    return {
      observe: (v: number) => s.observe(v),
      startTimer: () => { const t0 = performance.now(); return () => { const v = (performance.now() - t0) / 1000; s.observe(v); return v; }; },
    };
  }

  override reset(): void {
    super.reset();
    this.series?.clear(); // prom-client's constructor resets before the fields exist
  }

  /** the series in prom-client's form: cumulative buckets (`le` first), +Inf, sum, count */
  private values(): Value[] {
    const out: Value[] = [];
    const bucket = `${this.metricName}_bucket`;
    const of = (own: Labels, shared: Labels): Pick<Value, 'labels' | 'sharedLabels'> => ({ labels: own, sharedLabels: shared });
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => { acc += s.counts[i]!; out.push({ ...of({ le }, s.labels), value: acc, metricName: bucket, exemplar: null }); });
      out.push({ ...of({ le: '+Inf' }, s.labels), value: s.count, metricName: bucket, exemplar: null });
      out.push({ ...of({}, s.labels), value: s.sum, metricName: `${this.metricName}_sum` });
      out.push({ ...of({}, s.labels), value: s.count, metricName: `${this.metricName}_count` });
    }
    return out;
  }

  /** what the registry reads for the text; prom-client's `get` (JSON, workers) reads it too and merges the labels */
  async getForPromString(): Promise<client.MetricObjectWithValues<client.MetricValueWithName<L>>> {
    const d = await (client.Histogram.prototype as unknown as { getForPromString(this: unknown): Promise<client.MetricObjectWithValues<client.MetricValueWithName<L>>> }).getForPromString.call(this);
    (d.values as Value[]).push(...this.values());
    return d;
  }
}
