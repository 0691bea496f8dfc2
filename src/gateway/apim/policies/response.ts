import { attribute, childElements, content, type ApimResponse, type XmlNode } from '../../../apim/index.js';
import { compileLiquid } from '../liquid.js';
import type { ExchangeContext } from '../context.js';
import type { UpstreamResponse } from '../../exchange.js';
import type { Headers, Reply } from '../../reply.js';
import { PolicyRunError } from '../block.js';
import { reasonOf } from '../context.js';
import { loadError, registerPolicy } from '../registry.js';
import { contentOf, intAttr, literalAttr, strAttr } from '../values.js';

/** Policies that make or change responses: set-status, set-body, return-response, mock-response. */

const ALL = ['inbound', 'backend', 'outbound', 'on-error'] as const;

registerPolicy({
  name: 'set-status', sections: ALL, attributes: ['code', 'reason'], required: ['code'],
  compile(el, ctx) {
    const code = intAttr(el, 'code', ctx, undefined, 100)!;
    const reason = strAttr(el, 'reason', ctx);
    return (c) => {
      const r = c.ex.response;
      if (r === undefined) return undefined;
      const s = code(c);
      if (!Number.isInteger(s) || s < 100 || s > 599) throw new PolicyRunError('InvalidStatusCode', `${s} is not an HTTP status code`);
      r.status = s;
      const why = reason?.(c);
      if (why !== undefined) {
        if (/[\0\r\n]/.test(why)) throw new PolicyRunError('InvalidReason', 'the reason phrase contains a line break');
        r.reason = why;
      }
      return undefined;
    };
  },
});

registerPolicy({
  name: 'set-body', sections: ALL, attributes: ['template', 'xsl-template', 'parse-date'], children: 'any',
  compile(el, ctx) {
    const template = literalAttr(el, 'template');
    if (template !== undefined && template !== 'none' && template !== 'liquid') {
      throw loadError('unsupported-attribute', `template is liquid or none, not "${template}"`, attribute(el, 'template')!.valuePos);
    }
    if (attribute(el, 'xsl-template')) throw loadError('unsupported-attribute', 'xsl-template is not supported', attribute(el, 'xsl-template')!.pos);
    const onRequest = ctx.section === 'inbound' || ctx.section === 'backend';
    const inline = childElements(el).length > 0 ? markup(el.children) : undefined;
    let get = inline !== undefined && template !== 'liquid' ? () => inline : contentOf(el, ctx) ?? (() => '');
    if (template === 'liquid') {
      const text = inline ?? content(el);
      if (typeof text !== 'string') throw loadError('unsupported-attribute', 'a liquid template is text, not an expression', el.pos);
      const render = compileLiquid(text, el.pos);
      const body = (c: ExchangeContext) => () => {
        const b = onRequest ? c.ex.requestBody : c.ex.response?.body;
        if (typeof b !== 'string' && !Buffer.isBuffer(b)) return undefined;
        try { return JSON.parse(b.toString()) as unknown; } catch { return undefined; }
      };
      get = (c) => render(c, body(c));
    }
    if (onRequest) {
      return (c) => {
        c.ex.requestBody = Buffer.from(get(c));
        delete c.ex.upstreamHeaders['transfer-encoding'];
        return undefined;
      };
    }
    return (c) => {
      const r = c.ex.response;
      if (r === undefined) return undefined;
      r.body = get(c);
      delete r.headers['content-length'];
      delete r.headers['content-encoding'];
      delete r.headers['transfer-encoding'];
      return undefined;
    };
  },
});

/** A body written as XML inside set-body: its markup, text as written (a liquid template's tags and holes included). */
function markup(nodes: readonly XmlNode[]): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.value;
    else if (n.kind === 'expression') out += n.block ? `@{${n.code}}` : `@(${n.code})`;
    else {
      const attrs = n.attributes.map((a) => ` ${a.name}="${(typeof a.value === 'string' ? a.value : `@(${a.value.code})`).replace(/"/g, '&quot;')}"`).join('');
      out += n.children.length === 0 ? `<${n.name}${attrs} />` : `<${n.name}${attrs}>${markup(n.children)}</${n.name}>`;
    }
  }
  return out;
}

function toReply(r: UpstreamResponse): Reply {
  const body = r.body;
  return { status: r.status, headers: r.headers, body: typeof body === 'string' || Buffer.isBuffer(body) ? body : undefined, code: 'return-response' };
}

/** An IResponse (send-request's result) as a response to send. */
function fromVariable(v: unknown): UpstreamResponse {
  const x = v as ApimResponse | null;
  if (x === null || typeof x !== 'object' || typeof x.StatusCode !== 'number') throw new PolicyRunError('InvalidResponseVariable', 'response-variable-name does not name a response');
  const headers: Headers = {};
  for (const k of x.Headers.keys()) {
    const key = k.toLowerCase();
    if (key === 'content-length' || key === 'transfer-encoding' || key === 'connection') continue;
    headers[key] = [...(x.Headers.get(k) ?? [])];
  }
  return { status: x.StatusCode, headers, body: x.Body === null ? null : Buffer.from(x.Body.read(true)) };
}

registerPolicy({
  name: 'return-response', sections: ALL, attributes: ['response-variable-name'], children: ['set-status', 'set-header', 'set-body'],
  async compile(el, ctx) {
    const varName = literalAttr(el, 'response-variable-name');
    // the children shape the new response, as outbound policies shape the backend's
    const children = await ctx.steps(childElements(el), undefined, 'outbound');
    return async (c) => {
      const ex = c.ex;
      const r: UpstreamResponse = varName !== undefined ? fromVariable(ex.vars?.[varName]) : { status: 200, headers: {}, body: null };
      const previous = ex.response;
      ex.response = r;
      try {
        const failed = await children(c);
        if (failed !== undefined) return failed;
      } finally {
        ex.response = previous;
      }
      return toReply(r);
    };
  },
});

registerPolicy({
  name: 'mock-response', sections: ['inbound', 'outbound', 'on-error'], attributes: ['status-code', 'content-type', 'index'],
  compile(el, ctx) {
    const status = intAttr(el, 'status-code', ctx, 200, 100)!;
    const type = literalAttr(el, 'content-type');
    return (c): Reply => {
      const headers: Headers = {};
      if (type) headers['content-type'] = type;
      return { status: status(c), headers, body: '', code: 'mock-response' };
    };
  },
});

export { reasonOf };
