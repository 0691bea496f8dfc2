import type { Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import type { Step } from './runtime.js';

/** Run policy steps in order; synchronous handlers never allocate a promise. */
export function runSteps(steps: Step[], ex: Exchange, from = 0): Reply | undefined | Promise<Reply | undefined> {
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

function ended(step: Step, r: Reply, ex: Exchange): Reply {
  if (ex.rejectedBy === undefined) {
    ex.rejectedBy = step.name;
    ex.rejectCode = r.code ?? r.problem?.code;
  }
  return r;
}
