import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startGateway, CLI, ROOT, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { csrfOf, actionOf, freePort, openSignIn, tokenRequest, FAST_HASH } from '../identity/helpers.js';

const PASSWORD = 'correct horse battery staple';

/** Another process that takes the SQLite write lock (BEGIN IMMEDIATE) and holds it until told to let go. */
async function holdWriteLock(file: string): Promise<{ release(): Promise<void>; proc: ChildProcess }> {
  const script = `
    import { createRequire } from 'node:module';
    // the driver Gatehouse itself uses on this Node.js (src/identity/sqlite.ts)
    const sqlite = await import('node:sqlite').catch(() => undefined);
    const db = sqlite ? new sqlite.DatabaseSync(process.env.GH_DB) : new (createRequire(process.env.GH_ROOT + '/package.json')('better-sqlite3'))(process.env.GH_DB);
    db.exec('BEGIN IMMEDIATE');
    db.prepare("UPDATE lockouts SET updated_at = updated_at WHERE key = 'none'").run();
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, GH_ROOT: ROOT, GH_DB: file }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((res, rej) => {
    createInterface({ input: proc.stdout! }).once('line', (l) => (l === 'locked' ? res() : rej(new Error(l))));
    proc.once('exit', (code) => rej(new Error(`the lock holder exited (${code})`)));
  });
  return { proc, release: async () => { proc.stdin!.end('go\n'); await exited; } };
}

/**
 * The quickstart shape: gateway and identity in one `gatehouse start` on SQLite. While another
 * process holds the database's write lock, the gateway keeps serving other APIs, identity
 * requests that must write are answered 503 with Retry-After (never 500) once the busy timeout
 * has passed, and they succeed again when the lock goes.
 */
describe('a locked SQLite database delays only identity requests (one process, gateway in front)', () => {
  let gw: RunningGateway;
  let backend: TestBackend;
  let base: string;
  let issuer: string;
  let lock: Awaited<ReturnType<typeof holdWriteLock>> | undefined;

  before(async () => {
    backend = await startBackend();
    const [gwPort, idPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    issuer = `${base}/auth`;
    gw = await startGateway(`
gateway:
  listen: { http: ${gwPort} }
backends:
  app: { url: "${backend.url}" }
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
apis:
  - { name: identity, path: /auth, backend: identity }
  - { name: app, path: /app, backend: app }
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: sqlite:./identity.db
  database-busy-timeout: 1500ms
  apis: [{ audience: "api://app", scopes: [app.read] }]
  clients:
    - { client-id: cli, public: true, grant-types: [password, refresh_token], scopes: [app.read] }
    - { client-id: spa, public: true, grant-types: [authorization_code], redirect-uris: ["http://127.0.0.1:9/cb"], scopes: [app.read] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
`, { waitFor: ['http', 'identity'] });
    const add = execFile(process.execPath, [CLI, 'users', 'add', '--config', gw.configFile, '--username', 'alice', '--password-stdin'], { encoding: 'utf8' });
    add.stdin!.end(PASSWORD + '\n');
    assert.equal(await new Promise((r) => add.on('close', r)), 0);
  });

  after(async () => {
    await lock?.release().catch(() => {});
    lock?.proc.kill();
    await gw?.stop();
    await backend?.close();
  });

  const grant = () => tokenRequest({ issuer }, { grant_type: 'password', client_id: 'cli', username: 'alice', password: PASSWORD, scope: 'app.read' });

  test('while another process holds the write lock: other APIs answer at once, identity answers 503 + Retry-After, then recovers', async () => {
    assert.equal((await grant()).status, 200, 'works before the lock');
    const page = await openSignIn({ issuer } as never, 'spa', 'http://127.0.0.1:9/cb', 'openid app.read');
    assert.equal(page.status, 200);

    lock = await holdWriteLock(join(gw.dir, 'identity.db'));
    const order: string[] = [];
    const identity = grant().then((r) => { order.push('identity'); return r; });
    await new Promise((r) => setTimeout(r, 300)); // the identity request is now waiting for the lock
    const app = await fetch(`${base}/app/orders`);
    order.push('app');
    assert.equal(app.status, 200);
    const refused = await identity;
    assert.deepEqual(order, ['app', 'identity'], 'the API answered while the identity request was still waiting');
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error, 'temporarily_unavailable');
    // the hosted sign-in page: 503 with Retry-After too, and no stack or internals
    const form = await page.b.post(actionOf(page.html), { csrf: csrfOf(page.html), login: 'alice', password: PASSWORD });
    assert.equal(form.status, 503);
    assert.ok(Number(form.headers.get('retry-after')) > 0);
    assert.doesNotMatch(await form.text(), /SQLITE|at .*\.js/);
    const raw = await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', client_id: 'cli', username: 'alice', password: PASSWORD, scope: 'app.read' }) });
    assert.equal(raw.status, 503);
    assert.ok(Number(raw.headers.get('retry-after')) > 0, 'Retry-After on the OAuth error');
    assert.ok(!gw.logs.some((l) => /SQLITE_BUSY/.test(JSON.stringify(l)) && l.level === 50 && l.msg === 'identity request failed'), 'no 500 path');

    await lock.release();
    lock = undefined;
    assert.equal((await grant()).status, 200, 'succeeds once the lock is released');
  });
});
