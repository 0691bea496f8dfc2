import { attribute, childElements, content, parseJwt, type XmlElement } from '../../../apim/index.js';
import { POLICY_BY_NAME } from '../../policies/index.js';
import type { Reply } from '../../reply.js';
import { problem } from '../../problems.js';
import { PolicyRunError } from '../block.js';
import { loadError, registerPolicy, type XCompile, type XStep } from '../registry.js';
import { contentOf, intAttr, literalAttr, strAttr } from '../values.js';

/**
 * XML forms of policies Gatehouse already has in YAML: the element is translated to the YAML
 * policy's config (checked by its schema) and run by the same handler. Where the service's
 * semantics differ, the translation follows the service (validate-jwt answers a claims failure
 * with failed-validation-httpcode).
 */

export async function viaYaml(name: string, config: Record<string, unknown>, el: XmlElement, ctx: XCompile) {
  const def = POLICY_BY_NAME.get(name)!;
  const parsed = def.schema.safeParse(config);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw loadError('unsupported-attribute', `<${el.name}>${i.path.length ? ` ${i.path.join('.')}` : ''}: ${i.message}`, el.pos);
  }
  try {
    return await def.create(parsed.data as never, ctx.policy);
  } catch (err) {
    throw loadError('unsupported-attribute', `<${el.name}>: ${(err as Error).message}`, el.pos);
  }
}

export const texts = (el: XmlElement | undefined, child: string): string[] =>
  el === undefined ? [] : childElements(el).filter((c) => c.name === child).map((c) => String(content(c) ?? '').trim());

/** The text of a validate-jwt key, audience or issuer: these are fixed when the policy loads. */
function loadTimeText(el: XmlElement): string {
  const c = content(el);
  if (c !== undefined && typeof c !== 'string') throw loadError('unsupported-expression', `<validate-jwt> reads <${el.name}> when it loads: write the value (or a {{named value}}), not an expression`, c.pos);
  return (c ?? '').trim();
}

const child = (el: XmlElement, name: string) => childElements(el).find((c) => c.name === name);

function literalNumber(el: XmlElement, name: string): number | undefined {
  const v = literalAttr(el, name);
  return v === undefined ? undefined : Number(v);
}

function literalBool(el: XmlElement, name: string): boolean | undefined {
  const v = literalAttr(el, name);
  return v === undefined ? undefined : v.trim().toLowerCase() === 'true';
}

registerPolicy({
  name: 'validate-jwt', sections: ['inbound'],
  attributes: ['header-name', 'query-parameter-name', 'token-value', 'failed-validation-httpcode', 'failed-validation-error-message', 'require-expiration-time', 'require-scheme', 'require-signed-tokens', 'clock-skew', 'output-token-variable-name'],
  children: ['openid-config', 'issuer-signing-keys', 'decryption-keys', 'audiences', 'issuers', 'required-claims'],
  async compile(el, ctx) {
    if (attribute(el, 'token-value')) throw loadError('unsupported-attribute', 'token-value is not supported; use header-name or query-parameter-name', attribute(el, 'token-value')!.pos);
    if (child(el, 'decryption-keys')) throw loadError('unsupported-policy', 'encrypted tokens (decryption-keys) are not supported', child(el, 'decryption-keys')!.pos);
    const status = literalNumber(el, 'failed-validation-httpcode') ?? 401;
    const keys = childElements(child(el, 'issuer-signing-keys') ?? el).filter((k) => k.name === 'key').map((k) => {
      const n = literalAttr(k, 'n');
      const e = literalAttr(k, 'e');
      if (n !== undefined && e !== undefined) return { jwk: { kty: 'RSA', n, e }, ...(literalAttr(k, 'id') ? { kid: literalAttr(k, 'id') } : {}) };
      if (literalAttr(k, 'certificate-id') !== undefined) throw loadError('cloud-only-policy', 'certificate-id keys live in the cloud service; write the key (n and e, or a base64 secret)', k.pos);
      return { secret: loadTimeText(k), ...(literalAttr(k, 'id') ? { kid: literalAttr(k, 'id') } : {}) };
    });
    const claims = childElements(child(el, 'required-claims') ?? el).filter((c) => c.name === 'claim').map((c) => ({
      name: literalAttr(c, 'name') ?? '', match: literalAttr(c, 'match') ?? 'all',
      ...(literalAttr(c, 'separator') ? { separator: literalAttr(c, 'separator') } : {}), values: texts(c, 'value'),
    }));
    const oidc = childElements(el).filter((c) => c.name === 'openid-config').map((c) => literalAttr(c, 'url') ?? '');
    const header = literalAttr(el, 'header-name');
    const query = literalAttr(el, 'query-parameter-name');
    const varName = literalAttr(el, 'output-token-variable-name');
    const config: Record<string, unknown> = {
      ...(header && header.toLowerCase() !== 'authorization' ? { 'header-name': header, 'require-scheme': literalAttr(el, 'require-scheme') ?? '' } : {}),
      ...(header === undefined || header.toLowerCase() === 'authorization' ? { 'require-scheme': literalAttr(el, 'require-scheme') ?? 'Bearer' } : {}),
      ...(query ? { 'query-parameter-name': query } : {}),
      ...(oidc.length ? { 'openid-config': oidc.length === 1 ? oidc[0] : oidc } : {}),
      'issuer-signing-keys': keys,
      audiences: childElements(child(el, 'audiences') ?? el).filter((c) => c.name === 'audience').map(loadTimeText),
      issuers: childElements(child(el, 'issuers') ?? el).filter((c) => c.name === 'issuer').map(loadTimeText),
      'required-claims': claims,
      'failed-validation-httpcode': status,
      'claims-failure-httpcode': status,
      ...(literalAttr(el, 'failed-validation-error-message') ? { 'failed-validation-error-message': literalAttr(el, 'failed-validation-error-message') } : {}),
      ...(literalBool(el, 'require-expiration-time') !== undefined ? { 'require-expiration-time': literalBool(el, 'require-expiration-time') } : {}),
      ...(literalNumber(el, 'clock-skew') !== undefined ? { 'clock-skew': Math.min(300, literalNumber(el, 'clock-skew')!) } : {}),
    };
    const handler = await viaYaml('validate-jwt', config, el, ctx);
    const tokenOf = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
    const headerName = (header ?? 'authorization').toLowerCase();
    const after = (c: Parameters<XStep>[0], r: Reply | undefined): Reply | undefined => {
      if (r === undefined && varName !== undefined) {
        const raw = query ? c.ex.queryParams.get(query) : tokenOf(c.ex.req.headers[headerName]);
        c.ex.setVar(varName, parseJwt(raw ?? null));
      }
      return r;
    };
    return (c) => {
      const r = handler(c.ex);
      return r instanceof Promise ? r.then((v) => after(c, v)) : after(c, r);
    };
  },
});

