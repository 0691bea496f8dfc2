import { alias, defineType, named, type Type, type TypeDef } from './types.js';

/**
 * The predefined types and their run-time representation:
 *
 * | C#        | JS value                                                   |
 * |-----------|------------------------------------------------------------|
 * | int       | number, always a 32-bit integer (arithmetic wraps as unchecked C#) |
 * | long      | bigint, wrapped to 64 bits                                  |
 * | double, float | number (float is computed as double)                    |
 * | decimal   | number: a double rounded to 15 significant digits after each operation |
 * | byte      | number 0..255; byte[] is a Uint8Array                       |
 * | short     | number -32768..32767 (arithmetic is done as int)            |
 * | bool      | boolean                                                     |
 * | char      | a string of one UTF-16 code unit                            |
 * | string    | string; null is null                                        |
 * | T?        | the value or null                                           |
 * | arrays, List<T>, IEnumerable<T> | JS arrays (LINQ is evaluated eagerly) |
 */
const int32 = (v: unknown) => typeof v === 'number' && (v | 0) === v;

export const OBJECT = defineType({ name: 'object', is: (v) => v !== null && v !== undefined });
export const STRING = defineType({ name: 'string', is: (v) => typeof v === 'string', elementOf: () => T.char });
export const INT = defineType({ zero: 0, name: 'int', valueType: true, numeric: 2, is: int32 });
export const LONG = defineType({ zero: 0n, name: 'long', valueType: true, numeric: 3, is: (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)) });
export const DOUBLE = defineType({ zero: 0, name: 'double', valueType: true, numeric: 5, is: (v) => typeof v === 'number' });
export const DECIMAL = defineType({ zero: 0, name: 'decimal', valueType: true, numeric: 4, is: (v) => typeof v === 'number' });
export const BOOL = defineType({ zero: false, name: 'bool', valueType: true, is: (v) => typeof v === 'boolean' });
export const CHAR = defineType({ zero: '\0', name: 'char', valueType: true, numeric: 1, is: (v) => typeof v === 'string' && v.length === 1 });
export const SHORT = defineType({ zero: 0, name: 'short', valueType: true, numeric: 1, is: (v) => typeof v === 'number' && (v << 16) >> 16 === v });
export const BYTE = defineType({ zero: 0, name: 'byte', valueType: true, numeric: 1, is: (v) => typeof v === 'number' && (v & 255) === v });
export const VOID = defineType({ name: 'void', ns: '', is: () => false });
export const NULL = defineType({ name: '<null>', ns: '', is: () => false });
export const IENUMERABLE = defineType({
  name: 'IEnumerable', ns: 'System.Collections.Generic', params: ['T'], elementOf: () => ({ k: 'param', name: 'T' }),
  is: (v) => v !== null && typeof v === 'object' && Symbol.iterator in (v as object),
});

for (const [n, d] of [['Object', OBJECT], ['String', STRING], ['Int32', INT], ['Int64', LONG], ['Double', DOUBLE], ['Single', DOUBLE],
  ['float', DOUBLE], ['Decimal', DECIMAL], ['Boolean', BOOL], ['Char', CHAR], ['Byte', BYTE], ['Int16', SHORT]] as Array<[string, TypeDef]>) {
  alias(n, d);
  if (/^[A-Z]/.test(n)) alias(`${d.ns}.${n}`, d);
}

export const T = {
  object: named(OBJECT),
  string: named(STRING),
  int: named(INT),
  long: named(LONG),
  double: named(DOUBLE),
  decimal: named(DECIMAL),
  bool: named(BOOL),
  char: named(CHAR),
  byte: named(BYTE),
  short: named(SHORT),
  void: named(VOID),
  null: named(NULL),
} satisfies Record<string, Type>;

export const enumerableOf = (elem: Type): Type => named(IENUMERABLE, [elem]);

export const PREDEFINED: Record<string, Type> = {
  object: T.object, string: T.string, int: T.int, long: T.long, double: T.double, float: T.double,
  decimal: T.decimal, bool: T.bool, char: T.char, byte: T.byte, short: T.short, void: T.void,
};
