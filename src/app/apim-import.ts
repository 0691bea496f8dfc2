import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { ApimLoadError } from '../apim/index.js';
import { deploymentModel, loadFragments } from '../gateway/apim/env.js';
import { apimArgs, ApimUsage, checkDocument } from './apim-check.js';
import { ExportError, readExport, type ExportedApi, type ExportedService } from './apim-export.js';

/**
 * `gatehouse apim import DIR [--out FILE] [--format yaml] [--force]`: an exported API-management
 * folder (APIOps extractor layout, see apim-export.ts) becomes a gatehouse.yaml with the policy
 * documents next to it:
 *
 *   FILE                         backends, apis (operations from the OpenAPI), products, apim
 *   policies/global.xml          the service policy
 *   policies/products/ID.xml, policies/apis/NAME.xml, policies/apis/NAME/OPERATION.xml
 *   fragments/ID.xml             the policy fragments (apim.fragments)
 *
 * Secret named values (secret: true, Key Vault references) are written as `${ENV:APIM_NAME}`:
 * their values never reach the file. Every document written is then loaded as `apim check` does;
 * one that does not load (a cloud-only policy, an unknown backend id) is reported and the exit
 * code is 1. What is not converted is listed as warnings.
 */

interface Options { dir: string; out: string; force: boolean }

function parseOptions(args: readonly string[]): Options {
  const { values, positionals } = apimArgs(args, { out: { type: 'string', short: 'o', default: 'gatehouse.yaml' }, format: { type: 'string', default: 'yaml' }, force: { type: 'boolean', default: false } });
  if (values.format !== 'yaml') throw new ApimUsage(`--format is yaml, not ${String(values.format)}`);
  if (positionals.length === 0) throw new ApimUsage('name the exported folder to import');
  if (positionals.length > 1) throw new ApimUsage(`apim import takes one folder, not also ${positionals[1]}`);
  return { dir: positionals[0]!, out: values.out as string, force: values.force === true };
}

/** A name the config accepts (letters, digits, _ . -). */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
const envName = (s: string) => `APIM_${s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '')}`;
const CLOUD_TYPES = new Set(['soap', 'graphql', 'websocket', 'grpc', 'odata']);

interface Written { file: string; what: string }

interface Plan {
  config: Record<string, unknown>;
  files: Map<string, string>;
  warnings: string[];
  counts: { apis: number; operations: number; products: number; namedValues: number; secrets: number; fragments: number };
}

