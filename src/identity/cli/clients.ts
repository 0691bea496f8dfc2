import { CLIENT_ID, clientSpecProblem, ClientStore, type ClientSpec } from '../clients.js';
import { Failure, list, UsageError, type CommandContext, type CommandGroup, type Values } from './kit.js';

const usage = `gatehouse clients add --client-id ID [--public] [--grant-types a,b] [--redirect-uris u1,u2] [--post-logout-redirect-uris u1] [--scopes a,b] [--roles a,b] [--name N] [--third-party] [--mfa off|optional|required]
gatehouse clients list [--json]
gatehouse clients remove <client-id>
gatehouse clients rotate-secret <client-id>`;

const fromConfig = (c: CommandContext) => new Set(c.config.clients.map((cl) => cl['client-id']));

/** the client of `clients add`'s flags, checked as the config schema checks a client */
function specOf(v: Values, id: string): ClientSpec {
  const grantTypes = list(v['grant-types'] as string);
  const spec: ClientSpec = {
    clientId: id, public: !!v.public, grantTypes: grantTypes.length ? grantTypes : ['authorization_code', 'refresh_token'],
    redirectUris: list(v['redirect-uris'] as string), postLogoutRedirectUris: list(v['post-logout-redirect-uris'] as string),
    scopes: list(v.scopes as string), roles: list(v.roles as string), firstParty: !v['third-party'], name: v.name as string | undefined,
    ...(v.mfa !== undefined ? { mfa: v.mfa as ClientSpec['mfa'] } : {}),
  };
  if (v.mfa !== undefined && !['off', 'optional', 'required'].includes(v.mfa as string)) throw new UsageError('--mfa is off, optional or required');
  if (spec.mfa === 'required' && spec.grantTypes.includes('password')) throw new UsageError('a client with --mfa required cannot use the password grant (it has no second step)');
  const why = clientSpecProblem(spec, (f) => `--${f}`);
  if (why) throw new UsageError(why);
  return spec;
}

async function add(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({
    'client-id': { type: 'string' }, public: { type: 'boolean' }, 'grant-types': { type: 'string' }, 'redirect-uris': { type: 'string' },
    'post-logout-redirect-uris': { type: 'string' }, scopes: { type: 'string' }, roles: { type: 'string' }, name: { type: 'string' }, 'third-party': { type: 'boolean' }, mfa: { type: 'string' },
  });
  const id = v['client-id'] as string | undefined;
  if (!id || !CLIENT_ID.test(id)) throw new UsageError('give --client-id (letters, digits and . _ : ~ -)');
  if (fromConfig(c).has(id)) throw new Failure(`client ${id} is defined in the config file`);
  const secret = await new ClientStore((await c.open()).db).add(specOf(v, id));
  c.audit('client.created', { client_id: id });
  c.out(`client ${id} created`);
  if (secret) c.out(`client secret (shown once, store it now): ${secret}`);
  return 0;
}

async function listClients(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({});
  const db = await new ClientStore((await c.open()).db).list();
  const rows = [
    ...c.config.clients.map((cl) => ({ clientId: cl['client-id'], source: 'config', public: cl.public, grantTypes: cl['grant-types'], scopes: cl.scopes })),
    ...db.map((cl) => ({ clientId: cl.clientId, source: 'database', public: cl.public, grantTypes: cl.grantTypes, scopes: cl.scopes })),
  ];
  for (const r of rows) c.out(v.json ? JSON.stringify(r) : `${r.clientId}  ${r.source}  ${r.public ? 'public' : 'confidential'}  ${r.grantTypes.join(',')}  ${r.scopes.join(' ') || '-'}`);
  return 0;
}

/** remove (its tokens are revoked) or rotate-secret: database clients only */
async function change(c: CommandContext): Promise<number> {
  const { positionals } = c.parse({}, 1);
  const id = positionals[0];
  if (!id) throw new UsageError('name the client');
  if (fromConfig(c).has(id)) throw new Failure(`client ${id} is defined in the config file: change it there`);
  const store = new ClientStore((await c.open()).db);
  if (c.sub === 'remove') {
    if (!(await store.remove(id))) throw new Failure(`no client ${id} in the database`);
    c.audit('client.removed', { client_id: id });
    c.out(`client ${id} removed; its tokens were revoked`);
  } else {
    const secret = await store.rotateSecret(id);
    c.audit('client.secret-rotated', { client_id: id });
    c.out(`client secret (shown once, store it now): ${secret}`);
  }
  return 0;
}

/** `gatehouse clients ...`: clients in the database (those of the config file are read-only) */
export const clients: CommandGroup = {
  usage,
  commands: { add, list: listClients, remove: change, 'rotate-secret': change },
};
