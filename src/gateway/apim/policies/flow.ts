import { setTimeout as sleep } from 'node:timers/promises';
import { attribute, childElements, type XmlElement } from '../../../apim/index.js';
import { readLimited } from '../../openapi/body.js';
import { discard } from '../../respond.js';
import { PolicyRunError } from '../block.js';
import type { ExchangeContext } from '../context.js';
import { dimensions, emitter, metricName } from '../metrics.js';
import { loadError, registerPolicy, type XStep } from '../registry.js';
import { boolAttr, compileExpr, contentOf, intAttr, literalAttr, strAttr, type Get } from '../values.js';

/** Control flow and bookkeeping: set-variable, choose, include-fragment, retry, wait, trace, metrics. */

const ALL = ['inbound', 'backend', 'outbound', 'on-error'] as const;

registerPolicy({
  name: 'set-variable', sections: ALL, attributes: ['name', 'value'], required: ['name', 'value'],
  compile(el, ctx) {
    const name = literalAttr(el, 'name')!;
    const v = attribute(el, 'value')!.value;
    if (typeof v === 'string') return (c) => { c.ex.setVar(name, v); return undefined; };
    const e = compileExpr(v, undefined, ctx);
    return (c) => { c.ex.setVar(name, e.evaluate(c)); return undefined; };
  },
});

registerPolicy({
  name: 'choose', sections: ALL, attributes: [], children: ['when', 'otherwise'],
  async compile(el, ctx) {
    const branches: Array<{ cond: Get<boolean>; run: XStep }> = [];
    let otherwise: XStep | undefined;
    for (const b of childElements(el)) {
      if (otherwise !== undefined) throw loadError('misplaced-policy', '<otherwise> must be the last branch of <choose>', b.pos);
      if (b.name === 'otherwise') {
        if (b.attributes.length) throw loadError('unsupported-attribute', `<otherwise> has no attribute "${b.attributes[0]!.name}"`, b.attributes[0]!.pos);
        otherwise = await ctx.steps(childElements(b));
        continue;
      }
      const a = b.attributes.find((x) => x.name !== 'condition');
      if (a) throw loadError('unsupported-attribute', `<when> has no attribute "${a.name}"`, a.pos);
      const cond = attribute(b, 'condition');
      if (cond === undefined) throw loadError('unsupported-attribute', '<when> needs the attribute "condition"', b.pos);
      branches.push({ cond: boolAttr(b, 'condition', ctx, false), run: await ctx.steps(childElements(b)) });
    }
    return (c) => {
      for (const br of branches) if (br.cond(c)) return br.run(c);
      return otherwise?.(c);
    };
  },
});

registerPolicy({
  name: 'include-fragment', sections: ALL, attributes: ['fragment-id'], required: ['fragment-id'],
  compile(el, ctx) {
    const id = literalAttr(el, 'fragment-id')!;
    const doc = ctx.env.fragments.get(id);
    if (doc === undefined) throw loadError('unknown-fragment', `no fragment "${id}"${ctx.env.fragments.size ? ` (fragments: ${[...ctx.env.fragments.keys()].join(', ')})` : ' (set apim.fragments or --fragments to a folder of ID.xml files)'}`, attribute(el, 'fragment-id')!.valuePos);
    if (ctx.including.includes(id)) throw loadError('misplaced-policy', `fragment "${id}" includes itself (${[...ctx.including, id].join(' → ')})`, el.pos);
    return ctx.steps(doc.policies, id);
  },
});

async function replayable(c: ExchangeContext, cap: number): Promise<void> {
  const body = c.ex.requestBody;
  if (body === null || Buffer.isBuffer(body)) return;
  const read = await readLimited(body, cap, c.ex.signal);
  if (read.kind !== 'ok') throw new PolicyRunError('RequestBodyTooLarge', `retry needs the request body in memory; it is larger than ${cap} bytes or incomplete`);
  c.ex.requestBody = read.body;
}

