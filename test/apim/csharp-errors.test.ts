import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApimLoadError, compilePolicyExpression, readPolicyDocument, loadPolicyDocument } from '../../src/apim/index.js';
import { block, ev, loadError, runtimeError } from './helpers.js';

const TIGHT = { maxSteps: 10_000, maxAllocation: 100_000, maxDepth: 50 };

test('syntax errors are expression-syntax with their line and column', () => {
  loadError('1 +', 'expression-syntax', '1:4', false, /expected an expression/);
  loadError('"abc', 'expression-syntax', '1:1', false, /string is not closed/);
  loadError('var x = 1\nreturn x;', 'expression-syntax', '2:1', true, /expected ';'/);
  loadError('if (x { }', 'expression-syntax', '1:7', true);
  loadError("'ab'", 'expression-syntax', '1:1', false, /character literal/);
  loadError('$"{1 ? 2 : 3}"', 'expression-syntax', '1:6', false, /parentheses/);
  loadError('"\\q"', 'expression-syntax', '1:2', false, /escape/);
  loadError('1 2', 'expression-syntax', '1:3');
  loadError('a => ', 'expression-syntax', '1:6');
  loadError('/* open', 'expression-syntax', '1:1', true);
});

test('unknown names, members and unsupported constructs are unsupported-expression', () => {
  loadError('contex.Request', 'unsupported-expression', '1:1', false, /'contex' does not exist/);
  loadError('context.Request.Hedaers', 'unsupported-expression', '1:17', false, /'IRequest' has no member 'Hedaers'/);
  loadError('var x = 1;\nreturn y;', 'unsupported-expression', '2:8', true, /'y' does not exist/);
  loadError('dynamic d = 1; return d;', 'unsupported-expression', '1:1', true, /dynamic/);
  loadError('unsafe { } return 1;', 'unsupported-expression', '1:1', true);
  loadError('checked(1 + 1)', 'unsupported-expression', '1:1');
  loadError('goto x; return 1;', 'unsupported-expression', '1:1', true);
  loadError('uint u = 1; return u;', 'unsupported-expression', '1:1', true);
  loadError('1u', 'expression-syntax', '1:1');
  loadError('System.Reflection.Assembly.GetExecutingAssembly()', 'unsupported-expression', '1:8');
  loadError('AppDomain.CurrentDomain', 'unsupported-expression', '1:1');
  loadError('new Thread(null)', 'unsupported-expression', '1:5');
});

test('errors inside an expression point into the policy document', () => {
  const src = '<policies>\n  <inbound>\n    <set-header name="x" exists-action="override">\n      <value>@{\n        var a = context.Request.Headers.GetValueOrDefault("a", "");\n        return a.Lenth;\n      }</value>\n    </set-header>\n  </inbound>\n</policies>';
  const doc = readPolicyDocument(src, { file: 'api.xml' });
  let err: unknown;
  try { compilePolicyExpression(doc.expressions[0]!); } catch (e) { err = e; }
  assert.ok(err instanceof ApimLoadError);
  assert.equal(err.message, "api.xml:6:18: error unsupported-expression: 'string' has no member 'Lenth' that policy expressions support");
  let err2: unknown;
  try { loadPolicyDocument(src.replace('a.Lenth', 'a.Length +'), { file: 'api.xml' }); } catch (e) { err2 = e; }
  assert.ok(err2 instanceof ApimLoadError);
  assert.equal(err2.code, 'expression-syntax');
  assert.equal(`${err2.pos.line}:${err2.pos.column}`, '6:26');
  const escaped = '<policies><inbound><set-variable name="v" value="@(context.Request.Headers.GetValueOrDefault(&quot;a&quot;, &quot;&quot;).Foo)" /></inbound></policies>';
  let err3: unknown;
  try { loadPolicyDocument(escaped, { file: 'e.xml' }); } catch (e) { err3 = e; }
  assert.ok(err3 instanceof ApimLoadError);
  assert.equal(err3.pos.column, escaped.indexOf('Foo') + 1, 'offsets survive entity decoding');
});

test('an endless loop runs out of steps; catch cannot swallow it', () => {
  runtimeError(() => block('while (true) { }', {}, TIGHT), 'EvaluationLimitExceeded', /step budget/);
  runtimeError(() => block('for (;;) { try { } catch { } }', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => block('while (true) { try { var x = 1; } catch (Exception) { } } return 1;', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => block('try { while (true) { } } catch (Exception e) { return 1; }', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => block('try { while (true) { } } finally { }', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => block('var n = 0; do { n++; } while (n > 0); return n;', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => ev('Enumerable.Range(0, 100000).Where(i => i >= 0).Count()', {}, TIGHT), 'EvaluationLimitExceeded');
  const e = runtimeError(() => block('while (true) { }', {}, TIGHT), 'EvaluationLimitExceeded');
  assert.equal(e.limit, 'steps');
});

test('allocation and recursion are bounded', () => {
  const doubling = runtimeError(() => block('var s = "x"; while (true) { s = s + s; }', {}, { ...TIGHT, maxSteps: 1_000_000 }), 'EvaluationLimitExceeded');
  assert.equal(doubling.limit, 'allocation');
  runtimeError(() => ev('new string(\'x\', 1000000)', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => ev('"x".PadLeft(1000000)', {}, TIGHT), 'EvaluationLimitExceeded');
  runtimeError(() => block('var l = new List<int>(); while (true) l.Add(1);', {}, { ...TIGHT, maxSteps: 1_000_000 }), 'EvaluationLimitExceeded');
  runtimeError(() => ev('new int[10000000].Length', {}, TIGHT), 'EvaluationLimitExceeded');
  const deep = runtimeError(() => block('int F(int n) { return F(n + 1); } return F(0);', {}, TIGHT), 'EvaluationLimitExceeded');
  assert.equal(deep.limit, 'depth');
  runtimeError(() => block('try { int F(int n) => F(n + 1); return F(0); } catch { return -1; }', {}, TIGHT), 'EvaluationLimitExceeded');
});

test('the default limits let ordinary work through', () => {
  assert.equal(block('var s = 0; for (var i = 0; i < 100000; i++) s += i % 7; return s;'), 299995);
  assert.equal(ev('string.Join(",", Enumerable.Range(0, 10000)).Length'), 48889);
});

test('run-time exceptions carry the .NET type and message', () => {
  const e = runtimeError(() => ev('((string)context.Variables["x"]).ToUpper()', { variables: { x: null } }), 'NullReferenceException');
  assert.equal(e.message, 'Object reference not set to an instance of an object.');
  assert.equal(e.name, 'ExpressionEvaluationError');
  runtimeError(() => ev('int.Parse("x")'), 'FormatException', /The input string 'x' was not in a correct format/);
});
