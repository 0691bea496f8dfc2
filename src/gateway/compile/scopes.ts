import { SECTIONS, type Section } from '../policy.js';
import type { PolicyEntry, PolicySections } from '../schema.js';
import type { XmlBlock } from '../apim/scope.js';

/**
 * Scopes and `base`: a section of an inner scope (API, operation) lists its policies and marks
 * with `- base` where the outer scope's run. Leaving `base` out while the outer scope has policies
 * there would silently drop them (a global ip-filter, say), so it must be said: `- base: skip`.
 */

/** A policy list entry located in the config, before compilation. */
export interface Ref { name: string; config: unknown; path: Array<string | number>; /** policies of an XML document (policy-xml) */ xml?: XmlBlock }

export type Refs = Record<Section, Ref[]>;

/** Reports a located config problem. */
export type Fail = (path: ReadonlyArray<string | number>, message: string) => void;

export const NO_REFS: Readonly<Refs> = Object.freeze({ inbound: [], backend: [], outbound: [], 'on-error': [] });

/** Expand `base` in `inner` with `outer` (already expanded); enforce the explicit opt-out. */
export function expandSection(inner: PolicyEntry[] | undefined, innerPath: Array<string | number>, outer: Ref[], fail: Fail): Ref[] {
  if (inner === undefined) return outer;
  const out: Ref[] = [];
  let sawBase = false;
  inner.forEach((e, i) => {
    if (e.kind === 'base') { sawBase = true; out.push(...outer); } else if (e.kind === 'skip-base') sawBase = true;
    else if (e.kind === 'xml') out.push({ name: 'policy-xml', config: undefined, path: [...innerPath, i], xml: e.block });
    else out.push({ name: e.name, config: e.config, path: [...innerPath, i, e.name] });
  });
  if (!sawBase && outer.length > 0) {
    fail(innerPath, `this section omits \`base\`, so the outer scope's policies (${outer.map((r) => r.name).join(', ')}) would not run here; add \`- base\` where they should run, or \`- base: skip\` to leave them out on purpose`);
  }
  return out;
}

/** Every section of a scope, expanded against the outer scope's. */
export function expandScope(sections: PolicySections | undefined, path: Array<string | number>, outer: Readonly<Refs>, fail: Fail): Refs {
  const r = {} as Refs;
  for (const s of SECTIONS) r[s] = expandSection(sections?.[s], [...path, s], outer[s], fail);
  return r;
}

/** The global scope: it has no outer scope, so `base` there is a mistake. */
export function globalScope(sections: PolicySections | undefined, fail: Fail): Refs {
  for (const s of SECTIONS) for (const e of sections?.[s] ?? []) if (e.kind === 'base' || e.kind === 'skip-base') fail(['policies', s], '`base` has no outer scope at the global level');
  return expandScope(sections, ['policies'], NO_REFS, fail);
}
