import type { Impl, Type } from './types.js';

/**
 * The checked tree: every name, member, overload and conversion resolved, every node typed. The
 * compiler turns it into closures without looking anything up.
 */
export type BExpr = { t: Type; start: number } & (
  | { op: 'const'; value: unknown }
  | { op: 'local'; slot: number; depth: number }
  | { op: 'context' }
  /** Property getter or method call: `fn(target, ...args)`, or `fn(...args)` without a target. */
  | { op: 'call'; target?: BExpr; fn: Impl; args: BExpr[]; access: Access; outs?: Outs }
  | { op: 'invoke'; target: BExpr; args: BExpr[]; access: Access }
  | { op: 'conv'; value: BExpr; fn: Impl }
  | { op: 'unary'; value: BExpr; fn: Impl }
  | { op: 'binary'; left: BExpr; right: BExpr; fn: Impl }
  | { op: 'and' | 'or'; left: BExpr; right: BExpr }
  | { op: 'coalesce'; left: BExpr; right: BExpr }
  | { op: 'cond'; test: BExpr; then: BExpr; otherwise: BExpr }
  | { op: 'assign'; target: LValue; value: BExpr }
  /** Compound assignment, `++`, `--`: the new value is `fn(old, value)`. */
  | { op: 'update'; target: LValue; fn: Impl; value?: BExpr; postfix: boolean }
  | { op: 'lambda'; fn: BFunction }
  | { op: 'concat'; parts: Array<{ value: BExpr; str: Impl }> }
  | { op: 'interp'; parts: Array<string | { value: BExpr; fmt: Impl }> }
  | { op: 'throw'; value: BExpr }
  /** The end of a chain with `?.`: a short-circuited chain becomes null. */
  | { op: 'chain'; value: BExpr }
  /** Builds a value then runs initializers on it (object and collection initializers). */
  | { op: 'init'; value: BExpr; steps: Array<{ fn: Impl; args: BExpr[] }> }
  | { op: 'array'; items: BExpr[]; bytes: boolean }
  /** A pattern test, storing the value in `slot` when it matches (`x is string s`). */
  | { op: 'is'; value: BExpr; test: (v: unknown) => boolean; slot?: number; conv?: Impl; negate: boolean }
);

/** How a member access treats its target: `?.` short-circuits on null; inside a chain, a short-circuit passes through. */
export interface Access { conditional: boolean; inChain: boolean; nullCheck: boolean }

/** Where `out` arguments go: for each argument position, the place to store the k-th out value. */
export type Outs = Array<LValue | undefined>;

export type LValue =
  | { kind: 'local'; slot: number; depth: number }
  | { kind: 'member'; target?: BExpr; args: BExpr[]; get: Impl; set: Impl };

export interface BFunction {
  /** Parameter slots are 0..params-1. */
  params: number;
  size: number;
  body: BStmt;
  /** An expression-bodied lambda returns its expression's value. */
  expr?: BExpr;
  /** Local functions declared directly in this function's body need their own slots set first. */
  name?: string;
}

export type BStmt =
  | { op: 'expr'; e: BExpr }
  | { op: 'block'; body: BStmt[]; functions: Array<{ slot: number; fn: BFunction }> }
  | { op: 'local'; slot: number; init: BExpr }
  | { op: 'if'; test: BExpr; then: BStmt; otherwise?: BStmt }
  | { op: 'while'; test: BExpr; body: BStmt; doWhile: boolean }
  | { op: 'for'; init: BStmt[]; test?: BExpr; update: BExpr[]; body: BStmt }
  | { op: 'foreach'; slot: number; source: BExpr; iterate?: Impl; conv?: Impl; body: BStmt }
  | { op: 'return'; value?: BExpr }
  | { op: 'break' }
  | { op: 'continue' }
  | { op: 'throw'; value?: BExpr; rethrowSlot?: number }
  | { op: 'try'; block: BStmt; catches: BCatch[]; finally?: BStmt }
  | { op: 'switch'; subject: BExpr; sections: Array<{ values: unknown[]; isDefault: boolean; body: BStmt[] }> }
  | { op: 'empty' };

export interface BCatch {
  test: (e: unknown) => boolean;
  slot?: number;
  /** The slot holding the caught exception for `throw;` inside the catch. */
  caught: number;
  filter?: BExpr;
  body: BStmt;
}
