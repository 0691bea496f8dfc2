// An OpenAPI 3.0/3.1 document as readable reference: each operation with its parameters, request
// body and responses (schemas as nested property lists), and a form to try it.
import { h, table, text } from './shared/dom.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** follow an internal $ref (#/components/...) */
function deref(doc, v, seen = new Set()) {
  if (!v || typeof v !== 'object' || typeof v.$ref !== 'string') return v;
  if (!v.$ref.startsWith('#/') || seen.has(v.$ref)) return {};
  seen.add(v.$ref);
  const target = v.$ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).reduce((o, k) => (o ? o[k] : undefined), doc);
  return deref(doc, target ?? {}, seen);
}

function typeOf(doc, schema) {
  const s = deref(doc, schema) ?? {};
  const name = schema?.$ref ? schema.$ref.split('/').pop() : undefined;
  let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? (s.properties ? 'object' : s.oneOf || s.anyOf ? 'one of' : 'any');
  if (t === 'array') t = `array of ${typeOf(doc, s.items)}`;
  if (s.format) t += ` (${s.format})`;
  if (s.enum) t += `: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  return name ? `${name} — ${t}` : t;
}

/** a schema as a nested list of its properties (depth-bounded) */
export function schemaView(doc, schema, depth = 0) {
  const s = deref(doc, schema) ?? {};
  const target = s.type === 'array' ? deref(doc, s.items) ?? {} : s;
  const props = Object.entries(target.properties ?? {});
  const required = new Set(target.required ?? []);
  return h('div', { class: 'schema' },
    h('p', {}, h('code', {}, typeOf(doc, schema))),
    props.length > 0 && depth < 3 ? h('ul', {}, props.map(([name, p]) => {
      const ps = deref(doc, p) ?? {};
      const nested = (ps.properties || (ps.type === 'array' && deref(doc, ps.items)?.properties)) && depth < 2;
      return h('li', {}, h('code', {}, name), required.has(name) ? ' (required) ' : ' ', '— ', typeOf(doc, p), ps.description ? `. ${ps.description}` : '',
        nested ? schemaView(doc, p, depth + 1) : null);
    })) : null);
}

export function operationsOf(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc?.paths ?? {})) {
    for (const m of METHODS) {
      const op = item?.[m];
      if (!op) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => deref(doc, p));
      out.push({ method: m.toUpperCase(), path, op, params, id: op.operationId ?? `${m}-${path}`.replace(/[^A-Za-z0-9-]/g, '-') });
    }
  }
  return out;
}

/** the reference of one operation, with its try-it form */
export function operationView(doc, api, o, tryIt) {
  const body = deref(doc, o.op.requestBody);
  const json = body?.content?.['application/json'];
  const slug = o.id.replace(/[^A-Za-z0-9-]/g, '-');
  return h('article', { class: 'card', id: `op-${slug}`, 'aria-labelledby': `op-${slug}-h` },
    h('h3', { id: `op-${slug}-h` }, h('span', { class: 'method' }, o.method), h('code', {}, api.path + o.path)),
    o.op.summary ? h('p', {}, o.op.summary) : null,
    o.op.description ? h('p', { class: 'note' }, o.op.description) : null,
    o.params.length > 0 ? table('Parameters', [
      ['Name', (p) => h('code', {}, p.name)], ['In', (p) => p.in], ['Required', (p) => (p.required ? 'yes' : 'no')],
      ['Type', (p) => typeOf(doc, p.schema)], ['Description', (p) => text(p.description)],
    ], o.params) : null,
    json ? h('div', {}, h('h4', {}, 'Request body (application/json)'), schemaView(doc, json.schema)) : null,
    h('h4', {}, 'Responses'),
    h('ul', {}, Object.entries(o.op.responses ?? {}).map(([code, r]) => {
      const rr = deref(doc, r) ?? {};
      const rs = rr.content?.['application/json']?.schema;
      return h('li', {}, h('strong', {}, code), ` ${rr.description ?? ''}`, rs ? schemaView(doc, rs) : null);
    })),
    tryIt(o, slug, Boolean(json)));
}
