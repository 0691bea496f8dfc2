import {
  ApimLoadError, attribute, compilePolicyExpression, content, toCsString,
  type CompiledExpression, type XmlElement, type XmlExpression,
} from '../../apim/index.js';
import type { ExchangeContext } from './context.js';
import type { XCompile } from './registry.js';

/**
 * Attribute and content values of policy elements: a literal, or an expression compiled at load
 * with the type the attribute needs. The result is a getter; a literal getter returns a constant.
 */
export type Get<T> = (c: ExchangeContext) => T;

export function compileExpr(node: XmlExpression, expected: string | undefined, ctx: XCompile): CompiledExpression {
  ctx.counted(1);
  return compilePolicyExpression(node, expected);
}

/** A string value (expressions may return any type: it is converted as C# `ToString()` does). */
export function stringOf(v: string | XmlExpression, ctx: XCompile): Get<string> {
  if (typeof v === 'string') return () => v;
  const e = compileExpr(v, undefined, ctx);
  return (c) => toCsString(e.evaluate(c));
}

export function strAttr(el: XmlElement, name: string, ctx: XCompile): Get<string> | undefined {
  const a = attribute(el, name);
  return a === undefined ? undefined : stringOf(a.value, ctx);
}

/** A literal attribute: an expression there is refused. */
export function literalAttr(el: XmlElement, name: string): string | undefined {
  const a = attribute(el, name);
  if (a === undefined) return undefined;
  if (typeof a.value !== 'string') throw new ApimLoadError('unsupported-expression', `the attribute "${name}" of <${el.name}> takes a literal value, not an expression`, a.valuePos);
  return a.value;
}

export function boolAttr(el: XmlElement, name: string, ctx: XCompile, def: boolean): Get<boolean> {
  const a = attribute(el, name);
  if (a === undefined) return () => def;
  if (typeof a.value !== 'string') {
    const e = compileExpr(a.value, 'bool', ctx);
    return (c) => e.evaluate(c) === true;
  }
  const v = a.value.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') throw new ApimLoadError('unsupported-attribute', `the attribute "${name}" of <${el.name}> is true or false, not "${a.value}"`, a.valuePos);
  const b = v === 'true';
  return () => b;
}

export function intAttr(el: XmlElement, name: string, ctx: XCompile, def?: number, min = 0): Get<number> | undefined {
  const a = attribute(el, name);
  if (a === undefined) return def === undefined ? undefined : () => def;
  if (typeof a.value !== 'string') {
    const e = compileExpr(a.value, 'int', ctx);
    return (c) => Number(e.evaluate(c));
  }
  const n = Number(a.value.trim());
  if (!Number.isInteger(n) || n < min) throw new ApimLoadError('unsupported-attribute', `the attribute "${name}" of <${el.name}> is a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${a.value}"`, a.valuePos);
  return () => n;
}

/** The element's text or expression content. */
export function contentOf(el: XmlElement, ctx: XCompile): Get<string> | undefined {
  const v = content(el);
  return v === undefined ? undefined : stringOf(v, ctx);
}

export function requireAttr<T>(v: T | undefined, el: XmlElement, name: string): T {
  if (v === undefined) throw new ApimLoadError('unsupported-attribute', `<${el.name}> needs the attribute "${name}"`, el.pos);
  return v;
}
