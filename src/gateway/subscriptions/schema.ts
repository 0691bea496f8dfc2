import { z } from 'zod';

/** The subscription settings of an API (gatehouse.yaml `apis[].subscription`). */

export const DEFAULT_KEY_HEADER = 'Ocp-Apim-Subscription-Key';
export const DEFAULT_KEY_QUERY = 'subscription-key';

export const apiSubscriptionSchema = z.strictObject({
  required: z.boolean().optional().describe('calls need a subscription key. Default: true when a product that lists this API requires subscriptions, else false'),
  header: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name').default(DEFAULT_KEY_HEADER).describe('the request header that carries the key'),
  query: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a query parameter name').default(DEFAULT_KEY_QUERY).describe('the query parameter that carries the key'),
}).describe('subscription keys for this API: where the key is read (it is removed before forwarding) and whether it is required');
export type ApiSubscriptionConfig = z.output<typeof apiSubscriptionSchema>;
