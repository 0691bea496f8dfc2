import { z } from 'zod';
import { lockStateOf, UserStore, type User } from '../../identity/accounts.js';
import { FederationStore } from '../../identity/federation/store.js';
import { resetMailOf } from '../../identity/pages/password-reset.js';
import { ManagementProblem, pageOf, readJson } from './http.js';
import { ok, type Call, type Route } from './routing.js';
import type { ManagementServices } from './services.js';

/**
 * Accounts of the identity provider: search, read (profile, roles, lock state, linked identities;
 * never a password hash), lock and unlock, a password-reset mail, roles. The same operations as
 * `gatehouse users ...`, on the same stores; every write is audited with the account before and after.
 */

const iso = (ms: number) => new Date(ms).toISOString();
const ROLE = /^[\w.:~/-]{1,100}$/;
const rolesBody = z.strictObject({ roles: z.array(z.string().regex(ROLE, 'a role is 1–100 letters, digits or . _ : ~ / -')).max(100) });

/** an account as a list shows it */
function summary(u: User): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ id: u.id, username: u.username ?? undefined, email: u.email ?? undefined, emailVerified: u.emailVerified, roles: u.roles, disabled: u.disabled, createdAt: iso(u.createdAt) })) as Record<string, unknown>;
}

export function userRoutes(svc: ManagementServices): Route[] {
  const open = async () => {
    const db = await svc.database();
    return { db, users: new UserStore(db) };
  };

  /** the account with its lock state and linked identities */
  const detail = async (id: string) => {
    const { db, users } = await open();
    const u = await users.get(id);
    if (!u) throw new ManagementProblem('management-not-found', `No user "${id}".`);
    const lock = await lockStateOf(db, u.id);
    const lockedUntil = lock.lockedUntil;
    const identities = (await new FederationStore(db).linksOf(u.id)).map((i) => JSON.parse(JSON.stringify({
      connector: i.connector, subject: i.subject, email: i.email ?? undefined, createdAt: iso(i.createdAt), lastSignIn: i.lastSignIn === null ? undefined : iso(i.lastSignIn),
    })) as Record<string, unknown>);
    return {
      ...summary(u), groups: u.groups, attributes: u.attributes,
      locked: u.disabled || lockedUntil > Date.now(),
      ...(lockedUntil > Date.now() ? { lockedUntil: iso(lockedUntil) } : {}),
      failedAttempts: lock.failures,
      identities,
    };
  };

  /** change an account, audited with its view before and after */
  const change = async (c: Call, action: string, fn: (users: UserStore, id: string) => Promise<void>) => {
    const before = await detail(c.params.id!);
    await fn((await open()).users, c.params.id!);
    const after = await detail(c.params.id!);
    await svc.audit(c.actor, action, { type: 'user', id: c.params.id! }, before, after);
    return ok(after);
  };

  return [
    {
      method: 'GET', path: '/users', handler: async (c) => {
        const { limit, after } = pageOf(c.query);
        const search = c.query.get('search') ?? undefined;
        if (search !== undefined && search.length > 320) throw new ManagementProblem('management-request-invalid', 'search is at most 320 characters.');
        const { items, next } = await (await open()).users.page({ search, after, limit });
        return ok({ items: items.map(summary), ...(next === undefined ? {} : { next }) });
      },
    },
    { method: 'GET', path: '/users/{id}', handler: async (c) => ok(await detail(c.params.id!)) },
    // lock: the account is disabled (no sign-in) and its sessions and refresh tokens are revoked
    { method: 'POST', path: '/users/{id}/lock', handler: (c) => change(c, 'user.lock', async (users, id) => { await users.setDisabled(id, true); await users.revokeSessions(id); }) },
    // unlock: enabled again, and every sign-in lockout lifted
    { method: 'POST', path: '/users/{id}/unlock', handler: (c) => change(c, 'user.unlock', async (users, id) => { await users.setDisabled(id, false); await users.unlock(id); }) },
    {
      method: 'PUT', path: '/users/{id}/roles', handler: async (c) => {
        const parsed = rolesBody.safeParse(await readJson(c.req));
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          throw new ManagementProblem('management-request-invalid', `${i.path.join('.') || 'body'}: ${i.message}`);
        }
        return change(c, 'user.set-roles', (users, id) => users.setRoles(id, [...new Set(parsed.data.roles)]));
      },
    },
    {
      method: 'POST', path: '/users/{id}/reset-password', handler: async (c) => {
        const cfg = svc.needIdentity('A password reset mail');
        const mail = svc.mail();
        if (!mail) throw new ManagementProblem('management-conflict', 'Mail is not configured (identity.email.transport is log): nothing can be sent. Set a password with `gatehouse users reset-password`.');
        const { users } = await open();
        const u = await users.get(c.params.id!);
        if (!u) throw new ManagementProblem('management-not-found', `No user "${c.params.id!}".`);
        if (!u.email) throw new ManagementProblem('management-conflict', 'The account has no email address to send a reset link to.');
        if (u.disabled) throw new ManagementProblem('management-conflict', 'The account is locked: unlock it first.');
        const email = u.email;
        (await mail).post(() => resetMailOf(users, { id: u.id, email }, cfg.issuer.replace(/\/+$/, ''), cfg.branding.name));
        await svc.audit(c.actor, 'user.reset-password', { type: 'user', id: u.id }, null, { mailedTo: email });
        return ok({ sent: true, to: email }, 202);
      },
    },
  ];
}
