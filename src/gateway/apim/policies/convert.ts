import { DOMParser } from '@xmldom/xmldom';
import { literalAttr } from '../values.js';
import { loadError, registerPolicy } from '../registry.js';

/**
 * jsonp: wraps a JSON response as `callback(…)` when the request names a callback in the query
 * parameter `callback-parameter-name`. The name must be a JavaScript identifier path
 * (`cb`, `app.handlers.cb`, at most 128 characters): anything else leaves the response as it is,
 * so that a caller cannot make the API answer script of its choosing.
 */

const CALLBACK = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

registerPolicy({
  name: 'jsonp', sections: ['outbound'], attributes: ['callback-parameter-name'], required: ['callback-parameter-name'],
  compile(el) {
    const param = literalAttr(el, 'callback-parameter-name')!;
    return (c) => {
      const r = c.ex.response;
      if (r === undefined || c.ex.query === '') return undefined;
      const cb = new URLSearchParams(c.ex.query).get(param);
      if (cb === null || cb.length > 128 || !CALLBACK.test(cb)) return undefined;
      const b = r.body;
      if (typeof b !== 'string' && !Buffer.isBuffer(b)) return undefined;
      r.body = `/**/${cb}(${b.toString()})`;
      delete r.headers['content-length'];
      r.headers['content-type'] = 'application/javascript; charset=utf-8';
      r.headers['x-content-type-options'] = 'nosniff';
      return undefined;
    };
  },
});

/**
 * json-to-xml and xml-to-json convert the request body (inbound) or the response body (outbound,
 * on-error) as the service's converter does: a JSON document becomes `<Document>…</Document>` with
 * an element per property (an array: one element per item; names that are not XML names encoded
 * as `_xHHHH_`); an XML document becomes `{"root": {…}}` with attributes as `@name`, text beside
 * elements as `#text` and repeated elements as arrays. `apply="content-type-json"` (`-xml`)
 * converts only bodies of that type; `consider-accept-header="true"` only when the request's
 * Accept asks for the target type. A document with a DOCTYPE is not converted (no entities).
 */

const isXmlNameChar = (ch: string, first: boolean) => (first ? /[A-Za-z_]/ : /[A-Za-z0-9_.-]/).test(ch);
function xmlName(k: string): string {
  if (k === '') return '_';
  let out = '';
  for (const [i, ch] of [...k].entries()) {
    out += isXmlNameChar(ch, i === 0) && !(ch === '_' && k.slice(i, i + 2) === '_x') ? ch : `_x${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}_`;
  }
  return out;
}
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function toXml(name: string, v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => toXml(name, x)).join('');
  if (v === null) return `<${name} />`;
  if (typeof v === 'object') return `<${name}>${Object.entries(v as Record<string, unknown>).map(([k, x]) => toXml(xmlName(k), x)).join('')}</${name}>`;
  return `<${name}>${esc(String(v))}</${name}>`;
}

export function jsonToXml(text: string): string | undefined {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return undefined; }
  const inner = v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.entries(v as Record<string, unknown>).map(([k, x]) => toXml(xmlName(k), x)).join('')
    : toXml('Item', v);
  return `<?xml version="1.0" encoding="utf-8"?><Document>${inner}</Document>`;
}

function fromNode(el: Element): unknown {
  const o: Record<string, unknown> = {};
  for (const a of Array.from(el.attributes)) o[`@${a.name}`] = a.value;
  let text = '';
  let elements = 0;
  for (const n of Array.from(el.childNodes)) {
    if (n.nodeType === 1) {
      elements++;
      const child = n as Element;
      const v = fromNode(child);
      const prev = o[child.nodeName];
      o[child.nodeName] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    } else if (n.nodeType === 3 || n.nodeType === 4) {
      text += n.nodeValue ?? '';
    }
  }
  if (elements === 0 && el.attributes.length === 0) return text === '' ? null : text;
  if (text.trim() !== '') o['#text'] = text;
  return o;
}

export function xmlToJson(text: string): string | undefined {
  if (/<!DOCTYPE/i.test(text)) return undefined;
  let failed = false;
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => { failed = true; }, fatalError: () => { failed = true; } } }).parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (failed || !root) return undefined;
  return JSON.stringify({ [root.nodeName]: fromNode(root) });
}

const wants = (accept: string | string[] | undefined, re: RegExp) => re.test(Array.isArray(accept) ? accept.join(',') : accept ?? '');

function converter(name: string, from: RegExp, to: RegExp, contentType: string, convert: (t: string) => string | undefined, applyIf: string) {
  registerPolicy({
    name, sections: ['inbound', 'outbound', 'on-error'], attributes: ['apply', 'consider-accept-header', 'parse-date', 'kind', 'namespace-separator', 'namespace-prefix', 'attribute-block-name', 'always-array-child-elements'], required: ['apply'],
    compile(el, ctx) {
      const apply = literalAttr(el, 'apply')!;
      if (apply !== 'always' && apply !== applyIf) throw loadError('unsupported-attribute', `apply is always or ${applyIf}, not "${apply}"`, el.pos);
      const accept = literalAttr(el, 'consider-accept-header') !== 'false';
      const onRequest = ctx.section === 'inbound';
      return (c) => {
        if (accept && !wants(c.ex.req.headers.accept, to)) return undefined;
        const headers = onRequest ? c.ex.upstreamHeaders : c.ex.response?.headers;
        const body = onRequest ? c.ex.requestBody : c.ex.response?.body;
        if (headers === undefined || (typeof body !== 'string' && !Buffer.isBuffer(body))) return undefined;
        const enc = headers['content-encoding'];
        if (enc !== undefined && enc !== 'identity') return undefined;
        if (apply !== 'always' && !from.test(String(headers['content-type'] ?? ''))) return undefined;
        const out = convert(body.toString());
        if (out === undefined) return undefined;
        headers['content-type'] = contentType;
        delete headers['content-length'];
        if (onRequest) {
          c.ex.requestBody = Buffer.from(out);
          delete c.ex.upstreamHeaders['transfer-encoding'];
        } else {
          c.ex.response!.body = out;
        }
        return undefined;
      };
    },
  });
}

converter('json-to-xml', /^application\/(?:[\w.+-]+\+)?json\b|^text\/json\b/i, /\/(?:[\w.+-]+\+)?xml\b/i, 'application/xml; charset=utf-8', jsonToXml, 'content-type-json');
converter('xml-to-json', /\/(?:[\w.+-]+\+)?xml\b/i, /\/(?:[\w.+-]+\+)?json\b/i, 'application/json; charset=utf-8', xmlToJson, 'content-type-xml');
