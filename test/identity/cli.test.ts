import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { identitySchema } from '../../src/identity/schema.js';
import { identityCommand } from '../../src/identity/cli.js';
import { startTestIdentity, tokenRequest, FAST_HASH, EXAMPLE, freePort, type TestIdentity } from './helpers.js';
import { CLI } from '../helpers/gateway.js';

const run = promisify(execFile);

describe('gatehouse users|clients|keys (identityCommand)', () => {
  let dir: string;
  let t: TestIdentity;
  const config = () => t.config;
  const cmd = async (command: 'users' | 'clients' | 'keys', args: string[], stdin = '') => {
    const stdout = new PassThrough(), stderr = new PassThrough();
    let out = '', err = '';
    stdout.on('data', (c) => { out += c; });
    stderr.on('data', (c) => { err += c; });
    const code = await identityCommand(command, args, config(), { configDir: dir, stdout, stderr, stdin: Readable.from([stdin]), logger: pino({ level: 'silent' }) });
    return { code, out, err };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    t = await startTestIdentity({ ...EXAMPLE, lockout: { threshold: 2, duration: '1h' } }, { dir });
  });
  after(async () => { await t?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('users add with --password-stdin creates an account that can sign in', async () => {
    const r = await cmd('users', ['add', '--username', 'quinn', '--email', 'quinn@example.com', '--password-stdin', '--roles', 'reader,writer'], 'a long enough passphrase\n');
    assert.equal(r.code, 0, r.err);
    const tok = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'a long enough passphrase', scope: 'orders.read' });
    assert.equal(tok.status, 200);
    const payload = JSON.parse(Buffer.from(tok.json.access_token.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.roles, ['reader', 'writer']);
  });

  test('users add refuses a common password, a duplicate account, and unknown flags (exit 2)', async () => {
    assert.equal((await cmd('users', ['add', '--username', 'rita', '--password', 'password1'])).code, 1);
    assert.equal((await cmd('users', ['add', '--username', 'quinn', '--password', 'another long passphrase'])).code, 1);
    const bad = await cmd('users', ['add', '--username', 'rita', '--pasword', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /pasword/);
    assert.equal((await cmd('users', ['frobnicate'])).code, 2);
  });

  test('users list, show, set-roles, disable, enable', async () => {
    const list = await cmd('users', ['list', '--json']);
    assert.equal(list.code, 0);
    assert.ok(list.out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).some((u) => u.username === 'quinn'));
    assert.equal((await cmd('users', ['set-roles', 'quinn', '--roles', 'auditor'])).code, 0);
    const show = JSON.parse((await cmd('users', ['show', 'quinn@example.com', '--json'])).out);
    assert.deepEqual(show.roles, ['auditor']);
    assert.equal((await cmd('users', ['disable', 'quinn'])).code, 0);
    const refused = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'a long enough passphrase', scope: 'orders.read' });
    assert.equal(refused.status, 400);
    assert.equal((await cmd('users', ['enable', 'quinn'])).code, 0);
    const ok = await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'a long enough passphrase', scope: 'orders.read' });
    assert.equal(ok.status, 200);
    assert.equal((await cmd('users', ['show', 'nobody'])).code, 1);
  });

  test('users unlock and reset-password', async () => {
    for (const p of ['wrong-1', 'wrong-2']) await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: p });
    const show = JSON.parse((await cmd('users', ['show', 'quinn', '--json'])).out);
    assert.ok(show.lockedUntil > Date.now(), 'locked');
    assert.equal((await cmd('users', ['unlock', 'quinn'])).code, 0);
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'a long enough passphrase', scope: 'orders.read' })).status, 200);
    assert.equal((await cmd('users', ['reset-password', 'quinn', '--password', 'qwerty123'])).code, 1, 'policy applies');
    assert.equal((await cmd('users', ['reset-password', 'quinn', '--password', 'a different passphrase'])).code, 0);
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'quinn', password: 'a different passphrase', scope: 'orders.read' })).status, 200);
  });

  test('clients add shows a 256-bit secret once and stores only its hash; rotate-secret and remove', async () => {
    const r = await cmd('clients', ['add', '--client-id', 'reports-svc', '--grant-types', 'client_credentials', '--scopes', 'orders.read', '--roles', 'reporter']);
    assert.equal(r.code, 0, r.err);
    const secret = /secret \(shown once, store it now\): (\S+)/.exec(r.out)![1]!;
    assert.equal(Buffer.from(secret, 'base64url').length, 32);
    const row = await t.services.db.one<{ secret_hash: string; metadata: string }>('SELECT secret_hash, metadata FROM clients WHERE client_id = $1', ['reports-svc']);
    assert.match(row!.secret_hash, /^sha256:[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(row).includes(secret), 'the secret itself is not stored');
    const auth = (s: string) => tokenRequest(t, { grant_type: 'client_credentials', scope: 'orders.read' }, { id: 'reports-svc', secret: s });
    const tok = await auth(secret);
    assert.equal(tok.status, 200, tok.text);
    assert.deepEqual(JSON.parse(Buffer.from(tok.json.access_token.split('.')[1], 'base64url').toString()).roles, ['reporter']);

    const rot = await cmd('clients', ['rotate-secret', 'reports-svc']);
    const fresh = /: (\S+)$/m.exec(rot.out)![1]!;
    assert.equal((await auth(secret)).status, 401, 'the old secret stops working');
    assert.equal((await auth(fresh)).status, 200);

    const list = await cmd('clients', ['list', '--json']);
    const rows = list.out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(rows.some((c) => c.clientId === 'reports-svc' && c.source === 'database'));
    assert.ok(rows.some((c) => c.clientId === 'billing-svc' && c.source === 'config'));

    assert.equal((await cmd('clients', ['remove', 'reports-svc'])).code, 0);
    assert.equal((await auth(fresh)).status, 401);
  });

  test('clients remove matches the id exactly (no LIKE wildcards) and revokes only that client\'s tokens', async () => {
    await t.addUser({ username: 'uma', password: 'a long enough passphrase' });
    const ids = ['cli_one', 'cliXone', 'CLI_ONE', 'cli_one_two'];
    for (const id of ids) assert.equal((await cmd('clients', ['add', '--client-id', id, '--public', '--grant-types', 'password,refresh_token', '--scopes', 'orders.read'])).code, 0);
    const refreshOf = async (id: string) => (await tokenRequest(t, { grant_type: 'password', client_id: id, username: 'uma', password: 'a long enough passphrase', scope: 'orders.read' })).json.refresh_token as string;
    const rts = new Map<string, string>();
    for (const id of ids) rts.set(id, await refreshOf(id));
    // wildcard-looking names match nothing and revoke nothing
    for (const pattern of ['cli%', 'cli_on_', '%']) assert.equal((await cmd('clients', ['remove', pattern])).code, 1);
    assert.equal((await cmd('clients', ['remove', 'cli_one'])).code, 0);
    const removed = await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'cli_one', refresh_token: rts.get('cli_one')! });
    assert.notEqual(removed.status, 200, 'the removed client\'s refresh token is dead');
    for (const id of ['cliXone', 'CLI_ONE', 'cli_one_two']) {
      const r = await tokenRequest(t, { grant_type: 'refresh_token', client_id: id, refresh_token: rts.get(id)! });
      assert.equal(r.status, 200, `${id} keeps its tokens: ${r.text}`);
    }
    const left = (await cmd('clients', ['list', '--json'])).out.split('\n').filter(Boolean).map((l) => JSON.parse(l).clientId);
    for (const id of ['cliXone', 'CLI_ONE', 'cli_one_two']) assert.ok(left.includes(id), id);
  });

  test('config clients are read-only for the CLI', async () => {
    assert.equal((await cmd('clients', ['remove', 'billing-svc'])).code, 1);
    assert.equal((await cmd('clients', ['rotate-secret', 'billing-svc'])).code, 1);
    assert.equal((await cmd('clients', ['add', '--client-id', 'billing-svc', '--grant-types', 'client_credentials'])).code, 1);
    assert.equal((await cmd('clients', ['add', '--client-id', 'x', '--bogus'])).code, 2);
  });

  test('keys list and rotate', async () => {
    const before = (await cmd('keys', ['list', '--json'])).out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(before.filter((k) => k.state.startsWith('active')).length, 1);
    const r = await cmd('keys', ['rotate', '--overlap', '1h']);
    assert.equal(r.code, 0, r.err);
    const after = (await cmd('keys', ['list', '--json'])).out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(after.length, before.length + 1);
    assert.ok(after.some((k) => k.state.startsWith('published')));
    assert.equal((await cmd('keys', ['rotate', '--overlap', 'soon'])).code, 2);
    // the cookie-signing keys rotate too; --cookies rotates them alone
    assert.match(r.out, /new cookie-signing key cookie-/);
    const c = await cmd('keys', ['rotate', '--cookies']);
    assert.equal(c.code, 0, c.err);
    assert.doesNotMatch(c.out, /signing key [0-9a-f]{16}/);
    assert.match(c.out, /new cookie-signing key/);
    const sigs = (await cmd('keys', ['list', '--json'])).out.split('\n').filter(Boolean);
    assert.equal(sigs.length, after.length, '--cookies leaves the signing keys alone');
  });
  test('users add without a password source: refused without a terminal unless --no-password; asked for on a terminal', async () => {
    const none = await cmd('users', ['add', '--username', 'nopass']);
    assert.equal(none.code, 2);
    assert.match(none.err, /--no-password/);
    assert.ok(!(await cmd('users', ['list', '--json'])).out.includes('"nopass"'), 'no account was created');
    assert.equal((await cmd('users', ['add', '--username', 'nopass', '--no-password', '--password', 'a long enough passphrase'])).code, 2, 'not both');
    const explicit = await cmd('users', ['add', '--username', 'nopass', '--no-password']);
    assert.equal(explicit.code, 0, explicit.err);
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'nopass', password: 'anything at all', scope: 'orders.read' })).status, 400);

    // a terminal: the password is asked twice, without echo
    const tty = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(this: { isRaw: boolean }, v: boolean) { this.isRaw = v; return this; } });
    const stdout = new PassThrough(), stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c) => { err += c; });
    const done = identityCommand('users', ['add', '--username', 'typed'], config(), { configDir: dir, stdout, stderr, stdin: tty, logger: pino({ level: 'silent' }) });
    const waitFor = async (re: RegExp) => { for (let i = 0; i < 200 && !re.test(err); i++) await new Promise((r) => setTimeout(r, 10)); assert.match(err, re); };
    await waitFor(/Password: $/);
    assert.equal(tty.isRaw, true, 'no echo while typing');
    tty.write('typed passphrase x\u007fX\r');
    await waitFor(/again: $/);
    tty.write('typed passphrase X\r');
    assert.equal(await done, 0, err);
    assert.equal(tty.isRaw, false, 'the terminal is restored');
    assert.doesNotMatch(err, /typed passphrase/);
    assert.equal((await tokenRequest(t, { grant_type: 'password', client_id: 'orders-cli', username: 'typed', password: 'typed passphrase X', scope: 'orders.read' })).status, 200);
  });

  test('users add on a terminal: two different entries are refused', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(this: { isRaw: boolean }, v: boolean) { this.isRaw = v; return this; } });
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c) => { err += c; });
    const done = identityCommand('users', ['add', '--username', 'typo'], config(), { configDir: dir, stdout: new PassThrough(), stderr, stdin: tty, logger: pino({ level: 'silent' }) });
    for (let i = 0; i < 200 && !/Password: $/.test(err); i++) await new Promise((r) => setTimeout(r, 10));
    tty.write('first passphrase one\r');
    for (let i = 0; i < 200 && !/again: $/.test(err); i++) await new Promise((r) => setTimeout(r, 10));
    tty.write('first passphrase two\r');
    assert.equal(await done, 1);
    assert.match(err, /do not match/);
  });
});

