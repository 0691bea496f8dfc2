// The quickstart's demo single-page app: sign in with the authorization code flow + PKCE (S256),
// state and nonce; show the ID token's claims; call /orders through the gateway with the access
// token; sign out (RP-initiated logout). Plain ES module, no dependencies, no inline script (the
// page's CSP allows scripts from this origin only). Tokens live in sessionStorage: this tab only.
const CLIENT_ID = 'orders-spa';
const SCOPE = 'openid profile email orders.read';
const ISSUER = `${location.origin}/auth`;
const REDIRECT_URI = `${location.origin}/app/callback`;
const HOME = `${location.origin}/app/`;
const $ = (id) => document.getElementById(id);

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const sha256 = async (s) => b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))));
const jwtPayload = (jwt) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

let discovery;
async function config() {
  if (!discovery) {
    const r = await fetch(`${ISSUER}/.well-known/openid-configuration`);
    if (!r.ok) throw new Error(`discovery failed: HTTP ${r.status}`);
    discovery = await r.json();
    if (discovery.issuer !== ISSUER) throw new Error('discovery names another issuer');
  }
  return discovery;
}

async function signIn() {
  const d = await config();
  const flow = { state: random(), nonce: random(), verifier: random(48) };
  sessionStorage.setItem('demo.flow', JSON.stringify(flow));
  const q = new URLSearchParams({
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope: SCOPE,
    state: flow.state, nonce: flow.nonce, code_challenge: await sha256(flow.verifier), code_challenge_method: 'S256',
  });
  location.assign(`${d.authorization_endpoint}?${q}`);
}

/** back from the provider at /app/callback: check state, redeem the code with the verifier */
async function callback() {
  const params = new URLSearchParams(location.search);
  const flow = JSON.parse(sessionStorage.getItem('demo.flow') ?? 'null');
  sessionStorage.removeItem('demo.flow');
  history.replaceState(null, '', HOME); // the code leaves the address bar and the history
  if (!flow || params.get('state') !== flow.state) throw new Error('the answer does not belong to a sign-in started here (state mismatch)');
  if (params.get('error')) throw new Error(`${params.get('error')}: ${params.get('error_description') ?? ''}`);
  const d = await config();
  const r = await fetch(d.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: flow.verifier }),
  });
  const tokens = await r.json();
  if (!r.ok) throw new Error(`token request refused: ${tokens.error ?? r.status} ${tokens.error_description ?? ''}`);
  // the ID token came straight from the token endpoint of this origin; check it is for us and this sign-in
  const claims = jwtPayload(tokens.id_token);
  if (claims.iss !== ISSUER || claims.aud !== CLIENT_ID || claims.nonce !== flow.nonce) throw new Error('the ID token is not for this sign-in');
  sessionStorage.setItem('demo.tokens', JSON.stringify({ access: tokens.access_token, id: tokens.id_token, expires: Date.now() + tokens.expires_in * 1000 }));
}

function tokens() {
  const t = JSON.parse(sessionStorage.getItem('demo.tokens') ?? 'null');
  return t && t.expires > Date.now() ? t : null;
}

function show() {
  const t = tokens();
  $('signed-in').hidden = !t;
  $('signed-out').hidden = !!t;
  const dl = $('claims');
  dl.replaceChildren();
  if (!t) return;
  for (const [k, v] of Object.entries(jwtPayload(t.id))) {
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = typeof v === 'string' ? v : JSON.stringify(v);
    dl.append(dt, dd);
  }
}

async function loadOrders() {
  const t = tokens();
  if (!t) return show();
  const r = await fetch('/orders', { headers: { authorization: `Bearer ${t.access}` } });
  if (!r.ok) {
    const p = await r.json().catch(() => ({}));
    throw new Error(`GET /orders: HTTP ${r.status} ${p.title ?? ''}`);
  }
  const body = await r.json();
  const tbody = $('orders').querySelector('tbody');
  tbody.replaceChildren(...body.orders.map((o) => {
    const tr = document.createElement('tr');
    for (const v of [o.id, o.item, o.quantity, o.status]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  }));
  $('orders').hidden = false;
  status(`${body.orders.length} orders, seen by the API as user ${body.caller}.`);
}

async function signOut() {
  const t = tokens();
  sessionStorage.removeItem('demo.tokens');
  const d = await config();
  if (!t || !d.end_session_endpoint) return show();
  const q = new URLSearchParams({ client_id: CLIENT_ID, id_token_hint: t.id, post_logout_redirect_uri: HOME });
  location.assign(`${d.end_session_endpoint}?${q}`);
}

const guard = (fn) => () => fn().catch((e) => status(e.message, true));
$('sign-in').addEventListener('click', guard(signIn));
$('load-orders').addEventListener('click', guard(loadOrders));
$('sign-out').addEventListener('click', guard(signOut));

(async () => {
  if (location.pathname === '/app/callback') await callback();
  show();
})().catch((e) => { status(e.message, true); show(); });