function plan(svc: ExportedService): Plan {
  const warnings: string[] = [];
  const files = new Map<string, string>();
  const counts = { apis: 0, operations: 0, products: 0, namedValues: 0, secrets: 0, fragments: 0 };
  const backends: Record<string, Record<string, unknown>> = {};
  const byUrl = new Map<string, string>();
  for (const b of svc.backends) {
    if (b.url === undefined) { if (b.pool === undefined) warnings.push(`backend "${b.name}": no url: not converted`); continue; }
    const name = safe(b.name);
    const entry: Record<string, unknown> = { url: b.url };
    if (b.skipTlsVerify) { entry.tls = { 'insecure-skip-verify': true }; warnings.push(`backend "${b.name}": certificate validation is off in the export: kept as tls.insecure-skip-verify`); }
    if (b.credentials) warnings.push(`backend "${b.name}": its credentials (headers, query, authorization, certificates) are not converted: set them with set-header or authentication-basic`);
    if (b.protocol !== undefined && b.protocol !== 'http') warnings.push(`backend "${b.name}": protocol ${b.protocol} is forwarded as HTTP`);
    backends[name] = entry;
    byUrl.set(b.url.replace(/\/$/, ''), name);
  }

  poolsOf(svc, backends, warnings);
  const apis: Array<Record<string, unknown>> = [];
  const apiNames = new Map<string, string>();
  const paths = new Set<string>();
  for (const api of svc.apis) {
    if (!api.current) { warnings.push(`API "${api.dir}": not the current revision: skipped`); continue; }
    const entry = apiEntry(api, svc.versionSets, backends, byUrl, files, warnings, paths);
    if (entry === undefined) continue;
    apiNames.set(api.name, entry.name as string);
    apiNames.set(api.dir, entry.name as string);
    apis.push(entry);
    counts.apis++;
    counts.operations += (entry.operations as unknown[] | undefined)?.length ?? 0;
  }

  const products: Array<Record<string, unknown>> = [];
  for (const p of svc.products) {
    const id = safe(p.name);
    const entry: Record<string, unknown> = { id, name: p.displayName };
    if (p.description !== undefined) entry.description = p.description;
    entry.apis = p.apis.flatMap((a) => {
      const n = apiNames.get(a);
      if (n === undefined) warnings.push(`product "${p.name}": API "${a}" is not in the export (or was skipped): left out of the product`);
      return n === undefined ? [] : [n];
    });
    entry['subscription-required'] = p.subscriptionRequired;
    if (p.approvalRequired) entry.approval = 'manual';
    if (p.policy !== undefined) { const f = `policies/products/${id}.xml`; files.set(f, p.policy); entry['policy-xml'] = f; }
    products.push(entry);
    counts.products++;
  }

  const named = namedValuesOf(svc, warnings, counts);
  for (const f of svc.fragments) { files.set(`fragments/${safe(f.name)}.xml`, f.policy); counts.fragments++; }
  for (const u of svc.unsupported) warnings.push(`${u}/: not converted (Gatehouse has no such resource, or it holds secrets: subscriptions, certificates, identity providers)`);

  const config: Record<string, unknown> = { gateway: { listen: { http: 8080 } } };
  const apim: Record<string, unknown> = {};
  if (Object.keys(named).length) apim['named-values'] = named;
  if (svc.fragments.length) apim.fragments = 'fragments';
  if (svc.loggers.length) {
    apim.loggers = Object.fromEntries(svc.loggers.map((l) => [l, { type: 'log' }]));
    warnings.push(`loggers (${svc.loggers.join(', ')}): log-to-eventhub events are written to the gateway's log`);
  }
  if (Object.keys(apim).length) config.apim = apim;
  if (svc.globalPolicy !== undefined) { files.set('policies/global.xml', svc.globalPolicy); config['policy-xml'] = 'policies/global.xml'; }
  config.backends = backends;
  config.apis = apis;
  if (products.length) config.products = products;
  if (products.length || apis.some((a) => a.subscription !== undefined)) {
    config.subscriptions = { database: 'sqlite:./subscriptions.db' };
    warnings.push('subscriptions are kept in subscriptions.db (subscriptions.database): create them with the management API; the export\'s keys are not imported');
  }
  return { config, files, warnings, counts };
}

/**
 * Load-balanced pools as backends with targets: the service's priority 1 (its highest) becomes 0;
 * a lower one takes traffic only while the higher ones are unhealthy, which needs `health` settings.
 */
function poolsOf(svc: ExportedService, backends: Record<string, Record<string, unknown>>, warnings: string[]): void {
  const urls = new Map(svc.backends.filter((b) => b.url !== undefined).map((b) => [b.name, b.url!]));
  for (const b of svc.backends) {
    if (b.pool === undefined) continue;
    const missing = b.pool.filter((m) => !urls.has(m.backend)).map((m) => m.backend);
    if (missing.length || b.pool.length === 0) {
      warnings.push(`backend "${b.name}": a pool of ${missing.length ? `unknown backends (${missing.join(', ')})` : 'no backends'}: not converted`);
      continue;
    }
    const top = Math.min(...b.pool.map((m) => m.priority ?? 1));
    backends[safe(b.name)] = {
      targets: b.pool.map((m) => ({ url: urls.get(m.backend)!, ...(m.weight === undefined ? {} : { weight: m.weight }), ...((m.priority ?? 1) === top ? {} : { priority: (m.priority ?? 1) - top }) })),
    };
    if (b.pool.some((m) => (m.priority ?? 1) !== top)) warnings.push(`backend "${b.name}": lower-priority targets take traffic only while the others are unhealthy: add health settings`);
  }
}

