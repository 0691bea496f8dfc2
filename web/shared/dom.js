// A tiny DOM kit: elements are built with h(), never from HTML strings, so text from the server
// or the user is never parsed as markup.

/** h('button', { class: 'x', onclick: f }, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace the children of `el` */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** a status line (polite) or an alert */
export const message = (text, kind = 'status') => h('p', { role: kind, class: kind === 'alert' ? 'alert' : 'note' }, text);

/** a table of `rows` (objects) with `columns`: [label, row => cell] */
export function table(caption, columns, rows) {
  if (rows.length === 0) return h('p', { class: 'note' }, `${caption}: none.`);
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map(([label]) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(r)))))));
}

/** a value as short text for a table cell */
export function text(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** JSON of an answer, or a problem+json's detail thrown as an Error */
export async function answer(res) {
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const e = new Error(typeof body === 'object' && body ? `${body.title ?? res.status}: ${body.detail ?? ''}` : `${res.status} ${res.statusText}`);
    e.status = res.status;
    throw e;
  }
  return body;
}
