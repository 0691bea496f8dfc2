import { z } from 'zod';
import { policySections, policyXml } from '../schema.js';

/**
 * Products (gatehouse.yaml `products`). A product groups APIs; its policies run between the global
 * scope and the API's (global → product → API → operation), for requests whose subscription key
 * belongs to a subscription to that product.
 */

export const productSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').describe('unique product id (used in subscriptions, templates and the management API)'),
  name: z.string().min(1).describe('display name'),
  description: z.string().optional().describe('what the product offers (shown by the management API)'),
  apis: z.array(z.string().min(1)).default([]).describe('names of the APIs in the product'),
  approval: z.enum(['auto', 'manual']).default('auto').describe('`auto`: a new subscription is active at once; `manual`: it is `submitted` until an administrator approves it'),
  'subscription-required': z.boolean().default(true).describe("calls to the product's APIs need a subscription key (an API in an open product can still be called with a key, which then selects the product's policies)"),
  policies: policySections.optional(),
  'policy-xml': policyXml,
});
export type ProductConfig = z.output<typeof productSchema>;
