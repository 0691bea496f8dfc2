import { formatDouble } from './numbers.js';

/**
 * Run-time helpers shared by the compiler and the library: how a value prints (`ToString()`,
 * string concatenation) and what its .NET type name is (for messages and `GetType()`).
 * Library classes (JToken, DateTime, Guid, …) implement `CsValue`.
 */
export interface CsValue {
  /** `ToString()` */
  csString(): string;
  /** The .NET type name, e.g. `Newtonsoft.Json.Linq.JObject`. */
  readonly csType: string;
}

export function isCsValue(v: unknown): v is CsValue {
  return typeof v === 'object' && v !== null && typeof (v as CsValue).csString === 'function';
}

/** An anonymous object (`new { a = 1, b = "x" }`): fields in declaration order. */
export class Anonymous implements CsValue {
  readonly csType = '<>f__AnonymousType';
  constructor(readonly fields: Record<string, unknown>) {}
  csString(): string {
    const parts = Object.entries(this.fields).map(([k, v]) => `${k} = ${toCsString(v)}`);
    return parts.length ? `{ ${parts.join(', ')} }` : '{ }';
  }
}

export class KeyValuePair implements CsValue {
  readonly csType = 'System.Collections.Generic.KeyValuePair`2';
  constructor(readonly Key: unknown, readonly Value: unknown) {}
  csString(): string {
    return `[${toCsString(this.Key)}, ${toCsString(this.Value)}]`;
  }
}

/** `ToString()` of any value; `null` prints as the empty string, as in concatenation. */
export function toCsString(v: unknown): string {
  switch (typeof v) {
    case 'string': return v;
    case 'number': return formatDouble(v);
    case 'bigint': return v.toString();
    case 'boolean': return v ? 'True' : 'False';
    case 'function': return 'System.Func`1';
    case 'object':
      if (v === null) return '';
      if (isCsValue(v)) return v.csString();
      return typeNameOf(v);
    default: return '';
  }
}

export function typeNameOf(v: unknown): string {
  switch (typeof v) {
    case 'string': return 'System.String';
    case 'number': return Number.isInteger(v) && (v | 0) === v ? 'System.Int32' : 'System.Double';
    case 'bigint': return 'System.Int64';
    case 'boolean': return 'System.Boolean';
    case 'function': return 'System.Func`1';
    case 'object':
      if (v === null) return 'null';
      if (isCsValue(v)) return v.csType;
      if (v instanceof Uint8Array) return 'System.Byte[]';
      if (Array.isArray(v)) return 'System.Collections.Generic.List`1';
      if (v instanceof Map) return 'System.Collections.Generic.Dictionary`2';
      return 'System.Object';
    default: return 'null';
  }
}

/** `Equals` for values of unknown static type: value equality for primitives and library values. */
export function csEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isInteger(b) && BigInt(b) === a;
  if (typeof b === 'bigint' && typeof a === 'number') return Number.isInteger(a) && BigInt(a) === b;
  if (typeof a === 'object' && typeof (a as { csEquals?: unknown }).csEquals === 'function') return (a as { csEquals(o: unknown): boolean }).csEquals(b);
  return false;
}

/** Hash-map key for a value with value equality (dictionary keys, Distinct). */
export function keyOf(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && typeof (v as { csKey?: unknown }).csKey === 'function') return (v as { csKey(): unknown }).csKey();
  return v;
}
