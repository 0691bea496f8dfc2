import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigInvalid, formatPath, type ConfigIssue } from './errors.js';
import { describeValue, didYouMean, expectedOf, knownKeys } from './messages.js';

/**
 * Loads a YAML config file: parse keeping positions, substitute `${ENV:NAME}`, validate against
 * the schema it is given, and report every error at once as file:line:column with its path.
 * (The schema of gatehouse.yaml is composed in src/app/schema.ts; this module knows none of it.)
 */

export interface LoadedConfig<T = unknown> {
  config: T;
  file: string;
  /** folder of the config file: relative paths resolve against it */
  dir: string;
  /** locate a config path (for errors found after validation, e.g. while compiling policies) */
  locate(path: ReadonlyArray<string | number>, message: string): ConfigIssue;
}

/** `${ENV:NAME}` or `${ENV:NAME:-default}` */
const ENV_REF = /\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function loadConfigFile<S extends z.ZodType>(file: string, schema: S, env: NodeJS.ProcessEnv = process.env): LoadedConfig<z.output<S>> {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigInvalid([{ file: abs, line: 0, column: 0, path: '', message: code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code})` }]);
  }
  return loadConfigText(text, abs, schema, env);
}

export function loadConfigText<S extends z.ZodType>(text: string, file: string, schema: S, env: NodeJS.ProcessEnv = process.env): LoadedConfig<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  const issues: ConfigIssue[] = [];
  const at = (offset: number | undefined, path: string, message: string): ConfigIssue => {
    const pos = offset === undefined ? { line: 0, col: 0 } : lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, path, message };
  };
  const seen = new Set<number>();
  for (const e of [...doc.errors, ...doc.warnings]) {
    if (seen.has(e.pos[0])) continue;
    seen.add(e.pos[0]);
    const text = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    issues.push(at(e.pos[0], '', `YAML syntax: ${text} (check the indentation and brackets just before this point)`));
  }
  if (issues.length) throw new ConfigInvalid(issues);

  // ${ENV:NAME} in any scalar string; a missing variable is an error at its position.
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'string' || !node.value.includes('${ENV:')) return;
      node.value = node.value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
        const v = env[name] ?? fallback;
        if (v === undefined) {
          issues.push(at(node.range?.[0], pathOf(path, node), `environment variable ${name} is not set`));
          return '';
        }
        return v;
      });
    },
  });

  // schema errors that only repeat a missing variable's consequence are not reported twice
  const envPaths = new Set(issues.map((i) => i.path));

  const locate = (path: ReadonlyArray<string | number>, message: string) => {
    const { node, key } = findNode(doc, path);
    return at((key ?? node)?.range?.[0], formatPath(path), message);
  };

  const raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const i of issueToConfigIssues(issue, locate, schema)) if (!envPaths.has(i.path)) issues.push(i);
    }
  }
  if (issues.length) throw new ConfigInvalid(sortIssues(issues));
  return { config: result.data as z.output<S>, file, dir: dirname(file), locate };
}

function issueToConfigIssues(issue: z.core.$ZodIssue, locate: LoadedConfig['locate'], schema: z.ZodType): ConfigIssue[] {
  const path = issue.path as Array<string | number>;
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, path);
    return issue.keys.map((k) => {
      const near = didYouMean(k, known.filter((x) => !issue.keys.includes(x)));
      return locate([...path, k], `unknown key "${k}"${near ? `; did you mean "${near}"?` : ''}`);
    });
  }
  if (issue.code === 'invalid_type' && input === undefined) {
    return [locate(path, `required (expected ${expectedOf(issue) ?? issue.expected})`)];
  }
  if (issue.code === 'invalid_union') {
    // report the most specific branch error when one branch got further
    const branches = (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors ?? [];
    const deepest = branches.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest && deepest.path.length > 0) return issueToConfigIssues({ ...deepest, path: [...path, ...deepest.path] } as z.core.$ZodIssue, locate, schema);
  }
  const expected = expectedOf(issue);
  if (expected !== undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value')) {
    return [locate(path, `expected ${expected}, found ${describeValue(input)}`)];
  }
  return [locate(path, issue.message)];
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Find the YAML node at `path`, or the deepest existing ancestor (and the key node for a pair). */
function findNode(doc: Document, path: ReadonlyArray<string | number>): { node: Node | undefined; key?: Node } {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node: node as Node, key };
      key = pair.key as Node;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      key = undefined;
      node = node.items[seg];
    } else {
      break;
    }
  }
  // point at the key of the last map entry (same line as its value in block style)
  return { node: node as Node, key };
}

function pathOf(path: readonly unknown[], _node: unknown): string {
  const out: Array<string | number> = [];
  for (let i = 0; i < path.length; i++) {
    const item = path[i];
    const next = path[i + 1];
    if (isPair(item) && isScalar(item.key)) out.push(String(item.key.value));
    else if (isSeq(item) && next !== undefined) out.push(item.items.indexOf(next as never));
  }
  return formatPath(out);
}