registerPolicy({
  name: 'ip-filter', sections: ['inbound'], attributes: ['action'], required: ['action'], children: ['address', 'address-range'],
  async compile(el, ctx) {
    const handler = await viaYaml('ip-filter', {
      action: literalAttr(el, 'action'),
      addresses: texts(el, 'address'),
      'address-ranges': childElements(el).filter((c) => c.name === 'address-range').map((r) => ({ from: literalAttr(r, 'from'), to: literalAttr(r, 'to') })),
    }, el, ctx);
    return (c) => handler(c.ex);
  },
});

registerPolicy({
  name: 'check-header', sections: ['inbound'], attributes: ['name', 'failed-check-httpcode', 'failed-check-error-message', 'ignore-case'], required: ['name'], children: ['value'],
  async compile(el, ctx) {
    const handler = await viaYaml('check-header', {
      name: literalAttr(el, 'name'), values: texts(el, 'value'), 'ignore-case': literalBool(el, 'ignore-case') ?? false,
      ...(literalNumber(el, 'failed-check-httpcode') !== undefined ? { 'failed-check-httpcode': literalNumber(el, 'failed-check-httpcode') } : {}),
      ...(literalAttr(el, 'failed-check-error-message') ? { 'failed-check-error-message': literalAttr(el, 'failed-check-error-message') } : {}),
    }, el, ctx);
    return (c) => handler(c.ex);
  },
});

registerPolicy({
  name: 'cors', sections: ['inbound'], attributes: ['allow-credentials', 'terminate-unmatched-request'],
  children: ['allowed-origins', 'allowed-methods', 'allowed-headers', 'expose-headers'],
  async compile(el, ctx) {
    const methods = child(el, 'allowed-methods');
    const handler = await viaYaml('cors', {
      'allowed-origins': texts(child(el, 'allowed-origins'), 'origin'),
      ...(methods ? { 'allowed-methods': texts(methods, 'method') } : {}),
      'allowed-headers': texts(child(el, 'allowed-headers'), 'header'),
      'expose-headers': texts(child(el, 'expose-headers'), 'header'),
      'allow-credentials': literalBool(el, 'allow-credentials') ?? false,
      ...(methods && literalAttr(methods, 'preflight-result-max-age') ? { 'max-age': Number(literalAttr(methods, 'preflight-result-max-age')) } : {}),
      ...(literalBool(el, 'terminate-unmatched-request') !== undefined ? { 'terminate-unmatched-request': literalBool(el, 'terminate-unmatched-request') } : {}),
    }, el, ctx);
    return (c) => handler(c.ex);
  },
});

