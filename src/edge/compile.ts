import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/loader.js';
import { ConfigInvalid, type ConfigIssue } from '../config/errors.js';
import { buildRuntime, type RuntimeDeps } from '../gateway/compile/index.js';
import type { Runtime } from '../gateway/runtime.js';
import type { GatewayFile } from '../gateway/schema.js';
import { edgeGatewaySchema, type EdgeSection } from './schema.js';
import { httpsListenerFileErrors } from './tls.js';

/** What the edge reads of a config file. */
export type EdgeFile = GatewayFile<EdgeSection>;

/** the `gateway` section of a file without one (identity only) */
export const EDGE_DEFAULTS: EdgeSection = edgeGatewaySchema.parse({});

/**
 * Compile a config for the edge: the gateway's runtime (APIs, backends, policies) and the
 * listeners' files (certificates, keys, client CAs, CRLs), read and parsed as the listeners will.
 * Every problem is a located config error, all of them at once: `validate`, `start` and a reload
 * refuse the same configs.
 */
export async function compileEdge(loaded: LoadedConfig<EdgeFile>, deps: RuntimeDeps): Promise<Runtime<EdgeSection>> {
  const issues = listenerFileIssues(loaded, deps.logger);
  let rt: Runtime<EdgeSection>;
  try {
    rt = await buildRuntime(loaded, deps, EDGE_DEFAULTS);
  } catch (err) {
    if (err instanceof ConfigInvalid && issues.length) throw new ConfigInvalid(sortIssues([...issues, ...err.issues]));
    throw err;
  }
  if (issues.length) {
    await rt.close({ keepStore: rt.storeRef === deps.store });
    throw new ConfigInvalid(sortIssues(issues));
  }
  return rt;
}

function listenerFileIssues(loaded: LoadedConfig<EdgeFile>, logger: Logger): ConfigIssue[] {
  const https = loaded.config.gateway?.listen.https;
  if (https === undefined) return [];
  const list = Array.isArray(https) ? https.map((l, i) => [l, ['gateway', 'listen', 'https', i]] as const) : [[https, ['gateway', 'listen', 'https']] as const];
  const silent = logger.child({}, { level: 'silent' });
  return list.flatMap(([l, at]) => httpsListenerFileErrors(l, loaded.dir, silent).map((e) => loaded.locate([...at, ...e.path], e.message)));
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}
