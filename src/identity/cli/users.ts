import { Authenticator, type User } from '../accounts.js';
import { FederationStore } from '../federation/store.js';
import { derive } from '../keys.js';
import { hashPassword } from '../passwords.js';
import { list, UsageError, type CommandContext, type CommandGroup } from './kit.js';
import { passwordOf } from './password-input.js';
import { mfaSummary, resetMfa } from '../mfa/store.js';

const usage = `gatehouse users add --username U [--email E] [--password P | --password-stdin | --no-password] [--roles a,b] [--groups a,b] [--email-verified]
    (without a password option it is asked for on a terminal; in a script give one of them)
gatehouse users list [--search PREFIX] [--limit N [--after CURSOR]] [--json]
    (ordered by id, or with --search by the matching username or email address; with --limit one
    page, and the cursor of the next one on stderr)
gatehouse users show <username|email> [--json]
gatehouse users disable|enable|unlock <username|email>
gatehouse users reset-password <username|email> [--password P | --password-stdin]
gatehouse users set-roles <username|email> --roles a,b
gatehouse users unlink <username|email> --connector ID   (remove a linked identity of identity.federation)
gatehouse users reset-mfa <username|email>   (forget its authenticator app, passkeys and recovery codes; it enrols again where MFA is required)`;

function showUser(c: CommandContext, u: User, json: boolean, extra: Record<string, unknown> = {}): void {
  if (json) return c.out(JSON.stringify({ ...u, ...extra }));
  c.out(`${u.id}  ${u.username ?? '-'}  ${u.email ?? '-'}${u.emailVerified ? ' (verified)' : ''}  roles=${u.roles.join(',') || '-'}${u.disabled ? '  DISABLED' : ''}${extra.lockedUntil ? `  LOCKED until ${new Date(extra.lockedUntil as number).toISOString()}` : ''}`);
}

async function add(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({ username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'no-password': { type: 'boolean' }, roles: { type: 'string' }, groups: { type: 'string' }, 'email-verified': { type: 'boolean' } });
  if (!v.username && !v.email) throw new UsageError('give --username and/or --email');
  const p = await passwordOf(v, c.io, c.config, [v.username as string, v.email as string], true);
  const s = await c.open();
  const u = await s.users.create({
    username: v.username as string | undefined, email: v.email as string | undefined,
    passwordHash: p ? await hashPassword(p, c.config.passwords.hash) : undefined,
    roles: list(v.roles as string), groups: list(v.groups as string), emailVerified: !!v['email-verified'],
  });
  c.audit('account.created', { sub: u.id });
  if (p) c.audit('password.changed', { sub: u.id });
  showUser(c, u, !!v.json);
  return 0;
}

/** every account, or one page with --limit (keyset pagination: as fast at a million accounts as at ten) */
async function listUsers(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({ search: { type: 'string' }, limit: { type: 'string' }, after: { type: 'string' } });
  const limit = v.limit === undefined ? undefined : Number(v.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10000)) throw new UsageError('--limit is an integer from 1 to 10000');
  if (v.after !== undefined && limit === undefined) throw new UsageError('--after goes with --limit (the cursor printed after a page)');
  const users = (await c.open()).users;
  let after = v.after as string | undefined;
  for (;;) {
    const page = await users.page({ search: v.search as string | undefined, after, limit: limit ?? 1000 });
    for (const u of page.items) showUser(c, u, !!v.json);
    after = page.next;
    if (after === undefined) return 0;
    if (limit !== undefined) {
      c.io.stderr.write(`more: --after ${JSON.stringify(after)}\n`);
      return 0;
    }
  }
}

async function show(c: CommandContext): Promise<number> {
  const { values: v, positionals } = c.parse({}, 1);
  const u = await c.needUser(positionals[0]);
  const s = await c.open();
  const lock = await new Authenticator(s.users, s.db, c.config, derive(s.master, 'lockout'), c.io.logger).lockState(u.id);
  const identities = await new FederationStore(s.db).linksOf(u.id);
  const mfa = await mfaSummary(s.db, u.id);
  showUser(c, u, !!v.json, { failedAttempts: lock.failures, lockedUntil: lock.lockedUntil > Date.now() ? lock.lockedUntil : undefined, attributes: u.attributes, groups: u.groups, identities, mfa });
  if (!v.json) c.out(`  two-step: ${mfa.app ? 'authenticator app' : 'no app'}, ${mfa.passkeys} passkey(s), ${mfa.recoveryCodes} recovery code(s) left`);
  if (!v.json) for (const i of identities) c.out(`  linked: ${i.connector} ${i.subject}${i.email ? ` (${i.email})` : ''} since ${new Date(i.createdAt).toISOString()}`);
  return 0;
}