/** Named values by display name; a secret one (or one without its value) as an environment reference. */
function namedValuesOf(svc: ExportedService, warnings: string[], counts: Plan['counts']): Record<string, string> {
  const named: Record<string, string> = {};
  for (const nv of svc.namedValues) {
    counts.namedValues++;
    if (nv.secret || nv.keyVault !== undefined || nv.value === undefined) {
      const v = envName(nv.displayName);
      named[nv.displayName] = `\${ENV:${v}}`;
      counts.secrets++;
      const why = nv.keyVault !== undefined ? 'a Key Vault reference' : nv.secret ? 'secret' : 'exported without its value';
      warnings.push(`named value "${nv.displayName}" is ${why}: set ${v} in the gateway's environment`);
    } else {
      if (nv.value.includes('${')) warnings.push(`named value "${nv.displayName}" contains "\${": the config reads \${ENV:…} in it as an environment reference`);
      named[nv.displayName] = nv.value;
    }
  }
  return named;
}

function apiEntry(api: ExportedApi, versionSets: ReadonlyMap<string, string>, backends: Record<string, Record<string, unknown>>, byUrl: Map<string, string>, files: Map<string, string>, warnings: string[], paths: Set<string>): Record<string, unknown> | undefined {
  const name = safe(api.name);
  let path = '/' + api.path.replace(/^\/+|\/+$/g, '');
  if (api.versionSet !== undefined && api.version !== undefined) {
    const scheme = versionSets.get(api.versionSet) ?? 'Segment';
    // the service puts a Segment version after the API's path; Gatehouse routes on the path only
    if (scheme.toLowerCase() === 'segment') path = `${path === '/' ? '' : path}/${api.version}`;
    else warnings.push(`API "${api.name}": version ${api.version} is chosen by ${scheme.toLowerCase()} in the service; Gatehouse routes on the path only`);
  }
  if (paths.has(path)) { warnings.push(`API "${api.name}": another API already has the path ${path}: skipped`); return undefined; }
  paths.add(path);
  const entry: Record<string, unknown> = { name, path };
  if (api.type !== undefined && CLOUD_TYPES.has(api.type.toLowerCase())) warnings.push(`API "${api.name}": a ${api.type} API is imported as HTTP pass-through`);
  if (api.serviceUrl !== undefined) {
    const url = api.serviceUrl.replace(/\/$/, '');
    let b = byUrl.get(url);
    if (b === undefined) {
      b = backends[name] === undefined ? name : `${name}-api`;
      backends[b] = { url: api.serviceUrl };
      byUrl.set(url, b);
    }
    entry.backend = b;
  }
  if (api.policy !== undefined) { const f = `policies/apis/${name}.xml`; files.set(f, api.policy); entry['policy-xml'] = f; }
  if (api.specFormat !== undefined && api.operations.length === 0 && !/\.(ya?ml|json)$/.test(api.specFormat)) {
    warnings.push(`API "${api.name}": ${api.specFormat} is not OpenAPI: no operations imported (every path under ${path} is forwarded)`);
  }
  const ops = api.operations.map((o) => {
    const op: Record<string, unknown> = { id: o.id, method: o.method, path: o.path };
    const text = api.operationPolicies.get(o.id);
    if (text !== undefined) { const f = `policies/apis/${name}/${safe(o.id)}.xml`; files.set(f, text); op['policy-xml'] = f; }
    return op;
  });
  for (const id of api.operationPolicies.keys()) {
    if (!api.operations.some((o) => o.id === id)) warnings.push(`API "${api.name}": operation "${id}" has a policy but is not in the specification: not converted`);
  }
  if (ops.length) entry.operations = ops;
  const sub: Record<string, unknown> = {};
  if (api.subscriptionRequired !== undefined) sub.required = api.subscriptionRequired;
  if (api.keyHeader !== undefined && api.keyHeader.toLowerCase() !== 'ocp-apim-subscription-key') sub.header = api.keyHeader;
  if (api.keyQuery !== undefined && api.keyQuery !== 'subscription-key') sub.query = api.keyQuery;
  if (Object.keys(sub).length) entry.subscription = sub;
  return entry;
}

