import { test } from 'node:test';
import assert from 'node:assert/strict';
import { block, ev, loadError, runtimeError, typeOf } from './helpers.js';

test('literals have C# types', () => {
  assert.equal(typeOf('1'), 'int');
  assert.equal(typeOf('1L'), 'long');
  assert.equal(typeOf('3000000000'), 'long');
  assert.equal(typeOf('1.5'), 'double');
  assert.equal(typeOf('1.5f'), 'double');
  assert.equal(typeOf('1.5m'), 'decimal');
  assert.equal(typeOf("'c'"), 'char');
  assert.equal(typeOf('"s"'), 'string');
  assert.equal(typeOf('true'), 'bool');
  assert.equal(ev('0x1F + 0b11 + 1_000'), 1034);
  assert.equal(ev('-2147483648'), -2147483648);
  assert.equal(ev('"tab\\there \\u0041 \\x42"'), 'tab\there A B');
  assert.equal(ev('@"C:\\path ""quoted"""'), 'C:\\path "quoted"');
});

test('integer division and remainder truncate toward zero, as C#', () => {
  assert.equal(ev('-7 / 2'), -3);
  assert.equal(ev('7 / -2'), -3);
  assert.equal(ev('-7 % 2'), -1);
  assert.equal(ev('7 % -3'), 1);
  assert.equal(ev('-7L / 2L'), -3n);
  assert.equal(ev('7 / 2.0'), 3.5);
  assert.equal(ev('(double)7 / 2'), 3.5);
  assert.equal(ev('7 / 2 * 2'), 6);
  runtimeError(() => ev('1 / (1 - 1)'), 'DivideByZeroException');
  runtimeError(() => ev('1L % 0L'), 'DivideByZeroException');
  runtimeError(() => block('int m = int.MinValue; return m / -1;'), 'OverflowException');
  assert.equal(ev('1.0 / 0'), Infinity);
});

test('int and long arithmetic wraps as unchecked C#', () => {
  assert.equal(ev('int.MaxValue + 1'), -2147483648);
  assert.equal(ev('int.MaxValue * 2'), -2);
  assert.equal(ev('123456789 * 1000'), -1097262584);
  assert.equal(ev('int.MinValue - 1'), 2147483647);
  assert.equal(ev('-int.MinValue'), -2147483648);
  assert.equal(ev('long.MaxValue + 1'), -9223372036854775808n);
  assert.equal(ev('int.MaxValue + 1L'), 2147483648n);
  assert.equal(ev('(int)3000000000L'), -1294967296);
  assert.equal(ev('1 << 31'), -2147483648);
  assert.equal(ev('1 << 33'), 2, 'the shift count is masked to 5 bits');
  assert.equal(ev('-8 >> 1'), -4);
  assert.equal(ev('1L << 40'), 1099511627776n);
  assert.equal(ev('(5 & 3) + (5 | 3) * 10 + (5 ^ 3) * 100 + ~5 * 1000'), 1 + 70 + 600 - 6000);
  assert.equal(block('int i = int.MaxValue; i++; return i;'), -2147483648);
});

test('conversions: casts truncate, saturate and wrap as C# does', () => {
  assert.equal(ev('(int)3.7'), 3);
  assert.equal(ev('(int)-3.7'), -3);
  assert.equal(ev('(int)1e20'), 2147483647);
  assert.equal(ev('(int)double.NaN'), 0);
  assert.equal(ev('(long)2.9'), 2n);
  assert.equal(ev('(byte)300'), 44);
  assert.equal(ev('(char)65'), 'A');
  assert.equal(ev("(int)'A'"), 65);
  assert.equal(ev("'a' + 1"), 98);
  assert.equal(ev("(char)('a' + 1)"), 'b');
  assert.equal(ev('(double)1 / 3 > 0.33'), true);
  assert.equal(ev('(decimal)2.5 * 2'), 5);
  assert.equal(typeOf('1 + 2L'), 'long');
  assert.equal(typeOf('1 + 2.0'), 'double');
  assert.equal(typeOf("'a' + 'b'"), 'int');
  loadError('(int)"5"', 'unsupported-expression', '1:1', false, /cannot convert 'string' to 'int'/);
  loadError('1.5m + 1.5', 'unsupported-expression', '1:1', false, /operator '\+' cannot be applied to 'decimal' and 'double'/);
});

