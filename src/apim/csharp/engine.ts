import './stdlib/index.js';
import { checkExpression } from './checker.js';
import { compileRoot } from './compile-stmt.js';
import { ApimLoadError } from '../errors.js';
import { CompileError, locateIn, type Locate } from './diagnostics.js';
import type { Frame } from './frame.js';
import type { ApimContext } from './model.js';
import { budget, DEFAULT_LIMITS, type EvaluationLimits } from './runtime/budget.js';
import { asCsException, CsException, EvaluationLimitExceeded } from './runtime/exceptions.js';
import { parseType } from './signatures.js';
import { typeName, type Type } from './types.js';

/**
 * Compiles a policy expression at load — lexer, parser, checker against the whitelisted object
 * model, closures — and evaluates it per request within a step and allocation budget.
 *
 *   const e = compileExpression('context.Request.Headers.GetValueOrDefault("Authorization", "")', { block: false });
 *   e.evaluate(context); // → "Bearer …"
 *
 * Load errors are ApimLoadError (`expression-syntax`, `unsupported-expression`) with the position;
 * run-time failures are ExpressionEvaluationError, which the gateway maps to `context.LastError`
 * with reason `ExpressionValueEvaluationFailure`.
 */
export interface CompileOptions {
  /** `@{…}` (statements) rather than `@(…)` (one expression). */
  block: boolean;
  /** The C# type the value must convert to, e.g. `string`, `bool`, `int` (default: its own type). */
  expected?: string;
  /** Maps offsets in the code to document positions (default: line and column in the code). */
  locate?: Locate;
}

export interface CompiledExpression {
  /** The C# type of the value. */
  readonly type: string;
  evaluate(context: ApimContext, limits?: EvaluationLimits): unknown;
}

export class ExpressionEvaluationError extends Error {
  override readonly name = 'ExpressionEvaluationError';
  readonly reason = 'ExpressionValueEvaluationFailure';
  constructor(
    message: string,
    /** The .NET exception type (`NullReferenceException`, …), or `EvaluationLimitExceeded`. */
    readonly exceptionType: string,
    /** Which bound was reached, for budget failures. */
    readonly limit?: 'steps' | 'allocation' | 'depth',
  ) {
    super(message);
  }
}

export function compileExpression(code: string, options: CompileOptions): CompiledExpression {
  const locate = options.locate ?? locateIn(code);
  let checked;
  try {
    const expected: Type | undefined = options.expected ? parseType(options.expected) : undefined;
    checked = checkExpression(code, options.block, expected);
  } catch (e) {
    if (e instanceof CompileError) throw e.at(locate);
    // a defect of the checker must not take the loader down: report it at the expression
    throw new ApimLoadError('unsupported-expression', `the expression could not be checked (${e instanceof Error ? e.message : String(e)})`, locate(0));
  }
  const { size, run } = compileRoot(checked.fn);
  return {
    type: typeName(checked.type),
    evaluate(context: ApimContext, limits: EvaluationLimits = DEFAULT_LIMITS): unknown {
      // evaluations may nest (a library call evaluating another expression): save and restore
      const { steps, alloc, depth } = budget;
      budget.steps = limits.maxSteps;
      budget.alloc = limits.maxAllocation;
      budget.depth = limits.maxDepth;
      const f: Frame = { l: size ? new Array(size) : NO_SLOTS, p: null, c: context, r: undefined };
      try {
        const v = run(f);
        return v === undefined ? null : v;
      } catch (e) {
        throw evaluationError(e);
      } finally {
        budget.steps = steps;
        budget.alloc = alloc;
        budget.depth = depth;
      }
    },
  };
}

const NO_SLOTS: unknown[] = [];

function evaluationError(e: unknown): ExpressionEvaluationError {
  if (e instanceof EvaluationLimitExceeded) return new ExpressionEvaluationError(e.message, 'EvaluationLimitExceeded', e.limit);
  try {
    const ex = e instanceof CsException ? e : asCsException(e);
    return new ExpressionEvaluationError(ex.message, ex.type);
  } catch (limit) {
    if (limit instanceof EvaluationLimitExceeded) return new ExpressionEvaluationError(limit.message, 'EvaluationLimitExceeded', limit.limit);
    return new ExpressionEvaluationError('the expression failed', 'Exception');
  }
}
