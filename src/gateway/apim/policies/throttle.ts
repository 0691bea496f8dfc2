import { attribute, childElements, type XmlElement } from '../../../apim/index.js';
import { problem } from '../../problems.js';
import { checkWorkers, counterKey, seconds, storeReadiness } from '../../policies/kit/counters.js';
import type { Exchange } from '../../exchange.js';
import type { ExchangeContext } from '../context.js';
import { loadError, registerPolicy, type XCompile, type XStep } from '../registry.js';
import { boolAttr, intAttr, literalAttr, strAttr, type Get } from '../values.js';

/**
 * rate-limit, rate-limit-by-key, quota and quota-by-key as the service counts: the by-key
 * counters are global per key value (two policies with the same key share one counter), the
 * others count per subscription (or per caller IP without one) and per API. Over the limit: 429
 * (quota: 403) with Retry-After. `increment-condition` is evaluated once the response is known;
 * a call it does not count is refunded.
 */

function condition(el: XmlElement, ctx: XCompile): Get<boolean> | undefined {
  return attribute(el, 'increment-condition') ? boolAttr(el, 'increment-condition', ctx, true) : undefined;
}

function subject(c: ExchangeContext): string {
  return c.ex.subscription?.id ?? `ip:${c.ex.clientIp}`;
}

function store(ctx: XCompile, name: string, el: XmlElement) {
  const s = ctx.policy.store();
  try { checkWorkers(s, name, ctx.policy.gateway.workers); } catch (err) { throw loadError('unsupported-attribute', (err as Error).message, el.pos); }
  storeReadiness(ctx.policy, s, ctx.policy.gateway.store);
  return s;
}

function sliding(el: XmlElement, ctx: XCompile, key: (c: ExchangeContext) => string, name: string): XStep {
  const s = store(ctx, name, el);
  const calls = intAttr(el, 'calls', ctx, undefined, 1)!;
  const period = intAttr(el, 'renewal-period', ctx, undefined, 1)!;
  const weight = intAttr(el, 'increment-count', ctx, 1, 0)!;
  const counts = condition(el, ctx);
  const retryHeader = literalAttr(el, 'retry-after-header-name')?.toLowerCase() ?? 'retry-after';
  const retryVar = literalAttr(el, 'retry-after-variable-name');
  const remainingVar = literalAttr(el, 'remaining-calls-variable-name');
  const remainingHeader = literalAttr(el, 'remaining-calls-header-name');
  const totalHeader = literalAttr(el, 'total-calls-header-name');
  return (c) => {
    const limit = calls(c);
    const periodMs = period(c) * 1000;
    const k = key(c);
    const decide = (d: { allowed: boolean; used: number; waitMs: number; token: string } | null) => {
      if (d === null) return undefined; // the store cannot answer: admitted uncounted, as on-store-error allow
      const remaining = Math.max(0, limit - d.used);
      if (remainingVar) c.ex.setVar(remainingVar, remaining);
      if (!d.allowed) {
        const wait = d.waitMs === Infinity ? period(c) : seconds(d.waitMs);
        if (retryVar) c.ex.setVar(retryVar, wait);
        const headers: Record<string, string> = { [retryHeader]: String(wait) };
        if (remainingHeader) headers[remainingHeader.toLowerCase()] = '0';
        if (totalHeader) headers[totalHeader.toLowerCase()] = String(limit);
        return problem('rate-limit-exceeded', `Rate limit is exceeded. Try again in ${wait} seconds.`, { headers });
      }
      if (remainingHeader) c.ex.addResponseHeader(remainingHeader, String(remaining));
      if (totalHeader) c.ex.addResponseHeader(totalHeader, String(limit));
      if (counts !== undefined && d.token !== '') {
        const token = d.token;
        c.ex.onDone(() => {
          let yes = true;
          try { yes = counts(c); } catch { /* a failing condition counts the call */ }
          if (!yes) void s.slidingRefund(k, periodMs, token);
        });
      }
      return undefined;
    };
    const d = s.slidingHit(k, limit, periodMs, weight(c));
    return d instanceof Promise ? d.then(decide) : decide(d);
  };
}

/** Run steps in order until one answers. */
function chain(steps: readonly XStep[]): XStep {
  if (steps.length === 1) return steps[0]!;
  const from = (i: number, c: ExchangeContext): ReturnType<XStep> => {
    for (; i < steps.length; i++) {
      const r = steps[i]!(c);
      if (r instanceof Promise) { const next = i + 1; return r.then((v) => (v === undefined ? from(next, c) : v)); }
      if (r !== undefined) return r;
    }
    return undefined;
  };
  return (c) => from(0, c);
}

/**
 * The `<api>` and `<operation>` children of rate-limit and quota: further limits, per
 * subscription (or caller IP), for calls to the API (by name or id) and to one of its operations.
 */
