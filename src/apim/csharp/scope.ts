import type { Type } from './types.js';

/**
 * Names in scope while checking. Each function (the expression itself, a lambda, a local
 * function) has a frame of slots; a variable is found by how many frames out it lives and its slot.
 */
export interface Variable {
  slot: number;
  type: Type;
  /** A local function: its parameter types and return type are fixed. */
  fn?: { params: Type[]; ret: Type };
  readonly?: boolean;
}

export class FunctionScope {
  size = 0;
  /** Return types seen, when the function's return type is inferred (lambdas, the expression). */
  readonly returns: Array<{ t: Type; start: number }> = [];
  constructor(readonly parent: FunctionScope | undefined, readonly returnType: Type | undefined) {}
  slot(): number { return this.size++; }
}

export class BlockScope {
  private readonly names = new Map<string, Variable>();
  constructor(readonly fn: FunctionScope, readonly parent: BlockScope | undefined) {}

  declare(name: string, v: Variable): boolean {
    if (this.lookup(name)?.depth === 0) return false;
    this.names.set(name, v);
    return true;
  }

  lookup(name: string): { v: Variable; depth: number } | undefined {
    let depth = 0;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks up from this scope
    for (let s: BlockScope | undefined = this; s; s = s.parent) {
      const v = s.names.get(name);
      if (v) return { v, depth };
      if (s.parent && s.parent.fn !== s.fn) depth++;
    }
    return undefined;
  }
}
