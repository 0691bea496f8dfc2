import { ConfigError, formatPath } from '../../config/errors.js';
import { POLICY_BY_NAME } from '../policies/index.js';
import { provides, runsBeforeOperation, SECTIONS, type PolicyContext, type Section } from '../policy.js';
import type { OperationInfo } from '../exchange.js';
import type { CompiledApi, Pipeline, Step } from '../runtime.js';
import type { PolicyPlace } from './context.js';
import type { Fail, Ref, Refs } from './scopes.js';
import { ApimLoadError } from '../../apim/index.js';
import { compileBlock } from '../apim/block.js';
import '../apim/policies/index.js';
import type { XmlBlock } from '../apim/scope.js';

/**
 * Policy references → steps. Each step's handler is created once per place (a policy shared by
 * several operations through `base` is created per operation, so that a policy that depends on
 * the operation sees it); what a policy may share across places it shares through `ctx.shared`.
 */

export type OperationPlace = OperationInfo & { openapi?: unknown };

export class PipelineCompiler {
  private readonly compiled = new Map<string, Step>();

  constructor(
    private readonly contextFor: (place: PolicyPlace) => PolicyContext,
    private readonly docs: ReadonlyMap<string, { document: unknown }>,
    private readonly fail: Fail,
  ) {}

  async step(ref: Ref, section: Section, claimsAvailable: boolean, api: CompiledApi | undefined, op: OperationPlace | undefined): Promise<Step | undefined> {
    const location = formatPath(ref.path);
    const key = `${location}|${claimsAvailable}|${api?.name ?? ''}|${op?.id ?? ''}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    if (ref.xml !== undefined) return this.xmlStep(ref, ref.xml, key, location, section, api, op);
    const def = POLICY_BY_NAME.get(ref.name)!;
    try {
      const handler = await def.create(ref.config as never, this.contextFor({
        location,
        section,
        api: api ? { name: api.name, prefix: api.prefix, openapi: this.docs.get(api.name)?.document } : undefined,
        operation: op ? { id: op.id, method: op.method, template: op.template, openapi: op.openapi } : undefined,
        claimsAvailable,
      }));
      const step = { name: def.name, handler };
      this.compiled.set(key, step);
      return step;
    } catch (err) {
      if (err instanceof ConfigError) this.fail([...ref.path, ...err.path], err.message);
      else this.fail(ref.path, `cannot set up ${def.name}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** A run of XML policies (policy-xml): compiled by gateway/apim; its load errors point into the document. */
  private async xmlStep(ref: Ref, block: XmlBlock, key: string, location: string, section: Section, api: CompiledApi | undefined, op: OperationPlace | undefined): Promise<Step | undefined> {
    const policy = this.contextFor({
      location, section,
      api: api ? { name: api.name, prefix: api.prefix, openapi: this.docs.get(api.name)?.document } : undefined,
      operation: op ? { id: op.id, method: op.method, template: op.template, openapi: op.openapi } : undefined,
      claimsAvailable: true,
    });
    try {
      const handler = await compileBlock(block.elements, { section, scope: block.scope, env: block.env, policy });
      const step = { name: 'policy-xml', handler };
      this.compiled.set(key, step);
      return step;
    } catch (err) {
      if (err instanceof ApimLoadError) this.fail(ref.path, err.message);
      else this.fail(ref.path, `cannot set up the policy document: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The pipeline of one place; policies of the `before-operation` phase are left to `early`. */
  async pipeline(refs: Refs, api: CompiledApi | undefined, op: OperationPlace | undefined): Promise<Pipeline> {
    const p: Pipeline = { inbound: [], backend: [], outbound: [], 'on-error': [] };
    let claims = false;
    for (const s of SECTIONS) {
      for (const ref of refs[s]) {
        if (ref.xml !== undefined) {
          p.apim = true;
          const step = await this.step(ref, s, claims, api, op);
          if (step) p[s].push(step);
          continue;
        }
        const def = POLICY_BY_NAME.get(ref.name)!;
        if (runsBeforeOperation(def)) continue;
        const step = await this.step(ref, s, claims, api, op);
        if (step) p[s].push(step);
        if (s !== 'outbound' && s !== 'on-error' && provides(def, 'claims')) claims = true;
      }
    }
    return p;
  }

  /** The API's `before-operation` policies (cors), from its expanded inbound section. */
  async early(refs: Refs, api: CompiledApi): Promise<Step[]> {
    const out: Step[] = [];
    for (const ref of refs.inbound) {
      if (ref.xml !== undefined) {
        out.push(...await this.earlyXml(ref, ref.xml, api));
        continue;
      }
      if (!runsBeforeOperation(POLICY_BY_NAME.get(ref.name)!)) continue;
      const step = await this.step(ref, 'inbound', false, api, undefined);
      if (step) out.push(step);
    }
    return out;
  }

  /**
   * A `<cors>` at the top of an XML inbound block of the API or global scope also answers
   * preflights before operation matching (as the YAML cors does), so that an API whose operations
   * do not list OPTIONS still answers them; other requests meet it in the pipeline.
   */
  private async earlyXml(ref: Ref, block: XmlBlock, api: CompiledApi): Promise<Step[]> {
    const out: Step[] = [];
    for (const [i, el] of block.elements.entries()) {
      if (el.name !== 'cors') continue;
      const location = `${formatPath(ref.path)}#cors${i}`;
      const step = await this.xmlStep(ref, { ...block, elements: [el] }, `${location}|early|${api.name}`, location, 'inbound', api, undefined);
      if (step === undefined) continue;
      const inner = step.handler;
      out.push({ name: 'cors', handler: (ex) => (ex.req.method === 'OPTIONS' && ex.req.headers['access-control-request-method'] !== undefined ? inner(ex) : undefined) });
    }
    return out;
  }
}
