import { ApimLoadError, LineMap, type ApimErrorCode, type SourcePos } from '../errors.js';

/** Maps an offset in an expression's text to a document position. */
export type Locate = (offset: number) => SourcePos;

/** Positions inside a standalone expression text (file "<expression>"). */
export function locateIn(code: string, file = '<expression>'): Locate {
  const lines = new LineMap(file, code);
  return (o) => lines.pos(o);
}

/** Thrown by the lexer, parser and checker; the caller turns the offset into a position. */
export class CompileError extends Error {
  constructor(readonly code: Extract<ApimErrorCode, 'expression-syntax' | 'unsupported-expression'>, message: string, readonly offset: number) {
    super(message);
  }
  at(locate: Locate): ApimLoadError {
    return new ApimLoadError(this.code, this.message, locate(this.offset));
  }
}

export const syntaxError = (message: string, offset: number): CompileError => new CompileError('expression-syntax', message, offset);
export const unsupported = (message: string, offset: number): CompileError => new CompileError('unsupported-expression', message, offset);
