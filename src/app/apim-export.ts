import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Reading an exported API-management folder in the layout of the APIOps extractor:
 *
 *   policy.xml                                  the global (service) policy
 *   apis/NAME/apiInformation.json               { name?, properties: { displayName, path, serviceUrl, isCurrent, type, subscriptionRequired, subscriptionKeyParameterNames } }
 *   apis/NAME/specification.yaml|json           OpenAPI (or Swagger 2.0): the operations (method, path, operationId)
 *   apis/NAME/policy.xml                        the API's policy
 *   apis/NAME/operations/OP/policy.xml          an operation's policy (OP is its operationId)
 *   products/NAME/productInformation.json       { name?, properties: { displayName, description, subscriptionRequired, approvalRequired } }
 *   products/NAME/apis.json                     [{ name }]
 *   products/NAME/policy.xml
 *   named values/NAME/namedValueInformation.json  { name, properties: { displayName, value, secret, keyVault } } (also namedValues/)
 *   backends/NAME/backendInformation.json       { name, properties: { url, credentials, tls, type, pool } }
 *   policy fragments/NAME/policyFragmentInformation.json + policy.xml   (also policyFragments/)
 *   loggers/NAME/loggerInformation.json
 *   version sets/NAME/versionSetInformation.json  { properties: { versioningScheme: Segment|Header|Query, versionHeaderName, versionQueryName } }
 *
 * Nothing here writes; the command (apim-import.ts) decides what becomes of each resource.
 */

export class ExportError extends Error {}

export interface ExportedOperation { id: string; method: string; path: string }
export interface ExportedApi {
  dir: string; name: string; displayName: string; path: string; serviceUrl?: string; type?: string;
  current: boolean; subscriptionRequired?: boolean; version?: string; versionSet?: string; keyHeader?: string; keyQuery?: string;
  operations: ExportedOperation[]; specFormat?: string; policy?: string; operationPolicies: Map<string, string>;
}
export interface ExportedProduct { dir: string; name: string; displayName: string; description?: string; subscriptionRequired: boolean; approvalRequired: boolean; apis: string[]; policy?: string }
export interface ExportedNamedValue { name: string; displayName: string; value?: string; secret: boolean; keyVault?: string }
export interface PoolMember { backend: string; priority?: number; weight?: number }
export interface ExportedBackend { name: string; url?: string; credentials: boolean; skipTlsVerify: boolean; pool?: PoolMember[]; protocol?: string }
export interface ExportedFragment { name: string; policy: string }

export interface ExportedService {
  root: string;
  globalPolicy?: string;
  apis: ExportedApi[];
  products: ExportedProduct[];
  namedValues: ExportedNamedValue[];
  backends: ExportedBackend[];
  fragments: ExportedFragment[];
  loggers: string[];
  /** version sets by name: how the version is chosen */
  versionSets: Map<string, string>;
  /** top-level folders the import does not convert */
  unsupported: string[];
}

const KNOWN = new Set(['apis', 'products', 'named values', 'namedvalues', 'backends', 'policy fragments', 'policyfragments', 'loggers', 'version sets']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  let v: unknown;
  try { v = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new ExportError(`${file}: not JSON (${(e as Error).message})`); }
  if (v === null || typeof v !== 'object') throw new ExportError(`${file}: expected a JSON object or array`);
  return v as Json;
}

const props = (j: Json): Json => (j.properties !== null && typeof j.properties === 'object' ? j.properties as Json : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function subdirs(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory()).sort();
}