registerPolicy({
  name: 'authentication-basic', sections: ['inbound', 'backend'], attributes: ['username', 'password'], required: ['username', 'password'],
  compile(el, ctx) {
    const u = strAttr(el, 'username', ctx)!;
    const p = strAttr(el, 'password', ctx)!;
    return (c) => {
      c.ex.upstreamHeaders.authorization = `Basic ${Buffer.from(`${u(c)}:${p(c)}`).toString('base64')}`;
      return undefined;
    };
  },
});

registerPolicy({
  name: 'limit-concurrency', sections: ['inbound', 'backend', 'outbound', 'on-error'], attributes: ['key', 'max-count'], required: ['key', 'max-count'], children: 'any',
  async compile(el, ctx) {
    const key = strAttr(el, 'key', ctx)!;
    const max = Number(literalAttr(el, 'max-count'));
    if (!Number.isInteger(max) || max < 1) throw loadError('unsupported-attribute', 'max-count is a whole number of at least 1', el.pos);
    const running = ctx.policy.shared('apim:limit-concurrency', () => new Map<string, number>());
    const body = await ctx.steps(childElements(el));
    return async (c) => {
      const k = key(c);
      const n = running.get(k) ?? 0;
      if (n >= max) return problem('rate-limit-exceeded', `Too many concurrent requests: at most ${max} at once.`);
      running.set(k, n + 1);
      try {
        return await body(c);
      } finally {
        const m = (running.get(k) ?? 1) - 1;
        if (m <= 0) running.delete(k); else running.set(k, m);
      }
    };
  },
});

registerPolicy({
  name: 'find-and-replace', sections: ['inbound', 'backend', 'outbound', 'on-error'], attributes: ['from', 'to'], required: ['from', 'to'],
  compile(el, ctx) {
    const from = strAttr(el, 'from', ctx)!;
    const to = strAttr(el, 'to', ctx)!;
    const onRequest = ctx.section === 'inbound' || ctx.section === 'backend';
    return (c) => {
      const b = onRequest ? c.ex.requestBody : c.ex.response?.body;
      if (typeof b !== 'string' && !Buffer.isBuffer(b)) return undefined;
      const f = from(c);
      const next = f === '' ? b.toString() : b.toString().split(f).join(to(c));
      if (onRequest) c.ex.requestBody = Buffer.from(next);
      else if (c.ex.response) { c.ex.response.body = next; delete c.ex.response.headers['content-length']; }
      return undefined;
    };
  },
});

registerPolicy({
  name: 'cache-lookup', sections: ['inbound'],
  attributes: ['vary-by-developer', 'vary-by-developer-groups', 'downstream-caching-type', 'caching-type', 'must-revalidate', 'allow-private-response-caching'],
  children: ['vary-by-header', 'vary-by-query-parameter'],
  async compile(el, ctx) {
    const byDeveloper = literalBool(el, 'vary-by-developer') === true;
    const query = texts(el, 'vary-by-query-parameter');
    const handler = await viaYaml('cache-lookup', {
      'vary-by-header': texts(el, 'vary-by-header'),
      ...(query.length ? { 'vary-by-query-parameter': query } : {}),
      ...(literalAttr(el, 'downstream-caching-type') ? { 'downstream-caching-type': literalAttr(el, 'downstream-caching-type') } : {}),
      ...(literalAttr(el, 'caching-type') ? { 'caching-type': literalAttr(el, 'caching-type') } : {}),
      ...(literalBool(el, 'must-revalidate') !== undefined ? { 'must-revalidate': literalBool(el, 'must-revalidate') } : {}),
      ...(literalBool(el, 'allow-private-response-caching') !== undefined ? { 'allow-private-response-caching': literalBool(el, 'allow-private-response-caching') } : {}),
      ...(byDeveloper ? { 'allow-private-response-caching': true, 'vary-by-caller': '{request.header.Ocp-Apim-Subscription-Key}' } : {}),
    }, el, ctx);
    return (c) => handler(c.ex);
  },
});

registerPolicy({
  name: 'cache-store', sections: ['outbound'], attributes: ['duration', 'cache-response'],
  async compile(el, ctx) {
    const a = attribute(el, 'duration');
    if (a === undefined || typeof a.value === 'string') {
      const handler = await viaYaml('cache-store', a === undefined ? {} : { duration: Number(a.value) }, el, ctx);
      return (c) => handler(c.ex);
    }
    // an expression duration: one handler per value it takes (a few in practice)
    const seconds = intAttr(el, 'duration', ctx, undefined, 1)!;
    const byValue = new Map<number, Awaited<ReturnType<typeof viaYaml>>>();
    return async (c) => {
      const d = Math.min(Math.max(1, seconds(c)), 365 * 86400);
      let h = byValue.get(d);
      if (h === undefined) {
        if (byValue.size >= 16) throw new PolicyRunError('TooManyDurations', 'cache-store duration takes more than 16 different values');
        h = await viaYaml('cache-store', { duration: d }, el, ctx);
        byValue.set(d, h);
      }
      return h(c.ex);
    };
  },
});

export { contentOf };
