import { compileExpression, type CompiledExpression } from './csharp/engine.js';
import { readPolicyDocument, type PolicyDocument } from './xml/document.js';
import type { ReadOptions } from './xml/reader.js';
import type { XmlExpression } from './xml/tree.js';

/**
 * Compiles the expressions of policy documents: errors inside an expression point at their
 * line and column in the document.
 */
export function compilePolicyExpression(expr: XmlExpression, expected?: string): CompiledExpression {
  return compileExpression(expr.code, { block: expr.block, expected, locate: expr.codePos });
}

export interface LoadedDocument {
  document: PolicyDocument;
  /** Each expression of the document with its compiled form, in document order. */
  expressions: Array<{ node: XmlExpression; compiled: CompiledExpression }>;
}

/** Reads a document and compiles every expression in it (the load-time half of `apim check`). */
export function loadPolicyDocument(source: string, options: ReadOptions = {}): LoadedDocument {
  const document = readPolicyDocument(source, options);
  const expressions = document.expressions.map((node) => ({ node, compiled: compilePolicyExpression(node) }));
  return { document, expressions };
}
