import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { resolve } from 'node:path';
import { Agent, Pool, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { Metrics } from '../observability/metrics.js';
import { backendSettings, type BackendConfig, type BackendSettings } from './schema.js';
import { createBalancer, type BalancerKind } from './balancer.js';
import { BackendBreaker } from './circuit-breaker.js';
import { BalancedDispatcher } from './dispatcher.js';
import { ActiveHealthChecker, parseStatusRanges } from './health-check.js';
import { OutlierDetector } from './outlier.js';
import { RetryBudget } from './retry-budget.js';
import { RetryPolicy } from './retry.js';
import { TargetSet, UpstreamConfigError, type Target, type TargetSnapshot } from './targets.js';
import { TargetWatch } from './watch.js';

/**
 * A backend as the request path sees it: an undici Dispatcher that sends requests to it, the
 * circuit breaker that bounds what is in flight and what waits, its retry policy, and (for
 * reports) its targets and their health. One target without health checks is one connection pool
 * (the fast path); several targets, or health checks, make a Dispatcher that picks a healthy
 * target per request (dispatcher.ts).
 */
export interface Backend {
  readonly name: string;
  /** scheme://host:port of the first target */
  readonly origin: string;
  /** the base path to prepend (the single target's; '' when the dispatcher adds each target's) */
  readonly basePath: string;
  /** Host header of a single-target backend (a balanced one sets each target's) */
  readonly host: string;
  readonly dispatcher: Dispatcher;
  /** a balancing dispatcher (extra dispatch options: hashKey, tried, keepHost) */
  readonly balanced: boolean;
  readonly breaker: BackendBreaker;
  readonly retry: RetryPolicy;
  /** `retries` is configured (every request is counted toward the retry budget) */
  readonly retriesConfigured: boolean;
  readonly settings: BackendSettings;
  readonly targets: TargetSet;
  readonly config: BackendConfig;
  /** for /readyz and the admin API */
  snapshot(): BackendSnapshot;
  close(): Promise<void>;
}

export interface BackendSnapshot {
  targets: TargetSnapshot[];
  healthy: number;
  inFlight: number;
  pending: number;
  refused: Record<string, number>;
}

export interface BackendDeps {
  logger: Logger;
  metrics: Metrics;
}

/** Build a backend; file paths (CA, client certificate) resolve against `dir`. Throws ConfigError. */
export function createBackend(name: string, b: BackendConfig, dir: string, deps: BackendDeps): Backend {
  const st = backendSettings(b);
  const first = new URL(st.targets[0]!.url);
  const connect = connectOptions(name, first, b, dir, st.connectMs);
  const poolOptions = { connections: st.maxConnections, keepAliveTimeout: st.idleMs, headersTimeout: st.responseMs, bodyTimeout: st.responseMs, connect };
  const targets = upstream(() => new TargetSet(st.targets), name, b.targets ? 'targets' : 'url');
  const breaker = upstream(() => new BackendBreaker({ maxConnections: st.maxConnections * st.targets.length, maxRequests: st.maxRequests, maxPending: st.maxPending, pendingTimeoutMs: st.queueMs }), name, 'circuit-breaker');
  const retry = upstream(() => retryPolicy(b, st), name, 'retries');
  const watch = new TargetWatch(name, deps);
  const outlier = b.health?.passive ? upstream(() => new OutlierDetector(targets, {
    consecutiveFailures: b.health!.passive!['consecutive-failures'],
    baseEjectionMs: b.health!.passive!.ejection * 1000,
    maxEjectionMs: b.health!.passive!.ejection * 10_000,
    maxEjectedPercent: b.health!.passive!['max-ejected'],
  }, watch.onOutlier), name, 'health') : undefined;
  const balanced = st.targets.length > 1 || b.health !== undefined;
  const dispatcher: Dispatcher = balanced
    ? new BalancedDispatcher(targets, createBalancer<Target>(b.balancer as BalancerKind), new Agent(poolOptions), watch.onOutcome, outlier)
    : new Pool(first.origin, poolOptions);
  targets.onHealthChange(watch.onHealthChange);
  const active = b.health?.active ? upstream(() => new ActiveHealthChecker(targets, {
    path: b.health!.active!.path,
    intervalMs: b.health!.active!.interval * 1000,
    timeoutMs: b.health!.active!.timeout * 1000,
    healthyThreshold: b.health!.active!.healthy,
    unhealthyThreshold: b.health!.active!.unhealthy,
    expect: parseStatusRanges(b.health!.active!.expect),
  }, { onResult: (r) => { if (r.outcome === 'ok' && outlier && r.target.ejected) outlier.uneject(r.target); } }), name, 'health') : undefined;
  active?.start();
  return {
    name,
    origin: first.origin,
    basePath: balanced ? '' : first.pathname.replace(/\/+$/, ''),
    host: first.host,
    dispatcher,
    balanced,
    breaker,
    retry,
    retriesConfigured: b.retries !== undefined,
    settings: st,
    targets,
    config: b,
    snapshot: () => {
      const list = targets.snapshot();
      const stats = breaker.stats();
      return { targets: list, healthy: list.filter((t) => t.healthy).length, inFlight: stats.active, pending: stats.pending, refused: stats.refused };
    },
    close: async () => {
      await active?.stop();
      await dispatcher.close();
    },
  };
}

/** The retry policy: `retries`, or the short form (`retry`: once, when the connection failed early). */
function retryPolicy(b: BackendConfig, st: BackendSettings): RetryPolicy {
  const r = b.retries;
  if (r === undefined) return new RetryPolicy({ maxRetries: b.retry ? 1 : 0, on: ['connect-failure', 'reset'] });
  return new RetryPolicy({
    maxRetries: r.attempts,
    on: r.on,
    perTryTimeoutMs: r['per-try-timeout'] === undefined ? undefined : Math.min(r['per-try-timeout'] * 1000, st.responseMs),
  }, new RetryBudget({ percent: r.budget }));
}

/** Build an upstream part; its refusal of the options becomes a config error at `key`. */
function upstream<T>(build: () => T, name: string, key: string): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof UpstreamConfigError) throw new ConfigError(err.message, [name, key]);
    throw err;
  }
}