registerPolicy({
  name: 'retry', sections: ALL, attributes: ['condition', 'count', 'interval', 'max-interval', 'delta', 'first-fast-retry'], required: ['condition', 'count', 'interval'], children: 'any',
  async compile(el, ctx) {
    const cond = boolAttr(el, 'condition', ctx, false);
    const count = intAttr(el, 'count', ctx, 1, 0)!;
    const interval = intAttr(el, 'interval', ctx, 0, 0)!;
    const maxInterval = intAttr(el, 'max-interval', ctx, undefined, 0);
    const delta = intAttr(el, 'delta', ctx, undefined, 0);
    const fast = boolAttr(el, 'first-fast-retry', ctx, false);
    const body = await ctx.steps(childElements(el));
    const cap = ctx.policy.gateway.maxBodyBuffer;
    const onRequest = ctx.section === 'inbound' || ctx.section === 'backend';
    return async (c) => {
      if (onRequest) await replayable(c, cap);
      const n = Math.min(count(c), 50);
      for (let attempt = 0; ; attempt++) {
        const r = await body(c);
        if (r !== undefined) return r;
        if (attempt >= n || !cond(c)) return undefined;
        let wait = interval(c);
        if (delta !== undefined) wait += delta(c) * attempt;
        if (maxInterval !== undefined) wait = Math.min(wait, maxInterval(c));
        if (!(attempt === 0 && fast(c)) && wait > 0) await sleep(Math.min(wait, 60) * 1000);
        if (c.ex.signal.aborted) return undefined;
        if (c.ex.response !== undefined && ctx.section === 'backend') { discard(c.ex.response.body); c.ex.response = undefined; }
      }
    };
  },
});

registerPolicy({
  name: 'wait', sections: ALL, attributes: ['for'], children: 'any',
  async compile(el, ctx) {
    const mode = literalAttr(el, 'for') ?? 'all';
    if (mode !== 'all' && mode !== 'any') throw loadError('unsupported-attribute', `for is all or any, not "${mode}"`, attribute(el, 'for')!.valuePos);
    const each = await Promise.all(childElements(el).map((c) => ctx.steps([c])));
    if (mode === 'any') {
      // the first child to end ends the wait; the others run on, their outcome ignored
      return (c) => {
        if (each.length === 0) return undefined;
        const running = each.map((s) => Promise.resolve().then(() => s(c)));
        for (const p of running) p.catch(() => {});
        return Promise.race(running);
      };
    }
    return async (c) => {
      const results = await Promise.all(each.map((s) => s(c)));
      return results.find((r) => r !== undefined);
    };
  },
});

function logStep(el: XmlElement, fields: Record<string, Get<string>>, message: Get<string> | undefined, kind: string, ctxLogger: { info(o: object, m: string): void }): XStep {
  return (c) => {
    const o: Record<string, string> = { requestId: c.ex.requestId, policy: kind };
    for (const [k, g] of Object.entries(fields)) o[k] = g(c);
    ctxLogger.info(o, message?.(c) ?? el.name);
    return undefined;
  };
}

registerPolicy({
  name: 'trace', sections: ALL, attributes: ['source', 'severity'], children: ['message', 'metadata'],
  compile(el, ctx) {
    const msgEl = childElements(el).find((c) => c.name === 'message');
    const message = msgEl ? contentOf(msgEl, ctx) : undefined;
    const fields: Record<string, Get<string>> = {};
    const source = strAttr(el, 'source', ctx);
    if (source) fields.source = source;
    fields.severity = strAttr(el, 'severity', ctx) ?? (() => 'verbose');
    for (const m of childElements(el).filter((x) => x.name === 'metadata')) {
      const name = literalAttr(m, 'name');
      const value = strAttr(m, 'value', ctx);
      if (name !== undefined && value !== undefined) fields[`metadata.${name}`] = value;
    }
    return logStep(el, fields, message, 'trace', ctx.policy.logger);
  },
});

registerPolicy({
  name: 'log-to-eventhub', sections: ALL, attributes: ['logger-id', 'partition-id', 'partition-key'], required: ['logger-id'],
  compile(el, ctx) {
    const id = literalAttr(el, 'logger-id')!;
    if (ctx.env.loggers !== undefined && !ctx.env.loggers.has(id)) throw loadError('unsupported-attribute', `no logger "${id}" in apim.loggers`, attribute(el, 'logger-id')!.valuePos);
    const message = contentOf(el, ctx);
    return logStep(el, { logger: () => id }, message, 'log-to-eventhub', ctx.policy.logger);
  },
});

registerPolicy({
  name: 'emit-metric', sections: ALL, attributes: ['name', 'value', 'namespace'], required: ['name'], children: ['dimension'],
  compile(el, ctx) {
    const name = literalAttr(el, 'name')!;
    const value = strAttr(el, 'value', ctx) ?? (() => '1');
    const { labels, values } = dimensions(el, ctx);
    const emit = emitter(ctx.policy.metrics, metricName(literalAttr(el, 'namespace') ?? 'API Management', name), labels, ctx.env.maxSeries ?? 1000, ctx.env, el.pos);
    return (c) => {
      const v = Number(value(c));
      if (!Number.isFinite(v) || v < 0) throw new PolicyRunError('InvalidMetricValue', `emit-metric "${name}": the value must be a number ≥ 0`);
      emit(values.map((g) => g(c)), v);
      return undefined;
    };
  },
});