/** Load every written document as `apim check` does; lines for the ones that fail. */
async function checkWritten(outDir: string, p: Plan, written: Written[]): Promise<string[]> {
  const apim = (p.config.apim ?? {}) as { 'named-values'?: Record<string, string>; fragments?: string };
  const namedValues = apim['named-values'] ?? {};
  const problems: string[] = [];
  let fragments;
  try {
    fragments = loadFragments(apim.fragments === undefined ? undefined : join(outDir, apim.fragments), namedValues);
  } catch (e) {
    if (!(e instanceof ApimLoadError)) throw e;
    return [e.message];
  }
  const env = {
    namedValues, fragments, deploymentModel: deploymentModel(undefined), logger: pino({ level: 'silent' }),
    loggers: new Set(Object.keys(((p.config.apim as { loggers?: object } | undefined)?.loggers) ?? {})),
    backendIds: new Set(Object.keys(p.config.backends as object)),
  };
  for (const w of written) {
    if (!w.file.endsWith('.xml') || w.file.startsWith('fragments/')) continue;
    const r = await checkDocument(join(outDir, w.file), env);
    if (!r.ok) problems.push(`${w.file}:${r.error!.line}:${r.error!.column}: error ${r.error!.code}: ${r.error!.message} (${w.what})`);
  }
  return problems;
}

export async function apimImportCommand(args: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const o = parseOptions(args);
  const outFile = resolve(o.out);
  let svc: ExportedService;
  try {
    svc = readExport(resolve(o.dir));
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    err.write(`gatehouse: ${e.message}\n`);
    return 1;
  }
  const p = plan(svc);
  const outDir = dirname(outFile);
  const taken = [outFile, ...[...p.files.keys()].map((f) => join(outDir, f))].filter((f) => existsSync(f));
  if (taken.length && !o.force) {
    err.write(`gatehouse: ${relative(process.cwd(), taken[0]!) || taken[0]} exists${taken.length > 1 ? ` (and ${taken.length - 1} more)` : ''}: choose another --out, or --force to overwrite\n`);
    return 1;
  }
  const written: Written[] = [];
  mkdirSync(outDir, { recursive: true });
  for (const [f, text] of p.files) {
    const file = join(outDir, f);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push({ file: f, what: f.startsWith('policies/') ? f.slice('policies/'.length, -'.xml'.length) : f });
  }
  const header = `# imported by \`gatehouse apim import\` from ${relative(outDir, resolve(o.dir)) || '.'}\n# review the listener, TLS and the subscriptions database before use; see docs/apim-policies.md\n`;
  writeFileSync(outFile, header + stringify(p.config, { lineWidth: 0 }));
  const c = p.counts;
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  out.write(`${o.out}: ${n(c.apis, 'API')} (${n(c.operations, 'operation')}), ${n(c.products, 'product')}, ${n(Object.keys(p.config.backends as object).length, 'backend')}, `
    + `${n(c.namedValues, 'named value')} (${c.secrets} from the environment), ${n(c.fragments, 'fragment')}, ${n(written.filter((w) => w.file.startsWith('policies/')).length, 'policy document')}\n`);
  for (const w of p.warnings) out.write(`warning: ${w}\n`);
  const problems = await checkWritten(outDir, p, written);
  for (const line of problems) out.write(`${line}\n`);
  if (problems.length) out.write(`${problems.length} policy document${problems.length === 1 ? '' : 's'} do not load: fix ${problems.length === 1 ? 'it' : 'them'} before \`gatehouse start\`\n`);
  return problems.length ? 1 : 0;
}
