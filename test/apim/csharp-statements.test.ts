import { test } from 'node:test';
import assert from 'node:assert/strict';
import { block, ev, loadError, runtimeError, typeOf } from './helpers.js';

test('var, if / else if / else and return', () => {
  const code = 'var m = context.Request.Method; if (m == "GET") { return 1; } else if (m == "POST") return 2; else { return 3; }';
  assert.equal(block(code, { method: 'GET' }), 1);
  assert.equal(block(code, { method: 'POST' }), 2);
  assert.equal(block(code, { method: 'PUT' }), 3);
  assert.equal(typeOf(code, true), 'int');
});

test('loops: for, foreach, while, do, break and continue', () => {
  assert.equal(block('var s = 0; for (var i = 0; i < 10; i++) { if (i % 2 == 0) continue; if (i > 7) break; s += i; } return s;'), 1 + 3 + 5 + 7);
  assert.equal(block('var s = ""; foreach (var p in "a,b,c".Split(\',\')) { s = p + s; } return s;'), 'cba');
  assert.equal(block('var n = 0; while (n < 5) n++; return n;'), 5);
  assert.equal(block('var n = 10; do { n++; } while (n < 5); return n;'), 11);
  assert.equal(block('int total = 0; foreach (char c in "abc") total += c; return total;'), 97 + 98 + 99);
  assert.equal(block('var s = 0; for (int i = 0, j = 10; i < j; i++, j--) s++; return s;'), 5);
  assert.equal(block('var d = new Dictionary<string, int> { { "a", 1 }, { "b", 2 } }; var s = ""; foreach (var kv in d) s += kv.Key + kv.Value; return s;'), 'a1b2');
  loadError('foreach (var x in 5) { } return 1;', 'unsupported-expression', '1:19', true, /cannot enumerate 'int'/);
  loadError('break; return 1;', 'unsupported-expression', '1:1', true);
  loadError('foreach (var x in new[] {1}) { x = 2; } return 1;', 'unsupported-expression', '1:32', true, /read-only/);
});

test('try / catch / finally, throw and rethrow', () => {
  assert.equal(block('try { return int.Parse("x"); } catch (FormatException e) { return -1; }'), -1);
  assert.equal(block('var log = ""; try { try { throw new InvalidOperationException("inner"); } finally { log += "f"; } } catch (Exception e) { log += e.Message; } return log;'), 'finner');
  assert.equal(block('try { throw new ArgumentNullException("p"); } catch (ArgumentException e) { return "arg:" + e.Message; }'), "arg:Value cannot be null. (Parameter 'p')");
  assert.equal(block('try { var x = ((string)null).Length; return "no"; } catch (NullReferenceException) { return "nre"; }'), 'nre');
  assert.equal(block('try { JObject.Parse("{bad"); return "no"; } catch (JsonReaderException e) { return "json"; }'), 'json');
  assert.equal(block('try { throw new Exception("a"); } catch (Exception e) when (e.Message == "b") { return 1; } catch { return 2; }'), 2);
  runtimeError(() => block('try { throw new FormatException("x"); } catch (FormatException) { throw; }'), 'FormatException', /^x$/);
  runtimeError(() => block('throw new Exception("boom");'), 'Exception', /^boom$/);
  assert.equal(ev('"v" ?? throw new Exception("t")'), 'v');
});

test('a throw expression after ?? fails with its exception', () => {
  runtimeError(() => ev('context.Variables.GetValueOrDefault<string>("x") ?? throw new ArgumentException("x is required")'), 'ArgumentException', /x is required/);
});

test('switch on strings and numbers', () => {
  const code = 'switch (context.Request.Method) { case "GET": case "HEAD": return "read"; case "POST": { return "create"; } default: return "other"; }';
  assert.equal(block(code, { method: 'HEAD' }), 'read');
  assert.equal(block(code, { method: 'POST' }), 'create');
  assert.equal(block(code, { method: 'PATCH' }), 'other');
  assert.equal(block('var r = 0; switch (2) { case 1: r = 10; break; case 2: r = 20; break; } return r;'), 20);
});

test('lambdas capture variables; local functions may recurse and be called before their declaration', () => {
  assert.equal(block('var k = 3; Func<int, int> f = x => x * k; k = 4; return f(2);'), 8);
  assert.equal(block('return Fact(10); int Fact(int n) { return n <= 1 ? 1 : n * Fact(n - 1); }'), 3628800);
  assert.equal(block('string Greet(string who) => "hi " + who; return Greet("bob");'), 'hi bob');
  assert.equal(block('Func<string, string, string> join = (a, b) => a + "-" + b; return join("x", "y");'), 'x-y');
  assert.equal(block('Action<string> trace = m => context.Trace(m); trace("t1"); return 1;'), 1);
  assert.equal(block('var add = new Func<int, int, int>((a, b) => a + b); return add(1, 2);'.replace('new Func<int, int, int>((a, b) => a + b)', '(Func<int, int, int>)((a, b) => a + b)')), 3);
  assert.equal(block('Func<int, bool> even = n => { if (n % 2 == 0) { return true; } return false; }; return even(4) && !even(3);'), true);
  loadError('var f = x => x; return 1;', 'unsupported-expression', '1:9', true, /lambda/);
});

test('using declarations and statements run their body', () => {
  assert.equal(block('using (var sha = SHA256.Create()) { return sha.ComputeHash(new byte[0]).Length; }'), 32);
  assert.equal(block('using var h = new HMACSHA256(Encoding.UTF8.GetBytes("k")); return h.ComputeHash(new byte[] { 1 }).Length;'), 32);
});

test('a block must return a value; the return types are unified', () => {
  loadError('var x = 1;', 'unsupported-expression', undefined, true, /must return a value/);
  assert.equal(typeOf('if (true) return 1; return 2L;', true), 'long');
  assert.equal(block('if (true) return 1; return 2L;'), 1n);
  assert.equal(typeOf('if (true) return "a"; return null;', true), 'string');
  assert.equal(typeOf('if (true) return 1; return "a";', true), 'object');
});

test('statements must have an effect, as in C#', () => {
  loadError('1 + 1; return 1;', 'unsupported-expression', '1:1', true, /statement/);
  loadError('var x = 1; var x = 2; return x;', 'unsupported-expression', '1:16', true, /already defined/);
  loadError('int x = "a"; return x;', 'unsupported-expression', '1:9', true, /cannot implicitly convert 'string' to 'int'/);
});