test('unboxing checks the value', () => {
  assert.equal(ev('(int)context.Variables["n"] + 1', { variables: { n: 41 } }), 42);
  assert.equal(ev('(string)context.Variables["s"]', { variables: { s: 'x' } }), 'x');
  assert.equal(ev('(string)context.Variables["none"]', { variables: { none: null } }), null);
  assert.equal(ev('(long)context.Variables["n"]', { variables: { n: 5 } }), 5n);
  runtimeError(() => ev('(int)context.Variables["s"]', { variables: { s: 'x' } }), 'InvalidCastException', /System\.String.*System\.Int32/);
  runtimeError(() => ev('(int)context.Variables["none"]', { variables: { none: null } }), 'NullReferenceException');
  runtimeError(() => ev('(bool)context.Variables["n"]', { variables: { n: 1 } }), 'InvalidCastException');
});

test('string concatenation prints values as C# does', () => {
  assert.equal(ev('"a" + 1 + 2'), 'a12');
  assert.equal(ev('1 + 2 + "a"'), '3a');
  assert.equal(ev('"x" + null'), 'x');
  assert.equal(ev('"v" + true + false'), 'vTrueFalse');
  assert.equal(ev('"d" + 1.5 + "|" + 1.0 + "|" + 0.1'), 'd1.5|1|0.1');
  assert.equal(ev('"e" + 1e21 + "|" + 1e15 + "|" + 1e14 + "|" + 0.00001'), 'e1E+21|1E+15|100000000000000|1E-05');
  assert.equal(ev("\"c\" + 'h'"), 'ch');
  assert.equal(ev('"l" + 10000000000L'), 'l10000000000');
  assert.equal(ev('"o" + (object)null + context.Variables["v"]', { variables: { v: 3 } }), 'o3');
  assert.equal(block('string s = "a"; s += 1; s += \'b\'; s += null; return s;'), 'a1b');
});

test('string comparison: == is ordinal, Compare is culture-aware unless told otherwise', () => {
  assert.equal(ev('"abc" == "ab" + "c"'), true);
  assert.equal(ev('"a" == "A"'), false);
  assert.equal(ev('string.Compare("a", "B") < 0'), true);
  assert.equal(ev('string.CompareOrdinal("a", "B") > 0'), true);
  assert.equal(ev('string.Compare("a", "B", StringComparison.Ordinal) > 0'), true);
  assert.equal(ev('string.Compare("a", "A", true)'), 0);
  assert.equal(ev('"abc".CompareTo("abd") < 0'), true);
  assert.equal(ev('string.Equals("Ab", "aB", StringComparison.OrdinalIgnoreCase)'), true);
  assert.equal(ev('"Hello".Equals("hello")'), false);
  assert.equal(ev('"Hello".Equals("hello", StringComparison.InvariantCultureIgnoreCase)'), true);
  loadError('"a" < "b"', 'unsupported-expression', '1:1', false, /operator '<' cannot be applied to 'string' and 'string'/);
});

test('null propagation: ?. short-circuits the whole chain, ?? and ??= supply defaults', () => {
  assert.equal(ev('((string)null)?.Length'), null);
  assert.equal(typeOf('((string)null)?.Length'), 'int?');
  assert.equal(ev('context.Subscription?.Name', { subscription: null }), null);
  assert.equal(ev('context.Subscription?.Name.ToUpper().Trim()', { subscription: null }), null, 'the rest of the chain is skipped');
  assert.equal(ev('context.Subscription?.Name.ToUpper()', {}), 'CONTOSO');
  assert.equal(ev('context.Subscription?.Name ?? "anonymous"', { subscription: null }), 'anonymous');
  assert.equal(ev('(context.Variables.GetValueOrDefault<string>("a") ?? "d").Length'), 1);
  assert.equal(ev('((string)null)?.Length ?? -1'), -1);
  assert.equal(ev('new int[] { 1, 2 }?[1]'), 2);
  assert.equal(ev('((int[])null)?[1]'), null);
  assert.equal(block('string s = null; s ??= "x"; s ??= "y"; return s;'), 'x');
  assert.equal(ev('(int?)null ?? 7'), 7);
  assert.equal(ev('(int?)5 + 1'), 6);
  assert.equal(ev('(int?)null + 1'), null);
  assert.equal(ev('(int?)null > 1'), false);
  assert.equal(ev('(int?)null == null'), true);
  runtimeError(() => ev('context.Subscription.Name', { subscription: null }), 'NullReferenceException', /Object reference not set/);
  runtimeError(() => ev('((int?)null).Value'), 'InvalidOperationException');
});

