import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.js';
import { fetchJson, checkFetchUrl, FetchError } from '../../net/fetch.js';
import { tracer } from '../../observability/tracing.js';
import { keyFromJwk, KeyImportError, type VerifyKey } from './keys.js';

/**
 * Keys from an OpenID Provider: discovery document → `jwks_uri` → JWKS, fetched in the
 * background (never blocking config load: the identity provider may be served by this very
 * process), cached, refreshed before expiry, and refreshed on an unknown `kid` at most once per
 * cooldown (single flight: concurrent callers share one fetch), with one early exception (see
 * `refreshForUnknownKid`). A failed refresh keeps the last
 * good keys up to `maxStale` seconds after the last success; past that the keys are dropped and
 * validate-jwt answers 503 until a fetch succeeds.
 *
 * One instance per discovery URL and options, shared by every validate-jwt naming it.
 */
export interface RemoteSourceOptions {
  discoveryUrl: string;
  /** the discovery `issuer` must be one of these; when empty it must equal the URL's prefix */
  issuers: readonly string[];
  /** seconds: default cache lifetime of the JWKS */
  cacheDuration: number;
  /** seconds: minimum time between fetches triggered by unknown kids (also the retry delay) */
  cooldown: number;
  /** seconds after the last successful fetch during which the last good keys keep working */
  maxStale: number;
  /** seconds */
  timeout: number;
  maxBytes: number;
  allowInsecureHttp: boolean;
}

const WELL_KNOWN = '/.well-known/openid-configuration';
const MAX_KEYS = 100;
/** Cache-Control max-age is honoured within [min(5 min, cache-duration), max(1 day, cache-duration)] */
const MIN_TTL = 300;
const MAX_TTL = 86400;

/** The issuer a discovery URL implies (OpenID Connect Discovery §4.3), or undefined. */
export function expectedIssuer(discoveryUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(discoveryUrl);
  } catch {
    return undefined;
  }
  if (u.search !== '' || u.hash !== '' || !u.pathname.endsWith(WELL_KNOWN)) return undefined;
  return `${u.origin}${u.pathname.slice(0, -WELL_KNOWN.length)}`;
}

const stripSlash = (s: string) => (s.endsWith('/') ? s.slice(0, -1) : s);

/** the early refetch waits this part of the cooldown after the last fetch, at most EARLY_MAX_S */
const EARLY_FRACTION = 1 / 6;
const EARLY_MAX_S = 5;
/** more distinct unknown kids than this in one cooldown window is a flood: no early refetch */
const FLOOD_KIDS = 8;

export class RemoteKeySource {
  /** the discovery document's issuer, once fetched */
  issuer: string | undefined;
  private keys: VerifyKey[] = [];
  private byKid = new Map<string, VerifyKey[]>();
  private lastSuccess = 0;
  private lastAttempt = 0;
  private lastFailureLog = 0;
  private consecutiveFailures = 0;
  private inflight: Promise<void> | undefined;
  /** the cooldown window of unknown kids: when it began, the kids seen in it (true: a fetch has looked for it) */
  private windowStart = 0;
  private unknownKids = new Map<string, boolean>();
  private flooded = false;
  private earlyUsed = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly label: string;
  private readonly failures;
  private readonly fetches;

  constructor(readonly opts: RemoteSourceOptions, private readonly logger: Logger, metrics: Metrics) {
    checkFetchUrl(opts.discoveryUrl, opts.allowInsecureHttp); // throws FetchError: the caller makes it a ConfigError
    const u = new URL(opts.discoveryUrl);
    this.label = `${u.origin}${u.pathname}`;
    this.failures = metrics.counter('gatehouse_jwks_refresh_failures_total', 'Failed discovery/JWKS fetches, by discovery URL', ['source']);
    this.fetches = metrics.counter('gatehouse_jwks_refreshes_total', 'Discovery/JWKS fetches, by discovery URL and reason', ['source', 'reason']);
  }

  /** Start the first fetch in the background. */
  /** The first fetch (once; later calls do nothing). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.refresh('initial');
  }

  private started = false;

  /** keys are loaded and not older than max stale age */
  get available(): boolean {
    return this.keys.length > 0 && Date.now() - this.lastSuccess <= this.opts.maxStale * 1000;
  }

  /** Keys whose kid is `kid`, or every key when `kid` is undefined. Empty when unavailable. */
  lookup(kid: string | undefined): readonly VerifyKey[] {
    if (!this.available) return NONE;
    if (kid === undefined) return this.keys;
    return this.byKid.get(kid) ?? NONE;
  }