function optionalText(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** The first of the folder's names that exists (`named values` or `namedValues`). */
function folder(root: string, ...names: string[]): string {
  for (const n of names) if (existsSync(join(root, n))) return join(root, n);
  return join(root, names[0]!);
}

/** Operations of an OpenAPI 3 or Swagger 2.0 document: method, path, operationId. */
export function operationsOf(spec: unknown): ExportedOperation[] {
  const paths = (spec as { paths?: Record<string, Record<string, { operationId?: string }>> } | null)?.paths;
  if (paths === undefined || paths === null || typeof paths !== 'object') return [];
  const ops: ExportedOperation[] = [];
  for (const [p, item] of Object.entries(paths)) {
    if (item === null || typeof item !== 'object') continue;
    const path = p.split('?')[0]!;
    for (const m of METHODS) {
      const op = item[m];
      if (op === undefined) continue;
      ops.push({ id: str(op?.operationId) ?? `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path });
    }
  }
  return ops;
}

function readApi(dir: string, base: string): ExportedApi {
  const infoFile = join(dir, 'apiInformation.json');
  const info = existsSync(infoFile) ? readJson(infoFile) : {};
  const p = props(info);
  const api: ExportedApi = {
    dir: base, name: str(info.name) ?? base, displayName: str(p.displayName) ?? base, path: typeof p.path === 'string' ? p.path : base,
    serviceUrl: str(p.serviceUrl), type: str(p.type) ?? str(p.apiType), current: p.isCurrent !== false && !base.includes(';rev='),
    operations: [], policy: optionalText(join(dir, 'policy.xml')), operationPolicies: new Map(),
  };
  if (typeof p.subscriptionRequired === 'boolean') api.subscriptionRequired = p.subscriptionRequired;
  api.version = str(p.apiVersion);
  // "/apiVersionSets/NAME" or a full resource id: the set's name is the last segment
  api.versionSet = str(p.apiVersionSetId)?.split('/').pop();
  const names = p.subscriptionKeyParameterNames as { header?: string; query?: string } | undefined;
  if (str(names?.header)) api.keyHeader = names!.header;
  if (str(names?.query)) api.keyQuery = names!.query;
  for (const f of ['specification.yaml', 'specification.yml', 'specification.json']) {
    const file = join(dir, f);
    if (!existsSync(file)) continue;
    let spec: unknown;
    try { spec = parseYaml(readFileSync(file, 'utf8')); } catch (e) { throw new ExportError(`${file}: not YAML or JSON (${(e as Error).message})`); }
    api.operations = operationsOf(spec);
    api.specFormat = f;
    break;
  }
  if (api.specFormat === undefined) {
    const other = readdirSync(dir).find((f) => f.startsWith('specification.'));
    if (other !== undefined) api.specFormat = other;
  }
  for (const op of subdirs(join(dir, 'operations'))) {
    const text = optionalText(join(dir, 'operations', op, 'policy.xml'));
    if (text !== undefined) api.operationPolicies.set(op, text);
  }
  return api;
}

function readProduct(dir: string, base: string): ExportedProduct {
  const infoFile = join(dir, 'productInformation.json');
  const info = existsSync(infoFile) ? readJson(infoFile) : {};
  const p = props(info);
  const apisFile = join(dir, 'apis.json');
  const list = existsSync(apisFile) ? readJson(apisFile) : [];
  const apis = (Array.isArray(list) ? list : []).map((x: unknown) => str((x as Json | null)?.name)).filter((x): x is string => x !== undefined);
  return {
    dir: base, name: str(info.name) ?? base, displayName: str(p.displayName) ?? base, description: str(p.description),
    subscriptionRequired: p.subscriptionRequired !== false, approvalRequired: p.approvalRequired === true, apis,
    policy: optionalText(join(dir, 'policy.xml')),
  };
}

function readNamedValue(dir: string, base: string): ExportedNamedValue | undefined {
  const file = join(dir, 'namedValueInformation.json');
  if (!existsSync(file)) return undefined;
  const info = readJson(file);
  const p = props(info);
  const kv = p.keyVault as { secretIdentifier?: string } | undefined;
  return {
    name: str(info.name) ?? base, displayName: str(p.displayName) ?? str(info.name) ?? base,
    value: typeof p.value === 'string' ? p.value : undefined, secret: p.secret === true, keyVault: str(kv?.secretIdentifier),
  };
}

function readBackend(dir: string, base: string): ExportedBackend | undefined {
  const file = join(dir, 'backendInformation.json');
  if (!existsSync(file)) return undefined;
  const info = readJson(file);
  const p = props(info);
  const cred = p.credentials as Json | undefined;
  const tls = p.tls as { validateCertificateChain?: boolean; validateCertificateName?: boolean } | undefined;
  return {
    name: str(info.name) ?? base, url: str(p.url), protocol: str(p.protocol),
    credentials: cred !== undefined && cred !== null && Object.values(cred).some((v) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)),
    skipTlsVerify: tls?.validateCertificateChain === false || tls?.validateCertificateName === false,
    pool: poolOf(p),
  };
}

/** A load-balanced pool's members: `pool.services[]` of `{ id: ".../backends/NAME", priority, weight }`. */
function poolOf(p: Json): PoolMember[] | undefined {
  const services = (p.pool as { services?: unknown } | undefined)?.services;
  if (str(p.type)?.toLowerCase() !== 'pool' && !Array.isArray(services)) return undefined;
  return (Array.isArray(services) ? services : []).flatMap((x: unknown) => {
    const m = x as { id?: unknown; priority?: unknown; weight?: unknown } | null;
    const backend = str(m?.id)?.split('/').pop();
    if (backend === undefined) return [];
    const member: PoolMember = { backend };
    if (typeof m!.priority === 'number') member.priority = m!.priority;
    if (typeof m!.weight === 'number') member.weight = m!.weight;
    return [member];
  });
}

/** Read the folder; a folder that is not an export (no known resource) is an ExportError. */
export function readExport(root: string): ExportedService {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ExportError(`${root} is not a folder`);
  const top = readdirSync(root);
  if (top.some((f) => f.endsWith('.json') && /deploymentTemplate|"\$schema"\s*:\s*"[^"]*deploymentTemplate/.test(readFileSync(join(root, f), 'utf8').slice(0, 2000)))) {
    throw new ExportError(`${root} holds an ARM template: only the APIOps extractor layout (apis/, products/, named values/, ...) can be imported`);
  }
  const svc: ExportedService = {
    root, globalPolicy: optionalText(join(root, 'policy.xml')), apis: [], products: [], namedValues: [], backends: [], fragments: [], loggers: [], versionSets: new Map(),
    unsupported: subdirs(root).filter((d) => !KNOWN.has(d.toLowerCase())),
  };
  const apisDir = join(root, 'apis');
  for (const d of subdirs(apisDir)) svc.apis.push(readApi(join(apisDir, d), d));
  const productsDir = join(root, 'products');
  for (const d of subdirs(productsDir)) svc.products.push(readProduct(join(productsDir, d), d));
  const nvDir = folder(root, 'named values', 'namedValues');
  for (const d of subdirs(nvDir)) { const nv = readNamedValue(join(nvDir, d), d); if (nv) svc.namedValues.push(nv); }
  const beDir = join(root, 'backends');
  for (const d of subdirs(beDir)) { const b = readBackend(join(beDir, d), d); if (b) svc.backends.push(b); }
  const fDir = folder(root, 'policy fragments', 'policyFragments');
  for (const d of subdirs(fDir)) {
    const policy = optionalText(join(fDir, d, 'policy.xml'));
    const infoFile = join(fDir, d, 'policyFragmentInformation.json');
    const name = existsSync(infoFile) ? str(readJson(infoFile).name) ?? d : d;
    if (policy !== undefined) svc.fragments.push({ name, policy });
  }
  svc.loggers = subdirs(join(root, 'loggers'));
  const vsDir = join(root, 'version sets');
  for (const d of subdirs(vsDir)) {
    const file = join(vsDir, d, 'versionSetInformation.json');
    const info = existsSync(file) ? readJson(file) : {};
    svc.versionSets.set(str(info.name) ?? d, str(props(info).versioningScheme) ?? 'Segment');
  }
  if (svc.globalPolicy === undefined && svc.apis.length === 0 && svc.products.length === 0 && svc.fragments.length === 0) {
    throw new ExportError(`${root} is not an API-management export: it has no policy.xml, apis/, products/ or policy fragments/`);
  }
  return svc;
}
