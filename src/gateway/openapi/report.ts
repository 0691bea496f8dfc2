import { z } from 'zod';
import type { Counter } from 'prom-client';
import { ConfigError } from '../../config/errors.js';
import type { Exchange } from '../exchange.js';
import type { PolicyContext } from '../policy.js';
import { type Reply } from '../reply.js';
import { problem, type ProblemCode } from '../problems.js';
import type { ValidationError } from './compile.js';
import { openApiSource, type OpenApiSource } from './load.js';

/**
 * What the validation policies share: the action vocabulary, the `errors-*` options, the metric,
 * and how violations become a log line, a variable and a problem.
 */
export const Action = z.enum(['ignore', 'detect', 'prevent']);
export type Action = z.infer<typeof Action>;

export const actionField = (what: string, dflt: Action) =>
  Action.default(dflt).describe(`What to do ${what}: \`ignore\`, \`detect\` (log and count, the exchange continues) or \`prevent\` (refuse it).`);

export const errorsFields = {
  'errors-variable-name': z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/).optional()
    .describe('Name of a variable (`{var.<name>}`) that receives the list of violations, for later policies.'),
  'errors-detail': z.enum(['full', 'summary']).default('full')
    .describe('`full`: each entry of `errors` says which rule failed and why. `summary`: only where (in, name, path), so the schema stays private.'),
};

export const MAX_ERRORS = 20;

export interface Violation extends ValidationError { action: Action }

/** The metric and the log line of every validation policy. */
export class Reporter {
  private readonly counter: Counter<'policy' | 'api' | 'operation' | 'in' | 'action'>;
  constructor(private readonly ctx: PolicyContext, private readonly policy: string, private readonly variable: string | undefined, private readonly detail: 'full' | 'summary') {
    this.counter = ctx.metrics.counter('gatehouse_validation_violations_total', 'Violations found by the validation policies, by policy, API, operation, where (body, query, ...) and action taken', ['policy', 'api', 'operation', 'in', 'action']);
  }

  /**
   * Record violations that are not ignored: metric, log (detect), variable. Returns true when one
   * of them must be prevented.
   */
  record(ex: Exchange, violations: Violation[]): boolean {
    let prevent = false;
    const kept: Violation[] = [];
    for (const v of violations) {
      if (v.action === 'ignore') continue;
      kept.push(v);
      if (v.action === 'prevent') prevent = true;
      this.counter.inc({ policy: this.policy, api: ex.api?.name ?? '', operation: ex.operation?.id ?? '', in: v.in, action: v.action });
    }
    if (kept.length === 0) return false;
    if (this.variable !== undefined) {
      const prev = ex.vars?.[this.variable];
      const list = kept.map(({ action: _a, ...e }) => e);
      ex.setVar(this.variable, Array.isArray(prev) ? [...prev, ...list] : list);
    }
    if (!prevent) {
      this.ctx.logger.warn({ requestId: ex.requestId, policy: this.policy, api: ex.api?.name, operation: ex.operation?.id, errors: kept.map(({ action: _a, ...e }) => e) }, 'validation violations detected');
    }
    return prevent;
  }

  /** `errors` of an inbound problem, as `errors-detail` allows. */
  render(violations: Violation[]): Array<Record<string, string>> {
    const out: Array<Record<string, string>> = [];
    for (const v of violations) {
      if (v.action !== 'prevent') continue;
      out.push(this.detail === 'full'
        ? { in: v.in, name: v.name, path: v.path, rule: v.rule, message: v.message }
        : { in: v.in, name: v.name, path: v.path });
    }
    return out;
  }

  /** The 400 (or `status`) problem of an inbound refusal. */
  inbound(violations: Violation[], code: ProblemCode, detail: string, headers?: Record<string, string>): Reply {
    return problem(code, detail, { members: { errors: this.render(violations) }, headers });
  }

  /**
   * The 502 of an outbound refusal: it says the backend broke the API's contract and nothing about
   * how (the backend's body, headers and the schema stay private). The details are logged.
   */
  outbound(ex: Exchange, violations: Violation[]): Reply {
    this.ctx.logger.warn({ requestId: ex.requestId, policy: this.policy, api: ex.api?.name, operation: ex.operation?.id, status: ex.response?.status, errors: violations.filter((v) => v.action !== 'ignore').map(({ action: _a, ...e }) => e) }, 'backend response refused: it does not match the API description');
    return problem('response-invalid', 'The backend returned a response that does not match the API description.');
  }
}

/**
 * The OpenAPI source and the operations a policy validates: the one it is placed on, or every
 * operation of the API (picked per request by `ex.operation.id`).
 */
export function operationsInScope(ctx: PolicyContext, policy: string): { source: OpenApiSource; ids: string[] } {
  const opDoc = (ctx.operation?.openapi as { document?: unknown } | undefined)?.document;
  const source = openApiSource(opDoc) ?? openApiSource(ctx.api?.openapi);
  if (source === undefined) {
    throw new ConfigError(ctx.api === undefined
      ? `${policy} validates against an API's OpenAPI document: place it in an API (or one of its operations) that has \`openapi:\``
      : `${policy} needs the API's OpenAPI document: API "${ctx.api.name}" has no \`openapi:\``);
  }
  if (ctx.operation !== undefined) {
    if (!source.operations.has(ctx.operation.id)) throw new ConfigError(`${policy}: operation "${ctx.operation.id}" is not in ${source.file}`);
    return { source, ids: [ctx.operation.id] };
  }
  return { source, ids: [...source.operations.keys()] };
}

/** Media type of a Content-Type value: lower-case, without parameters; '' when absent or malformed. */
export function mediaType(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  const v = Array.isArray(value) ? (value.length === 1 ? value[0]! : ',') : value;
  if (v.includes(',')) return '';
  const semi = v.indexOf(';');
  const t = (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(t) ? t : '';
}

/** The document's content key that a media type falls under: exact, then `type/*`, then `*\/*`. */
export function matchContent(keys: readonly string[], mt: string): string | undefined {
  if (mt === '') return undefined;
  let wildcard: string | undefined;
  let any: string | undefined;
  const major = mt.slice(0, mt.indexOf('/'));
  for (const k of keys) {
    const key = mediaType(k);
    if (key === mt) return k;
    if (key === `${major}/*`) wildcard = k;
    else if (key === '*/*') any = k;
  }
  return wildcard ?? any;
}

/** `application/*+json`-style patterns of the policy's `content` entries. */
export function globMatcher(pattern: string): (mt: string) => boolean {
  const p = pattern.trim().toLowerCase();
  if (!p.includes('*')) return (mt) => mt === p;
  const re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^/]*') + '$');
  return (mt) => re.test(mt);
}
