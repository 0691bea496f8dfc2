import { childElements, type XmlElement } from '../../../apim/index.js';
import { POLICY_BY_NAME } from '../../policies/index.js';
import type { ExchangeContext } from '../context.js';
import { loadError, registerPolicy, type XCompile } from '../registry.js';
import { literalAttr } from '../values.js';
import { viaYaml } from './adapters.js';

/**
 * The service's validation policies (validate-content, validate-parameters, validate-headers,
 * validate-status-code) run by Gatehouse's YAML policies of the same name against the API's
 * OpenAPI document (`openapi:` of the API). Schemas uploaded to the service (`schema-id`,
 * `schema-ref`) are not available here; XML content is checked for well-formedness only.
 * `apim check` has no API: it checks the translation and not the document.
 */

const ACTION = ['ignore', 'detect', 'prevent'];
const ERRORS = ['errors-variable-name'];

function action(el: XmlElement, name: string): string | undefined {
  const v = literalAttr(el, name)?.trim().toLowerCase();
  if (v !== undefined && !ACTION.includes(v)) throw loadError('unsupported-attribute', `${name} is ignore, detect or prevent, not "${v}"`, el.pos);
  return v;
}

const pick = (el: XmlElement, names: readonly string[], f: (el: XmlElement, n: string) => unknown = action) =>
  Object.fromEntries(names.map((n) => [n, f(el, n)]).filter(([, v]) => v !== undefined));

async function compileVia(name: string, config: Record<string, unknown>, el: XmlElement, ctx: XCompile) {
  if (ctx.policy.api === undefined && ctx.policy.location === 'apim-check') {
    const parsed = POLICY_BY_NAME.get(name)!.schema.safeParse(config);
    if (!parsed.success) throw loadError('unsupported-attribute', `<${el.name}>: ${parsed.error.issues[0]!.message}`, el.pos);
    return () => undefined;
  }
  const handler = await viaYaml(name, config, el, ctx);
  return (c: ExchangeContext) => handler(c.ex);
}

/** `max-size` in bytes (the service's unit) as the YAML size (`N` bytes). */
function maxSize(el: XmlElement): number | undefined {
  const v = literalAttr(el, 'max-size');
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw loadError('unsupported-attribute', 'max-size is a whole number of bytes', el.pos);
  return n;
}

registerPolicy({
  name: 'validate-content', sections: ['inbound', 'outbound', 'on-error'],
  attributes: ['unspecified-content-type-action', 'max-size', 'size-exceeded-action', ...ERRORS], children: ['content'],
  async compile(el, ctx) {
    const content = childElements(el).filter((c) => c.name === 'content').map((c) => {
      for (const a of ['schema-id', 'schema-ref']) {
        if (literalAttr(c, a) !== undefined) throw loadError('cloud-only-policy', `${a} names a schema stored in the cloud service; Gatehouse validates against the API's OpenAPI document`, c.pos);
      }
      const as = (literalAttr(c, 'validate-as') ?? 'json').toLowerCase();
      if (as !== 'json' && as !== 'xml' && as !== 'soap') throw loadError('unsupported-attribute', `validate-as is json, xml or soap, not "${as}"`, c.pos);
      const additional = literalAttr(c, 'allow-additional-properties');
      return {
        type: literalAttr(c, 'type') ?? 'application/json', 'validate-as': as === 'json' ? 'json' : 'xml-wellformed', action: action(c, 'action') ?? 'prevent',
        ...(additional !== undefined ? { 'allow-additional-properties': additional.trim().toLowerCase() === 'true' } : {}),
      };
    });
    const size = maxSize(el);
    const config = {
      ...pick(el, ['unspecified-content-type-action', 'size-exceeded-action']),
      ...(size !== undefined ? { 'max-size': size } : {}),
      ...pick(el, ERRORS, literalAttr),
      ...(content.length ? { content } : {}),
    };
    return compileVia('validate-content', config, el, ctx);
  },
});

registerPolicy({
  name: 'validate-parameters', sections: ['inbound'],
  attributes: ['specified-parameter-action', 'unspecified-parameter-action', ...ERRORS], children: ['headers', 'query', 'path'],
  async compile(el, ctx) {
    const locations = Object.fromEntries(childElements(el).map((loc) => [loc.name, {
      ...pick(loc, ['specified-parameter-action', 'unspecified-parameter-action']),
      parameters: childElements(loc).filter((p) => p.name === 'parameter').map((p) => ({ name: literalAttr(p, 'name') ?? '', action: action(p, 'action') ?? 'prevent' })),
    }]));
    const config = { ...pick(el, ['specified-parameter-action', 'unspecified-parameter-action']), ...pick(el, ERRORS, literalAttr), ...locations };
    return compileVia('validate-parameters', config, el, ctx);
  },
});

registerPolicy({
  name: 'validate-headers', sections: ['outbound', 'on-error'],
  attributes: ['specified-header-action', 'unspecified-header-action', ...ERRORS], children: ['header'],
  async compile(el, ctx) {
    const headers = childElements(el).filter((h) => h.name === 'header').map((h) => ({ name: literalAttr(h, 'name') ?? '', action: action(h, 'action') ?? 'prevent' }));
    const config = { ...pick(el, ['specified-header-action', 'unspecified-header-action']), ...pick(el, ERRORS, literalAttr), headers };
    return compileVia('validate-headers', config, el, ctx);
  },
});

registerPolicy({
  name: 'validate-status-code', sections: ['outbound', 'on-error'],
  attributes: ['unspecified-status-code-action', ...ERRORS], children: ['status-code'],
  async compile(el, ctx) {
    const codes = childElements(el).filter((s) => s.name === 'status-code').map((s) => ({ code: Number(literalAttr(s, 'code')), action: action(s, 'action') ?? 'prevent' }));
    const config = { ...pick(el, ['unspecified-status-code-action']), ...pick(el, ERRORS, literalAttr), 'status-codes': codes };
    return compileVia('validate-status-code', config, el, ctx);
  },
});
