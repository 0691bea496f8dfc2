import { z } from 'zod';

const colour = z.string().regex(/^#[0-9a-fA-F]{3,8}$/, 'a colour is #rgb or #rrggbb');

/** Sign-in of a browser app served by Gatehouse: a public client of the identity provider, code + PKCE. */
export const appSignInFields = {
  issuer: z.url().optional().describe('the identity provider\'s issuer (its discovery document is `<issuer>/.well-known/openid-configuration`); default: `identity.issuer` of this file'),
  'client-id': z.string().min(1).describe('a public client of that provider (code flow, PKCE) whose redirect URIs include this app\'s URL, with a trailing slash'),
  scope: z.string().min(1).describe('the scopes the app asks for: `openid` and one scope of the API whose audience the app\'s tokens must carry'),
};

/** gatehouse.yaml `portal`: the developer portal on the public listeners. */
export const portalSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('serve the developer portal'),
  path: z.string().regex(/^(\/(?!\.\.?(\/|$))[A-Za-z0-9._~-]+)+$/, 'a path such as /portal (no trailing slash, no . or .. segments)').default('/portal').describe('where the portal is served on the public listeners (no API may use it)'),
  listen: z.strictObject({
    http: z.number().int().min(0).max(65535).describe('TCP port of the portal\'s own listener (0 picks a free one)'),
    host: z.string().default('127.0.0.1').describe('address to bind; loopback by default'),
  }).optional().describe('serve the portal on a listener of its own instead of the gateway\'s, and publish it through an API whose path is `path` and whose backend is this listener with that path (`http://127.0.0.1:<port>/portal`): then every gateway policy (global ip-filter, rate limits) applies to it'),
  title: z.string().min(1).max(100).default('Developer portal').describe('the heading of the portal'),
  ...appSignInFields,
  scope: appSignInFields.scope.default('openid portal'),
  audience: z.string().min(1).describe('the `aud` of developers\' access tokens that the portal\'s own API accepts (an `identity.apis` audience, e.g. `api://gatehouse-portal`)'),
  apis: z.array(z.string().min(1)).optional().describe('the APIs the portal publishes; default: every API of a product'),
  'max-subscriptions': z.number().int().min(1).max(1000).default(20).describe('subscriptions a developer may hold at once (cancelled ones do not count)'),
  products: z.array(z.string().min(1)).optional().describe('the products developers may subscribe to from the portal; default: every product'),
  branding: z.strictObject({
    name: z.string().optional().describe('product name in the header'),
    'primary-colour': colour.optional().describe('colour of buttons and links'),
    'background-colour': colour.optional().describe('page background colour'),
  }).optional().describe('look of the portal; unset values come from `identity.branding` (the hosted sign-in pages)'),
}).describe('the developer portal: sign-in through the identity provider, the published APIs and their OpenAPI reference, subscriptions and keys (docs/guides/developer-portal.md)');
export type PortalConfig = z.output<typeof portalSchema>;

/** gatehouse.yaml `console`: the admin console on the admin listener. */
export const consoleSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('serve the admin console'),
  path: z.string().regex(/^\/(?!\.\.?$)[A-Za-z0-9._~-]+$/, 'a path such as /console').default('/console').describe('where the console is served on the admin listener'),
  ...appSignInFields,
  scope: appSignInFields.scope.default('openid gatehouse.manage'),
}).describe('the admin console on the admin listener; it needs `management.auth` (its tokens must carry the admin role) (docs/guides/developer-portal.md)');
export type ConsoleConfig = z.output<typeof consoleSchema>;
