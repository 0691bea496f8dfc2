/**
 * Load errors of API-management policy documents: a stable code, a message a policy author can
 * act on, and the file:line:column it points at (1-based; columns count UTF-16 code units).
 */
export type ApimErrorCode =
  | 'xml-malformed'
  | 'expression-syntax'
  | 'unsupported-expression'
  | 'undefined-named-value'
  | 'mixed-expression'
  | 'unsupported-policy'
  | 'misplaced-policy'
  | 'unsupported-attribute'
  | 'cloud-only-policy'
  | 'unknown-fragment'
  | 'unknown-backend-id';

export interface SourcePos {
  file: string;
  line: number;
  column: number;
  /** Offset in the original document text (before named values were substituted). */
  offset: number;
}

export class ApimLoadError extends Error {
  override readonly name = 'ApimLoadError';
  constructor(
    readonly code: ApimErrorCode,
    readonly detail: string,
    readonly pos: SourcePos,
  ) {
    super(`${pos.file}:${pos.line}:${pos.column}: error ${code}: ${detail}`);
  }
}

/** Maps offsets of a text to line and column; built once per text. */
export class LineMap {
  private readonly starts: number[] = [0];
  constructor(readonly file: string, text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  pos(offset: number): SourcePos {
    const s = this.starts;
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: offset - s[lo]! + 1, offset };
  }
}
