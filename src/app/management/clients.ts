import { z } from 'zod';
import { CLIENT_ID, clientSpecProblem, ClientStore, specFromConfig, type ClientSpec } from '../../identity/clients.js';
import { ManagementProblem, pageOf, readJson } from './http.js';
import { ok, type Route } from './routing.js';
import type { ManagementServices } from './services.js';

/**
 * OAuth clients of the identity provider: those of the configuration file (read-only: change the
 * file) and those in the database (`gatehouse clients add`), which can be created, have their
 * secret rotated and be deleted. A secret is shown once, in the answer that made it; only its
 * hash is stored, and never shown. Writes are audited (without secrets).
 */

const url = z.string().max(2000);
const newClient = z.strictObject({
  clientId: z.string().regex(CLIENT_ID, 'letters, digits and . _ : ~ - (1–200)'),
  public: z.boolean().default(false),
  grantTypes: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials', 'password'])).min(1).max(4).default(['authorization_code', 'refresh_token']),
  redirectUris: z.array(url).max(50).default([]),
  postLogoutRedirectUris: z.array(url).max(50).default([]),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/, 'a scope has no spaces or quotes')).max(100).default([]),
  roles: z.array(z.string().min(1).max(100)).max(100).default([]),
  name: z.string().min(1).max(200).optional(),
  firstParty: z.boolean().default(true),
});

type View = ClientSpec & { source: 'config' | 'database'; createdAt?: number };

function view(c: View): Record<string, unknown> {
  return JSON.parse(JSON.stringify({
    clientId: c.clientId, source: c.source, name: c.name, public: c.public, grantTypes: c.grantTypes, redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris, scopes: c.scopes, roles: c.roles, firstParty: c.firstParty,
    createdAt: c.createdAt === undefined ? undefined : new Date(c.createdAt).toISOString(),
  })) as Record<string, unknown>;
}

export function clientRoutes(svc: ManagementServices): Route[] {
  const configured = (): View[] => (svc.identity?.clients ?? []).map((c) => ({ ...specFromConfig(c), source: 'config' }));
  const store = async () => new ClientStore(await svc.database());
  const inDatabase = async (): Promise<View[]> => (await (await store()).list()).map((c) => ({ ...c, source: 'database' }));
  const find = async (id: string): Promise<View> => {
    const c = configured().find((x) => x.clientId === id) ?? (await inDatabase()).find((x) => x.clientId === id);
    if (!c) throw new ManagementProblem('management-not-found', `No client "${id}".`);
    return c;
  };
  /** a client of the database, or a 409 for one of the file */
  const changeable = async (id: string): Promise<View> => {
    const c = await find(id);
    if (c.source === 'config') throw new ManagementProblem('management-conflict', `The client "${id}" is defined in the configuration file: change it there.`);
    return c;
  };

  return [
    {
      method: 'GET', path: '/clients', handler: async (c) => {
        const { limit, after } = pageOf(c.query);
        const all = [...configured(), ...await inDatabase()].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
        const page = all.filter((x) => after === undefined || x.clientId > after).slice(0, limit);
        return ok({ items: page.map(view), ...(page.length === limit ? { next: page[page.length - 1]!.clientId } : {}) });
      },
    },
    {
      method: 'POST', path: '/clients', handler: async (c) => {
        const parsed = newClient.safeParse(await readJson(c.req));
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          throw new ManagementProblem('management-request-invalid', `${i.path.join('.') || 'body'}: ${i.message}`);
        }
        const spec: ClientSpec = { ...parsed.data, grantTypes: [...new Set(parsed.data.grantTypes)] };
        const why = clientSpecProblem(spec, (f) => (f === 'scopes' ? 'scopes' : 'redirectUris'));
        if (why) throw new ManagementProblem('management-request-invalid', why);
        if (configured().some((x) => x.clientId === spec.clientId)) throw new ManagementProblem('management-conflict', `The client "${spec.clientId}" is defined in the configuration file.`);
        let secret: string | undefined;
        try {
          secret = await (await store()).add(spec);
        } catch (err) {
          if (err instanceof Error && /already exists/.test(err.message)) throw new ManagementProblem('management-conflict', `A client "${spec.clientId}" exists already.`);
          throw err;
        }
        const made = view(await find(spec.clientId));
        await svc.audit(c.actor, 'client.create', { type: 'client', id: spec.clientId }, null, made);
        return ok({ client: made, ...(secret ? { clientSecret: secret } : {}) }, 201);
      },
    },
    { method: 'GET', path: '/clients/{id}', handler: async (c) => ok(view(await find(c.params.id!))) },
    {
      method: 'POST', path: '/clients/{id}/rotate-secret', handler: async (c) => {
        const before = await changeable(c.params.id!);
        if (before.public) throw new ManagementProblem('management-conflict', `The client "${before.clientId}" is public: it has no secret.`);
        const secret = await (await store()).rotateSecret(before.clientId);
        await svc.audit(c.actor, 'client.rotate-secret', { type: 'client', id: before.clientId }, view(before), view(before));
        return ok({ client: view(before), clientSecret: secret });
      },
    },
    {
      method: 'DELETE', path: '/clients/{id}', handler: async (c) => {
        const before = await changeable(c.params.id!);
        if (!(await (await store()).remove(before.clientId))) throw new ManagementProblem('management-not-found', `No client "${before.clientId}".`);
        await svc.audit(c.actor, 'client.delete', { type: 'client', id: before.clientId }, view(before), null);
        return { status: 204 };
      },
    },
  ];
}
