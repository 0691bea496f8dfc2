import assert from 'node:assert/strict';
import { ApimLoadError, compileExpression, ExpressionEvaluationError, memoryContext, type MemoryContextInit } from '../../src/apim/index.js';
import type { EvaluationLimits } from '../../src/apim/index.js';

/** Evaluates `@(code)` against an in-memory context. */
export function ev(code: string, init: MemoryContextInit = {}, limits?: EvaluationLimits): unknown {
  return compileExpression(code, { block: false }).evaluate(memoryContext(init), limits);
}

/** Evaluates `@{code}`. */
export function block(code: string, init: MemoryContextInit = {}, limits?: EvaluationLimits): unknown {
  return compileExpression(code, { block: true }).evaluate(memoryContext(init), limits);
}

/** The value as C# would print it in a test message. */
export function typeOf(code: string, isBlock = false): string {
  return compileExpression(code, { block: isBlock }).type;
}

/** Asserts a load error with its code and (optionally) its 1-based line:column in the code. */
export function loadError(code: string, errorCode: string, where?: string, isBlock = false, message?: RegExp): ApimLoadError {
  let err: unknown;
  try {
    compileExpression(code, { block: isBlock });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApimLoadError, `expected a load error for: ${code}`);
  assert.equal(err.code, errorCode, err.message);
  if (where) assert.equal(`${err.pos.line}:${err.pos.column}`, where, err.message);
  if (message) assert.match(err.message, message);
  return err;
}

/** Asserts a run-time failure of the given .NET exception type. */
export function runtimeError(f: () => unknown, exceptionType: string, message?: RegExp): ExpressionEvaluationError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ExpressionEvaluationError, `expected a run-time failure, got ${String(err)}`);
  assert.equal(err.exceptionType, exceptionType, err.message);
  assert.equal(err.reason, 'ExpressionValueEvaluationFailure');
  if (message) assert.match(err.message, message);
  return err;
}
