import { attribute } from '../../../apim/index.js';
import { counterKey, seconds } from '../../policies/kit/counters.js';
import { problem } from '../../problems.js';
import { dimensions, emitter, metricName } from '../metrics.js';
import { registerPolicy, type PolicyModule } from '../registry.js';
import { intAttr, literalAttr, strAttr } from '../values.js';

/**
 * Token limits of AI gateways (azure-openai-token-limit, llm-token-limit): the tokens a key used
 * in the last minute are counted from `usage.total_tokens` of OpenAI-compatible responses; a
 * key over `tokens-per-minute` gets 429 until enough of them leave the window. The response is
 * counted when its body was read by the gateway (an outbound policy that reads the body, as the
 * AI-gateway samples do); a streamed response is not counted.
 */

function usageOf(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return undefined;
  try {
    const u = (JSON.parse(body.toString()) as { usage?: unknown }).usage;
    return u !== null && typeof u === 'object' ? u as Record<string, unknown> : undefined;
  } catch { return undefined; }
}

function totalTokens(body: unknown): number {
  const n = Number(usageOf(body)?.total_tokens);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

const tokenLimit = (name: string): PolicyModule => ({
  name, sections: ['inbound'],
  attributes: ['counter-key', 'tokens-per-minute', 'token-quota', 'token-quota-period', 'estimate-prompt-tokens', 'retry-after-header-name', 'retry-after-variable-name', 'remaining-tokens-header-name', 'remaining-tokens-variable-name', 'tokens-consumed-header-name', 'tokens-consumed-variable-name', 'remaining-quota-tokens-header-name', 'remaining-quota-tokens-variable-name'],
  required: ['counter-key'],
  compile(el, ctx) {
    const key = strAttr(el, 'counter-key', ctx)!;
    const tpm = attribute(el, 'tokens-per-minute') ? intAttr(el, 'tokens-per-minute', ctx, undefined, 1)! : undefined;
    const store = ctx.policy.store();
    const remainingVar = literalAttr(el, 'remaining-tokens-variable-name');
    const remainingHeader = literalAttr(el, 'remaining-tokens-header-name');
    const retryHeader = (literalAttr(el, 'retry-after-header-name') ?? 'retry-after').toLowerCase();
    return (c) => {
      if (tpm === undefined) return undefined;
      const limit = tpm(c);
      const k = counterKey('apim-tok:', key(c));
      const decide = (d: { allowed: boolean; used: number; waitMs: number; token: string } | null) => {
        if (d === null) return undefined;
        if (d.token !== '') void store.slidingRefund(k, 60_000, d.token);
        const remaining = Math.max(0, limit - d.used + (d.allowed ? 1 : 0));
        if (remainingVar) c.ex.setVar(remainingVar, remaining);
        if (!d.allowed) {
          return problem('rate-limit-exceeded', `Token limit is exceeded. Try again in ${seconds(d.waitMs)} seconds.`, { headers: { [retryHeader]: String(seconds(d.waitMs)) } });
        }
        if (remainingHeader) c.ex.addResponseHeader(remainingHeader, String(remaining));
        c.ex.onDone((ex) => {
          const used = totalTokens(ex.response?.body);
          if (used > 0) void store.slidingHit(k, Number.MAX_SAFE_INTEGER, 60_000, used);
        });
        return undefined;
      };
      const d = store.slidingHit(k, limit, 60_000, 1);
      return d instanceof Promise ? d.then(decide) : decide(d);
    };
  },
});

registerPolicy(tokenLimit('azure-openai-token-limit'));
registerPolicy(tokenLimit('llm-token-limit'));

/**
 * *-emit-token-metric: the prompt, completion and total tokens of the response (`usage`) added to
 * the counters `apim_<namespace>_{prompt,completion,total}_tokens_total`, with the dimensions as
 * labels (evaluated in inbound, emitted when the exchange ends).
 */
const tokenMetric = (name: string): PolicyModule => ({
  name, sections: ['inbound'], attributes: ['namespace'], children: ['dimension'],
  compile(el, ctx) {
    const ns = literalAttr(el, 'namespace') ?? 'API Management';
    const { labels, values } = dimensions(el, ctx);
    const max = ctx.env.maxSeries ?? 1000;
    const kinds = ['prompt', 'completion', 'total'] as const;
    const emit = kinds.map((k) => emitter(ctx.policy.metrics, metricName(ns, `${k} tokens`), labels, max, ctx.env, el.pos));
    return (c) => {
      const dims = values.map((g) => g(c));
      c.ex.onDone((ex) => {
        const u = usageOf(ex.response?.body);
        if (u === undefined) return;
        kinds.forEach((k, i) => { const n = Number(u[`${k}_tokens`]); if (Number.isInteger(n) && n >= 0) emit[i]!(dims, n); });
      });
      return undefined;
    };
  },
});
registerPolicy(tokenMetric('azure-openai-emit-token-metric'));
registerPolicy(tokenMetric('llm-emit-token-metric'));
