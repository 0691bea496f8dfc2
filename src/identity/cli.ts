import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import { openIdentity, type IdentityServices } from './index.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { ClientStore, type ClientSpec } from './clients.js';
import { Authenticator, type User } from './accounts.js';
import { derive } from './keys.js';
import { parseDuration } from '../config/units.js';

export interface CliIo {
  configDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  logger: Logger;
}

class UsageError extends Error {}
class Failure extends Error {}

const USAGE: Record<string, string> = {
  users: `gatehouse users add --username U [--email E] [--password P | --password-stdin | --no-password] [--roles a,b] [--groups a,b] [--email-verified]
    (without a password option it is asked for on a terminal; in a script give one of them)
gatehouse users list [--json]
gatehouse users show <username|email> [--json]
gatehouse users disable|enable|unlock <username|email>
gatehouse users reset-password <username|email> [--password P | --password-stdin]
gatehouse users set-roles <username|email> --roles a,b`,
  clients: `gatehouse clients add --client-id ID [--public] [--grant-types a,b] [--redirect-uris u1,u2] [--post-logout-redirect-uris u1] [--scopes a,b] [--roles a,b] [--name N] [--third-party]
gatehouse clients list [--json]
gatehouse clients remove <client-id>
gatehouse clients rotate-secret <client-id>`,
  keys: `gatehouse keys rotate [--overlap 1h]   (signing and cookie-signing keys)
gatehouse keys rotate --cookies       (cookie-signing keys only)
gatehouse keys list [--json]`,
};

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * Read one line from a terminal without echoing it (raw mode; backspace edits, Ctrl-C cancels).
 * The terminal is restored whatever happens.
 */
function readHidden(input: TtyInput, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw ?? false;
    let value = '';
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      out.write('\n');
      if (err) reject(err); else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new Failure('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.setRawMode?.(true);
    out.write(prompt);
    input.on('data', onData);
    input.resume();
  });
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * The password of `--password`, `--password-stdin`, or typed at a terminal (twice, not echoed),
 * checked against the policy. Without a terminal one of the options is required, or
 * `--no-password` where `mayOmit`: a script never creates a password-less account by omission.
 */
async function passwordOf(v: Record<string, unknown>, io: CliIo, config: IdentityConfig, context: string[], mayOmit: boolean): Promise<string | undefined> {
  const given = [v.password !== undefined, !!v['password-stdin'], !!v['no-password']].filter(Boolean).length;
  if (given > 1) throw new UsageError('use one of --password, --password-stdin' + (mayOmit ? ' and --no-password' : ''));
  if (v['no-password']) return undefined;
  let p = v['password-stdin'] ? await readStdin(io.stdin) : (v.password as string | undefined);
  if (p === undefined) {
    const tty = io.stdin as TtyInput;
    if (!tty.isTTY || typeof tty.setRawMode !== 'function') {
      throw new UsageError(`no terminal to ask for the password: give it with --password-stdin (or --password)${mayOmit ? ', or --no-password for an account that cannot sign in until its password is reset' : ''}`);
    }
    p = await readHidden(tty, io.stderr, 'Password: ');
    if ((await readHidden(tty, io.stderr, 'Password again: ')) !== p) throw new Failure('the two passwords do not match');
  }
  const why = checkPasswordPolicy(p, config.passwords, context);
  if (why) throw new Failure(`password refused: ${why}`);
  return p;
}

/**
 * `gatehouse users|clients|keys ...` on the configured identity database. Returns the exit code:
 * 0 done, 1 failed, 2 usage error (unknown subcommand or flag).
 */
