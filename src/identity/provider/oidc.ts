/**
 * The narrow surface of oidc-provider (9.13.3, pinned) that the identity provider uses. The
 * package ships no types; these interfaces name only what Gatehouse reads or calls, so that a
 * change of that surface shows up here and nowhere else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type OidcParams = Record<string, unknown>;

/** a registered client (our extra metadata: gatehouse_roles, gatehouse_first_party) */
export interface OidcClient {
  clientId: string;
  clientName?: string;
  scope?: string;
  clientSecret?: string;
  gatehouse_roles?: string[];
  gatehouse_first_party?: boolean;
  gatehouse_mfa?: 'off' | 'optional' | 'required';
  grantTypeAllowed(type: string): boolean;
}

export interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  getResourceScope(indicator: string): string;
  save(): Promise<string>;
}

/** what `findAccount` returns */
export interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): Promise<Record<string, unknown>>;
}

/** an API as oidc-provider's token models hold it */
export type OidcResourceServer = { accessTokenTTL?: number } & Record<string, unknown>;

/** a token model: the fields Gatehouse reads or sets */
export interface OidcToken {
  accountId?: string;
  clientId?: string;
  client?: OidcClient;
  scope?: string;
  /** the scopes as a set (a getter of every token model) */
  readonly scopes: Set<string>;
  resource?: string;
  expiration?: number;
  tokenType?: string;
  /** the grant type(s) it came from, e.g. `password refresh_token` */
  gty?: string;
  resourceServer?: OidcResourceServer;
  setThumbprint(kind: 'jkt', thumbprint: string): void;
  save(): Promise<string>;
}

export interface OidcIdToken {
  scope?: string;
  issue(opts: { use: 'idtoken' }): Promise<string>;
}

/** the Koa context of a request, with oidc-provider's `ctx.oidc` */
export interface OidcContext {
  oidc: {
    params?: OidcParams;
    client?: OidcClient;
    route?: string;
    entities?: { Account?: OidcAccount; RefreshToken?: OidcToken & { amr?: string[]; acr?: string }; AuthorizationCode?: { amr?: string[]; acr?: string }; Grant?: OidcGrant };
    /** the browser session: who signed in and how (`amr`, `acr`) */
    session?: { accountId?: string; amr?: string[]; acr?: string };
    /** what the interactions of this authorization request finished with so far */
    result?: InteractionResult;
    entity(name: string, value: unknown): void;
  };
  ip: string;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
  response: { get(name: string): string };
}

/** the pending interaction, as `interactionDetails` returns it */
export interface InteractionDetails {
  uid: string;
  grantId?: string;
  prompt: { name: string; details: PromptDetails };
  params: OidcParams & { client_id: string };
  session?: { accountId: string; amr?: string[]; acr?: string };
}

export interface PromptDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** what an interaction ends with (oidc-provider's `result`) */
export type InteractionResult = Record<string, unknown>;

type Ctor<T> = new (...args: never[]) => T;
type Model<T> = Ctor<T> & { find(id: string): Promise<T | undefined> };

export interface OidcProvider {
  proxy: boolean;
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  use(middleware: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (...args: never[]) => void): void;
  registerGrantType(name: string, handler: (ctx: OidcContext) => Promise<void>, params: string[]): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResult, opts: { mergeWithLastSubmission: boolean }): Promise<void>;
  /** as interactionFinished, but returns the URL to resume at instead of redirecting there */
  interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResult, opts: { mergeWithLastSubmission: boolean }): Promise<string>;
  Client: Model<OidcClient> & { prototype: { compareClientSecret(this: OidcClient, actual: unknown): boolean } };
  Grant: (new (init: { accountId?: string; clientId: string }) => OidcGrant) & { find(id: string): Promise<OidcGrant | undefined> };
  AccessToken: new (init: Record<string, unknown>) => OidcToken;
  RefreshToken: new (init: Record<string, unknown>) => OidcToken;
  IdToken: new (claims: Record<string, unknown>, opts: { ctx: OidcContext }) => OidcIdToken;
  ResourceServer: new (identifier: string, info: Record<string, unknown>) => OidcResourceServer;
}

/** oidc-provider's error classes (OAuth error JSON with the right status) */
type OidcErrorClass = new (description?: string, detail?: string) => Error;
export interface OidcErrors {
  InvalidRequest: OidcErrorClass;
  InvalidScope: OidcErrorClass;
  InvalidTarget: OidcErrorClass;
  InvalidGrant: OidcErrorClass;
  InvalidDpopProof: OidcErrorClass;
  CustomOIDCProviderError: new (error: string, description: string) => Error;
}

/** oidc-provider's interaction policy: an ordered list of prompts, each due when one of its checks says so */
export interface OidcPrompt { readonly name: string }
export interface OidcCheck { readonly reason: string }
export interface OidcInteractionPolicy {
  base(): OidcPolicy;
  Prompt: new (info: { name: string; requestable?: boolean }, ...checks: OidcCheck[]) => OidcPrompt;
  /** `check` answers Check.REQUEST_PROMPT (the prompt is due) or Check.NO_NEED_TO_PROMPT */
  Check: (new (reason: string, description: string, check: (ctx: OidcContext) => boolean | Promise<boolean>) => OidcCheck) & { readonly REQUEST_PROMPT: true; readonly NO_NEED_TO_PROMPT: false };
}
export interface OidcPolicy extends Array<OidcPrompt> {
  get(name: string): OidcPrompt | undefined;
  clear(): void;
  add(prompt: OidcPrompt): void;
}

/**
 * The oidc-provider module, imported once. On Node.js 20 it prints "Unsupported runtime" at import
 * (it asks for 22 or later); Gatehouse supports 20.19 and later and says so in its docs (24
 * recommended), so that one line is kept out of the start-up output. Any other warning passes.
 */
let loading: Promise<typeof import('oidc-provider')> | undefined;
export function loadOidcProvider(): Promise<typeof import('oidc-provider')> {
  return (loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) return;
      warn(...args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })());
}
