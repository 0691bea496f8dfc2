import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli } from '../helpers/gateway.js';
import { COMMANDS } from '../../src/app/commands.js';

/**
 * Every command and subcommand answers --help with its own usage and options, exit 0, in a folder
 * without any config; the completion scripts load in bash (and zsh when it is installed) and
 * complete commands, subcommands, options and option values.
 */

const empty = mkdtempSync(join(tmpdir(), 'gatehouse-noconfig-'));
process.on('exit', () => rmSync(empty, { recursive: true, force: true }));

function sh(shell: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(shell, ['-c', script], { env: { ...process.env, GATEHOUSE: CLI, HOME: empty }, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const has = (shell: string) => new Promise<boolean>((done) => execFile(shell, ['-c', 'true'], (err) => done(!err)));

/** the options each help must show, written out here (not read from the table under test) */
const MUST_MENTION: Record<string, string[]> = {
  start: ['--config'],
  validate: ['--config'],
  audit: ['--config', '--format', '--fail-on'],
  test: ['--reporter', '--output', 'FILE'],
  'users add': ['--username', '--email', '--password', '--password-stdin', '--no-password', '--roles', '--groups', '--email-verified', '--config'],
  'users reset-password': ['--password', '--password-stdin'],
  'users set-roles': ['--roles'],
  'clients add': ['--client-id', '--public', '--grant-types', '--redirect-uris', '--scopes', '--third-party'],
  'keys rotate': ['--overlap', '--cookies'],
  completion: ['bash', 'zsh'],
  'apim check': ['--config', '--named-values', '--fragments', '--format', 'FILE'],
};

describe('gatehouse --help of every command, without a config', () => {
  const all = COMMANDS.flatMap((c) => [[c.name], ...(c.subcommands ?? []).map((s) => [c.name, s.name])]);

  it('lists every command in the global help', async () => {
    const r = await runCli(['--help'], { cwd: empty });
    assert.equal(r.code, 0);
    for (const c of ['start', 'validate', 'audit', 'test', 'users', 'clients', 'keys', 'completion']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  for (const words of all) {
    it(`${words.join(' ')} --help: its own usage and options, exit 0`, async () => {
      const r = await runCli([...words, '--help'], { cwd: empty });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: gatehouse ${words.join(' ')}\\b`));
      const spec = words.length === 1 ? COMMANDS.find((c) => c.name === words[0])! : COMMANDS.find((c) => c.name === words[0])!.subcommands!.find((s) => s.name === words[1])!;
      for (const o of spec.options) assert.ok(r.stdout.includes(o.flag), `${words.join(' ')} --help mentions ${o.flag}`);
      for (const m of MUST_MENTION[words.join(' ')] ?? []) assert.ok(r.stdout.includes(m), `${words.join(' ')} --help mentions ${m}:\n${r.stdout}`);
    });
  }

  it('the start help is not the global help', async () => {
    const r = await runCli(['start', '--help'], { cwd: empty });
    assert.doesNotMatch(r.stdout, /Commands:/);
  });

  it('help <command> <subcommand> and -h say the same as --help', async () => {
    const a = await runCli(['users', 'add', '--help'], { cwd: empty });
    const b = await runCli(['help', 'users', 'add'], { cwd: empty });
    const c = await runCli(['users', 'add', '-h', '--config', 'nowhere.yaml'], { cwd: empty });
    assert.equal(b.code, 0);
    assert.equal(b.stdout, a.stdout);
    assert.equal(c.stdout, a.stdout);
  });

  it('a group without a subcommand, or with an unknown one, is a usage error before any config is read', async () => {
    for (const args of [['users'], ['keys', 'frobnicate'], ['clients', 'toString']]) {
      const r = await runCli(args, { cwd: empty });
      assert.equal(r.code, 2, args.join(' '));
      assert.doesNotMatch(r.stderr, /config file not found/);
      assert.match(r.stderr, new RegExp(`Usage: gatehouse ${args[0]}`));
    }
  });
});

describe('gatehouse completion', () => {
  it('completion without a shell, or for an unknown one, is a usage error', async () => {
    assert.equal((await runCli(['completion'], { cwd: empty })).code, 2);
    const r = await runCli(['completion', 'fish'], { cwd: empty });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bash or zsh/);
  });

  it('the bash script loads and registers a completion for gatehouse', async () => {
    const r = await sh('bash', 'source <(node "$GATEHOUSE" completion bash) && complete -p gatehouse');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-F _gatehouse gatehouse/);
  });

  it('bash completes commands, subcommands, options and option values', async () => {
    const script = join(empty, 'gatehouse.bash');
    writeFileSync(script, (await runCli(['completion', 'bash'])).stdout);
    const complete = async (...words: string[]) => {
      const arr = words.map((w) => `'${w}'`).join(' ');
      const r = await sh('bash', `source '${script}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _gatehouse; printf '%s\\n' "\${COMPREPLY[@]}"`);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(await complete('gatehouse', 'au'), ['audit']);
    assert.deepEqual(await complete('gatehouse', 'users', 'res'), ['reset-password']);
    assert.deepEqual(await complete('gatehouse', 'users', 'add', '--user'), ['--username']);
    assert.deepEqual(await complete('gatehouse', 'audit', '--format', ''), ['text', 'json']);
    assert.deepEqual(await complete('gatehouse', 'test', '--reporter', 'j'), ['junit']);
    assert.deepEqual(await complete('gatehouse', 'keys', 'rotate', '--o'), ['--overlap']);
    assert.deepEqual(await complete('gatehouse', 'apim', 'check', '--n'), ['--named-values']);
  });

  it('the zsh script loads and registers _gatehouse (skipped when zsh is not installed)', async (t) => {
    if (!(await has('zsh'))) {
      t.skip('zsh is not installed here: the zsh script was not loaded');
      return;
    }
    const r = await sh('zsh', 'autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump" && source <(node "$GATEHOUSE" completion zsh) && print -r -- $_comps[gatehouse]');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '_gatehouse');
    const syntax = await sh('zsh', 'node "$GATEHOUSE" completion zsh > "$HOME/_gatehouse" && zsh -n "$HOME/_gatehouse"');
    assert.equal(syntax.code, 0, syntax.stderr);
  });
});
