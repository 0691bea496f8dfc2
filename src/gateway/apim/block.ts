import type { Readable } from 'node:stream';
import { ApimLoadError, ExpressionEvaluationError, expressionsOf, type SourcePos, type XmlElement } from '../../apim/index.js';
import type { Handler, PolicyContext, Section } from '../policy.js';
import { problem } from '../problems.js';
import type { Reply } from '../reply.js';
import { readLimited } from '../openapi/body.js';
import { ExchangeContext } from './context.js';
import type { ApimEnv } from './env.js';
import { checkElement, moduleFor, type XCompile, type XStep } from './registry.js';

/**
 * Policy elements → one gateway step. Each element is checked (placement, attributes, children)
 * and compiled once; the step runs the compiled policies in order. A failure at run time (an
 * expression that throws, a policy that cannot do its work) becomes `context.LastError` and a
 * 500 that goes through on-error, as in the service.
 */

/** A policy that failed at run time for a reason other than an expression. */
export class PolicyRunError extends Error {
  constructor(readonly reason: string, message: string) { super(message); }
}

interface Item { name: string; pos: SourcePos; run: XStep }

function failed(item: Item, err: unknown, c: ExchangeContext, section: Section, scope: string): Reply {
  let reason: string;
  let message: string;
  if (err instanceof ExpressionEvaluationError) {
    reason = err.reason;
    message = `Expression evaluation failed. ${err.message}`;
  } else if (err instanceof PolicyRunError) {
    reason = err.reason;
    message = err.message;
  } else {
    throw err;
  }
  c.lastError = { Source: item.name, Reason: reason, Message: message, Scope: scope, Section: section, Path: `${section}/${item.name}`, PolicyId: `${item.pos.line}:${item.pos.column}` };
  c.ex.rejectedBy ??= item.name;
  return problem('policy-expression-failed', message);
}

/** Run `items` in order; synchronous policies cost no promise. */
export function sequence(items: readonly Item[], section: Section, scope: string): XStep {
  if (items.length === 0) return () => undefined;
  const runFrom = (i: number, c: ExchangeContext): Reply | undefined | Promise<Reply | undefined> => {
    for (; i < items.length; i++) {
      const item = items[i]!;
      let r;
      try {
        r = item.run(c);
      } catch (err) {
        return failed(item, err, c, section, scope);
      }
      if (r === undefined) continue;
      if (r instanceof Promise) {
        const next = i + 1;
        return r.then((v) => (v === undefined ? runFrom(next, c) : v), (err: unknown) => failed(item, err, c, section, scope));
      }
      return r;
    }
    return undefined;
  };
  return (c) => runFrom(0, c);
}

export interface BlockOptions {
  section: Section;
  scope: string;
  env: ApimEnv;
  policy: PolicyContext;
  including?: readonly string[];
  /** counts expressions (apim check) */
  counted?: (n: number) => void;
  /** counts policies (apim check) */
  policies?: (n: number) => void;
}

/** Compile policy elements into one step. */
export async function compileSteps(elements: readonly XmlElement[], o: BlockOptions): Promise<XStep> {
  const ctx: XCompile = {
    section: o.section, scope: o.scope, env: o.env, policy: o.policy, including: o.including ?? [],
    steps: (els, including, section) => compileSteps(els, {
      ...o,
      ...(including === undefined ? {} : { including: [...(o.including ?? []), including] }),
      ...(section === undefined ? {} : { section }),
    }),
    counted: (n) => o.counted?.(n),
  };
  const items: Item[] = [];
  for (const el of elements) {
    const m = moduleFor(el);
    checkElement(m, el, o.section);
    o.policies?.(1);
    items.push({ name: el.name, pos: el.pos, run: await m.compile(el, ctx) });
  }
  return sequence(items, o.section, o.scope);
}

/** Compile policy elements into a gateway handler (what a pipeline step runs). */
export async function compileBlock(elements: readonly XmlElement[], o: BlockOptions): Promise<Handler> {
  const run = await compileSteps(elements, o);
  const env = o.env;
  const readsBody = elements.some((el) => expressionsOf(el).some((e) => /\bBody\b/.test(e.code)) || usesBody(el));
  if (!readsBody) return (ex) => run(ExchangeContext.of(ex, env));
  const cap = o.policy.gateway.maxBodyBuffer;
  const onRequest = o.section === 'inbound' || o.section === 'backend';
  return async (ex) => {
    const c = ExchangeContext.of(ex, env);
    if (onRequest) {
      const body = ex.requestBody;
      if (body !== null && !Buffer.isBuffer(body)) {
        const read = await readLimited(body, cap, ex.signal);
        if (read.kind !== 'ok') return problem('body-too-large', `A policy reads the request body, which is larger than ${cap} bytes or incomplete.`);
        ex.requestBody = read.body;
      }
    } else if (ex.response !== undefined) {
      const body = ex.response.body;
      if (body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
        const read = await readLimited(body as Readable, cap, ex.signal);
        if (read.kind !== 'ok') return problem('backend-response-incomplete', `A policy reads the response body, which is larger than ${cap} bytes or incomplete.`);
        ex.response.body = read.body;
        delete ex.response.headers['content-length'];
      }
    }
    return run(c);
  };
}

/** Policies that read a body without an expression saying so. */
const BODY_READERS = new Set(['include-fragment', 'find-and-replace', 'retry', 'jsonp', 'json-to-xml', 'xml-to-json']);
function usesBody(el: XmlElement): boolean {
  if (el.name === 'set-body' && el.attributes.some((a) => a.name === 'template' && a.value === 'liquid')) return true;
  return BODY_READERS.has(el.name) || el.children.some((c) => c.kind === 'element' && usesBody(c));
}

/** A compile error as a located load error (rethrows anything else). */
export function asLoadError(err: unknown): ApimLoadError {
  if (err instanceof ApimLoadError) return err;
  throw err;
}
