import { ApimLoadError, attribute, childElements, type SourcePos, type XmlElement } from '../../apim/index.js';
import type { PolicyContext, Section } from '../policy.js';
import type { Reply } from '../reply.js';
import type { ExchangeContext } from './context.js';
import type { ApimEnv } from './env.js';

/**
 * The seam between XML policy documents and the gateway: one module per policy element, with
 * what it accepts (attributes, child elements, sections) and a `compile` that turns the element
 * into a run-time step once, at load. The per-request path runs closures only.
 */

/** A compiled policy: continue (undefined) or answer (a Reply), possibly asynchronously. */
export type XStep = (c: ExchangeContext) => Reply | undefined | Promise<Reply | undefined>;

/** What a module's compile gets. */
export interface XCompile {
  readonly section: Section;
  /** `global`, `product`, `api` or `operation` (context.LastError.Scope) */
  readonly scope: string;
  readonly env: ApimEnv;
  /** the gateway's load-time services (stores, backends, close hooks), as YAML policies get them */
  readonly policy: PolicyContext;
  /** compile nested policies (choose branches, retry, fragments) into one step */
  steps(elements: readonly XmlElement[], including?: string, section?: Section): Promise<XStep>;
  /** fragments being included, to refuse cycles */
  readonly including: readonly string[];
  /** counts expressions compiled (apim check's summary) */
  counted(n: number): void;
}

export interface PolicyModule {
  readonly name: string;
  readonly sections: readonly Section[];
  /** attributes it accepts */
  readonly attributes: readonly string[];
  /** attributes it needs */
  readonly required?: readonly string[];
  /** child elements it accepts: names, `any` (checked by the module), or none */
  readonly children?: readonly string[] | 'any';
  compile(el: XmlElement, ctx: XCompile): XStep | Promise<XStep>;
}

const MODULES = new Map<string, PolicyModule>();

export function registerPolicy(m: PolicyModule): void {
  MODULES.set(m.name, m);
}

export function policyModule(name: string): PolicyModule | undefined {
  return MODULES.get(name);
}

export function policyNames(): string[] {
  return [...MODULES.keys()].sort();
}

/** Policies of the service that need one of its cloud services and have no local equivalent. */
export const CLOUD_ONLY = new Set([
  'authentication-managed-identity', 'validate-azure-ad-token', 'get-authorization-context', 'azure-openai-semantic-cache-lookup',
  'azure-openai-semantic-cache-store', 'llm-semantic-cache-lookup', 'llm-semantic-cache-store', 'llm-content-safety',
  'publish-to-dapr', 'invoke-dapr-binding', 'set-backend-service-dapr', 'cache-lookup-by-graphql', 'publish-to-event-grid',
  'send-service-bus-message', 'authentication-certificate', 'validate-odata-request', 'set-graphql-resolver', 'http-data-source',
]);

/** The load-time checks every element gets: placement, attributes, children. */
export function checkElement(m: PolicyModule, el: XmlElement, section: Section): void {
  if (!m.sections.includes(section)) {
    throw new ApimLoadError('misplaced-policy', `<${el.name}> cannot be used in <${section}>; it belongs in ${m.sections.map((s) => `<${s}>`).join(' or ')}`, el.pos);
  }
  for (const a of el.attributes) {
    if (!m.attributes.includes(a.name)) {
      throw new ApimLoadError('unsupported-attribute', `<${el.name}> has no attribute "${a.name}"${m.attributes.length ? ` (it takes ${m.attributes.join(', ')})` : ''}`, a.pos);
    }
  }
  for (const r of m.required ?? []) {
    if (!attribute(el, r)) throw new ApimLoadError('unsupported-attribute', `<${el.name}> needs the attribute "${r}"`, el.pos);
  }
  if (m.children === 'any') return;
  for (const c of childElements(el)) {
    if (!m.children?.includes(c.name)) {
      throw new ApimLoadError('unsupported-policy', `<${el.name}> has no child element <${c.name}>${m.children?.length ? ` (it takes ${m.children.map((n) => `<${n}>`).join(', ')})` : ''}`, c.pos);
    }
  }
}

/** The module of a policy element, or the load error that says why there is none. */
export function moduleFor(el: XmlElement): PolicyModule {
  const m = MODULES.get(el.name);
  if (m) return m;
  if (CLOUD_ONLY.has(el.name)) throw new ApimLoadError('cloud-only-policy', `<${el.name}> needs a cloud service of API Management that Gatehouse does not have`, el.pos);
  throw new ApimLoadError('unsupported-policy', `<${el.name}> is not a policy Gatehouse runs`, el.pos);
}

export function loadError(code: ApimLoadError['code'], message: string, pos: SourcePos): ApimLoadError {
  return new ApimLoadError(code, message, pos);
}