  /**
   * A token named a kid we do not have: refetch, unless a fetch is in flight (then share it) or
   * one started less than a cooldown ago (then do nothing). Resolves when done; never rejects.
   *
   * One exception, so that a key the issuer publishes just after such a fetch (an emergency
   * rotation right after a stray token) is usable within seconds, not a cooldown later: a kid that
   * no fetch has looked for yet may trigger one early fetch per cooldown window, once the last
   * fetch is a sixth of the cooldown old (at most 5 s). Not during a flood: past 8 distinct
   * unknown kids in the window there is no early fetch, so random kids still cause at most one
   * fetch per cooldown; a trickle of them at most two.
   */
  refreshForUnknownKid(kid?: string): Promise<void> {
    const now = Date.now();
    const cooldown = this.opts.cooldown * 1000;
    if (now - this.windowStart >= cooldown) {
      this.windowStart = now;
      this.unknownKids.clear();
      this.flooded = false;
      this.earlyUsed = false;
    }
    let fresh = false;
    if (kid !== undefined && !this.flooded) {
      const looked = this.unknownKids.get(kid);
      if (looked === undefined) {
        if (this.unknownKids.size >= FLOOD_KIDS) this.flooded = true;
        else { this.unknownKids.set(kid, false); fresh = true; }
      } else {
        fresh = !looked;
      }
    }
    // (kids that arrive during a fetch count towards a flood too, then share that fetch)
    if (this.inflight) return this.inflight;
    const since = now - this.lastAttempt;
    if (since >= cooldown) return this.lookFor('unknown-kid');
    if (fresh && !this.flooded && !this.earlyUsed && since >= Math.min(cooldown * EARLY_FRACTION, EARLY_MAX_S * 1000)) {
      this.earlyUsed = true;
      return this.lookFor('unknown-kid-early');
    }
    return DONE;
  }

  /** a fetch for the unknown kids seen so far: none of them may trigger the early refetch again */
  private lookFor(reason: string): Promise<void> {
    for (const k of this.unknownKids.keys()) this.unknownKids.set(k, true);
    return this.refresh(reason);
  }

  /** Single-flight refresh. Never rejects. */
  refresh(reason: string): Promise<void> {
    if (this.closed) return DONE;
    if (this.inflight) return this.inflight;
    this.lastAttempt = Date.now();
    this.fetches.inc({ source: this.label, reason });
    // traced: under the request that asked for an unknown kid; the first and scheduled ones are traces of their own
    const span = tracer()?.start('jwks refresh', 'internal', reason === 'initial' || reason === 'scheduled' ? 'root' : 'active', { 'gatehouse.jwks.source': this.label, 'gatehouse.jwks.reason': reason });
    const p = (span ? span.run(() => this.load()) : this.load()).then(
      (ttl) => { span?.end(); this.onSuccess(ttl); },
      (e: unknown) => { span?.fail(e instanceof Error ? e.message : 'failed'); span?.end(); this.onFailure(e); },
    ).finally(() => { this.inflight = undefined; });
    this.inflight = p;
    return p;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(seconds: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { void this.refresh('scheduled'); }, Math.max(0.05, seconds) * 1000);
    this.timer.unref();
  }

  /** Fetch discovery + JWKS; returns the JWKS cache lifetime in seconds. */
  private async load(): Promise<number> {
    const fetchOpts = { timeoutMs: this.opts.timeout * 1000, maxBytes: this.opts.maxBytes, allowInsecureHttp: this.opts.allowInsecureHttp };
    const disco = await fetchJson(this.opts.discoveryUrl, fetchOpts);
    const doc = disco.json as Record<string, unknown> | null;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FetchError('the discovery document is not a JSON object');
    const issuer = doc.issuer;
    if (typeof issuer !== 'string' || issuer === '') throw new FetchError('the discovery document has no issuer');
    if (this.opts.issuers.length > 0) {
      if (!this.opts.issuers.includes(issuer)) {
        throw new FetchError(`the discovery issuer "${issuer}" is not one of the configured issuers`);
      }
    } else {
      const expected = expectedIssuer(this.opts.discoveryUrl);
      if (expected === undefined || stripSlash(issuer) !== stripSlash(expected)) {
        throw new FetchError(`the discovery issuer "${issuer}" does not match the discovery URL (expected "${expected}"); list the issuer under issuers if that is intended`);
      }
    }
    if (typeof doc.jwks_uri !== 'string') throw new FetchError('the discovery document has no jwks_uri');
    const jwks = await fetchJson(doc.jwks_uri, fetchOpts);
    const set = jwks.json as { keys?: unknown } | null;
    if (set === null || typeof set !== 'object' || !Array.isArray(set.keys)) throw new FetchError('the JWKS is not a JSON object with a keys array');
    const next: VerifyKey[] = [];
    const skipped: string[] = [];
    for (const jwk of set.keys.slice(0, MAX_KEYS)) {
      const use = (jwk as { use?: unknown } | null)?.use;
      if (use === 'enc') continue;
      try {
        next.push(keyFromJwk(jwk, { issuer }));
      } catch (e) {
        if (!(e instanceof KeyImportError)) throw e;
        skipped.push(`${JSON.stringify((jwk as { kid?: unknown } | null)?.kid ?? null)}: ${e.message}`);
      }
    }
    if (skipped.length > 0) this.logger.warn({ source: this.label, skipped }, 'JWKS keys skipped');
    if (next.length === 0) throw new FetchError('the JWKS has no usable signature keys');
    this.install(next, issuer);
    const configured = this.opts.cacheDuration;
    if (jwks.noCache) return Math.min(MIN_TTL, configured);
    if (jwks.maxAge !== undefined) return Math.min(Math.max(jwks.maxAge, Math.min(MIN_TTL, configured)), Math.max(MAX_TTL, configured));
    return configured;
  }

