import { errors, idParam, json, pageOf, pageParams, problem, ref, strings, time } from './openapi-kit.js';

/** The identity provider's part of the management API's OpenAPI document: users, clients, signing keys. */

const userAction = (operationId: string, summary: string, description: string) => ({
  post: {
    operationId, summary, description, parameters: [idParam],
    responses: { 200: { description: 'the user after the change', ...json(ref('User')) }, 404: problem('No such user'), ...errors },
  },
});

const noIdentity = 'the configuration has no identity section';

export const IDENTITY_PATHS = {
  '/users': {
    get: {
      operationId: 'listUsers',
      summary: 'Users, a page at a time (ordered by id)',
      parameters: [{ name: 'search', in: 'query', schema: { type: 'string', maxLength: 320 }, description: 'a prefix of the username or email address (case-insensitive)' }, ...pageParams],
      responses: { 200: { description: 'a page', ...json(pageOf(ref('UserSummary'))) }, 400: problem('A query parameter is invalid'), ...errors },
    },
  },
  '/users/{id}': { get: { operationId: 'getUser', summary: 'One user: profile, roles, lock state, linked identities (never a password hash)', parameters: [idParam], responses: { 200: { description: 'the user', ...json(ref('User')) }, 404: problem('No such user'), ...errors } } },
  '/users/{id}/lock': userAction('lockUser', 'Lock: the account cannot sign in, and its sessions and refresh tokens are revoked', 'As `gatehouse users disable`. Audited.'),
  '/users/{id}/unlock': userAction('unlockUser', 'Unlock: the account is enabled and every sign-in lockout lifted', 'As `gatehouse users enable` and `unlock`. Audited.'),
  '/users/{id}/reset-password': {
    post: {
      operationId: 'resetUserPassword',
      summary: 'Mail the user a password-reset link (valid 1 hour)',
      description: 'As the reset page sends it. 409 when mail is not configured (`identity.email.transport: log`), the account has no email address, or it is locked. Audited.',
      parameters: [idParam],
      responses: {
        202: { description: 'the mail is queued', ...json({ type: 'object', required: ['sent', 'to'], additionalProperties: false, properties: { sent: { const: true }, to: { type: 'string' } } }) },
        404: problem('No such user'), 409: problem(`No mail can be sent, or ${noIdentity}`), ...errors,
      },
    },
  },
  '/users/{id}/roles': {
    put: {
      operationId: 'setUserRoles',
      summary: 'Replace the roles of a user',
      description: 'As `gatehouse users set-roles`. Audited.',
      parameters: [idParam],
      requestBody: { required: true, ...json({ type: 'object', required: ['roles'], additionalProperties: false, properties: { roles: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[\\w.:~/-]{1,100}$' } } } }) },
      responses: { 200: { description: 'the user after the change', ...json(ref('User')) }, 400: problem('The body is invalid'), 404: problem('No such user'), ...errors },
    },
  },
  '/clients': {
    get: {
      operationId: 'listClients',
      summary: 'OAuth clients of the configuration file and of the database, a page at a time (ordered by client id)',
      parameters: pageParams,
      responses: { 200: { description: 'a page', ...json(pageOf(ref('Client'))) }, 400: problem('A query parameter is invalid'), ...errors },
    },
    post: {
      operationId: 'createClient',
      summary: 'Create a client in the database; a confidential one gets its secret in this answer, shown this once',
      description: 'Checked as `gatehouse clients add` checks it. Audited (without the secret).',
      requestBody: { required: true, ...json(ref('NewClient')) },
      responses: { 201: { description: 'created', ...json(ref('ClientWithSecret')) }, 400: problem('The body is invalid'), 409: problem('A client with that id exists (in the file or the database)'), ...errors },
    },
  },
  '/clients/{id}': {
    get: { operationId: 'getClient', summary: 'One client (never its secret)', parameters: [idParam], responses: { 200: { description: 'the client', ...json(ref('Client')) }, 404: problem('No such client'), ...errors } },
    delete: {
      operationId: 'deleteClient', summary: 'Delete a client of the database; its grants and tokens are revoked', description: 'Audited.', parameters: [idParam],
      responses: { 204: { description: 'deleted' }, 404: problem('No such client'), 409: problem('The client is defined in the configuration file'), ...errors },
    },
  },
  '/clients/{id}/rotate-secret': {
    post: {
      operationId: 'rotateClientSecret', summary: 'A new secret for a confidential client of the database, shown this once; the old one stops working', description: 'Audited (without the secret).', parameters: [idParam],
      responses: { 200: { description: 'the new secret', ...json(ref('ClientWithSecret')) }, 404: problem('No such client'), 409: problem('The client is public, or defined in the configuration file'), ...errors },
    },
  },
  '/keys': {
    get: {
      operationId: 'listKeys', summary: 'The signing keys: public information only',
      responses: { 200: { description: 'every signing key, oldest first', ...json(pageOf(ref('SigningKey'))) }, 409: problem(noIdentity), ...errors },
    },
  },
  '/keys/rotate': {
    post: {
      operationId: 'rotateKeys',
      summary: 'Rotate the signing keys (and the cookie-signing keys), as `gatehouse keys rotate` does',
      description: 'The new signing key is published now and signs after `overlapSeconds` (default `identity.keys.rotation-overlap`); the keys it replaces leave the JWKS once the tokens they signed have expired. The body is optional. Audited.',
      requestBody: { required: false, ...json({ type: 'object', additionalProperties: false, properties: { overlapSeconds: { type: 'integer', minimum: 0, maximum: 604800 } } }) },
      responses: {
        200: { description: 'the new key, and every signing key', ...json({ type: 'object', required: ['kid', 'activatesAt', 'items'], additionalProperties: false, properties: { kid: { type: 'string' }, activatesAt: time, items: { type: 'array', items: ref('SigningKey') } } }) },
        400: problem('The body is invalid'), 409: problem(noIdentity), ...errors,
      },
    },
  },
} as const;

const userSummary = {
  id: { type: 'string' }, username: { type: 'string' }, email: { type: 'string' }, emailVerified: { type: 'boolean' },
  roles: strings, disabled: { type: 'boolean' }, createdAt: time,
};

const clientSpec = {
  public: { type: 'boolean', default: false },
  grantTypes: { type: 'array', minItems: 1, items: { enum: ['authorization_code', 'refresh_token', 'client_credentials', 'password'] }, default: ['authorization_code', 'refresh_token'] },
  redirectUris: strings, postLogoutRedirectUris: strings,
  scopes: { ...strings, description: 'API scopes the client may ask for' },
  roles: strings, name: { type: 'string', maxLength: 200 }, firstParty: { type: 'boolean', default: true },
};

export const IDENTITY_SCHEMAS = {
  UserSummary: { type: 'object', required: ['id', 'emailVerified', 'roles', 'disabled', 'createdAt'], additionalProperties: false, properties: userSummary },
  User: {
    type: 'object', required: ['id', 'emailVerified', 'roles', 'disabled', 'createdAt', 'groups', 'attributes', 'locked', 'failedAttempts', 'identities'], additionalProperties: false,
    properties: {
      ...userSummary, groups: strings, attributes: { type: 'object' },
      locked: { type: 'boolean', description: 'disabled, or locked out after failed sign-ins' },
      lockedUntil: { ...time, description: 'the end of the latest sign-in lockout, while one lasts' },
      failedAttempts: { type: 'integer' },
      identities: {
        type: 'array', description: 'identities of federation connectors linked to the account',
        items: { type: 'object', required: ['connector', 'subject', 'createdAt'], additionalProperties: false, properties: { connector: { type: 'string' }, subject: { type: 'string' }, email: { type: 'string' }, createdAt: time, lastSignIn: time } },
      },
    },
  },
  NewClient: { type: 'object', required: ['clientId'], additionalProperties: false, properties: { clientId: { type: 'string', pattern: '^[\\w.:~-]{1,200}$' }, ...clientSpec } },
  Client: {
    type: 'object', required: ['clientId', 'source', 'public', 'grantTypes', 'redirectUris', 'postLogoutRedirectUris', 'scopes', 'roles', 'firstParty'], additionalProperties: false,
    properties: { clientId: { type: 'string' }, source: { enum: ['config', 'database'], description: 'clients of the file are read-only' }, ...clientSpec, createdAt: time },
  },
  ClientWithSecret: { type: 'object', required: ['client'], additionalProperties: false, properties: { client: ref('Client'), clientSecret: { type: 'string', description: 'confidential clients only; shown this once' } } },
  SigningKey: {
    type: 'object', required: ['kid', 'alg', 'state', 'created', 'activatesAt'], additionalProperties: false,
    properties: {
      kid: { type: 'string' }, alg: { type: 'string' },
      state: { enum: ['published', 'active', 'retired', 'expired'], description: 'published: in the JWKS, signs from activatesAt; active: signs; retired: in the JWKS until unpublishedAt' },
      created: time, activatesAt: time, retiresAt: time, unpublishedAt: time,
    },
  },
} as const;
