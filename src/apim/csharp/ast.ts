/**
 * The typed AST of the C# subset. Every node has the offsets of its text in the expression.
 */
export interface Span { start: number; end: number }

export interface TypeNode extends Span {
  kind: 'type';
  /** Qualified name parts (`System.Text.Encoding` → 3 parts); predefined types are one part. */
  name: string[];
  args: TypeNode[];
  /** Array ranks (`string[][]` → 2). */
  arrays: number;
  nullable: boolean;
}

export interface Arg extends Span {
  value: Expr;
  mod?: 'out' | 'ref';
  /** `out var x` / `out int x` declares a variable. */
  declare?: { name: string; type?: TypeNode };
  /** A named argument (`preserveContent: true`). */
  name?: string;
}

export type Pattern =
  | ({ kind: 'typePattern'; type: TypeNode; designation?: string } & Span)
  | ({ kind: 'constPattern'; value: Expr } & Span)
  | ({ kind: 'notPattern'; pattern: Pattern } & Span)
  | ({ kind: 'varPattern'; designation: string } & Span);

export type InterpolationPart = string | { expr: Expr; align?: number; format?: string };

export interface Initializer extends Span {
  /** `{ a, b }` collection items, `{ {k, v} }` pairs, or `{ ["k"] = v, Prop = v }` members. */
  items: Array<
    | { kind: 'item'; value: Expr }
    | { kind: 'pair'; values: Expr[] }
    | { kind: 'indexed'; index: Expr[]; value: Expr }
    | { kind: 'member'; name: string; value: Expr }
  >;
}

export type Expr = Span & (
  | { kind: 'literal'; type: 'int' | 'long' | 'double' | 'decimal' | 'string' | 'char' | 'bool' | 'null'; value: unknown }
  | { kind: 'interpolated'; parts: InterpolationPart[] }
  | { kind: 'name'; name: string; typeArgs?: TypeNode[] }
  | { kind: 'predefined'; type: TypeNode }
  | { kind: 'member'; target: Expr; name: string; typeArgs?: TypeNode[]; conditional: boolean; nameStart: number }
  | { kind: 'call'; callee: Expr; args: Arg[] }
  | { kind: 'index'; target: Expr; args: Expr[]; conditional: boolean }
  | { kind: 'unary'; op: '-' | '+' | '!' | '~' | '++' | '--'; operand: Expr; postfix: boolean }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'assign'; op: string; target: Expr; value: Expr }
  | { kind: 'conditional'; test: Expr; then: Expr; otherwise: Expr }
  | { kind: 'cast'; type: TypeNode; operand: Expr }
  | { kind: 'as'; operand: Expr; type: TypeNode }
  | { kind: 'is'; operand: Expr; pattern: Pattern }
  | { kind: 'new'; type: TypeNode; args: Arg[]; init?: Initializer }
  | { kind: 'newArray'; elem?: TypeNode; size?: Expr; items?: Expr[] }
  | { kind: 'anonymous'; fields: Array<{ name: string; value: Expr }> }
  | { kind: 'lambda'; params: Array<{ name: string; type?: TypeNode }>; body: Expr | Block }
  | { kind: 'default'; type?: TypeNode }
  | { kind: 'typeof'; type: TypeNode }
  | { kind: 'nameof'; name: string }
  | { kind: 'throw'; value: Expr }
  | { kind: 'paren'; inner: Expr }
);

export interface Block extends Span { kind: 'block'; body: Stmt[] }

export interface LocalDecl extends Span {
  kind: 'local';
  /** undefined for `var`. */
  type?: TypeNode;
  decls: Array<{ name: string; init?: Expr; start: number }>;
}

export interface CatchClause extends Span { type?: TypeNode; name?: string; filter?: Expr; body: Block }

export interface SwitchSection extends Span { labels: Array<Expr | 'default'>; body: Stmt[] }

export type Stmt =
  | Block
  | LocalDecl
  | (Span & { kind: 'expr'; expr: Expr })
  | (Span & { kind: 'if'; test: Expr; then: Stmt; otherwise?: Stmt })
  | (Span & { kind: 'while'; test: Expr; body: Stmt })
  | (Span & { kind: 'do'; body: Stmt; test: Expr })
  | (Span & { kind: 'for'; init: Stmt[]; test?: Expr; update: Expr[]; body: Stmt })
  | (Span & { kind: 'foreach'; type?: TypeNode; name: string; source: Expr; body: Stmt })
  | (Span & { kind: 'return'; value?: Expr })
  | (Span & { kind: 'break' })
  | (Span & { kind: 'continue' })
  | (Span & { kind: 'throw'; value?: Expr })
  | (Span & { kind: 'try'; block: Block; catches: CatchClause[]; finally?: Block })
  | (Span & { kind: 'using'; resource: LocalDecl | Expr; body?: Stmt })
  | (Span & { kind: 'switch'; subject: Expr; sections: SwitchSection[] })
  | (Span & { kind: 'localFunction'; name: string; returnType: TypeNode; params: Array<{ name: string; type: TypeNode }>; body: Block | Expr })
  | (Span & { kind: 'empty' });
