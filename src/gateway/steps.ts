import type { Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import type { Step } from './runtime.js';
import { policyEnded, policyFailed, policyStarted } from './trace.js';

/** Run policy steps in order; synchronous handlers never allocate a promise. */
export function runSteps(steps: Step[], ex: Exchange, from = 0): Reply | undefined | Promise<Reply | undefined> {
  if (ex.span !== undefined) return runTraced(steps, ex, from);
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const r = step.handler(ex);
    if (r === undefined) continue;
    if (r instanceof Promise) {
      return r.then((v) => (v === undefined ? runSteps(steps, ex, i + 1) : ended(step, v, ex)));
    }
    return ended(step, r, ex);
  }
  return undefined;
}

/**
 * The same with a span per policy (tracing on). The handler runs with its span active, so what it
 * awaits (a key fetch, a counter-store call) is traced under it.
 */
function runTraced(steps: Step[], ex: Exchange, from: number): Reply | undefined | Promise<Reply | undefined> {
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const span = policyStarted(ex, step.name);
    let r;
    try {
      r = span.run(() => step.handler(ex));
    } catch (err) {
      policyFailed(span, err);
      throw err;
    }
    if (r === undefined) { policyEnded(span, undefined); continue; }
    if (r instanceof Promise) {
      return r.then(
        (v) => { policyEnded(span, v); return v === undefined ? runTraced(steps, ex, i + 1) : ended(step, v, ex); },
        (err: unknown) => { policyFailed(span, err); throw err; },
      );
    }
    policyEnded(span, r);
    return ended(step, r, ex);
  }
  return undefined;
}

function ended(step: Step, r: Reply, ex: Exchange): Reply {
  if (ex.rejectedBy === undefined) {
    ex.rejectedBy = step.name;
    ex.rejectCode = r.code ?? r.problem?.code;
  }
  return r;
}
