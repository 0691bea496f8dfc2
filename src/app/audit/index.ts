import { parseArgs } from 'node:util';
import { loadConfigFile, type LoadedGatehouseConfig } from '../config.js';
import { pino } from 'pino';
import { applyPolicyXml } from '../../gateway/apim/scope.js';
import { ConfigInvalid, formatIssue } from '../../config/errors.js';
import { audit, RULES, type Severity } from './rules.js';

/**
 * `gatehouse audit --config F [--format text|json] [--fail-on high|medium|low]`: the findings of
 * every rule (rules.ts, docs/audit.md), each located as file:line:column. Exit 1 when a finding is
 * at least as severe as --fail-on (high by default) or the config is invalid, else 0.
 */

export class AuditUsage extends Error {}

const RANK: Record<Severity, number> = { high: 3, medium: 2, low: 1 };

export interface LocatedFinding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
  fix: string;
}

/** Audit a loaded config: the findings, located in its file. */
/**
 * The config with `policy-xml` scopes read into their policy sections, so that the rules see
 * what an XML document does (validate-jwt in it authenticates). A document that does not load is
 * `gatehouse validate`'s business: its scope is then audited as if it had no policies.
 */
function withPolicyXml(loaded: LoadedGatehouseConfig): LoadedGatehouseConfig['config'] {
  const c = loaded.config;
  const xml = c['policy-xml'] !== undefined || (c.products ?? []).some((p) => p['policy-xml'] !== undefined)
    || c.apis.some((a) => a['policy-xml'] !== undefined || (a.operations ?? []).some((o) => o['policy-xml'] !== undefined));
  if (!xml) return c;
  const copy = structuredClone(c);
  applyPolicyXml(copy, loaded.dir, pino({ level: 'silent' }), () => {});
  return copy;
}

export function auditLoaded(loaded: LoadedGatehouseConfig): LocatedFinding[] {
  const fixes = new Map(RULES.map((r) => [r.id, r.fix]));
  return audit(withPolicyXml(loaded)).map((f) => {
    const at = loaded.locate(f.path, f.message);
    return { rule: f.rule, severity: f.severity, file: at.file, line: at.line, column: at.column, path: at.path, message: f.message, fix: fixes.get(f.rule)! };
  }).sort((a, b) => RANK[b.severity] - RANK[a.severity] || a.line - b.line || a.column - b.column);
}

export async function auditCommand(file: string, args: string[], stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let opts;
  try {
    opts = parseArgs({ args, options: { format: { type: 'string', default: 'text' }, 'fail-on': { type: 'string', default: 'high' } }, strict: true }).values;
  } catch (e) {
    throw new AuditUsage((e as Error).message);
  }
  if (opts.format !== 'text' && opts.format !== 'json') throw new AuditUsage(`--format is text or json, not ${opts.format}`);
  const failOn = opts['fail-on'] as Severity;
  if (!(failOn in RANK)) throw new AuditUsage(`--fail-on is high, medium or low, not ${failOn}`);
  let loaded: LoadedGatehouseConfig;
  try {
    loaded = loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigInvalid)) throw err;
    stderr.write(`${err.issues.map(formatIssue).join('\n')}\n${err.issues.length} error${err.issues.length === 1 ? '' : 's'}: fix the config before auditing it\n`);
    return 1;
  }
  const findings = auditLoaded(loaded);
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const summary = { high: count('high'), medium: count('medium'), low: count('low') };
  if (opts.format === 'json') {
    stdout.write(JSON.stringify({ file: loaded.file, findings, summary }, null, 2) + '\n');
  } else {
    for (const f of findings) stdout.write(`${f.file}:${f.line}:${f.column}: ${f.severity} ${f.rule}: ${f.path}: ${f.message}\n  fix: ${f.fix}\n`);
    stdout.write(findings.length === 0
      ? `${loaded.file}: no findings\n`
      : `${loaded.file}: ${summary.high} high, ${summary.medium} medium, ${summary.low} low (rules: docs/audit.md)\n`);
  }
  return findings.some((f) => RANK[f.severity] >= RANK[failOn]) ? 1 : 0;
}
