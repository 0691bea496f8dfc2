// oidc-provider ships no type declarations; it is used through the narrow surface of provider/oidc.ts.
declare module 'oidc-provider' {
  type OidcProvider = import('./provider/oidc.js').OidcProvider;
  const Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  export default Provider;
  export const errors: import('./provider/oidc.js').OidcErrors;
  export const interactionPolicy: import('./provider/oidc.js').OidcInteractionPolicy;
  export class ExternalSigningKey { kid: string; alg: string; keyObject(): import('node:crypto').KeyObject; sign(data: Buffer): Promise<Buffer>; }
}

// oidc-provider's grant helpers (what its built-in grants use); tied to the pinned version
declare module 'oidc-provider/lib/helpers/grants.js' {
  type Provider = import('./provider/oidc.js').OidcProvider;
  type Ctx = import('./provider/oidc.js').OidcContext;
  type Token = import('./provider/oidc.js').OidcToken;
  interface DpopProof { thumbprint: string }
  export function validateDpop(provider: Provider, ctx: Ctx): Promise<DpopProof | undefined>;
  export function checkDpopRequired(provider: Provider, ctx: Ctx, proof: DpopProof | undefined): void;
  export function checkDpopReplay(provider: Provider, ctx: Ctx, proof: DpopProof, clientId: string, error: new (description?: string) => Error): Promise<void>;
  export function applyRefreshTokenBindings(provider: Provider, ctx: Ctx, at: Token, rt: Token): Promise<void>;
}
