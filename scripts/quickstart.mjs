#!/usr/bin/env node
// `npm start`: the quickstart. Starts the sample orders backend and Gatehouse (identity provider +
// gateway) with examples/quickstart/gatehouse.yaml, then prints what to try.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'examples', 'quickstart');
if (!existsSync(join(root, 'dist', 'src', 'app', 'cli.js'))) {
  console.log('building (first run)...');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const children = [];
const run = (name, args, env = {}) => {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = `[${name}] `;
  const out = (stream, target) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        target.write(prefix + line + '\n');
        // the one `ready` line: every listener up, the token keys loaded
        if (name === 'gatehouse' && line.includes('"msg":"ready"')) ready();
      }
    });
  };
  out(child.stdout, process.stdout);
  out(child.stderr, process.stderr);
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${name} exited with code ${code}`);
      stop(code ?? 1);
    }
  });
  return child;
};

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

let announced = false;
function ready() {
  if (announced) return;
  announced = true;
  const cfg = 'examples/quickstart/gatehouse.yaml';
  console.log(`
  Gatehouse quickstart is running.
    gateway       http://127.0.0.1:8080        (APIs: /orders, /auth)
    discovery     http://127.0.0.1:8080/auth/.well-known/openid-configuration
    demo app      http://127.0.0.1:8080/app/         (sign up or in, see your claims and orders)
    sign-up page  http://127.0.0.1:8080/auth/account/sign-up
    admin         http://127.0.0.1:9090/readyz   /metrics

  Try it (in another terminal):
    npx gatehouse users add --config ${cfg} --username alice --password 'correct horse battery'
    TOKEN=$(curl -s http://127.0.0.1:8080/auth/token -d grant_type=password -d client_id=orders-cli \\
      -d username=alice -d 'password=correct horse battery' -d scope=orders.read -d resource=api://orders | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
    curl -i http://127.0.0.1:8080/orders -H "Authorization: Bearer $TOKEN"
    curl -i http://127.0.0.1:8080/orders                       # 401: no token

  Client credentials: client billing-svc, secret "quickstart-billing-secret" (or $BILLING_SECRET).
  Ctrl-C stops everything.
`);
}

run('orders', [join(dir, 'orders-backend.mjs')], { ORDERS_PORT: '9001' });
run('gatehouse', [join(root, 'bin', 'gatehouse.js'), 'start', '--config', join(dir, 'gatehouse.yaml')]);
