// The admin console: every view is a call to the management API with the administrator's token;
// the API decides what the token may do, the console only shows it.
import { answer, h, message, mount, table, text } from './shared/dom.js';
import { createAuth } from './shared/oidc.js';

const main = document.getElementById('main');
const settings = await fetch('config.json').then((r) => r.json());
const auth = await createAuth({ issuer: settings.issuer, clientId: settings.clientId, scope: settings.scope, key: 'gatehouse-console' });
let notice;

async function api(method, path, body) {
  const headers = { accept: 'application/json', authorization: `Bearer ${auth.token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return answer(await fetch(`/management/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

/** the query of the view's hash (#/users?search=x&cursor=y) */
const hashQuery = () => new URLSearchParams(location.hash.split('?')[1] ?? '');

/** a link to the page after this one, when the list says there is one */
function nextPage(view, next) {
  if (!next) return null;
  const q = hashQuery();
  q.set('cursor', next);
  return h('p', {}, h('a', { href: `#/${view}?${q}` }, 'Next page'));
}

/** a button that runs `action`, then shows what happened and draws the view again */
const act = (label, action, cls = 'secondary') => h('button', { type: 'button', class: cls, onclick: async (e) => {
  e.target.disabled = true;
  try { const r = await action(); notice = r instanceof Node ? r : message(r ?? `${label}: done.`); } catch (err) { notice = message(`${label}: ${err.message}`, 'alert'); }
  await route();
} }, label);

const secret = (label, value) => h('p', {}, `${label} (shown this once): `, h('code', { class: 'secret' }, value));

const VIEWS = {
  subscriptions: { title: 'Subscriptions', async render() {
    const cursor = hashQuery().get('cursor');
    const { items, next } = await api('GET', `subscriptions?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const actions = (s) => {
      const a = [];
      const to = (verb, label) => act(`${label} ${s.name ?? s.id}`, async () => { await api('POST', `subscriptions/${encodeURIComponent(s.id)}/${verb}`); }, verb === 'suspend' || verb === 'cancel' ? 'danger' : 'secondary');
      if (s.state === 'submitted') a.push(to('approve', 'Approve'));
      if (s.state === 'active') a.push(to('suspend', 'Suspend'));
      if (s.state === 'suspended') a.push(to('reactivate', 'Reactivate'));
      if (['submitted', 'active', 'suspended'].includes(s.state)) {
        a.push(to('cancel', 'Cancel'));
        for (const which of ['primary', 'secondary']) {
          a.push(act(`Regenerate ${which} key of ${s.name ?? s.id}`, async () => {
            const r = await api('POST', `subscriptions/${encodeURIComponent(s.id)}/keys/${which}/regenerate`);
            return secret(`New ${which} key of ${s.name ?? s.id}`, r.key);
          }));
        }
      }
      return h('div', { class: 'actions' }, a);
    };
    return [table('Subscriptions', [
      ['Name', (s) => s.name ?? s.id], ['Scope', (s) => `${s.scope}${s.target ? `: ${s.target}` : ''}`], ['Owner', (s) => `${s.owner.type} ${s.owner.id}`],
      ['State', (s) => h('span', { class: `state-${s.state}` }, s.state)], ['Keys', (s) => `…${s.primaryKeyHint} / …${s.secondaryKeyHint}`], ['Actions', actions],
    ], items), nextPage('subscriptions', next)];
  } },
  users: { title: 'Users', async render() {
    const q = hashQuery().get('search') ?? '';
    const cursor = hashQuery().get('cursor');
    const form = h('form', { class: 'row', role: 'search' },
      h('div', {}, h('label', { for: 'user-search' }, 'Search users (name or email)'), h('input', { id: 'user-search', name: 'search', type: 'search', value: q })),
      h('button', { type: 'submit' }, 'Search'));
    form.addEventListener('submit', (e) => { e.preventDefault(); location.hash = `#/users?search=${encodeURIComponent(form.search.value)}`; });
    const { items, next } = await api('GET', `users?limit=50${q ? `&search=${encodeURIComponent(q)}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const name = (u) => u.username ?? u.email ?? u.id;
    const roles = (u) => {
      const f = h('form', { class: 'row' },
        h('label', { class: 'visually-hidden', for: `roles-${u.id}` }, `Roles of ${name(u)}`),
        h('input', { id: `roles-${u.id}`, name: 'roles', value: (u.roles ?? []).join(', '), size: 20 }),
        h('button', { type: 'submit', class: 'secondary' }, `Save roles of ${name(u)}`));
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        try { await api('PUT', `users/${encodeURIComponent(u.id)}/roles`, { roles: f.roles.value.split(',').map((r) => r.trim()).filter(Boolean) }); notice = message(`Roles of ${name(u)} saved.`); } catch (err) { notice = message(err.message, 'alert'); }
        route();
      });
      return f;
    };
    const path = (u, what) => `users/${encodeURIComponent(u.id)}/${what}`;
    return [form, table('Users', [
      ['User', name], ['Email', (u) => `${text(u.email)}${u.email && !u.emailVerified ? ' (not verified)' : ''}`],
      ['State', (u) => h('span', { class: u.disabled ? 'state-suspended' : 'state-active' }, u.disabled ? 'locked' : 'active')], ['Roles', roles],
      ['Actions', (u) => h('div', { class: 'actions' },
        u.disabled ? act(`Unlock ${name(u)}`, () => api('POST', path(u, 'unlock')).then(() => undefined))
          : act(`Lock ${name(u)}`, () => api('POST', path(u, 'lock')).then(() => undefined), 'danger'),
        act(`Send ${name(u)} a password reset`, async () => `A reset link was sent to ${(await api('POST', path(u, 'reset-password'))).to}.`))],
    ], items), nextPage('users', next)];
  } },
  clients: { title: 'Clients', async render() {
    const { items } = await api('GET', 'clients?limit=200');
    const form = h('form', { 'aria-labelledby': 'new-client' },
      h('h2', { id: 'new-client' }, 'New client'),
      h('label', { for: 'c-id' }, 'Client id'), h('input', { id: 'c-id', name: 'clientId', required: true }),
      h('label', { for: 'c-grants' }, 'Grant types (comma-separated)'), h('input', { id: 'c-grants', name: 'grants', value: 'client_credentials' }),
      h('label', { for: 'c-scopes' }, 'Scopes (comma-separated)'), h('input', { id: 'c-scopes', name: 'scopes' }),
      h('label', { for: 'c-redirects' }, 'Redirect URIs (comma-separated)'), h('input', { id: 'c-redirects', name: 'redirects', size: 50 }),
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'public' }), 'Public client (no secret)'),
      h('p', {}, h('button', { type: 'submit' }, 'Create client')));
    const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await api('POST', 'clients', { clientId: form.clientId.value, public: form.public.checked, grantTypes: list(form.grants.value), scopes: list(form.scopes.value), redirectUris: list(form.redirects.value) });
        notice = r.clientSecret ? secret(`Secret of ${r.client.clientId}`, r.clientSecret) : message(`Client ${r.client.clientId} created.`);
      } catch (err) { notice = message(err.message, 'alert'); }
      route();
    });
    const path = (c, what = '') => `clients/${encodeURIComponent(c.clientId)}${what}`;
    return [table('Clients', [
      ['Client', (c) => c.clientId], ['Kind', (c) => (c.public ? 'public' : 'confidential')], ['Grants', (c) => c.grantTypes.join(', ')], ['Scopes', (c) => c.scopes.join(' ')],
      ['Defined in', (c) => (c.source === 'config' ? 'the config file' : 'the database')],
      ['Actions', (c) => (c.source === 'config' ? '' : h('div', { class: 'actions' },
        c.public ? null : act(`Rotate secret of ${c.clientId}`, async () => secret(`New secret of ${c.clientId}`, (await api('POST', path(c, '/rotate-secret'))).clientSecret)),
        act(`Delete ${c.clientId}`, async () => { await api('DELETE', path(c)); }, 'danger')))],
    ], items), form];
  } },
  keys: { title: 'Signing keys', async render() {
    const { items } = await api('GET', 'keys');
    return [table('Signing keys', [['Key id', (k) => k.kid], ['Algorithm', (k) => k.alg], ['State', (k) => k.state], ['Created', (k) => text(k.created)], ['Signs from', (k) => text(k.activatesAt)], ['Retires', (k) => text(k.retiresAt)]], items),
      act('Rotate the signing keys', async () => `New key ${(await api('POST', 'keys/rotate')).kid}; it signs after the overlap.`, 'secondary')];
  } },
  products: { title: 'Products', async render() {
    const { items } = await api('GET', 'products');
    return table('Products', [['Id', (p) => p.id], ['Name', (p) => p.name], ['APIs', (p) => p.apis.join(', ')], ['Approval', (p) => p.approval], ['Key required', (p) => (p.subscriptionRequired ? 'yes' : 'no')]], items);
  } },
  apis: { title: 'APIs', async render() {
    const { items } = await api('GET', 'apis');
    const details = await Promise.all(items.map((a) => api('GET', `apis/${encodeURIComponent(a.name)}`)));
    const chain = (p) => Object.entries(p ?? {}).filter(([, steps]) => steps.length > 0).map(([section, steps]) => `${section}: ${steps.join(' → ')}`).join('; ');
    return details.map((a) => h('section', { class: 'card', 'aria-labelledby': `api-${a.name}` },
      h('h2', { id: `api-${a.name}` }, a.name, ' ', h('code', {}, a.path)),
      h('p', {}, `Backend: ${a.backend ?? 'none'} · hosts: ${a.hosts.join(', ')}${a.products.length ? ` · products: ${a.products.join(', ')}` : ''}`),
      a.effective?.operations ? table(`Operations of ${a.name} and the policies that run`, [
        ['Operation', (o) => o.id], ['Method', (o) => o.method], ['Path', (o) => h('code', {}, o.path)], ['Policies', (o) => chain(o.policies) || 'none'],
      ], a.effective.operations) : a.effective ? h('p', {}, 'Policies that run: ', chain(a.effective.policies) || 'none') : null,
      h('details', {}, h('summary', {}, `Policies of ${a.name} as configured, per scope`), h('pre', { tabindex: 0 }, JSON.stringify(a.policies, null, 2)))));
  } },
  backends: { title: 'Backend health', async render() {
    const body = await api('GET', 'backends');
    const rows = Object.entries(body).map(([name, b]) => ({ name, ...b }));
    return table('Backends', [['Backend', (b) => b.name], ['Healthy targets', (b) => `${b.healthy} of ${b.targets.length}`],
      ['Targets', (b) => b.targets.map((t) => `${t.url}: ${t.ejected ? 'ejected' : t.healthy ? 'healthy' : 'unhealthy'}`).join(', ')], ['In flight', (b) => text(b.inFlight)]], rows);
  } },
  errors: { title: 'Recent errors', async render() {
    const { items } = await api('GET', 'errors');
    return table('Recent errors, newest first', [['When', (e) => e.at], ['Status', (e) => e.status], ['Code', (e) => text(e.code)], ['API', (e) => text(e.api)], ['Operation', (e) => text(e.operation)], ['Request id', (e) => h('code', {}, e.requestId)]], items);
  } },
  audit: { title: 'Audit log', async render() {
    const { items } = await api('GET', 'audit?limit=200');
    return table('Audit log', [['When', (e) => e.at], ['Who', (e) => e.actor], ['What', (e) => e.action], ['Target', (e) => `${e.target.type} ${e.target.id}`]], items.slice(-50).reverse());
  } },
};

