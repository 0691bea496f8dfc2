/** The identity provider: what the rest of Gatehouse (start, the CLI) and the tests use. */
export { startIdentity, type IdentityOptions, type RunningIdentity } from './server.js';
export { openIdentity, type IdentityServices } from './services.js';
export type { IdentityConfig } from './schema.js';
