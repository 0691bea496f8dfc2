import { didYouMean } from '../../config/messages.js';
import { POLICY_BY_NAME } from '../policies/index.js';
import { runsBeforeOperation, SECTIONS } from '../policy.js';
import type { ApiConfig, PolicySections } from '../schema.js';
import type { OpenApiOperation } from './openapi.js';
import type { Fail } from './scopes.js';

/** An operation of an API: from its OpenAPI document, from its `operations` list, or both. */
export interface OperationSpec {
  method: string;
  template: string;
  openapi?: unknown;
  /** the operation's own policy sections (undefined: it runs the API's) */
  sections?: PolicySections;
  /** where it is in the config, for errors */
  path: Array<string | number>;
}

/**
 * The operations of one API: those of its OpenAPI document, then the listed ones, which may add
 * operations or attach policies to OpenAPI ones (matched by id; method and path must then agree).
 */
export function collectOperations(apiCfg: ApiConfig, apiPath: Array<string | number>, fromDocument: readonly OpenApiOperation[], fail: Fail): Map<string, OperationSpec> {
  const ops = new Map<string, OperationSpec>();
  for (const o of fromDocument) ops.set(o.id, { method: o.method, template: o.template, openapi: o, path: [...apiPath, 'openapi'] });
  for (const [j, o] of (apiCfg.operations ?? []).entries()) {
    const opPath = [...apiPath, 'operations', j];
    const existing = ops.get(o.id);
    if (existing && existing.sections) fail([...opPath, 'id'], `operation "${o.id}" is listed twice`);
    if (existing) {
      if ((o.method && o.method.toUpperCase() !== existing.method) || (o.path && o.path !== existing.template)) {
        fail(opPath, `operation "${o.id}" comes from the OpenAPI document as ${existing.method} ${existing.template}; leave method and path out or make them match`);
      }
      existing.sections = o.policies ?? {};
      existing.path = opPath;
    } else if (!o.method || !o.path) {
      const near = apiCfg.openapi ? didYouMean(o.id, fromDocument.map((d) => d.id)) : undefined;
      fail(opPath, `operation "${o.id}" needs method and path${apiCfg.openapi ? ` (no OpenAPI operation has this id${near ? `; did you mean "${near}"?` : ''})` : ''}`);
    } else {
      ops.set(o.id, { method: o.method.toUpperCase(), template: o.path, sections: o.policies ?? {}, path: opPath });
    }
  }
  // a policy of the before-operation phase (cors) applies to the whole API
  for (const o of apiCfg.operations ?? []) for (const s of SECTIONS) for (const e of o.policies?.[s] ?? []) {
    if (e.kind === 'policy' && runsBeforeOperation(POLICY_BY_NAME.get(e.name)!)) {
      fail([...apiPath, 'operations'], `${e.name} applies to the whole API: put it in the API's or the global policies`);
    }
  }
  return ops;
}
