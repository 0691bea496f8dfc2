import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { version } from './version.js';
import { commandHelp, findCommand, globalHelp, type CommandSpec } from './commands.js';

/**
 * gatehouse start | validate | audit | test | apim | users | clients | keys | completion
 *
 * Every command and subcommand answers `--help` with its own options, without reading a config.
 * The commands, their options and help texts are in commands.ts; a command's modules are loaded
 * only when it runs, so help and completion stay quick.
 *
 * Exit codes: 0 success · 1 invalid config (or a command that failed) · 2 usage error
 * · 70 internal error.
 */

class UsageError extends Error {
  constructor(message: string, readonly help: string = globalHelp()) {
    super(message);
  }
}

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

function noExtra(rest: string[], cmd: CommandSpec): void {
  if (rest.length) throw new UsageError(`unknown ${rest[0]!.startsWith('-') ? 'option' : 'argument'} for ${cmd.name}: ${rest[0]}`, commandHelp(cmd));
}

const wantsHelp = (args: readonly string[]) => args.includes('--help') || args.includes('-h');

/** The help a `--help` anywhere in `args` asks for: the subcommand's when one is named, else the command's. */
function helpFor(cmd: CommandSpec, args: readonly string[]): string {
  const first = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--config' && args[i - 1] !== '-c');
  const sub = cmd.subcommands?.find((s) => s.name === first);
  return sub ? commandHelp(sub, cmd) : commandHelp(cmd);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...args] = argv;
    if (command === undefined || command === '--help' || command === '-h') {
      process.stdout.write(globalHelp());
      return command === undefined ? 2 : 0;
    }
    if (command === 'help') {
      const cmd = findCommand(args[0]);
      if (args[0] !== undefined && cmd === undefined) throw new UsageError(`unknown command "${args[0]}"`);
      process.stdout.write(cmd ? helpFor(cmd, args.slice(1)) : globalHelp());
      return 0;
    }
    if (command === '--version' || command === '-v') {
      process.stdout.write(`gatehouse ${version()}\n`);
      return 0;
    }
    const cmd = findCommand(command);
    if (cmd === undefined) throw new UsageError(`unknown command "${command}"`);
    if (wantsHelp(args)) {
      process.stdout.write(helpFor(cmd, args));
      return 0;
    }
    return await run(cmd, args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gatehouse: ${err.message}\n\n${err.help}`);
      return 2;
    }
    if (err instanceof ConfigInvalid) {
      process.stderr.write(`gatehouse: invalid config\n${err.issues.map(formatIssue).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(cmd: CommandSpec, args: string[]): Promise<number> {
  switch (cmd.name) {
    case 'start': {
      const { config, rest } = takeConfig(args);
      noExtra(rest, cmd);
      const { start } = await import('./start.js');
      return await start(config);
    }
    case 'validate': {
      const { config, rest } = takeConfig(args);
      noExtra(rest, cmd);
      const { validate } = await import('./validate.js');
      return await validate(config);
    }
    case 'audit': {
      const { config, rest } = takeConfig(args);
      const { auditCommand, AuditUsage } = await import('./audit/index.js');
      try {
        return await auditCommand(config, rest, process.stdout, process.stderr);
      } catch (e) {
        if (e instanceof AuditUsage) throw new UsageError(e.message, commandHelp(cmd));
        throw e;
      }
    }
    case 'test': {
      const { testCommand, TestUsage } = await import('./policy-test/index.js');
      try {
        return await testCommand(args, process.stdout, process.stderr);
      } catch (e) {
        if (e instanceof TestUsage) throw new UsageError(e.message, commandHelp(cmd));
        throw e;
      }
    }
    case 'apim': {
      const [subcommand, ...rest] = args;
      const sub = cmd.subcommands!.find((s) => s.name === subcommand);
      if (sub === undefined) throw new UsageError(subcommand === undefined ? 'apim needs a subcommand: check or import' : `unknown command: apim ${subcommand}`, commandHelp(cmd));
      const { apimCheckCommand, ApimUsage } = await import('./apim-check.js');
      try {
        if (sub.name === 'import') {
          const { apimImportCommand } = await import('./apim-import.js');
          return await apimImportCommand(rest, process.stdout, process.stderr);
        }
        return await apimCheckCommand(rest, process.stdout, process.stderr);
      } catch (e) {
        if (e instanceof ApimUsage) throw new UsageError(e.message, commandHelp(sub, cmd));
        throw e;
      }
    }
    case 'completion': {
      const [shell, ...rest] = args;
      noExtra(rest, cmd);
      const { bashCompletion, zshCompletion } = await import('./completion.js');
      if (shell === 'bash') process.stdout.write(bashCompletion());
      else if (shell === 'zsh') process.stdout.write(zshCompletion());
      else throw new UsageError(shell === undefined ? 'name the shell: bash or zsh' : `no completion for ${shell}: bash or zsh`, commandHelp(cmd));
      return 0;
    }
    default:
      return await identity(cmd.name as 'users' | 'clients' | 'keys', args);
  }
}

async function identity(command: 'users' | 'clients' | 'keys', args: string[]): Promise<number> {
  const { config, rest } = takeConfig(args);
  const cmd = findCommand(command)!;
  // a missing or unknown subcommand is a usage error before any config is read
  if (rest[0] === undefined || !cmd.subcommands!.some((s) => s.name === rest[0])) {
    throw new UsageError(rest[0] === undefined ? `${command} needs a subcommand` : `unknown command: ${command} ${rest[0]}`, commandHelp(cmd));
  }
  const { loadConfigFile } = await import('./config.js');
  const loaded = loadConfigFile(config);
  if (!loaded.config.identity) {
    process.stderr.write(`gatehouse: ${loaded.file} has no identity section\n`);
    return 1;
  }
  const { identityCommand } = await import('../identity/cli.js');
  const { default: pino } = await import('pino');
  return identityCommand(command, rest, loaded.config.identity, {
    configDir: loaded.dir,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    logger: pino({ level: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  });
}
