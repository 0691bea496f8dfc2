// The developer portal: published APIs and their reference, products, the developer's
// subscriptions and keys, and a form that calls an operation through the gateway.
import { answer, h, message, mount, table } from './shared/dom.js';
import { createAuth } from './shared/oidc.js';
import { operationsOf, operationView } from './reference.js';

const main = document.getElementById('main');
const settings = await fetch('config.json').then((r) => r.json());
const auth = await createAuth({ issuer: settings.issuer, clientId: settings.clientId, scope: settings.scope, key: 'gatehouse-portal' });
/** keys shown once (at subscribe or regenerate), kept in this page's memory only: subscription id → { primary?, secondary? } */
const keys = new Map();
let notice;

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  const t = auth.token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return answer(await fetch(`api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

function header(current) {
  document.getElementById('brand').textContent = `${settings.brand} · ${settings.title}`;
  const link = (hash, label) => h('li', {}, h('a', { href: hash, 'aria-current': current === hash ? 'page' : undefined }, label));
  mount(document.getElementById('nav'), h('ul', {}, link('#/', 'APIs'), link('#/products', 'Products'), auth.token() ? link('#/subscriptions', 'My subscriptions') : null));
  const claims = auth.claims();
  mount(document.getElementById('account'), claims
    ? h('span', {}, h('span', { class: 'note' }, `Signed in `), ' ', h('button', { class: 'secondary', type: 'button', onclick: () => { auth.signOut(); keys.clear(); route(); } }, 'Sign out'))
    : h('button', { type: 'button', onclick: () => auth.signIn() }, 'Sign in or sign up'));
}

async function apisPage() {
  const { items } = await call('GET', 'apis');
  return [h('h1', {}, 'APIs'),
    items.length === 0 ? message('No API is published yet.') : items.map((a) => h('section', { class: 'card', 'aria-labelledby': `api-${a.name}` },
      h('h2', { id: `api-${a.name}` }, h('a', { href: `#/apis/${encodeURIComponent(a.name)}` }, a.title)),
      h('p', {}, 'Base path ', h('code', {}, a.path), a.products.length ? ` · in ${a.products.join(', ')}` : ''),
      h('p', { class: 'note' }, `Send your subscription key in the ${a.key.header} header (or the ${a.key.query} query parameter).`)))];
}

function tryForm(api, o, slug, hasBody) {
  const out = h('div', { 'aria-live': 'polite' });
  const id = (n) => `try-${slug}-${n}`;
  const known = [...keys.values()].map((k) => k.primary ?? k.secondary).filter(Boolean);
  const fields = o.params.filter((p) => p.in === 'path' || p.in === 'query' || p.in === 'header').map((p) => h('div', {},
    h('label', { for: id(p.name) }, `${p.name} (${p.in}${p.required ? ', required' : ''})`),
    h('input', { id: id(p.name), name: p.name, 'data-in': p.in, type: 'text', value: p.example ?? p.schema?.example ?? '' })));
  const form = h('form', { class: 'try', 'aria-label': `Try ${o.method} ${api.path}${o.path}` },
    h('h4', {}, 'Try it'),
    fields,
    h('label', { for: id('key') }, 'Subscription key'),
    h('input', { id: id('key'), name: 'key', type: 'text', autocomplete: 'off', spellcheck: 'false', value: known[0] ?? '', size: 50 }),
    auth.token() ? h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'token', checked: true }), 'Send my access token') : null,
    h('label', { for: id('bearer') }, 'Or an access token for this API (optional)'),
    h('input', { id: id('bearer'), name: 'bearer', type: 'password', autocomplete: 'off', size: 50 }),
    hasBody ? [h('label', { for: id('body') }, 'Body (JSON)'), h('textarea', { id: id('body'), name: 'body' }, '{}')] : null,
    h('p', {}, h('button', { type: 'submit' }, `Send ${o.method}`)),
    out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let path = api.path.replace(/\/$/, '') + o.path;
    const query = new URLSearchParams();
    const headers = {};
    for (const input of form.querySelectorAll('input[data-in]')) {
      if (input.dataset.in === 'path') path = path.replace(`{${input.name}}`, encodeURIComponent(input.value));
      else if (input.value === '') continue;
      else if (input.dataset.in === 'header') headers[input.name] = input.value;
      else query.set(input.name, input.value);
    }
    if (form.key.value) headers[api.key.header] = form.key.value.trim();
    if (form.bearer.value.trim()) headers.authorization = `Bearer ${form.bearer.value.trim()}`;
    else if (form.token?.checked && auth.token()) headers.authorization = `Bearer ${auth.token()}`;
    const init = { method: o.method, headers };
    if (hasBody) { headers['content-type'] = 'application/json'; init.body = form.body.value; }
    const q = query.toString();
    try {
      const res = await fetch(path + (q ? `?${q}` : ''), init);
      const txt = await res.text();
      let shown = txt;
      try { shown = JSON.stringify(JSON.parse(txt), null, 2); } catch { /* not JSON */ }
      mount(out, h('p', { role: 'status' }, h('strong', {}, `${res.status} ${res.statusText}`), ` from ${o.method} ${path}`), h('pre', { tabindex: 0, 'aria-label': 'Response body' }, shown));
    } catch (err) {
      mount(out, message(`The call failed: ${err.message}`, 'alert'));
    }
  });
  return form;
}

