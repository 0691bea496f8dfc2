import type { z } from 'zod';
import type { Logger } from 'pino';
import type { BackendRef, Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import type { Template } from './template.js';
import type { Metrics } from '../observability/metrics.js';
import type { CounterStore } from '../state/types.js';
import type { StandInKeys } from './jwt/source.js';
import type { CacheStore } from '../upstream/cache-store.js';

export type CachingType = 'internal' | 'external' | 'prefer-external';

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
  /**
   * The response cache's store for a `caching-type` (created on first use, one per config load):
   * `internal` the in-memory one, `external` the shared one of `gateway.cache.external` (a
   * ConfigError without it), `prefer-external` the shared one when configured, else the memory one.
   */
  cacheStore(type: CachingType): CacheStore;
  /** `gateway.cache.max-entry-size` */
  readonly maxCacheEntry: number;
  /** trusted proxy matcher of `gateway.trusted-proxies` */
  readonly gateway: { trustedProxies: readonly string[]; maxBodyBuffer: number; /** gateway processes (workers resolved) */ workers: number; /** `gateway.store`, the counter store's URL */ store: string };
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
   * called once the gateway listens (at once for a config loaded while it already listens): start
   * background work such as key fetches here, not in the factory (`gatehouse validate` starts nothing)
   */
  onStart(fn: () => void): void;
  /**
   * One instance per key for the lifetime of this config (e.g. one JWKS cache per discovery
   * URL shared by every validate-jwt that names it).
   */
  shared<T>(key: string, create: () => T): T;
  /** `gatehouse test` only: keys that stand in for an issuer's (see jwt/source.ts); undefined otherwise */
  readonly standInKeys?: StandInKeys;
}

/**
 * When a policy runs.
 * - `pipeline`: in the section it is listed in, in scope order (global → API → operation, `base`
 *   marking where the outer scope runs).
 * - `before-operation`: inbound only; taken out of the pipeline and run once per request before
 *   operation matching, in the API's (and the global) scope order. A preflight is answered even
 *   where no operation allows OPTIONS, and every response of the API, errors included, passes
 *   through it (cors). Refused in an operation's policies.
 */
export type Phase = 'pipeline' | 'before-operation';

/**
 * What a policy makes available to the policies after it in the same request.
 * - `claims`: it validates a token and sets `ex.claims`; in `inbound` or `backend` it makes
 *   claims available to every later policy (later sections included), so `{jwt.*}` templates
 *   compile and check-claims is allowed.
 */
export type Provision = 'claims';

/**
 * What a policy needs where it is placed. The policy's factory checks it too (and fails the load
 * with a located error); the declaration lets the compiler and the generated reference know it
 * without running the factory.
 * - `claims`: a policy that provides `claims` runs earlier in the pipeline (`ctx.claimsAvailable`).
 * - `operation`: its factory reads `ctx.operation` (path parameters, the operation's OpenAPI
 *   document), so it is created once per operation it runs for. A policy without it behaves the
 *   same whichever operation it runs for.
 * - `openapi`: the API (or the operation) has an OpenAPI document.
 */
export type Requirement = 'claims' | 'operation' | 'openapi';

/** A policy's capabilities, as it declares them (`provides` and `requires` default to none). */
export interface PolicyCapabilities {
  readonly phase: Phase;
  readonly provides?: readonly Provision[];
  readonly requires?: readonly Requirement[];
}

/** What a policy file passes to `definePolicy`. */
export interface PolicySpec<S extends z.ZodType = z.ZodType> {
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
  /** when it runs, what it provides to later policies, what it needs */
  capabilities: PolicyCapabilities;
  /** runs once per config load; returns the per-request handler */
  create(config: z.output<S>, ctx: PolicyContext): Handler | Promise<Handler>;
}

/** A registered policy: its spec with the capabilities filled in. */
export interface PolicyDefinition<S extends z.ZodType = z.ZodType> extends PolicySpec<S> {
  readonly capabilities: Required<PolicyCapabilities>;
}

/**
 * Register a policy: keeps the config type for `create`, fills in the capabilities and checks
 * that they fit the sections (a `before-operation` policy is inbound only).
 */
export function definePolicy<S extends z.ZodType>(spec: PolicySpec<S>): PolicyDefinition<S> {
  const capabilities: Required<PolicyCapabilities> = Object.freeze({
    phase: spec.capabilities.phase,
    provides: Object.freeze([...(spec.capabilities.provides ?? [])]),
    requires: Object.freeze([...(spec.capabilities.requires ?? [])]),
  });
  if (capabilities.phase === 'before-operation' && (spec.sections.length !== 1 || spec.sections[0] !== 'inbound')) {
    throw new Error(`${spec.name}: a before-operation policy runs in the inbound section only`);
  }
  return { ...spec, capabilities };
}

/** True when the policy provides `what` to the policies after it. */
export function provides(def: Pick<PolicyDefinition, 'capabilities'>, what: Provision): boolean {
  return def.capabilities.provides.includes(what);
}

/** True when the policy runs before operation matching. */
export function runsBeforeOperation(def: Pick<PolicyDefinition, 'capabilities'>): boolean {
  return def.capabilities.phase === 'before-operation';
}
