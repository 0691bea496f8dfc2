/**
 * A backend's targets: each a URL with a weight and a priority, and the health that decides
 * whether a balancer may pick it. Two sources of health meet here and nowhere else:
 *
 * - active: the health checker's verdict (`setActiveHealth`), healthy until a probe says otherwise;
 * - passive: outlier detection's ejection (`eject` until a time, `uneject`).
 *
 * A target is *healthy* when both agree. The set keeps, per priority level, the healthy targets
 * as an immutable array that is replaced (never mutated) when health changes, so a balancer can
 * cache per-list state by identity; and a load per level that says which level a request uses.
 *
 * Priority failover: with the default overprovisioning factor (`Infinity`) a level takes all the
 * traffic while it has one healthy target; the next level is used only when every target of the
 * levels before it is unhealthy, and traffic comes back as soon as one recovers. A finite factor
 * (Envoy's default is 1.4) spills traffic gradually instead: a level's health is
 * min(1, factor × healthy/total) and the rest of the load flows to the next levels (Envoy's
 * priority-load computation, normalized when the levels together are less than 100 % healthy).
 * Health counts targets, not weights, as Envoy does. With no healthy target anywhere the view is
 * empty: the caller answers 503 (there is no panic mode that routes to unhealthy targets).
 */

export interface TargetSpec {
  /** http: or https: URL; its origin is what requests go to, its path is the backend's base path */
  url: string;
  /** relative share of traffic within its priority, an integer 1..1000 (default 1) */
  weight?: number;
  /** 0 is used first; higher levels only when lower ones are unhealthy (default 0) */
  priority?: number;
}

export type HealthCause = 'active' | 'passive';

export interface TargetSnapshot {
  url: string;
  priority: number;
  weight: number;
  healthy: boolean;
  activeHealthy: boolean;
  ejected: boolean;
  /** epoch ms when the ejection ends (0 when not ejected) */
  ejectedUntil: number;
  outstanding: number;
}

export class UpstreamConfigError extends Error {
  override readonly name = 'UpstreamConfigError';
}

export class Target {
  /** requests dispatched to this target and not finished yet (maintained by the dispatcher) */
  outstanding = 0;
  /** @internal written by TargetSet only */
  _active = true;
  /** @internal written by TargetSet only; 0 = not ejected */
  _ejectedUntil = 0;

  constructor(
    /** position in the set, stable for its lifetime: balancers index per-target state by it */
    readonly index: number,
    /** the normalized URL: stable across reloads and replicas (consistent hashing hashes it) */
    readonly id: string,
    readonly url: URL,
    readonly weight: number,
    readonly priority: number,
  ) {}

  get origin(): string {
    return this.url.origin;
  }
  get activeHealthy(): boolean {
    return this._active;
  }
  get ejected(): boolean {
    return this._ejectedUntil !== 0;
  }
  get ejectedUntil(): number {
    return this._ejectedUntil;
  }
  get healthy(): boolean {
    return this._active && this._ejectedUntil === 0;
  }
}

/** One priority level as the balancer sees it. */
export interface HealthyLevel {
  readonly priority: number;
  /** healthy targets of this level (immutable; a new array after every change) */
  readonly targets: readonly Target[];
  /** share of requests this level takes, 0..1 */
  readonly load: number;
}

export interface TargetSetOptions {
  /** Envoy's overprovisioning factor; Infinity (default) = strict failover */
  overprovisioning?: number;
  /** epoch ms clock, for ejection ends */
  now?: () => number;
}

type HealthListener = (target: Target, healthy: boolean, cause: HealthCause) => void;

const EMPTY: readonly Target[] = Object.freeze([]);

export class TargetSet {
  readonly all: readonly Target[];
  /** distinct priorities, ascending */
  readonly priorities: readonly number[];
  /** the set's clock (epoch ms): ejection ends are read from it; outlier detection uses it too */
  readonly now: () => number;
  private readonly factor: number;
  private readonly listeners: HealthListener[] = [];
  private levelsView: readonly HealthyLevel[] = [];
  /** the one level that takes all the load, when one does (strict failover: always) */
  private only: readonly Target[] = EMPTY;
  private nextReturn = Infinity;
  private ejectedCount = 0;

  constructor(specs: readonly TargetSpec[], opts: TargetSetOptions = {}) {
    if (specs.length === 0) throw new UpstreamConfigError('a backend needs at least one target');
    this.factor = opts.overprovisioning ?? Infinity;
    if (!(this.factor >= 1)) throw new UpstreamConfigError('overprovisioning must be at least 1');
    this.now = opts.now ?? Date.now;
    const seen = new Set<string>();
    this.all = Object.freeze(specs.map((s, i) => {
      const t = makeTarget(s, i);
      if (seen.has(t.id)) throw new UpstreamConfigError(`target ${t.id} is listed twice`);
      seen.add(t.id);
      return t;
    }));
    this.priorities = Object.freeze([...new Set(this.all.map((t) => t.priority))].sort((a, b) => a - b));
    this.recompute();
  }

