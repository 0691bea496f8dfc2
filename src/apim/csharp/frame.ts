/** A function's frame at run time: its slots, the enclosing frame (for closures), the context. */
export interface Frame {
  l: unknown[];
  p: Frame | null;
  c: unknown;
  /** The value of `return`. */
  r: unknown;
}

/** Completion of a statement. */
export const NORMAL = 0, BREAK = 1, CONTINUE = 2, RETURN = 3;

export type Run = (f: Frame) => unknown;
export type Exec = (f: Frame) => number;

/** The value of a `?.` chain that met null: passed through the rest of the chain, then null. */
export const SHORT: unique symbol = Symbol('short-circuit');

/** Out arguments: a method writes its k-th out value to OUT[k]; the call site stores them. */
export const OUT: unknown[] = [];

export function frameAt(f: Frame, depth: number): Frame {
  let x = f;
  for (let d = 0; d < depth; d++) x = x.p!;
  return x;
}
