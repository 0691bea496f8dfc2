/**
 * API-management policy documents: the tolerant reader (xml/) and the C# expression engine
 * (csharp/). The gateway builds policies on these; nothing here depends on the gateway.
 */
export { ApimLoadError, type ApimErrorCode, type SourcePos } from './errors.js';
export * from './xml/index.js';
export { compileExpression, ExpressionEvaluationError, type CompileOptions, type CompiledExpression } from './csharp/engine.js';
export { DEFAULT_LIMITS, type EvaluationLimits } from './csharp/runtime/budget.js';
export type * from './csharp/model.js';
export { CsDateTime, CsDateTimeOffset, CsTimeSpan, Kind as DateTimeKind } from './csharp/runtime/datetime.js';
export { CsGuid } from './csharp/stdlib/web.js';
export { parseJwt, parseBasic, JwtValue, BasicCredentials } from './csharp/runtime/jwt.js';
export { toCsString } from './csharp/runtime/values.js';
export { compilePolicyExpression, loadPolicyDocument, type LoadedDocument } from './expressions.js';
export { memoryContext, memoryResponse, MemoryBody, MemoryMap, MemoryUrl, type MemoryContext, type MemoryContextInit } from './memory-context.js';
