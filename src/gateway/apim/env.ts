import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MemoryMap, readPolicyDocument, type ApimDeployment, type FragmentDocument, type SourcePos } from '../../apim/index.js';

/**
 * What XML policy documents share across a config: named values, fragments (by id), the
 * deployment `context.Deployment` describes, and loggers for log-to-eventhub / emit-metric.
 */

export const apimSchema = z.strictObject({
  'named-values': z.union([z.string(), z.record(z.string(), z.string())]).optional()
    .describe('named values `{{name}}`: a map, or a YAML/JSON file of one (relative to the config file)'),
  fragments: z.string().optional().describe('a folder of policy fragments: `ID.xml` holds `<fragment>…</fragment>` for `<include-fragment fragment-id="ID"/>`'),
  deployment: z.strictObject({
    region: z.string().default('local').describe('context.Deployment.Region'),
    'service-name': z.string().default('gatehouse').describe('context.Deployment.ServiceName'),
    'gateway-id': z.string().default('gatehouse').describe('context.Deployment.GatewayId'),
  }).prefault({}).describe('what context.Deployment says'),
  loggers: z.record(z.string(), z.strictObject({ type: z.enum(['log']).default('log').describe('log: a JSON log line per event') }))
    .optional().describe('logger ids that log-to-eventhub may name (`logger-id`); their events are written to the log'),
  'managed-identity': z.strictObject({
    'token-endpoint': z.url().describe('the OAuth token endpoint (e.g. the identity provider\'s `/token`)'),
    'client-id': z.string().min(1).describe('the client the gateway authenticates as (a policy\'s `client-id` overrides it)'),
    'client-secret': z.string().min(1).describe('its secret'),
  }).optional().describe('authentication-managed-identity: client-credentials tokens from this endpoint (`resource` sent as the RFC 8707 resource parameter); without it the policy is a cloud-only load error'),
  metrics: z.strictObject({
    'max-series': z.number().int().min(1).max(100_000).default(1000)
      .describe('label combinations (dimension values) one emit-metric metric may hold; values of further combinations are dropped and counted in gatehouse_apim_metric_series_dropped_total'),
  }).prefault({}).describe('emit-metric and *-emit-token-metric: counters `apim_<namespace>_<name>_total` on /metrics, dimensions as labels'),
}).describe('API-management policy documents (`policy-xml`): named values, fragments, deployment');
export type ApimConfig = z.output<typeof apimSchema>;

export interface Warning { code: 'base-omitted'; message: string; pos: SourcePos }

export interface ApimEnv {
  readonly namedValues: Readonly<Record<string, string>>;
  readonly fragments: ReadonlyMap<string, FragmentDocument>;
  readonly deploymentModel: ApimDeployment;
  readonly logger: Logger;
  readonly loggers: ReadonlySet<string> | undefined;
  /** apim.managed-identity: where authentication-managed-identity gets tokens */
  readonly managedIdentity?: { tokenEndpoint: string; clientId: string; clientSecret: string };
  /** apim.metrics.max-series (1000 when unset) */
  readonly maxSeries?: number;
  /** backends `backend-id` may name; undefined when unknown (apim check without --config) */
  readonly backendIds: ReadonlySet<string> | undefined;
  /** the products of the config (context.Product), by id */
  readonly products?: ReadonlyMap<string, { name: string; subscriptionRequired: boolean }>;
  warn(w: Warning): void;
}

/** Named values from a map or a file (YAML or JSON map of strings). */
export function loadNamedValues(v: string | Record<string, string> | undefined, dir: string): Record<string, string> {
  if (v === undefined) return {};
  if (typeof v !== 'string') return v;
  const data = parseYaml(readFileSync(resolve(dir, v), 'utf8')) as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${v}: named values are a map of name: value`);
  return Object.fromEntries(Object.entries(data).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
}

/** Every `*.xml` fragment of a folder, read (named values substituted) and checked as a document. */
export function loadFragments(dir: string | undefined, namedValues: Record<string, string>): Map<string, FragmentDocument> {
  const out = new Map<string, FragmentDocument>();
  if (dir === undefined) return out;
  if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
  for (const f of readdirSync(dir).sort()) {
    if (extname(f) !== '.xml') continue;
    const file = join(dir, f);
    const doc = readPolicyDocument(readFileSync(file, 'utf8'), { file, namedValues });
    if (doc.kind !== 'fragment') continue;
    out.set(basename(f, '.xml'), doc);
  }
  return out;
}

export function deploymentModel(d: ApimConfig['deployment'] | undefined): ApimDeployment {
  return {
    GatewayId: d?.['gateway-id'] ?? 'gatehouse', Region: d?.region ?? 'local', ServiceId: d?.['service-name'] ?? 'gatehouse',
    ServiceName: d?.['service-name'] ?? 'gatehouse', Certificates: new MemoryMap(),
  };
}

export function managedIdentityOf(cfg: ApimConfig | undefined): ApimEnv['managedIdentity'] {
  const m = cfg?.['managed-identity'];
  return m === undefined ? undefined : { tokenEndpoint: m['token-endpoint'], clientId: m['client-id'], clientSecret: m['client-secret'] };
}
