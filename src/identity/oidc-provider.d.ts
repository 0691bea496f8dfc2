// oidc-provider ships no type declarations; it is used through a narrow surface in provider.ts.
declare module 'oidc-provider' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Provider: any;
  export default Provider;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export const errors: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export class ExternalSigningKey { kid: string; alg: string; keyObject(): any; sign(data: Buffer): Promise<Buffer>; }
}

// oidc-provider's grant helpers (what its built-in grants use); tied to the pinned version
declare module 'oidc-provider/lib/helpers/grants.js' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export const validateDpop: any, checkDpopRequired: any, checkDpopReplay: any, applyRefreshTokenBindings: any;
}
