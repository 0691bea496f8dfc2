import type { z } from 'zod';
import type { Logger } from 'pino';
import type { BackendRef, Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import type { Template } from './template.js';
import type { Metrics } from '../observability/metrics.js';
import type { CounterStore } from '../state/types.js';

export type Section = 'inbound' | 'backend' | 'outbound' | 'on-error';
export const SECTIONS: readonly Section[] = ['inbound', 'backend', 'outbound', 'on-error'];

/**
 * The per-request function a policy factory returns. It either lets the request continue
 * (returns undefined) or ends it with a Reply. It may be async, but should stay synchronous when
 * it can: the pipeline only awaits when a Promise comes back.
 * A handler never throws for a client's bad input; it answers it.
 */
export type Handler = (ex: Exchange) => Reply | undefined | Promise<Reply | undefined>;

/** Everything a policy factory may use at load time. */
export interface PolicyContext {
  /** folder of the config file: relative file paths resolve against it */
  readonly configDir: string;
  /** where this policy sits, for messages: `apis[1].policies.inbound[2].validate-jwt` */
  readonly location: string;
  readonly section: Section;
  /** undefined for the global scope */
  readonly api: { name: string; prefix: string; openapi?: unknown } | undefined;
  readonly operation: { id: string; method: string; template: string; openapi?: unknown } | undefined;
  /** true when a validate-jwt runs earlier in this request's pipeline, so `{jwt.*}` resolves */
  readonly claimsAvailable: boolean;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** the counter store of `gateway.store` (created on first use) */
  store(): CounterStore;
  /** trusted proxy matcher of `gateway.trusted-proxies` */
  readonly gateway: { trustedProxies: readonly string[]; maxBodyBuffer: number; /** gateway processes (workers resolved) */ workers: number };
  /** a backend declared in `backends`, or undefined */
  backend(name: string): BackendRef | undefined;
  /**
   * compile a key template; a bad template throws a ConfigError. `encode` is applied to each
   * placeholder's value (e.g. to make it one safe header value).
   */
  compileTemplate(source: string, path?: ReadonlyArray<string | number>, encode?: (value: string) => string): Template;
  /** the gateway is not ready until every registered check returns true */
  readiness(name: string, check: () => boolean): void;
  /** called when this config is replaced or the process stops: release timers, sockets */
  onClose(fn: () => void | Promise<void>): void;
  /**
   * One instance per key for the lifetime of this config (e.g. one JWKS cache per discovery
   * URL shared by every validate-jwt that names it).
   */
  shared<T>(key: string, create: () => T): T;
}

export interface PolicyDefinition<S extends z.ZodType = z.ZodType> {
  /** the name used in YAML (`validate-jwt`) */
  name: string;
  /** the sections it may appear in */
  sections: readonly Section[];
  /** one paragraph for the policy reference */
  description: string;
  /** a YAML example for the policy reference */
  example?: string;
  /** config schema (zod); the policy reference is generated from it */
  schema: S;
  /**
   * Runs before operation matching and before the other inbound policies of its API (cors: a
   * preflight is answered even where no operation allows OPTIONS, and every response of the API,
   * errors included, carries its headers). Allowed in the global and API scopes only.
   */
  early?: boolean;
  /** this policy validates a token and sets `ex.claims` for later policies */
  providesClaims?: boolean;
  /** runs once per config load; returns the per-request handler */
  create(config: z.output<S>, ctx: PolicyContext): Handler | Promise<Handler>;
}

/** Identity function that keeps the config type for `create`. */
export function definePolicy<S extends z.ZodType>(def: PolicyDefinition<S>): PolicyDefinition<S> {
  return def;
}
