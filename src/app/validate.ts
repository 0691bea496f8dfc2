import pino from 'pino';
import { loadConfigFile, type LoadedGatehouseConfig } from './config.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { Metrics } from '../observability/metrics.js';
import { compileEdge } from '../edge/compile.js';
import { SECTIONS } from '../gateway/policy.js';
import { createPortal } from './portal/index.js';
import { createConsole } from './console/index.js';

/** `gatehouse validate`: every error (exit 1), or a summary of what the config publishes (exit 0). */
export async function validate(file: string): Promise<number> {
  let loaded: LoadedGatehouseConfig;
  try {
    loaded = loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigInvalid) {
      process.stderr.write(`${err.issues.map(formatIssue).join('\n')}\n${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`);
      return 1;
    }
    throw err;
  }
  const logger = pino({ level: 'silent' });
  let rt;
  try {
    rt = await compileEdge(loaded, { logger, metrics: new Metrics({ defaultMetrics: false }) });
    // the portal and the console refuse what they cannot run with, as `start` would
    await createPortal(loaded, logger)?.close();
    createConsole(loaded);
  } catch (err) {
    if (err instanceof ConfigInvalid) {
      process.stderr.write(`${err.issues.map(formatIssue).join('\n')}\n${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`);
      return 1;
    }
    throw err;
  }
  await rt.close();
  const cfg = loaded.config;
  const out: string[] = [`${loaded.file}: OK`];
  const names = (list: typeof cfg.policies) =>
    SECTIONS.map((s) => {
      const l = (list?.[s] ?? []).map((e) => (e.kind === 'policy' ? e.name : e.kind === 'xml' ? 'policy-xml' : e.kind === 'base' ? 'base' : 'base:skip'));
      return l.length ? `${s}: ${l.join(', ')}` : '';
    }).filter(Boolean).join('; ');
  if (cfg.gateway) {
    const http = cfg.gateway.listen.http;
    const host = cfg.gateway.listen.host;
    const httpBind = http === undefined ? '-' : typeof http === 'number' ? `${host}:${http}` : `${http.host ?? host}:${http.port}`;
    const httpsList = cfg.gateway.listen.https === undefined ? [] : Array.isArray(cfg.gateway.listen.https) ? cfg.gateway.listen.https : [cfg.gateway.listen.https];
    const https = httpsList.map((l) => `${l.host ?? host}:${l.port}`).join(', ');
    const admin = cfg.gateway.admin ? (typeof cfg.gateway.admin.listen === 'number' ? `127.0.0.1:${cfg.gateway.admin.listen}` : `${cfg.gateway.admin.listen.host ?? '127.0.0.1'}:${cfg.gateway.admin.listen.port}`) : '-';
    out.push(`gateway: http ${httpBind}${https ? `, https ${https}` : ''}, admin ${admin}, store ${cfg.gateway.store}, workers ${cfg.gateway.workers}`);
  }
  if (names(cfg.policies)) out.push(`global policies: ${names(cfg.policies)}`);
  for (const api of rt.apis) {
    const c = api.config;
    out.push(`api ${c.name}: ${c.hosts?.length ? c.hosts.join(',') + ' ' : ''}${c.path} -> ${c.backend ?? '(no backend)'}${c.openapi ? ` (openapi ${c.openapi})` : ''}`);
    if (names(c.policies)) out.push(`  policies: ${names(c.policies)}`);
    const ops = (c.operations ?? []);
    const opCount = api.operations ? api.operations.size : 0;
    if (opCount) out.push(`  operations: ${opCount}${c.openapi ? ' (from the OpenAPI document and the list)' : ''}`);
    for (const o of ops) if (names(o.policies)) out.push(`  operation ${o.id}: ${names(o.policies)}`);
  }
  for (const [name, b] of Object.entries(cfg.backends)) {
    if (b.tls?.['insecure-skip-verify']) out.push(`WARNING: backend ${name} has tls.insecure-skip-verify: its certificate is not verified`);
  }
  const portal = cfg.portal?.enabled === false ? undefined : cfg.portal;
  if (portal) out.push(`portal: ${portal.path}${portal.listen ? `, listens on ${portal.listen.host}:${portal.listen.http} (publish it through an API)` : ' on the public listeners'}`);
  if (cfg.console && cfg.console.enabled) out.push(`console: ${cfg.console.path} on the admin listener`);
  if (cfg.identity) out.push(`identity: issuer ${cfg.identity.issuer}, listens on ${cfg.identity.listen.host ?? '127.0.0.1'}:${cfg.identity.listen.http}`);
  if (!cfg.gateway && !cfg.identity && cfg.apis.length === 0 && Object.keys(cfg.backends).length === 0) {
    process.stderr.write(`${loaded.file}: the config is empty: it has no \`gateway\`, \`identity\`, \`apis\` or \`backends\` (see examples/quickstart/gatehouse.yaml)\n`);
    return 1;
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