async function referencePage(name) {
  const api = await call('GET', `apis/${encodeURIComponent(name)}`);
  const doc = api.openapi;
  const title = doc?.info?.title ?? api.name;
  const ops = doc ? operationsOf(doc) : [];
  return [h('h1', {}, title),
    doc?.info?.description ? h('p', {}, doc.info.description) : null,
    h('p', {}, 'Base path ', h('code', {}, api.path), ' · version ', doc?.info?.version ?? 'unknown'),
    h('p', { class: 'note' }, `Calls need a subscription key in the ${api.key.header} header (or the ${api.key.query} query parameter)${api.products.length ? `: subscribe to ${api.products.join(' or ')}` : ''}.`),
    !doc ? message('This API has no OpenAPI document.') : null,
    h('nav', { 'aria-label': 'Operations' }, h('ul', {}, ops.map((o) => h('li', {}, h('a', { href: `#/apis/${encodeURIComponent(name)}/${encodeURIComponent(o.id)}` }, `${o.method} ${o.path}`))))),
    h('h2', {}, 'Operations'),
    ops.map((o) => operationView(doc, api, o, (op, slug, hasBody) => tryForm(api, op, slug, hasBody)))];
}

function shownKeys(sub, fresh) {
  keys.set(sub.id, { ...keys.get(sub.id), ...fresh });
  notice = h('section', { class: 'card', 'aria-labelledby': 'keys-h' },
    h('h2', { id: 'keys-h', tabindex: -1 }, `Keys of ${sub.name ?? sub.target ?? sub.id}`),
    h('p', {}, 'Copy them now: they are shown this once (only their last characters are kept).'),
    Object.entries(fresh).map(([which, k]) => h('p', {}, `${which[0].toUpperCase()}${which.slice(1)} key: `, h('code', { class: 'secret', 'data-key': which }, k))));
}

async function productsPage() {
  const { items } = await call('GET', 'products');
  const signedIn = Boolean(auth.token());
  return [h('h1', {}, 'Products'),
    notice, !signedIn ? message('Sign in to subscribe.') : null,
    items.map((p) => h('section', { class: 'card', 'aria-labelledby': `p-${p.id}` },
      h('h2', { id: `p-${p.id}` }, p.name),
      p.description ? h('p', {}, p.description) : null,
      h('p', {}, 'APIs: ', p.apis.join(', '), ' · ', p.approval === 'manual' ? 'an administrator approves each subscription' : 'subscriptions are active at once'),
      signedIn ? h('button', { type: 'button', onclick: async (e) => {
        e.target.disabled = true;
        try {
          const r = await call('POST', 'subscriptions', { product: p.id, name: p.name });
          shownKeys(r.subscription, { primary: r.primaryKey, secondary: r.secondaryKey });
          location.hash = '#/subscriptions';
        } catch (err) { e.target.after(message(err.message, 'alert')); e.target.disabled = false; }
      } }, `Subscribe to ${p.name}`) : null))];
}

async function subscriptionsPage() {
  if (!auth.token()) return [h('h1', {}, 'My subscriptions'), message('Sign in to see your subscriptions.')];
  const { items } = await call('GET', 'subscriptions');
  const regenerate = (s, which) => h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      const r = await call('POST', `subscriptions/${encodeURIComponent(s.id)}/keys/${which}/regenerate`);
      shownKeys(r.subscription, { [which]: r.key });
    } catch (err) { notice = message(err.message, 'alert'); }
    route();
  } }, `Regenerate the ${which} key of ${s.name ?? s.id}`);
  const cancel = (s) => h('button', { type: 'button', class: 'danger', onclick: async (e) => {
    e.target.disabled = true;
    try { await call('POST', `subscriptions/${encodeURIComponent(s.id)}/cancel`); } catch (err) { notice = message(err.message, 'alert'); }
    route();
  } }, `Cancel ${s.name ?? s.id}`);
  return [h('h1', {}, 'My subscriptions'), notice,
    table('Your subscriptions', [
      ['Name', (s) => s.name ?? s.id], ['Product', (s) => s.target ?? s.scope],
      ['State', (s) => h('span', { class: `state-${s.state}` }, s.state)],
      ['Keys', (s) => `primary …${s.primaryKeyHint}, secondary …${s.secondaryKeyHint}`],
      ['Actions', (s) => (s.state === 'cancelled' ? '' : h('div', { class: 'actions' }, regenerate(s, 'primary'), regenerate(s, 'secondary'), cancel(s)))],
    ], items)];
}

async function route() {
  const hash = location.hash || '#/';
  const parts = hash.slice(2).split('/').map(decodeURIComponent);
  header(parts[0] === 'apis' ? '#/' : `#/${parts[0]}`);
  try {
    let content;
    if (parts[0] === 'apis' && parts[1]) content = await referencePage(parts[1]);
    else if (parts[0] === 'products') content = await productsPage();
    else if (parts[0] === 'subscriptions') content = await subscriptionsPage();
    else content = await apisPage();
    mount(main, content);
    notice = undefined;
    if (parts[0] === 'apis' && parts[2]) document.getElementById(`op-${parts[2].replace(/[^A-Za-z0-9-]/g, '-')}`)?.scrollIntoView();
  } catch (err) {
    if (err.status === 401) auth.signOut();
    mount(main, h('h1', {}, 'Something went wrong'), message(err.message, 'alert'));
  }
}

try {
  const back = await auth.callback();
  if (back !== undefined) location.hash = back || '#/';
} catch (err) {
  notice = message(err.message, 'alert');
}
window.addEventListener('hashchange', route);
await route();
document.body.dataset.ready = 'true';
