import { z } from 'zod';

/** gatehouse.yaml `management`: the management API on the admin listener. */
export const managementSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('serve /management/... on the admin listener (needs a database: the subscriptions or the identity database)'),
  auth: z.strictObject({
    'jwks-uri': z.url().optional().describe('JWKS of the issuer of admin tokens'),
    'openid-config': z.url().optional().describe("the issuer's discovery document (its jwks_uri is used)"),
    issuer: z.string().min(1).describe('the `iss` admin tokens must have'),
    audiences: z.array(z.string().min(1)).min(1).describe('admin tokens must have one of these in `aud`'),
    'role-claim': z.string().min(1).default('roles').describe('the claim that lists the caller\'s roles (an array or a space-separated string)'),
    'admin-role': z.string().min(1).default('gatehouse-admin').describe('the role a caller needs'),
  }).optional().describe('require `Authorization: Bearer` tokens with the admin role. Without it the admin listener is trusted: anyone who can reach it may manage subscriptions, users, clients and keys'),
}).describe('the management API (/management/..., OpenAPI at /management/openapi.json)');
export type ManagementConfig = z.output<typeof managementSchema>;