export async function identityCommand(command: 'users' | 'clients' | 'keys', args: string[], config: IdentityConfig, io: CliIo): Promise<number> {
  const out = (s: string) => io.stdout.write(s + '\n');
  const [sub, ...rest] = args;
  let services: IdentityServices | undefined;
  const open = async () => (services ??= await openIdentity(config, io.configDir));
  const parse = (options: ParseArgsConfig['options'], positionals = 0) => {
    let r;
    try {
      r = parseArgs({ args: rest, options: { ...options, json: { type: 'boolean' } }, strict: true, allowPositionals: positionals > 0 });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument ${r.positionals[positionals]}`);
    return r as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  };
  const needUser = async (login: string | undefined): Promise<User> => {
    if (!login) throw new UsageError('name the account: a username or email');
    const u = await (await open()).users.findByLogin(login);
    if (!u) throw new Failure(`no account ${login}`);
    return u;
  };
  const password = (v: Record<string, unknown>, context: string[], mayOmit: boolean) => passwordOf(v, io, config, context, mayOmit);
  const showUser = (u: User, json: boolean, extra: Record<string, unknown> = {}) => {
    if (json) return out(JSON.stringify({ ...u, ...extra }));
    out(`${u.id}  ${u.username ?? '-'}  ${u.email ?? '-'}${u.emailVerified ? ' (verified)' : ''}  roles=${u.roles.join(',') || '-'}${u.disabled ? '  DISABLED' : ''}${extra.lockedUntil ? `  LOCKED until ${new Date(extra.lockedUntil as number).toISOString()}` : ''}`);
  };
  const audit = (event: string, fields: Record<string, unknown>) => io.logger.info({ audit: event, via: 'cli', ...fields }, event);

  try {
    if (!sub || sub === 'help' || sub === '--help') {
      out(USAGE[command]!);
      return sub ? 0 : 2;
    }
    if (command === 'users') {
      switch (sub) {
        case 'add': {
          const { values: v } = parse({ username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'no-password': { type: 'boolean' }, roles: { type: 'string' }, groups: { type: 'string' }, 'email-verified': { type: 'boolean' } });
          if (!v.username && !v.email) throw new UsageError('give --username and/or --email');
          const p = await password(v, [v.username as string, v.email as string], true);
          const s = await open();
          const u = await s.users.create({
            username: v.username as string | undefined, email: v.email as string | undefined,
            passwordHash: p ? await hashPassword(p, config.passwords.hash) : undefined,
            roles: list(v.roles as string), groups: list(v.groups as string), emailVerified: !!v['email-verified'],
          });
          audit('account.created', { sub: u.id });
          if (p) audit('password.changed', { sub: u.id });
          showUser(u, !!v.json);
          return 0;
        }
        case 'list': {
          const { values: v } = parse({});
          for (const u of await (await open()).users.list()) showUser(u, !!v.json);
          return 0;
        }
        case 'show': {
          const { values: v, positionals } = parse({}, 1);
          const u = await needUser(positionals[0]);
          const s = await open();
          const lock = await new Authenticator(s.users, s.db, config, derive(s.master, 'lockout'), io.logger).lockState(u.id);
          showUser(u, !!v.json, { failedAttempts: lock.failures, lockedUntil: lock.lockedUntil > Date.now() ? lock.lockedUntil : undefined, attributes: u.attributes, groups: u.groups });
          return 0;
        }
        case 'disable': case 'enable': case 'unlock': {
          const { positionals } = parse({}, 1);
          const u = await needUser(positionals[0]);
          const s = await open();
          if (sub === 'unlock') await s.users.unlock(u.id);
          else {
            await s.users.setDisabled(u.id, sub === 'disable');
            if (sub === 'disable') await s.users.revokeSessions(u.id);
          }
          audit(sub === 'unlock' ? 'account.unlocked' : `account.${sub}d`, { sub: u.id });
          out(`${sub === 'unlock' ? 'unlocked' : sub + 'd'} ${u.username ?? u.email}`);
          return 0;
        }
        case 'reset-password': {
          const { values: v, positionals } = parse({ password: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, 1);
          const u = await needUser(positionals[0]);
          const p = (await password(v, [u.username ?? '', u.email ?? ''], false))!;
          const s = await open();
          await s.users.setPasswordHash(u.id, await hashPassword(p, config.passwords.hash));
          await s.users.unlock(u.id);
          await s.users.revokeSessions(u.id);
          audit('password.changed', { sub: u.id });
          out(`password changed for ${u.username ?? u.email}; its sessions and refresh tokens were revoked`);
          return 0;
        }
        case 'set-roles': {
          const { values: v, positionals } = parse({ roles: { type: 'string' } }, 1);
          const u = await needUser(positionals[0]);
          if (v.roles === undefined) throw new UsageError('give --roles a,b (empty to clear)');
          await (await open()).users.setRoles(u.id, list(v.roles as string));
          audit('account.roles-changed', { sub: u.id, roles: list(v.roles as string) });
          out(`roles of ${u.username ?? u.email}: ${list(v.roles as string).join(',') || '(none)'}`);
          return 0;
        }
      }
    }
    if (command === 'clients') {
      const fromConfig = new Set(config.clients.map((c) => c['client-id']));
      switch (sub) {
        case 'add': {
          const { values: v } = parse({
            'client-id': { type: 'string' }, public: { type: 'boolean' }, 'grant-types': { type: 'string' }, 'redirect-uris': { type: 'string' },
            'post-logout-redirect-uris': { type: 'string' }, scopes: { type: 'string' }, roles: { type: 'string' }, name: { type: 'string' }, 'third-party': { type: 'boolean' },
          });
          const id = v['client-id'] as string | undefined;
          if (!id || !/^[\w.:~-]{1,200}$/.test(id)) throw new UsageError('give --client-id (letters, digits and . _ : ~ -)');
          if (fromConfig.has(id)) throw new Failure(`client ${id} is defined in the config file`);
          const grantTypes = list(v['grant-types'] as string);
          const spec: ClientSpec = {
            clientId: id, public: !!v.public, grantTypes: grantTypes.length ? grantTypes : ['authorization_code', 'refresh_token'],
            redirectUris: list(v['redirect-uris'] as string), postLogoutRedirectUris: list(v['post-logout-redirect-uris'] as string),
            scopes: list(v.scopes as string), roles: list(v.roles as string), firstParty: !v['third-party'], name: v.name as string | undefined,
          };
          for (const g of spec.grantTypes) if (!['authorization_code', 'refresh_token', 'client_credentials', 'password'].includes(g)) throw new UsageError(`unknown grant type ${g}`);
          if (spec.public && spec.grantTypes.includes('client_credentials')) throw new UsageError('client_credentials needs a confidential client');
          if (spec.grantTypes.every((g) => g === 'client_credentials') && !spec.scopes.length) throw new UsageError('a client_credentials client needs --scopes: they name the APIs it may get tokens for');
          if (spec.grantTypes.includes('authorization_code') && !spec.redirectUris.length) throw new UsageError('authorization_code needs --redirect-uris');
          for (const u of [...spec.redirectUris, ...spec.postLogoutRedirectUris]) if (!URL.canParse(u)) throw new UsageError(`${u} is not a URL`);
          const secret = await new ClientStore((await open()).db).add(spec);
          audit('client.created', { client_id: id });
          out(`client ${id} created`);
          if (secret) out(`client secret (shown once, store it now): ${secret}`);
          return 0;
        }
        case 'list': {
          const { values: v } = parse({});
          const db = await new ClientStore((await open()).db).list();
          const rows = [
            ...config.clients.map((c) => ({ clientId: c['client-id'], source: 'config', public: c.public, grantTypes: c['grant-types'], scopes: c.scopes })),
            ...db.map((c) => ({ clientId: c.clientId, source: 'database', public: c.public, grantTypes: c.grantTypes, scopes: c.scopes })),
          ];
          for (const r of rows) out(v.json ? JSON.stringify(r) : `${r.clientId}  ${r.source}  ${r.public ? 'public' : 'confidential'}  ${r.grantTypes.join(',')}  ${r.scopes.join(' ') || '-'}`);
          return 0;
        }
        case 'remove': case 'rotate-secret': {
          const { positionals } = parse({}, 1);
          const id = positionals[0];
          if (!id) throw new UsageError('name the client');
          if (fromConfig.has(id)) throw new Failure(`client ${id} is defined in the config file: change it there`);
          const store = new ClientStore((await open()).db);
          if (sub === 'remove') {
            if (!(await store.remove(id))) throw new Failure(`no client ${id} in the database`);
            audit('client.removed', { client_id: id });
            out(`client ${id} removed; its tokens were revoked`);
          } else {
            const secret = await store.rotateSecret(id);
            audit('client.secret-rotated', { client_id: id });
            out(`client secret (shown once, store it now): ${secret}`);
          }
          return 0;
        }
      }
    }
    if (command === 'keys') {
      switch (sub) {
        case 'rotate': {
          const { values: v } = parse({ overlap: { type: 'string' }, cookies: { type: 'boolean' } });
          const overlap = v.overlap === undefined ? undefined : parseDuration(v.overlap as string);
          if (v.overlap !== undefined && overlap === undefined) throw new UsageError(`--overlap ${v.overlap} is not a duration (e.g. 1h, 10m, 0)`);
          if (v.cookies && v.overlap !== undefined) throw new UsageError('--overlap applies to signing keys, not with --cookies');
          const keys = (await open()).keys;
          if (!v.cookies) {
            const r = await keys.rotate(overlap);
            audit('keys.rotated', { kid: r.kid, kind: 'sig', activates_at: new Date(r.activatesAt).toISOString() });
            out(`new signing key ${r.kid} published now; it signs from ${new Date(r.activatesAt).toISOString()}`);
          }
          const c = await keys.rotateCookies();
          audit('keys.rotated', { kid: c.kid, kind: 'cookie', activates_at: new Date(c.activatesAt).toISOString() });
          out(`new cookie-signing key ${c.kid}; it signs from ${new Date(c.activatesAt).toISOString()} (older ones keep verifying for a session lifetime)`);
          return 0;
        }
        case 'list': {
          const { values: v } = parse({});
          for (const k of await (await open()).keys.list()) {
            const when = (t: number | null) => (t === null ? '-' : new Date(Number(t)).toISOString());
            out(v.json ? JSON.stringify(k) : `${k.kid}  ${k.alg}  ${k.state}  activates=${when(k.activates_at)}  retires=${when(k.retires_at)}  unpublished=${when(k.expires_at)}`);
          }
          return 0;
        }
      }
    }
    throw new UsageError(`unknown command: ${command} ${sub}`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`gatehouse ${command}: ${e.message}\n\n${USAGE[command]}\n`);
      return 2;
    }
    io.stderr.write(`gatehouse ${command} ${sub}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await services?.db.close();
  }
}