function subLimits(el: XmlElement, ctx: XCompile, prefix: string, attrs: readonly string[], make: (e: XmlElement, key: (c: ExchangeContext) => string) => XStep): XStep[] {
  const out: XStep[] = [];
  const check = (e: XmlElement) => {
    const a = e.attributes.find((x) => !attrs.includes(x.name));
    if (a) throw loadError('unsupported-attribute', `<${e.name}> has no attribute "${a.name}" (it takes ${attrs.join(', ')})`, a.pos);
    const id = literalAttr(e, 'name') ?? literalAttr(e, 'id');
    if (id === undefined) throw loadError('unsupported-attribute', `<${e.name}> needs the attribute "name" or "id"`, e.pos);
    return id;
  };
  for (const api of childElements(el)) {
    const apiName = check(api);
    const limit = attribute(api, 'calls') || attribute(api, 'bandwidth') ? make(api, (c) => counterKey(prefix, `${apiName}|${subject(c)}`)) : undefined;
    const ops: Array<{ id: string; step: XStep }> = [];
    for (const op of childElements(api)) {
      if (op.name !== 'operation') throw loadError('unsupported-policy', `<api> has no child element <${op.name}> (it takes <operation>)`, op.pos);
      const opId = check(op);
      ops.push({ id: opId, step: make(op, (c) => counterKey(prefix, `${apiName}|${opId}|${subject(c)}`)) });
    }
    out.push((c) => {
      if (c.ex.api?.name !== apiName) return undefined;
      const steps: XStep[] = limit ? [limit] : [];
      for (const o of ops) if (c.ex.operation?.id === o.id) steps.push(o.step);
      return steps.length ? chain(steps)(c) : undefined;
    });
  }
  return out;
}

const RL_ATTRS = ['calls', 'renewal-period', 'retry-after-header-name', 'retry-after-variable-name', 'remaining-calls-header-name', 'remaining-calls-variable-name', 'total-calls-header-name'];

registerPolicy({
  name: 'rate-limit', sections: ['inbound'], attributes: RL_ATTRS, required: ['calls', 'renewal-period'], children: ['api'],
  compile(el, ctx) {
    const outer = sliding(el, ctx, (c) => counterKey('apim-rl:', `${c.ex.api?.name ?? ''}|${subject(c)}`), 'rate-limit');
    return chain([outer, ...subLimits(el, ctx, 'apim-rl-sub:', ['name', 'id', 'calls', 'renewal-period'], (e, key) => {
      for (const r of ['calls', 'renewal-period']) if (!attribute(e, r)) throw loadError('unsupported-attribute', `<${e.name}> needs the attribute "${r}"`, e.pos);
      return sliding(e, ctx, key, 'rate-limit');
    })]);
  },
});

registerPolicy({
  name: 'rate-limit-by-key', sections: ['inbound'], attributes: [...RL_ATTRS, 'counter-key', 'increment-condition', 'increment-count'], required: ['calls', 'renewal-period', 'counter-key'],
  compile(el, ctx) {
    const key = strAttr(el, 'counter-key', ctx)!;
    return sliding(el, ctx, (c) => counterKey('apim-rlk:', key(c)), 'rate-limit-by-key');
  },
});

function fixed(el: XmlElement, ctx: XCompile, key: (c: ExchangeContext) => string, name: string): XStep {
  const s = store(ctx, name, el);
  const calls = intAttr(el, 'calls', ctx, undefined, 0);
  const kb = intAttr(el, 'bandwidth', ctx, undefined, 0);
  if (calls === undefined && kb === undefined) throw loadError('unsupported-attribute', `<${el.name}> needs calls or bandwidth`, el.pos);
  const period = intAttr(el, 'renewal-period', ctx, 0, 0)!;
  const counts = condition(el, ctx);
  const anchor = literalAttr(el, 'first-period-start');
  const anchorMs = anchor === undefined ? 0 : Date.parse(anchor);
  if (Number.isNaN(anchorMs)) throw loadError('unsupported-attribute', `first-period-start is a date and time, not "${anchor}"`, attribute(el, 'first-period-start')!.valuePos);
  return (c) => {
    const limits = { calls: calls?.(c), bytes: kb === undefined ? undefined : kb(c) * 1024, periodMs: period(c) * 1000, anchorMs };
    const k = key(c);
    const decide = (d: { allowed: boolean; resetMs: number; period: number } | null) => {
      if (d === null) return undefined;
      if (!d.allowed) {
        const wait = d.resetMs === Infinity ? 0 : seconds(d.resetMs);
        return problem('quota-exceeded', `Out of call volume quota.${wait ? ` Quota will be replenished in ${wait} seconds.` : ''}`, wait ? { headers: { 'retry-after': String(wait) } } : undefined);
      }
      c.ex.onDone((ex: Exchange) => {
        let yes = true;
        if (counts !== undefined) { try { yes = counts(c); } catch { /* counted */ } }
        const bytes = ex.bytesIn + ex.bytesOut;
        void s.quotaAdd(k, limits, d.period, yes ? 0 : -1, yes ? bytes : 0);
      });
      return undefined;
    };
    const d = s.quotaHit(k, limits, 1);
    return d instanceof Promise ? d.then(decide) : decide(d);
  };
}

registerPolicy({
  name: 'quota', sections: ['inbound'], attributes: ['calls', 'bandwidth', 'renewal-period'], required: ['renewal-period'], children: ['api'],
  compile(el, ctx) {
    const outer = fixed(el, ctx, (c) => counterKey('apim-q:', `${c.ex.api?.name ?? ''}|${subject(c)}`), 'quota');
    return chain([outer, ...subLimits(el, ctx, 'apim-q-sub:', ['name', 'id', 'calls', 'bandwidth', 'renewal-period'], (e, key) => fixed(e, ctx, key, 'quota'))]);
  },
});

registerPolicy({
  name: 'quota-by-key', sections: ['inbound'], attributes: ['calls', 'bandwidth', 'renewal-period', 'counter-key', 'increment-condition', 'first-period-start'], required: ['counter-key'],
  compile(el, ctx) {
    const key = strAttr(el, 'counter-key', ctx)!;
    return fixed(el, ctx, (c) => counterKey('apim-qk:', key(c)), 'quota-by-key');
  },
});