/** disable (and revoke its sessions), enable, unlock */
async function setState(c: CommandContext): Promise<number> {
  const { sub } = c;
  const { positionals } = c.parse({}, 1);
  const u = await c.needUser(positionals[0]);
  const s = await c.open();
  if (sub === 'unlock') await s.users.unlock(u.id);
  else {
    await s.users.setDisabled(u.id, sub === 'disable');
    if (sub === 'disable') await s.users.revokeSessions(u.id);
  }
  c.audit(sub === 'unlock' ? 'account.unlocked' : `account.${sub}d`, { sub: u.id });
  c.out(`${sub === 'unlock' ? 'unlocked' : sub + 'd'} ${u.username ?? u.email}`);
  return 0;
}

async function resetPassword(c: CommandContext): Promise<number> {
  const { values: v, positionals } = c.parse({ password: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, 1);
  const u = await c.needUser(positionals[0]);
  const p = (await passwordOf(v, c.io, c.config, [u.username ?? '', u.email ?? ''], false))!;
  const s = await c.open();
  await s.users.setPasswordHash(u.id, await hashPassword(p, c.config.passwords.hash));
  await s.users.unlock(u.id);
  await s.users.revokeSessions(u.id);
  c.audit('password.changed', { sub: u.id });
  c.out(`password changed for ${u.username ?? u.email}; its sessions and refresh tokens were revoked`);
  return 0;
}

async function setRoles(c: CommandContext): Promise<number> {
  const { values: v, positionals } = c.parse({ roles: { type: 'string' } }, 1);
  const u = await c.needUser(positionals[0]);
  if (v.roles === undefined) throw new UsageError('give --roles a,b (empty to clear)');
  await (await c.open()).users.setRoles(u.id, list(v.roles as string));
  c.audit('account.roles-changed', { sub: u.id, roles: list(v.roles as string) });
  c.out(`roles of ${u.username ?? u.email}: ${list(v.roles as string).join(',') || '(none)'}`);
  return 0;
}

/** remove the account's link to a federation connector: that upstream identity no longer signs in to it */
async function unlink(c: CommandContext): Promise<number> {
  const { values: v, positionals } = c.parse({ connector: { type: 'string' } }, 1);
  if (!v.connector) throw new UsageError('give --connector ID (see users show)');
  const u = await c.needUser(positionals[0]);
  const n = await new FederationStore((await c.open()).db).unlink(u.id, v.connector as string);
  if (!n) { c.out(`${u.username ?? u.email} has no identity linked from ${v.connector}`); return 1; }
  c.audit('federation.unlinked', { sub: u.id, connector: v.connector });
  c.out(`unlinked ${v.connector} from ${u.username ?? u.email}`);
  return 0;
}

/** forget the account's second factors (a lost device and lost codes), lift its lockouts and end its sessions */
async function resetMfaOf(c: CommandContext): Promise<number> {
  const { positionals } = c.parse({}, 1);
  const u = await c.needUser(positionals[0]);
  const s = await c.open();
  await resetMfa(s.db, u.id);
  await s.users.unlock(u.id);
  await s.users.revokeSessions(u.id);
  c.audit('mfa.reset', { sub: u.id });
  c.out(`two-step verification reset for ${u.username ?? u.email}; its sessions and refresh tokens were revoked`);
  return 0;
}

/** `gatehouse users ...`: accounts */
export const users: CommandGroup = {
  usage,
  commands: { add, list: listUsers, show, disable: setState, enable: setState, unlock: setState, 'reset-password': resetPassword, 'set-roles': setRoles, unlink, 'reset-mfa': resetMfaOf },
};
