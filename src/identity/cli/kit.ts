import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import type { User } from '../accounts.js';
import type { IdentityConfig } from '../schema.js';
import type { IdentityServices } from '../services.js';

export interface CliIo {
  configDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  logger: Logger;
}

/** a wrong invocation: exit code 2, with the usage */
export class UsageError extends Error {}
/** the command could not be done: exit code 1 */
export class Failure extends Error {}

export const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

export type Values = Record<string, string | boolean | undefined>;

/** What a subcommand works with. */
export interface CommandContext {
  config: IdentityConfig;
  io: CliIo;
  /** the subcommand's name (`add`, `disable`, ...) */
  sub: string;
  /** the identity database, opened on first use (closed by the caller) */
  open(): Promise<IdentityServices>;
  /** the subcommand's flags (plus `--json`) and up to `positionals` arguments; a UsageError otherwise */
  parse(options: ParseArgsConfig['options'], positionals?: number): { values: Values; positionals: string[] };
  out(line: string): void;
  /** an audit line of a change (`via: cli`) */
  audit(event: string, fields: Record<string, unknown>): void;
  /** the account named by a username or email address */
  needUser(login: string | undefined): Promise<User>;
}

/** A subcommand: its exit code. */
export type Command = (c: CommandContext) => Promise<number>;

/** `gatehouse <group> <subcommand> ...`: the usage text and the subcommands. */
export interface CommandGroup {
  usage: string;
  commands: Readonly<Record<string, Command>>;
}

export function commandContext(config: IdentityConfig, io: CliIo, sub: string, rest: string[], open: () => Promise<IdentityServices>): CommandContext {
  return {
    config, io, sub, open,
    parse(options, positionals = 0) {
      let r;
      try {
        r = parseArgs({ args: rest, options: { ...options, json: { type: 'boolean' } }, strict: true, allowPositionals: positionals > 0 });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (r.positionals.length > positionals) throw new UsageError(`unexpected argument ${r.positionals[positionals]}`);
      return r as { values: Values; positionals: string[] };
    },
    out: (s) => io.stdout.write(s + '\n'),
    audit: (event, fields) => io.logger.info({ audit: event, via: 'cli', ...fields }, event),
    async needUser(login) {
      if (!login) throw new UsageError('name the account: a username or email');
      const u = await (await open()).users.findByLogin(login);
      if (!u) throw new Failure(`no account ${login}`);
      return u;
    },
  };
}
