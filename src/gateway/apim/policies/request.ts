import { attribute, childElements, type XmlElement } from '../../../apim/index.js';
import { PolicyRunError } from '../block.js';
import { backendsForUrls } from '../backends.js';
import type { ExchangeContext } from '../context.js';
import { loadError, registerPolicy, type XCompile, type XStep } from '../registry.js';
import { contentOf, boolAttr, literalAttr, strAttr, type Get } from '../values.js';
import type { Headers } from '../../reply.js';

/** Policies that change the request or the response: headers, query, method, URL, backend. */

const ALL = ['inbound', 'backend', 'outbound', 'on-error'] as const;
/** Headers the gateway owns; changing them would break framing or forwarding. */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'connection', 'host', 'upgrade', 'te', 'trailer', 'keep-alive']);
const FRAMING = new Set(['content-length', 'transfer-encoding']);
const BAD_VALUE = /[\0\r\n]/;

function valuesOf(el: XmlElement, ctx: XCompile): Get<string>[] {
  return childElements(el).filter((c) => c.name === 'value').map((v) => contentOf(v, ctx) ?? (() => ''));
}

/** `set-header name="Host"` on the request: the Host the backend gets (a single value; delete restores the default). */
function backendHost(el: XmlElement, ctx: XCompile): XStep {
  const action = existsAction(el);
  const values = valuesOf(el, ctx);
  if (action !== 'delete' && values.length !== 1) throw loadError('unsupported-attribute', 'Host takes exactly one <value>', el.pos);
  return (c) => {
    if (action === 'delete') { c.ex.backendHost = undefined; return undefined; }
    if (action === 'skip' && c.ex.backendHost !== undefined) return undefined;
    const v = values[0]!(c).trim();
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(v)) throw new PolicyRunError('InvalidHeaderValue', 'the value of header host is not a host name');
    c.ex.backendHost = v;
    return undefined;
  };
}

function existsAction(el: XmlElement): string {
  const a = (literalAttr(el, 'exists-action') ?? 'override').toLowerCase();
  if (!['override', 'skip', 'append', 'delete'].includes(a)) throw loadError('unsupported-attribute', `exists-action is override, skip, append or delete, not "${a}"`, attribute(el, 'exists-action')!.valuePos);
  return a;
}

registerPolicy({
  name: 'set-header', sections: ALL, attributes: ['name', 'exists-action'], required: ['name'], children: ['value'],
  compile(el, ctx) {
    const name = literalAttr(el, 'name')!.toLowerCase();
    // the gateway frames bodies itself: a document that sets them (after set-body, say) is obeyed by the framing it needs
    if (FRAMING.has(name)) return () => undefined;
    if (name === 'host' && (ctx.section === 'inbound' || ctx.section === 'backend')) return backendHost(el, ctx);
    if (PROTECTED.has(name)) throw loadError('unsupported-attribute', `${name} is managed by the gateway and cannot be set`, attribute(el, 'name')!.valuePos);
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw loadError('unsupported-attribute', `"${name}" is not a header name`, attribute(el, 'name')!.valuePos);
    const action = existsAction(el);
    const values = valuesOf(el, ctx);
    const onResponse = ctx.section === 'outbound' || ctx.section === 'on-error';
    const target = onResponse ? (c: ExchangeContext): Headers | undefined => c.ex.response?.headers : (c: ExchangeContext): Headers => c.ex.upstreamHeaders;
    return (c) => {
      const h = target(c);
      if (!h) return undefined;
      if (action === 'delete') { delete h[name]; return undefined; }
      const current = h[name];
      if (action === 'skip' && current !== undefined) return undefined;
      if (values.length === 1 && (action !== 'append' || current === undefined)) {
        const one = values[0]!(c);
        if (BAD_VALUE.test(one)) throw new PolicyRunError('InvalidHeaderValue', `the value of header ${name} contains a line break or NUL`);
        h[name] = one;
        return undefined;
      }
      const v = values.map((g) => g(c));
      for (const x of v) if (BAD_VALUE.test(x)) throw new PolicyRunError('InvalidHeaderValue', `the value of header ${name} contains a line break or NUL`);
      if (v.length === 0) { if (action === 'override') h[name] = ''; return undefined; }
      if (action === 'append' && current !== undefined) h[name] = [...(Array.isArray(current) ? current : [current]), ...v];
      else h[name] = v.length === 1 ? v[0]! : v;
      return undefined;
    };
  },
});