test('the conditional operator finds the common type', () => {
  assert.equal(ev('true ? 1 : 2.5'), 1);
  assert.equal(typeOf('true ? 1 : 2.5'), 'double');
  assert.equal(typeOf('true ? "a" : null'), 'string');
  assert.equal(typeOf('false ? 1 : (int?)null'), 'int?');
  assert.equal(ev('1 > 2 ? "yes" : "no"'), 'no');
  loadError('true ? 1 : "a"', 'unsupported-expression', '1:1', false, /no common type/);
});

test('as, is and patterns', () => {
  const vars = { variables: { s: 'text', n: 5, none: null } };
  assert.equal(ev('context.Variables["s"] as string', vars), 'text');
  assert.equal(ev('context.Variables["n"] as string', vars), null);
  assert.equal(ev('context.Variables["n"] is int', vars), true);
  assert.equal(ev('context.Variables["s"] is string s && s.Length == 4', vars), true);
  assert.equal(ev('context.Variables["none"] is null', vars), true);
  assert.equal(ev('context.Variables["s"] is not null', vars), true);
  assert.equal(ev('context.Variables["n"] is 5', vars), true);
  assert.equal(block('if (!(context.Variables["n"] is int i)) { return -1; } return i * 2;', vars), 10);
  assert.equal(ev('context.Variables["n"] as int?', vars), 5);
  loadError('context.Variables["n"] as int', 'unsupported-expression', '1:27');
});

test('equality of numbers of different types and of floats', () => {
  assert.equal(ev('1 == 1L'), true);
  assert.equal(ev('1 == 1.0'), true);
  assert.equal(ev('0.1 + 0.2 == 0.3'), false);
  assert.equal(ev("'a' == 97"), true);
  assert.equal(ev('double.NaN == double.NaN'), false);
  assert.equal(ev('StringComparison.Ordinal == StringComparison.Ordinal'), true);
});

test('assignment operators convert back to the variable type', () => {
  assert.equal(block('int i = 5; i += 2; i *= 3; i /= 2; i -= 1; i %= 4; return i;'), 1);
  assert.equal(block('int i = 1; i += 2.7; return i;'), 3);
  assert.equal(block('long l = 1; l <<= 40; return l;'), 1099511627776n);
  assert.equal(block('var i = 1; var a = i++; var b = ++i; var c = i--; return $"{a}{b}{c}{i}";'), '1332');
  assert.equal(block('char c = \'a\'; c++; return c;'), 'b');
  assert.equal(block('bool b = true; b &= false; b |= true; b ^= true; return b;'), false);
  assert.equal(block('int a, b = 2; a = b = 3; return a + b;'), 6);
});

test('a conversion of a constant that fails is a run-time failure, as in C#', () => {
  runtimeError(() => ev('(string)(object)5'), 'InvalidCastException');
  runtimeError(() => ev('(int)(object)"x"'), 'InvalidCastException');
});

test('decimal arithmetic keeps money sums exact to 15 digits', () => {
  assert.equal(ev('0.1m + 0.2m == 0.3m'), true);
  assert.equal(ev('(decimal)0.1 + (decimal)0.2 == 0.3m'), true);
  assert.equal(ev('0.1 + 0.2 == 0.3'), false, 'double stays double');
  assert.equal(ev('new[] { 0.1m, 0.2m }.Sum() == 0.3m'), true);
  assert.equal(ev('(19.99m * 3).ToString()'), '59.97');
  runtimeError(() => ev('1m / 0m'), 'DivideByZeroException');
});

test('short: 16-bit values, casts wrap, arithmetic is int', () => {
  assert.equal(ev('(short)70000'), 4464);
  assert.equal(ev('(short)0xFFFF'), -1);
  assert.equal(block('short s = 32767; s++; return s;'), -32768);
  assert.equal(block('short a = 300; short b = 200; var c = a * b; return c;'), 60000, 'short * short is an int');
  assert.equal(block('short HostOrder(short h) { return (short)((((int)h & 0xFF) << 8) | (int)((h >> 8) & 0xFF)); } return (int)HostOrder((short)0x1234);'), 0x3412);
  assert.equal(ev('(int)(short)-2 & 0xFFFF'), 0xFFFE);
  assert.equal(ev('Int16.MaxValue'), 32767);
});
