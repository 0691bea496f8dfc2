#!/usr/bin/env node
// The quickstart's sample backend: a tiny "orders" API with JSON bodies.
//   GET /orders        list      GET /orders/:id   one order      POST /orders   create
// It trusts the gateway in front of it: X-User-Id (set by the gateway from the token's `sub`)
// says who is calling. Listens on $ORDERS_HOST:$ORDERS_PORT (default 127.0.0.1:9001; compose.yaml
// runs it in its own container with ORDERS_HOST=0.0.0.0).
// It also serves the demo single-page app (demo-app/) at /app/, reached through the gateway.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const orders = new Map([
  [1, { id: 1, item: 'coffee beans', quantity: 2, status: 'shipped', owner: 'demo' }],
  [2, { id: 2, item: 'grinder', quantity: 1, status: 'pending', owner: 'demo' }],
]);
let nextId = 3;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** the demo app: three files read once; a strict CSP (scripts, styles and calls to this origin only) */
const APP_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const appFile = (name, type) => ({ body: readFileSync(new URL(`./demo-app/${name}`, import.meta.url)), type });
const APP = { 'index.html': appFile('index.html', 'text/html; charset=utf-8'), 'app.js': appFile('app.js', 'text/javascript; charset=utf-8'), 'style.css': appFile('style.css', 'text/css; charset=utf-8') };

function serveApp(req, res, path) {
  // /app/ and /app/callback are the page; the module and the stylesheet by name
  const name = path === '/app/' || path === '/app/callback' ? 'index.html' : path.slice('/app/'.length);
  const f = Object.hasOwn(APP, name) ? APP[name] : undefined;
  if (!f) return send(res, 404, { error: 'not found' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, 'content-security-policy': APP_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : f.body);
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://backend');
  if (url.pathname === '/app') { res.writeHead(308, { location: '/app/' }); return res.end(); }
  if (url.pathname.startsWith('/app/')) return serveApp(req, res, url.pathname);
  const m = /^\/orders(?:\/(\d+))?\/?$/.exec(url.pathname);
  if (!m) return send(res, 404, { error: 'not found' });
  const user = req.headers['x-user-id'] ?? 'anonymous';
  if (req.method === 'GET' && !m[1]) return send(res, 200, { orders: [...orders.values()], caller: user });
  if (req.method === 'GET') {
    const o = orders.get(Number(m[1]));
    return o ? send(res, 200, o) : send(res, 404, { error: 'no such order' });
  }
  if (req.method === 'POST' && !m[1]) {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { raw += c; if (raw.length > 65536) req.destroy(); });
    req.on('end', () => {
      let body;
      try { body = JSON.parse(raw || '{}'); } catch { return send(res, 400, { error: 'invalid JSON' }); }
      if (typeof body.item !== 'string' || !Number.isInteger(body.quantity)) return send(res, 400, { error: 'item (string) and quantity (integer) are required' });
      const o = { id: nextId++, item: body.item, quantity: body.quantity, status: 'pending', owner: String(user) };
      orders.set(o.id, o);
      send(res, 201, o);
    });
    return;
  }
  send(res, 405, { error: 'method not allowed' });
});

const port = Number(process.env.ORDERS_PORT ?? 9001);
const host = process.env.ORDERS_HOST ?? '127.0.0.1';
server.listen(port, host, () => console.log(JSON.stringify({ msg: 'orders backend listening', host, port })));