function header(current) {
  document.getElementById('brand').textContent = `${settings.brand} · Admin console`;
  const signedIn = Boolean(auth.token());
  mount(document.getElementById('nav'), signedIn ? h('ul', {}, Object.entries(VIEWS).map(([k, v]) => h('li', {}, h('a', { href: `#/${k}`, 'aria-current': current === k ? 'page' : undefined }, v.title)))) : null);
  mount(document.getElementById('account'), signedIn
    ? h('button', { type: 'button', class: 'secondary', onclick: () => { auth.signOut(); route(); } }, 'Sign out')
    : null);
}

async function route() {
  const key = (location.hash.slice(2).split(/[/?]/)[0]) || 'subscriptions';
  const view = VIEWS[key] ?? VIEWS.subscriptions;
  header(key);
  if (!auth.token()) {
    mount(main, h('h1', {}, 'Admin console'), notice, h('p', {}, 'Sign in with an administrator account.'), h('button', { type: 'button', onclick: () => auth.signIn() }, 'Sign in'));
    notice = undefined;
    return;
  }
  const roles = [].concat(auth.claims()?.roles ?? []);
  if (!roles.includes(settings.adminRole)) {
    mount(main, h('h1', {}, 'Admin console'), message(`This account lacks the ${settings.adminRole} role.`, 'alert'));
    return;
  }
  try {
    const content = await view.render();
    mount(main, h('h1', {}, view.title), notice, content);
  } catch (err) {
    if (err.status === 401) auth.signOut();
    mount(main, h('h1', {}, view.title), notice, message(err.status === 404 ? `This Gatehouse does not offer ${view.title.toLowerCase()} in its management API yet.` : err.message, 'alert'));
  }
  notice = undefined;
}

try {
  const back = await auth.callback();
  if (back !== undefined) location.hash = back || '#/subscriptions';
} catch (err) {
  notice = message(err.message, 'alert');
}
window.addEventListener('hashchange', route);
await route();
document.body.dataset.ready = 'true';
