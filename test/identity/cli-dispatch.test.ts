import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { identitySchema } from '../../src/identity/schema.js';
import { identityCommand } from '../../src/identity/cli.js';

describe('gatehouse users|clients|keys: the command groups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-dispatch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = identitySchema.parse({ issuer: 'http://127.0.0.1:1/auth', database: 'sqlite:./identity.db' });
  const cmd = async (command: 'users' | 'clients' | 'keys', args: string[]) => {
    const stdout = new PassThrough(), stderr = new PassThrough();
    let out = '', err = '';
    stdout.on('data', (c) => { out += c; });
    stderr.on('data', (c) => { err += c; });
    const code = await identityCommand(command, args, config, { configDir: dir, stdout, stderr, stdin: Readable.from(['']), logger: pino({ level: 'silent' }) });
    return { code, out, err };
  };

  test('each group prints its own usage: exit 0 when asked, 2 without a subcommand', async () => {
    for (const [group, first] of [['users', 'gatehouse users add'], ['clients', 'gatehouse clients add'], ['keys', 'gatehouse keys rotate']] as const) {
      const asked = await cmd(group, ['help']);
      assert.equal(asked.code, 0);
      assert.ok(asked.out.startsWith(first), asked.out);
      const bare = await cmd(group, []);
      assert.equal(bare.code, 2);
      assert.ok(bare.out.startsWith(first));
    }
  });

  test('a subcommand of another group, or named like an object property, is a usage error that opens nothing', async () => {
    for (const [group, sub] of [['users', 'rotate'], ['keys', 'add'], ['clients', 'set-roles'], ['users', 'toString'], ['clients', '__proto__'], ['keys', 'constructor'], ['users', 'hasOwnProperty']] as const) {
      const r = await cmd(group, [sub]);
      assert.equal(r.code, 2, `${group} ${sub}`);
      assert.match(r.err, new RegExp(`gatehouse ${group}: unknown command: ${group} ${sub}\\n\\ngatehouse ${group} `));
    }
    assert.equal(existsSync(join(dir, 'identity.db')), false, 'no database was opened');
  });
});