describe('gatehouse users (the real CLI)', () => {
  test('users add in a script (no terminal) without a password fails clearly and creates nothing; on a terminal it asks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-tty-'));
    try {
      const port = await freePort();
      writeFileSync(join(dir, 'gatehouse.yaml'), `identity:\n  listen: { http: ${port} }\n  issuer: http://127.0.0.1:${port}/auth\n  database: sqlite:./data/identity.db\n  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }\n`);
      const config = join(dir, 'gatehouse.yaml');
      const bad = await run(process.execPath, [CLI, 'users', 'add', '--config', config, '--username', 'pat']).catch((e) => e);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /no terminal/);
      assert.match(bad.stderr, /--password-stdin/);
      assert.match(bad.stderr, /--no-password/);
      assert.equal((await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--json'])).stdout.trim(), '', 'no account');
      // a real terminal (a pseudo-terminal made by script(1))
      const cmdline = [process.execPath, CLI, 'users', 'add', '--config', config, '--username', 'pat'].map((a) => `'${a}'`).join(' ');
      const child = spawn('script', ['-qec', cmdline, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c) => { out += c; });
      child.stderr.on('data', (c) => { out += c; });
      const closed = new Promise<number | null>((res) => child.on('close', res));
      try {
        const waitFor = async (re: RegExp) => { for (let i = 0; i < 500 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 20)); assert.match(out, re); };
        await waitFor(/Password: /);
        child.stdin.write('a typed long passphrase\r');
        await waitFor(/again: /);
        child.stdin.write('a typed long passphrase\r');
        assert.equal(await closed, 0, out);
      } finally {
        child.kill();
      }
      assert.doesNotMatch(out, /a typed long passphrase/, 'not echoed');
      assert.equal(JSON.parse((await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--json'])).stdout.trim()).username, 'pat');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('adds a user through bin/gatehouse.js with --password-stdin and rejects unknown flags with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-bin-'));
    try {
      const port = await freePort();
      writeFileSync(join(dir, 'gatehouse.yaml'), `identity:\n  listen: { http: ${port} }\n  issuer: http://127.0.0.1:${port}/auth\n  database: sqlite:./data/identity.db\n  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }\n`);
      const config = join(dir, 'gatehouse.yaml');
      let stderr = '';
      const child = execFile(process.execPath, [CLI, 'users', 'add', '--config', config, '--username', 'sam', '--password-stdin'], { encoding: 'utf8' }, (_e, _o, se) => { stderr = se; });
      child.stdin!.end('a fine long passphrase\n');
      const code = await new Promise<number | null>((res) => child.on('close', res));
      assert.equal(code, 0, stderr);
      const { stdout } = await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--json']);
      assert.equal(JSON.parse(stdout.trim()).username, 'sam');
      const bad = await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--nope']).catch((e) => e);
      assert.equal(bad.code, 2);
      assert.ok(readFileSync(join(dir, 'data/identity.db.key'), 'utf8').trim().length >= 32, 'a key file beside the SQLite database');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void identitySchema;
