import type { IdentityConfig } from './schema.js';
import { openIdentity, type IdentityServices } from './services.js';
import { clients } from './cli/clients.js';
import { keys } from './cli/keys.js';
import { commandContext, UsageError, type CliIo, type CommandGroup } from './cli/kit.js';
import { users } from './cli/users.js';

export type { CliIo } from './cli/kit.js';

/** The command groups, one file each in cli/. */
const GROUPS: Record<'users' | 'clients' | 'keys', CommandGroup> = { users, clients, keys };

/**
 * `gatehouse users|clients|keys ...` on the configured identity database. Returns the exit code:
 * 0 done, 1 failed, 2 usage error (unknown subcommand or flag).
 */
export async function identityCommand(command: 'users' | 'clients' | 'keys', args: string[], config: IdentityConfig, io: CliIo): Promise<number> {
  const group = GROUPS[command];
  const [sub, ...rest] = args;
  let services: IdentityServices | undefined;
  const open = async () => (services ??= await openIdentity(config, io.configDir));
  try {
    if (!sub || sub === 'help' || sub === '--help') {
      io.stdout.write(group.usage + '\n');
      return sub ? 0 : 2;
    }
    const run = Object.hasOwn(group.commands, sub) ? group.commands[sub] : undefined;
    if (!run) throw new UsageError(`unknown command: ${command} ${sub}`);
    return await run(commandContext(config, io, sub, rest, open));
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`gatehouse ${command}: ${e.message}\n\n${group.usage}\n`);
      return 2;
    }
    io.stderr.write(`gatehouse ${command} ${sub}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await services?.db.close();
  }
}