  /** Swap in a new key set; keys that left it are deactivated (their cached tokens die with them). */
  private install(next: VerifyKey[], issuer: string): void {
    const old = new Map(this.keys.map((k) => [`${k.kid ?? ''}|${k.fingerprint}|${[...k.algs].join()}`, k]));
    const keys = next.map((k) => {
      const id = `${k.kid ?? ''}|${k.fingerprint}|${[...k.algs].join()}`;
      const prev = old.get(id);
      if (prev !== undefined && prev.issuer === issuer) {
        old.delete(id);
        return prev;
      }
      return k;
    });
    for (const gone of old.values()) gone.active = false;
    const byKid = new Map<string, VerifyKey[]>();
    for (const k of keys) {
      if (k.kid === undefined) continue;
      const list = byKid.get(k.kid);
      if (list) list.push(k);
      else byKid.set(k.kid, [k]);
    }
    this.keys = keys;
    this.byKid = byKid;
    this.issuer = issuer;
  }

  private onSuccess(ttl: number): void {
    const first = this.lastSuccess === 0;
    this.lastSuccess = Date.now();
    this.consecutiveFailures = 0;
    if (first) this.logger.info({ source: this.label, keys: this.keys.length }, 'token signing keys loaded');
    // refresh before expiry: at 80% of the lifetime
    this.schedule(ttl * 0.8);
  }

  private onFailure(e: unknown): void {
    this.consecutiveFailures++;
    this.failures.inc({ source: this.label });
    const now = Date.now();
    if (now - this.lastFailureLog >= this.opts.cooldown * 1000) {
      this.lastFailureLog = now;
      const message = e instanceof Error ? e.message : String(e);
      this.logger.error({ source: this.label, err: message, keptKeys: this.available ? this.keys.length : 0 }, 'token signing keys refresh failed');
    }
    if (this.keys.length > 0 && !this.available) {
      // past max stale age: drop the keys so cached tokens they verified stop being served
      for (const k of this.keys) k.active = false;
      this.keys = [];
      this.byKid = new Map();
    }
    // retry: quickly while we have nothing (the provider may still be starting), else per cooldown
    const delay = this.lastSuccess === 0 || this.keys.length === 0
      ? Math.min(this.opts.cooldown, 0.25 * 2 ** Math.min(this.consecutiveFailures, 8))
      : this.opts.cooldown;
    this.schedule(delay);
  }
}

const NONE: readonly VerifyKey[] = Object.freeze([]);
const DONE: Promise<void> = Promise.resolve();

/**
 * Process-wide registry of key sources, reference-counted across config loads: a reload that
 * keeps the same discovery URL and options reuses the loaded keys instead of answering 503 while
 * a new source fetches them. A source whose last user is gone is closed after a grace period
 * (the old config is usually closed just after the new one is built, or just before).
 */
const LIVE = new Map<string, { source: RemoteKeySource; refs: number; closing: NodeJS.Timeout | undefined }>();
const GRACE_MS = 10_000;

/**
 * The source for `opts`, shared with every other user of the same options. It is not started
 * here: the caller starts it once the gateway listens (`start()` is idempotent), so that a gateway
 * that serves its own identity provider's keys does not fetch them before it can answer itself.
 */
export function acquireSource(opts: RemoteSourceOptions, logger: Logger, metrics: Metrics): { source: RemoteKeySource; release: () => void } {
  const key = JSON.stringify(opts);
  let entry = LIVE.get(key);
  if (entry === undefined) {
    const source = new RemoteKeySource(opts, logger, metrics);
    entry = { source, refs: 0, closing: undefined };
    LIVE.set(key, entry);
  }
  const e = entry;
  if (e.closing !== undefined) {
    clearTimeout(e.closing);
    e.closing = undefined;
  }
  e.refs++;
  let released = false;
  return {
    source: e.source,
    release: () => {
      if (released) return;
      released = true;
      e.refs--;
      if (e.refs > 0) return;
      e.closing = setTimeout(() => {
        if (e.refs > 0) return;
        e.source.close();
        if (LIVE.get(key) === e) LIVE.delete(key);
      }, GRACE_MS);
      e.closing.unref();
    },
  };
}