registerPolicy({
  name: 'set-query-parameter', sections: ['inbound', 'backend'], attributes: ['name', 'exists-action'], required: ['name'], children: ['value'],
  compile(el, ctx) {
    const name = literalAttr(el, 'name')!;
    const action = existsAction(el);
    const values = valuesOf(el, ctx);
    return (c) => {
      const q = new URLSearchParams(c.ex.backendQuery ?? c.ex.query);
      if (action === 'delete') q.delete(name);
      else if (action === 'skip' && q.has(name)) return undefined;
      else {
        if (action === 'override') q.delete(name);
        for (const g of values) q.append(name, g(c));
      }
      c.ex.backendQuery = q.toString();
      return undefined;
    };
  },
});

registerPolicy({
  name: 'set-method', sections: ['inbound', 'backend'], attributes: [],
  compile(el, ctx) {
    const get = contentOf(el, ctx);
    if (get === undefined) throw loadError('unsupported-attribute', '<set-method> needs the method as its content', el.pos);
    return (c) => {
      const m = get(c).trim().toUpperCase();
      if (!/^[A-Z]+$/.test(m)) throw new PolicyRunError('InvalidMethod', `"${m}" is not an HTTP method`);
      (c.ex as { method: string }).method = m;
      return undefined;
    };
  },
});

/** `{name}` placeholders of a rewrite-uri template, from the operation's path parameters. */
function fillTemplate(t: string, params: Record<string, string>): string {
  return t.replace(/\{([^{}]+)\}/g, (_, n: string) => encodeURIComponent(params[n] ?? ''));
}

registerPolicy({
  name: 'rewrite-uri', sections: ['inbound'], attributes: ['template', 'copy-unmatched-params'], required: ['template'],
  compile(el, ctx) {
    const template = strAttr(el, 'template', ctx)!;
    const copy = boolAttr(el, 'copy-unmatched-params', ctx, true);
    return (c) => {
      const ex = c.ex;
      const t = fillTemplate(template(c), ex.params);
      const q = t.indexOf('?');
      const path = q < 0 ? t : t.slice(0, q);
      const own = new URLSearchParams(q < 0 ? '' : t.slice(q + 1));
      if (copy(c)) for (const [k, v] of new URLSearchParams(ex.backendQuery ?? ex.query)) if (!own.has(k)) own.append(k, v);
      const p = path.startsWith('/') ? path : '/' + path;
      if (p.split('/').some((s) => s === '..' || s === '.')) throw new PolicyRunError('InvalidUrl', 'the rewritten path has dot-segments');
      ex.backendPath = c.basePath + (p === '/' ? '' : p);
      ex.backendQuery = own.toString();
      return undefined;
    };
  },
});

registerPolicy({
  name: 'set-backend-service', sections: ['inbound', 'backend'], attributes: ['base-url', 'backend-id', 'sf-resolve-condition', 'sf-service-instance-name', 'sf-listener-name', 'sf-partition-key'],
  compile(el, ctx) {
    const id = attribute(el, 'backend-id');
    if (id !== undefined) {
      if (typeof id.value !== 'string') {
        const get = strAttr(el, 'backend-id', ctx)!;
        return (c) => {
          const name = get(c);
          const b = ctx.policy.backend(name);
          if (!b) throw new PolicyRunError('BackendNotFound', `no backend named "${name}" in backends`);
          c.ex.backend = b;
          return undefined;
        };
      }
      const name = id.value;
      if (ctx.env.backendIds !== undefined && !ctx.env.backendIds.has(name)) throw loadError('unknown-backend-id', `no backend named "${name}" in backends`, id.valuePos);
      return (c) => {
        const b = ctx.policy.backend(name);
        if (!b) throw new PolicyRunError('BackendNotFound', `no backend named "${name}" in backends`);
        c.ex.backend = b;
        return undefined;
      };
    }
    const base = strAttr(el, 'base-url', ctx);
    if (base === undefined) throw loadError('unsupported-attribute', '<set-backend-service> needs base-url or backend-id', el.pos);
    const resolve = backendsForUrls(ctx.policy);
    return (c) => {
      const target = resolve(base(c));
      const ex = c.ex;
      const rest = ex.backendPath.startsWith(c.basePath) ? ex.backendPath.slice(c.basePath.length) : ex.backendPath;
      const q = target.path.indexOf('?');
      c.basePath = q < 0 ? target.path : target.path.slice(0, q);
      ex.backend = target.backend;
      ex.backendPath = c.basePath + rest;
      return undefined;
    };
  },
});