  /** Called on every health change of a target (for logs, metrics, un-ejection bookkeeping). */
  onHealthChange(fn: HealthListener): void {
    this.listeners.push(fn);
  }

  /**
   * The healthy targets this request may be balanced over: those of the level chosen by `r`
   * (uniform in [0, 1); only consulted when several levels share the load). Empty: none healthy.
   */
  select(r?: number): readonly Target[] {
    this.refresh();
    if (this.only !== EMPTY || this.levelsView.length === 0) return this.only;
    const x = r ?? Math.random();
    let acc = 0;
    for (const level of this.levelsView) {
      acc += level.load;
      if (x < acc) return level.targets;
    }
    return this.levelsView[this.levelsView.length - 1]!.targets;
  }

  /** The levels with load > 0, in priority order. */
  levels(): readonly HealthyLevel[] {
    this.refresh();
    return this.levelsView;
  }

  /** End the ejections whose time has passed (reads the clock only while a target is ejected). */
  refresh(): void {
    if (this.nextReturn !== Infinity && this.now() >= this.nextReturn) this.returnDue();
  }

  get ejected(): number {
    return this.ejectedCount;
  }

  /** The active health checker's verdict. Returns true when the target's health changed. */
  setActiveHealth(t: Target, healthy: boolean): boolean {
    if (t._active === healthy) return false;
    const before = t.healthy;
    t._active = healthy;
    this.changed(t, before, 'active');
    return true;
  }

  /** Outlier detection: no traffic to `t` until `untilMs` (epoch ms). */
  eject(t: Target, untilMs: number): void {
    const before = t.healthy;
    if (t._ejectedUntil === 0) this.ejectedCount++;
    t._ejectedUntil = Math.max(untilMs, 1);
    this.planReturn();
    this.changed(t, before, 'passive');
  }

  /** End an ejection now (its time passed, or an active probe succeeded). */
  uneject(t: Target): void {
    if (t._ejectedUntil === 0) return;
    const before = t.healthy;
    t._ejectedUntil = 0;
    this.ejectedCount--;
    this.planReturn();
    this.changed(t, before, 'passive');
  }

  snapshot(): TargetSnapshot[] {
    this.refresh();
    return this.all.map((t) => ({
      url: t.id, priority: t.priority, weight: t.weight, healthy: t.healthy, activeHealthy: t.activeHealthy,
      ejected: t.ejected, ejectedUntil: t.ejectedUntil, outstanding: t.outstanding,
    }));
  }

  private returnDue(): void {
    const now = this.now();
    for (const t of this.all) if (t._ejectedUntil !== 0 && t._ejectedUntil <= now) this.uneject(t);
    this.planReturn();
  }

  /** The earliest ejection end, so that select() reads the clock only while something is ejected. */
  private planReturn(): void {
    let next = Infinity;
    for (const t of this.all) if (t._ejectedUntil !== 0 && t._ejectedUntil < next) next = t._ejectedUntil;
    this.nextReturn = next;
  }

  private changed(t: Target, before: boolean, cause: HealthCause): void {
    if (t.healthy === before) return;
    this.recompute();
    for (const fn of this.listeners) fn(t, t.healthy, cause);
  }

  /** Envoy's priority load: each level takes min(its health, what is left), normalized. */
  private recompute(): void {
    const perLevel = this.priorities.map((p) => {
      const members = this.all.filter((t) => t.priority === p);
      const healthy = Object.freeze(members.filter((t) => t.healthy));
      const health = healthy.length === 0 ? 0 : Math.min(1, (this.factor * healthy.length) / members.length);
      return { priority: p, targets: healthy, health };
    });
    const total = Math.min(1, perLevel.reduce((s, l) => s + l.health, 0));
    const levels: HealthyLevel[] = [];
    let left = 1;
    for (const l of perLevel) {
      if (total === 0 || left <= 1e-12) break;
      const load = Math.min(left, l.health / total);
      left -= load;
      if (load > 0) levels.push({ priority: l.priority, targets: l.targets, load });
    }
    this.levelsView = Object.freeze(levels);
    this.only = levels.length === 1 ? levels[0]!.targets : EMPTY;
  }
}

function makeTarget(s: TargetSpec, index: number): Target {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    throw new UpstreamConfigError(`target "${s.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UpstreamConfigError(`target ${s.url}: only http: and https: URLs`);
  if (url.username || url.password || url.search || url.hash) throw new UpstreamConfigError(`target ${s.url}: no credentials, query or fragment`);
  const weight = s.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) throw new UpstreamConfigError(`target ${s.url}: weight must be an integer 1..1000`);
  const priority = s.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 100) throw new UpstreamConfigError(`target ${s.url}: priority must be an integer 0..100`);
  const id = url.origin + url.pathname.replace(/\/+$/, '');
  return new Target(index, id, url, weight, priority);
}
