/**
 * The management API's OpenAPI 3.1 document, served at /management/openapi.json. The conformance
 * test (test/helpers/management.ts, used by the end-to-end tests) checks real responses against it, so it is the
 * contract, not a sketch of it.
 */

import { GATEWAY_PATHS, GATEWAY_SCHEMAS } from './openapi-gateway.js';
import { IDENTITY_PATHS, IDENTITY_SCHEMAS } from './openapi-identity.js';
import { errors, idParam, json, pageParams, problem, ref, time } from './openapi-kit.js';

function transition(action: string, summary: string, from: string) {
  return {
    post: {
      operationId: `${action}Subscription`,
      summary,
      description: `Allowed from: ${from}. Audited.`,
      parameters: [idParam],
      responses: { 200: { description: 'the subscription after the change', ...json(ref('Subscription')) }, 404: problem('No such subscription'), 409: problem('The subscription is not in a state this action applies to'), ...errors },
    },
  };
}

export const MANAGEMENT_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Gatehouse management API',
    version: '1',
    description: 'Products (read from the configuration), subscriptions and their keys, the audit log of writes; users, clients and signing keys of the identity provider; the APIs, backends and recent errors of the running gateway. Served on the admin listener under /management.',
  },
  servers: [{ url: '/management' }],
  security: [{}, { bearer: [] }],
  paths: {
    '/products': { get: { operationId: 'listProducts', summary: 'The products of the configuration', responses: { 200: { description: 'every product', ...json({ type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('Product') } } }) }, ...errors } } },
    '/products/{id}': { get: { operationId: 'getProduct', summary: 'One product', parameters: [idParam], responses: { 200: { description: 'the product', ...json(ref('Product')) }, 404: problem('No such product'), ...errors } } },
    '/subscriptions': {
      get: {
        operationId: 'listSubscriptions',
        summary: 'Subscriptions, a page at a time (ordered by id)',
        parameters: [
          ...pageParams,
          { name: 'owner-type', in: 'query', schema: { enum: ['user', 'client'] } },
          { name: 'owner-id', in: 'query', schema: { type: 'string' } },
          { name: 'state', in: 'query', schema: ref('State') },
        ],
        responses: { 200: { description: 'a page', ...json(ref('SubscriptionPage')) }, 400: problem('A query parameter is invalid'), ...errors },
      },
      post: {
        operationId: 'createSubscription',
        summary: 'Create a subscription; the answer holds both keys, shown this once',
        description: 'A subscription to a product whose approval is `manual` starts `submitted`; every other one starts `active`. Audited (without the keys).',
        requestBody: { required: true, ...json(ref('NewSubscription')) },
        responses: { 201: { description: 'created', ...json(ref('SubscriptionWithKeys')) }, 400: problem('The body is invalid, or names an unknown product, API or user'), ...errors },
      },
    },
    '/subscriptions/{id}': { get: { operationId: 'getSubscription', summary: 'One subscription (keys are never shown again, only their last four characters)', parameters: [idParam], responses: { 200: { description: 'the subscription', ...json(ref('Subscription')) }, 404: problem('No such subscription'), ...errors } } },
    '/subscriptions/{id}/approve': transition('approve', 'Approve a submitted subscription', 'submitted'),
    '/subscriptions/{id}/suspend': transition('suspend', 'Suspend: its keys are refused (401 subscription-inactive) within a second on every gateway', 'active'),
    '/subscriptions/{id}/reactivate': transition('reactivate', 'Reactivate a suspended subscription', 'suspended'),
    '/subscriptions/{id}/cancel': transition('cancel', 'Cancel for good', 'submitted, active, suspended'),
    '/subscriptions/{id}/keys/{key}/regenerate': {
      post: {
        operationId: 'regenerateKey',
        summary: 'Replace the primary or the secondary key; the other one keeps working',
        parameters: [idParam, { name: 'key', in: 'path', required: true, schema: { enum: ['primary', 'secondary'] } }],
        responses: { 200: { description: 'the new key, shown this once', ...json({ type: 'object', required: ['subscription', 'key'], additionalProperties: false, properties: { subscription: ref('Subscription'), key: { type: 'string' } } }) }, 404: problem('No such subscription or key'), ...errors },
      },
    },
    '/audit': {
      get: {
        operationId: 'listAudit',
        summary: 'The audit log of writes, oldest first, a page at a time',
        parameters: pageParams,
        responses: { 200: { description: 'a page', ...json({ type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('AuditEntry') }, next: { type: 'string' } } }) }, 400: problem('A query parameter is invalid'), ...errors },
      },
    },
    ...IDENTITY_PATHS,
    ...GATEWAY_PATHS,
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'required when `management.auth` is configured: a token of its issuer and audience with the admin role' } },
    schemas: {
      State: { enum: ['submitted', 'active', 'suspended', 'cancelled', 'expired'] },
      Owner: { type: 'object', required: ['type', 'id'], additionalProperties: false, properties: { type: { enum: ['user', 'client'] }, id: { type: 'string', minLength: 1 } } },
      Product: {
        type: 'object', required: ['id', 'name', 'apis', 'approval', 'subscriptionRequired'], additionalProperties: false,
        properties: { id: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, apis: { type: 'array', items: { type: 'string' } }, approval: { enum: ['auto', 'manual'] }, subscriptionRequired: { type: 'boolean' } },
      },
      NewSubscription: {
        type: 'object', required: ['scope', 'owner'], additionalProperties: false,
        properties: {
          scope: { enum: ['product', 'api', 'all'] },
          target: { type: 'string', description: 'the product id (scope product) or API name (scope api); absent for scope all' },
          owner: ref('Owner'),
          name: { type: 'string', maxLength: 200 },
          expiresAt: { ...time, description: 'after this instant the keys are refused (state `expired`)' },
        },
      },
      Subscription: {
        type: 'object', required: ['id', 'scope', 'state', 'owner', 'createdAt', 'updatedAt', 'primaryKeyHint', 'secondaryKeyHint'], additionalProperties: false,
        properties: {
          id: { type: 'string' }, name: { type: 'string' }, scope: { enum: ['product', 'api', 'all'] }, target: { type: 'string' },
          state: ref('State'), owner: ref('Owner'), expiresAt: time, createdAt: time, updatedAt: time,
          primaryKeyHint: { type: 'string', description: 'the last four characters of the primary key' },
          secondaryKeyHint: { type: 'string' },
        },
      },
      SubscriptionWithKeys: { type: 'object', required: ['subscription', 'primaryKey', 'secondaryKey'], additionalProperties: false, properties: { subscription: ref('Subscription'), primaryKey: { type: 'string' }, secondaryKey: { type: 'string' } } },
      SubscriptionPage: { type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('Subscription') }, next: { type: 'string' } } },
      AuditEntry: {
        type: 'object', required: ['seq', 'at', 'actor', 'action', 'target', 'before', 'after'], additionalProperties: false,
        properties: {
          seq: { type: 'integer' }, at: time, actor: { type: 'string' }, action: { type: 'string' },
          target: { type: 'object', required: ['type', 'id'], additionalProperties: false, properties: { type: { type: 'string' }, id: { type: 'string' } } },
          before: {}, after: {},
        },
      },
      ...IDENTITY_SCHEMAS,
      ...GATEWAY_SCHEMAS,
      Problem: {
        type: 'object', required: ['type', 'title', 'status', 'code', 'requestId'],
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' }, requestId: { type: 'string' } },
      },
    },
  },
} as const;
