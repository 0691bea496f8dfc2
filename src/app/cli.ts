import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfigFile } from './config.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { validate } from './validate.js';

/**
 * gatehouse start | validate | users | clients | keys
 *
 * Exit codes: 0 success · 1 invalid config (or a command that failed) · 2 usage error
 * · 70 internal error.
 */

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start     --config F    run the gateway and/or identity provider the config describes
  validate  --config F    check a config; print its errors, or a summary of what it publishes
  users     <subcommand>  manage identity accounts (add, list, show, disable, enable, unlock,
                          reset-password, set-roles); see 'gatehouse users --help'
  clients   <subcommand>  manage OAuth clients (add, list, remove, rotate-secret)
  keys      <subcommand>  signing keys (rotate, list)

Options:
  --config F   the config file (default ./gatehouse.yaml)
  --help       this text
  --version    the version

Exit codes: 0 ok, 1 invalid config or failed command, 2 usage error, 70 internal error.
`;

export function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of ['../../../package.json', '../../package.json']) {
    try { return JSON.parse(readFileSync(resolve(here, p), 'utf8')).version as string; } catch { /* try next */ }
  }
  return '0.0.0';
}

class UsageError extends Error {}

/** Take `--config F` (or `--config=F`) out of args; other flags are left for the command. */
function takeConfig(args: string[]): { config: string; rest: string[] } {
  let config = './gatehouse.yaml';
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError('--config needs a file');
      config = v;
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else rest.push(a);
  }
  return { config, rest };
}

function noExtra(rest: string[], command: string): void {
  if (rest.length) throw new UsageError(`unknown ${rest[0]!.startsWith('-') ? 'option' : 'argument'} for ${command}: ${rest[0]}`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...args] = argv;
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v') {
      process.stdout.write(`gatehouse ${version()}\n`);
      return 0;
    }
    if (args.includes('--help') || args.includes('-h')) {
      if (command === 'users' || command === 'clients' || command === 'keys') return identity(command, args);
      process.stdout.write(USAGE);
      return 0;
    }
    switch (command) {
      case 'start': {
        const { config, rest } = takeConfig(args);
        noExtra(rest, 'start');
        const { start } = await import('./start.js');
        return await start(config);
      }
      case 'validate': {
        const { config, rest } = takeConfig(args);
        noExtra(rest, 'validate');
        return await validate(config);
      }
      case 'users':
      case 'clients':
      case 'keys':
        return await identity(command, args);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gatehouse: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigInvalid) {
      process.stderr.write(`gatehouse: invalid config\n${err.issues.map(formatIssue).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}

async function identity(command: 'users' | 'clients' | 'keys', args: string[]): Promise<number> {
  const { config, rest } = takeConfig(args);
  const loaded = loadConfigFile(config);
  if (!loaded.config.identity) {
    process.stderr.write(`gatehouse: ${loaded.file} has no identity section\n`);
    return 1;
  }
  const { identityCommand } = await import('../identity/cli.js');
  return identityCommand(command, rest, loaded.config.identity, {
    configDir: loaded.dir,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    logger: pino({ level: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  });
}
