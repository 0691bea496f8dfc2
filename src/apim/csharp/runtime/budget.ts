import { EvaluationLimitExceeded } from './exceptions.js';

/**
 * The bound of one evaluation. Loops and calls cost steps; strings, arrays and collections the
 * runtime builds cost their size. Evaluation is synchronous, so the current budget is module
 * state (`budget`), set by the engine around each evaluation.
 */
export interface EvaluationLimits {
  /** Loop iterations, calls of lambdas and local functions, and per-element work of library calls. */
  maxSteps: number;
  /** Characters of strings and elements of arrays and collections built during one evaluation. */
  maxAllocation: number;
  /** Nesting of lambda and local-function calls. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: EvaluationLimits = { maxSteps: 1_000_000, maxAllocation: 16 * 1024 * 1024, maxDepth: 200 };

/** The current evaluation's remaining budget (evaluation is synchronous). */
export const budget = { steps: DEFAULT_LIMITS.maxSteps, alloc: DEFAULT_LIMITS.maxAllocation, depth: DEFAULT_LIMITS.maxDepth };

export function tick(): void {
  if (--budget.steps < 0) throw new EvaluationLimitExceeded('steps', 'the expression ran out of its step budget (an endless loop?)');
}

export function ticks(n: number): void {
  budget.steps -= n;
  if (budget.steps < 0) throw new EvaluationLimitExceeded('steps', 'the expression ran out of its step budget');
}

export function charge(n: number): void {
  budget.alloc -= n;
  if (budget.alloc < 0) throw new EvaluationLimitExceeded('allocation', 'the expression allocated more than its budget allows');
}

/** A string the runtime built: charged by its length. */
export function str(s: string): string {
  budget.alloc -= s.length;
  if (budget.alloc < 0) throw new EvaluationLimitExceeded('allocation', 'the expression allocated more than its budget allows');
  return s;
}

export function enter(): void {
  if (--budget.depth < 0) throw new EvaluationLimitExceeded('depth', 'the expression nested calls too deeply');
}

export function leave(): void {
  budget.depth++;
}
