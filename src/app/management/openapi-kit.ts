/** The pieces the parts of the management API's OpenAPI document share. */

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
export const errors = {
  401: problem('No valid admin token (when `management.auth` is configured)'),
  403: problem('The token lacks the admin role'),
  503: problem('The database is unavailable'),
};
export const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
export const pageParams = [
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'the `next` of the previous page (`after` is the same)' },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
];
export const time = { type: 'string', format: 'date-time' };
export const strings = { type: 'array', items: { type: 'string' } };
/** `{ items, next? }` of `schema` */
export const pageOf = (schema: unknown) => ({ type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: schema }, next: { type: 'string' } } });