function connectOptions(name: string, url: URL, b: BackendConfig, dir: string, connectMs: number): Record<string, unknown> {
  const tls = b.tls;
  const connect: Record<string, unknown> = { timeout: connectMs };
  if (url.protocol !== 'https:' || !tls) return connect;
  const read = (f: string, key: string) => {
    try { return readFileSync(resolve(dir, f)); } catch { throw new ConfigError(`cannot read ${f}`, [name, 'tls', key]); }
  };
  if (tls.ca) connect.ca = (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map((f) => read(f, 'ca'));
  if (tls.servername) connect.servername = tls.servername;
  if (tls.cert) connect.cert = read(tls.cert, 'cert');
  if (tls.key) connect.key = read(tls.key, 'key');
  if (tls.passphrase) connect.passphrase = tls.passphrase;
  if (tls['insecure-skip-verify']) connect.rejectUnauthorized = false;
  const pins = tls['pin-sha256'];
  if (pins?.length) connect.checkServerIdentity = pinnedIdentity(new Set(pins));
  return connect;
}

/** The usual host name check, then: some certificate of the chain carries a pinned public key. */
function pinnedIdentity(wanted: ReadonlySet<string>) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const err = checkServerIdentity(host, cert);
    if (err) return err;
    // any certificate of the presented chain may carry the pinned key (leaf or an intermediate)
    for (let c: PeerCertificate | undefined = cert, i = 0; c && i < 10; c = (c as DetailedPeerCertificate).issuerCertificate, i++) {
      // the pin is over the DER SubjectPublicKeyInfo (PeerCertificate.pubkey is the raw key for EC)
      if (c.raw && wanted.has(createHash('sha256').update(new X509Certificate(c.raw).publicKey.export({ type: 'spki', format: 'der' })).digest('base64'))) return undefined;
      if ((c as DetailedPeerCertificate).issuerCertificate === c) break;
    }
    return Object.assign(new Error('backend certificate does not match pin-sha256'), { code: 'ERR_TLS_PIN_MISMATCH' });
  };
}

/** Close a backend: health checks stopped, connections closed (after in-flight requests had their time). */
export function closeBackend(b: Backend): Promise<void> {
  return b.close();
}
