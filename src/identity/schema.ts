import { z } from 'zod';

/** The `identity` section. (Placeholder: the identity provider work defines it fully.) */
export const identitySchema = z.looseObject({});
export type IdentityConfig = z.output<typeof identitySchema>;
