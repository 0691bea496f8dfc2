import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { block, ev, loadError, runtimeError } from './helpers.js';

test('LINQ over arrays, lists, strings and dictionaries', () => {
  const nums = 'new List<int> { 5, 3, 8, 1 }';
  assert.equal(ev(`${nums}.Where(n => n > 2).Select(n => n * 10).Sum()`), 160);
  assert.equal(ev(`${nums}.Any(n => n > 7) && ${nums}.All(n => n > 0) && !${nums}.Any(n => n > 9)`), true);
  assert.equal(ev(`${nums}.First() + ${nums}.Last() * 10 + ${nums}.First(n => n > 5) * 100`), 5 + 10 + 800);
  assert.equal(ev(`${nums}.FirstOrDefault(n => n > 50)`), 0);
  assert.equal(ev('new[] { "a", "b" }.FirstOrDefault(s => s == "z")'), null);
  assert.equal(ev(`${nums}.Count() + ${nums}.Count(n => n % 2 == 1) * 10`), 4 + 30);
  assert.equal(ev(`${nums}.Max() * 10 + ${nums}.Min()`), 81);
  assert.equal(ev('new[] { "bb", "a", "ccc" }.Max(s => s.Length)'), 3);
  assert.equal(ev(`${nums}.Average()`), 4.25);
  assert.equal(ev(`string.Join(",", ${nums}.OrderBy(n => n))`), '1,3,5,8');
  assert.equal(ev(`string.Join(",", ${nums}.OrderByDescending(n => n).Take(2))`), '8,5');
  assert.equal(ev('string.Join(",", new[] { "b2", "a2", "b1", "a1" }.OrderBy(s => s[0]).ThenBy(s => s[1]))'), 'a1,a2,b1,b2');
  assert.equal(ev('string.Join(",", new[] { "b", "a", "b", "c" }.Distinct())'), 'b,a,c');
  assert.equal(ev('string.Join(",", new[] { "A", "a" }.Distinct(StringComparer.OrdinalIgnoreCase))'), 'A');
  assert.equal(ev('new[] { "x", "y" }.Contains("y") && new List<string> { "Y" }.Contains("y", StringComparer.OrdinalIgnoreCase)'), true);
  assert.equal(ev('string.Join(",", new[] { 1, 2 }.Concat(new[] { 3 }).Skip(1).Reverse())'), '3,2');
  assert.equal(ev('new[] { 1, 2, 3 }.ToList().Count + new List<int> { 4 }.ToArray().Length'), 4);
  assert.equal(ev('"hello".Count(c => c == \'l\')'), 2);
  assert.equal(ev('"a1b2".Where(char.IsDigit).Count()'.replace('Where(char.IsDigit)', 'Where(c => char.IsDigit(c))')), 2);
  assert.equal(ev('new string("abc".Reverse().ToArray())'), 'cba');
  assert.equal(ev('new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 }.Where(kv => kv.Value > 1).Select(kv => kv.Key).Single()'), 'b');
  assert.equal(ev('new[] { 1, 2, 3, 4 }.Where((n, i) => i % 2 == 0).Sum()'), 4);
  assert.equal(ev('new[] { new[] { 1, 2 }, new[] { 3 } }.SelectMany(a => a).Sum()'), 6);
  assert.equal(ev('new[] { "a", "b" }.Aggregate((x, y) => x + y)'), 'ab');
  assert.equal(ev('new[] { 1, 2, 3 }.Aggregate(10, (acc, n) => acc + n)'), 16);
  assert.equal(ev('new[] { "a=1", "b=2" }.Select(p => p.Split(\'=\')).ToDictionary(p => p[0], p => p[1])["b"]'), '2');
  assert.equal(ev('Enumerable.Range(1, 5).Select(i => i * i).Last()'), 25);
  runtimeError(() => ev('new List<int>().First()'), 'InvalidOperationException', /Sequence contains no elements/);
  runtimeError(() => ev('new[] { 1, 2 }.Single()'), 'InvalidOperationException');
  runtimeError(() => ev('new[] { int.MaxValue, 1 }.Sum()'), 'OverflowException');
  loadError('new[] { 1 }.Select(n => n.Foo)', 'unsupported-expression', '1:27', false, /'int' has no member 'Foo'/);
});

test('List<T>, Dictionary<K,V>, HashSet<T> and KeyValuePair', () => {
  assert.equal(block('var l = new List<string>(); l.Add("a"); l.AddRange(new[] { "b", "c" }); l.Remove("b"); l.Insert(0, "z"); l[1] = "A"; return string.Join(",", l) + l.Count + l.IndexOf("c");'), 'z,A,c32');
  assert.equal(block('var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase); d["Key"] = "v"; d.Add("other", "w"); return d["KEY"] + d.ContainsKey("OTHER") + d.Count;'), 'vTrue2');
  assert.equal(block('var d = new Dictionary<string, int>(); d["a"] = 1; return d.TryGetValue("a", out var v) ? v : -1;'), 1);
  assert.equal(block('var d = new Dictionary<string, int>(); return d.TryGetValue("x", out var v) + ":" + v;'), 'False:0');
  assert.equal(block('var d = new Dictionary<int, string> { { 1, "one" } }; return d.GetValueOrDefault(2, "none") + d[1];'), 'noneone');
  assert.equal(block('var d = new Dictionary<string, int> { ["a"] = 1 }; return string.Join(",", d.Keys) + string.Join(",", d.Values);'), 'a1');
  runtimeError(() => block('var d = new Dictionary<string, int>(); return d["missing"];'), 'KeyNotFoundException', /'missing'/);
  runtimeError(() => block('var d = new Dictionary<string, int> { { "a", 1 } }; d.Add("a", 2); return 0;'), 'ArgumentException');
  runtimeError(() => block('var l = new List<int>(); return l[0];'), 'ArgumentOutOfRangeException');
  runtimeError(() => block('var a = new int[2]; return a[2];'), 'IndexOutOfRangeException');
  assert.equal(block('var s = new HashSet<string>(); s.Add("a"); s.Add("a"); return s.Count + (s.Contains("a") ? 10 : 0);'), 11);
  assert.equal(block('var kv = new KeyValuePair<string, int>("k", 3); return kv.Key + kv.Value;'), 'k3');
  assert.equal(block('var a = new byte[4]; a[1] = 7; return a.Length + a[1];'), 11);
  assert.equal(block('string[] arr = { "x", "y" }; return arr.Length;'.replace('string[] arr = { "x", "y" };', 'string[] arr = new[] { "x", "y" };')), 2);
});

test('JObject, JArray and JToken as Newtonsoft has them', () => {
  const body = '{"user":{"name":"Ann","roles":["a","b"],"age":41,"score":1.0,"active":true,"none":null},"when":"2024-03-05T07:08:09Z"}';
  const init = { body, method: 'POST' };
  assert.equal(ev('context.Request.Body.As<JObject>()["user"]["name"].ToString()', init), 'Ann');
  assert.equal(ev('(string)context.Request.Body.As<JObject>()["user"]["name"]', init), 'Ann');
  assert.equal(ev('(int)context.Request.Body.As<JObject>()["user"]["age"] + 1', init), 42);
  assert.equal(ev('context.Request.Body.As<JObject>()["user"]["roles"].Count()', init), 2);
  assert.equal(ev('((JArray)context.Request.Body.As<JObject>()["user"]["roles"]).Count', init), 2);
  assert.equal(ev('context.Request.Body.As<JObject>()["user"].Value<string>("name") + context.Request.Body.As<JObject>()["user"].Value<int>("age")'.replace(/context\.Request\.Body\.As<JObject>\(\)/g, 'JObject.Parse(context.Request.Body.As<string>(true))'), init), 'Ann41');
  assert.equal(ev('JObject.Parse((string)context.Variables["b"])["missing"] == null', { variables: { b: body } }), true);
  assert.equal(ev('JObject.Parse((string)context.Variables["b"])["user"]["none"].Type == JTokenType.Null', { variables: { b: body } }), true);
  assert.equal(ev('JObject.Parse((string)context.Variables["b"]).SelectToken("user.roles[1]").ToString()', { variables: { b: body } }), 'b');
  assert.equal(ev('JObject.Parse((string)context.Variables["b"]).SelectToken("$.user.age").Value<int>()', { variables: { b: body } }), 41);
  assert.equal(ev('JObject.Parse((string)context.Variables["b"])["user"]["score"].ToString(Formatting.None)', { variables: { b: body } }), '1.0');
  assert.equal(ev('(bool)JObject.Parse((string)context.Variables["b"])["user"]["active"]', { variables: { b: body } }), true);
  assert.equal(ev('JObject.Parse((string)context.Variables["b"])["when"].Type.ToString()', { variables: { b: body } }), 'Date', 'ISO dates parse as dates, as in Newtonsoft');
  assert.equal(ev('JObject.Parse((string)context.Variables["b"]).ToString(Formatting.None)', { variables: { b: body } }), body);
  assert.equal(ev('string.Join(",", JObject.Parse((string)context.Variables["b"])["user"].ToObject<JObject>().Properties().Select(p => p.Name))', { variables: { b: body } }), 'name,roles,age,score,active,none');
  assert.equal(block('var o = new JObject(); o["a"] = 1; o["b"] = "x"; o.Add("c", new JArray(1, "two", 3.5)); o.Add(new JProperty("d", true)); o.Remove("b"); return o.ToString(Formatting.None);'), '{"a":1,"c":[1,"two",3.5],"d":true}');
  assert.equal(block('var o = new JObject(new JProperty("a", 1), new JProperty("n", new JObject(new JProperty("b", "c")))); return o.ToString();'), '{\n  "a": 1,\n  "n": {\n    "b": "c"\n  }\n}');
  assert.equal(block('var a = JArray.Parse("[1,2,3]"); a.Add(4); a.RemoveAt(0); return a.Select(t => (int)t).Sum();'), 9);
  assert.equal(block('foreach (var p in JObject.Parse("{\\"x\\":1,\\"y\\":2}")) { if (p.Key == "y") return (int)p.Value; } return 0;'), 2);
  assert.equal(block('var o = JObject.Parse("{\\"a\\":{\\"b\\":1}}"); return o.ContainsKey("a") && o.TryGetValue("a", out var t) && t["b"] != null;'), true);
  assert.equal(ev('JToken.Parse("[1, {\\"a\\": 2}]")[1]["a"].Value<int>()'), 2);
  assert.equal(ev('JObject.FromObject(new { id = 7, name = "n", tags = new[] { "t" } }).ToString(Formatting.None)'), '{"id":7,"name":"n","tags":["t"]}');
  assert.equal(ev('JsonConvert.SerializeObject(new { a = 1, b = new List<string> { "x" }, c = (string)null })'), '{"a":1,"b":["x"],"c":null}');
  assert.equal(ev('JsonConvert.SerializeObject(new Dictionary<string, object> { ["k"] = 1.5 })'), '{"k":1.5}');
  assert.equal(ev('JsonConvert.SerializeObject("q\\"uote")'), '"q\\"uote"');
  assert.equal(ev('JsonConvert.DeserializeObject<JObject>("{\\"a\\":2}")["a"].ToString()'), '2');
  assert.equal(ev('JsonConvert.DeserializeObject<Dictionary<string, string>>("{\\"a\\":\\"b\\"}")["a"]'), 'b');
  assert.equal(ev('JsonConvert.DeserializeObject<List<int>>("[1,2]").Sum()'), 3);
  assert.equal(ev('JsonConvert.DeserializeObject("{\\"a\\":1}") is JObject'), true);
  runtimeError(() => ev('JObject.Parse("{\\"a\\": }")'), 'JsonReaderException', /line 1, position \d+/);
  runtimeError(() => ev('JObject.Parse("[1]")'), 'JsonReaderException');
  runtimeError(() => ev('(int)JObject.Parse("{\\"a\\":\\"x\\"}")["a"]'), 'FormatException');
  runtimeError(() => ev('(string)JObject.Parse("{\\"a\\":{}}")["a"]'), 'ArgumentException', /Can not convert Object to String/);
  runtimeError(() => block('var o = JObject.Parse("{\\"a\\":1}"); o.Add("a", 1); return 0;'), 'ArgumentException', /same name already exists/);
  runtimeError(() => ev('JToken.Parse("1")["a"]'), 'InvalidOperationException');
  runtimeError(() => ev('JObject.Parse("{\\"a\\":[1,2]}").SelectToken("a[?(@ > 1)]")'), 'JsonException');
  runtimeError(() => ev(`JToken.Parse("${'['.repeat(70)}${']'.repeat(70)}")`), 'JsonReaderException', /MaxDepth/);
});

test('regular expressions: .NET syntax runs, what JavaScript cannot do is refused', () => {
  assert.equal(ev('Regex.IsMatch("abc-123", @"^\\w+-\\d+$")'), true);
  assert.equal(ev('Regex.Match("order 42 of 7", @"(\\d+) of (?<total>\\d+)").Groups["total"].Value'), '7');
  assert.equal(ev('Regex.Match("order 42", @"(\\d+)").Groups[1].Value'), '42');
  assert.equal(ev('Regex.Match("x", "y").Success'), false);
  assert.equal(ev('Regex.Replace("2024-03-05", @"(\\d+)-(\\d+)-(?<d>\\d+)", "${d}/$2/$1")'), '05/03/2024');
  assert.equal(ev('Regex.Replace("a b", "(?<w>\\\\w)", m => m.Value.ToUpper())'), 'A B');
  assert.equal(ev('Regex.Replace("Hello", "hello", "X", RegexOptions.IgnoreCase)'), 'X');
  assert.equal(ev('Regex.Matches("a1b22c333", @"\\d+").Count'), 3);
  assert.equal(ev('string.Join("|", Regex.Matches("a1b22", @"\\d+").Select(m => m.Value))'), '1|22');
  assert.equal(ev('string.Join("|", Regex.Split("a1b22c", @"\\d+"))'), 'a|b|c');
  assert.equal(ev('new Regex(@"(?i)^bearer\\s+(.+)$").Match("Bearer tok").Groups[1].Value'), 'tok');
  assert.equal(ev('Regex.IsMatch("line1\\nline2", "^line2$", RegexOptions.Multiline)'), true);
  assert.equal(ev('Regex.IsMatch("abc\\n", "abc$")'), true, '$ matches before a final newline, as in .NET');
  assert.equal(ev('Regex.IsMatch("abc\\n", @"abc\\z")'), false);
  assert.equal(ev('Regex.Escape("a.b*c")'), 'a\\.b\\*c');
  loadError('Regex.IsMatch("x", "(?>a+)b")', 'unsupported-expression', '1:20', false, /atomic groups/);
  loadError('Regex.IsMatch("x", "(a+)+$")', 'unsupported-expression', '1:20', false, /catastrophic backtracking/);
  loadError('new Regex("[a-z-[aeiou]]")', 'unsupported-expression', '1:11', false, /subtraction/);
  loadError('Regex.Match("x", "a(?i:b)")', 'unsupported-expression', '1:18', false, /inline options/);
  runtimeError(() => ev('Regex.IsMatch("x", (string)context.Variables["p"])', { variables: { p: '(\\w+\\s?)*$' } }), 'ArgumentException', /catastrophic/);
  runtimeError(() => ev('Regex.IsMatch("x", (string)context.Variables["p"])', { variables: { p: '(' } }), 'ArgumentException');
});

test('hashes and HMACs match node:crypto', () => {
  const sha = createHash('sha256').update('abc').digest('base64');
  assert.equal(ev('Convert.ToBase64String(SHA256.Create().ComputeHash(Encoding.UTF8.GetBytes("abc")))'), sha);
  assert.equal(ev('Convert.ToBase64String(new SHA256Managed().ComputeHash(Encoding.UTF8.GetBytes("abc")))'), sha);
  assert.equal(ev('BitConverter.ToString(SHA1.Create().ComputeHash(Encoding.UTF8.GetBytes("abc"))).Replace("-", "").ToLowerInvariant()'), createHash('sha1').update('abc').digest('hex'));
  assert.equal(ev('Convert.ToBase64String(MD5.Create().ComputeHash(Encoding.UTF8.GetBytes("abc")))'), createHash('md5').update('abc').digest('base64'));
  assert.equal(ev('Convert.ToBase64String(new HMACSHA256(Encoding.UTF8.GetBytes("key")).ComputeHash(Encoding.UTF8.GetBytes("msg")))'), createHmac('sha256', 'key').update('msg').digest('base64'));
  assert.equal(ev('Convert.ToBase64String(new HMACSHA1(Convert.FromBase64String("a2V5")).ComputeHash(Encoding.UTF8.GetBytes("msg")))'), createHmac('sha1', 'key').update('msg').digest('base64'));
});

test('AES as real policies use it: Encrypt/Decrypt extensions and Aes.Create transforms', () => {
  const key = Buffer.alloc(32, 7), iv = Buffer.alloc(16, 9);
  const c = createCipheriv('aes-256-cbc', key, iv);
  const expected = Buffer.concat([c.update('secret text'), c.final()]).toString('base64');
  const vars = { variables: { key: key.toString('base64'), iv: iv.toString('base64') } };
  const keys = 'var key = Convert.FromBase64String((string)context.Variables["key"]); var iv = Convert.FromBase64String((string)context.Variables["iv"]);';
  assert.equal(block(`${keys} return Convert.ToBase64String(Encoding.UTF8.GetBytes("secret text").Encrypt("Aes", key, iv));`, vars), expected);
  assert.equal(block(`${keys} return Encoding.UTF8.GetString(Convert.FromBase64String("${expected}").Decrypt("Aes", key, iv));`, vars), 'secret text');
  assert.equal(block(`${keys} using (var aes = Aes.Create()) { aes.Key = key; aes.IV = iv; aes.Mode = CipherMode.CBC; aes.Padding = PaddingMode.PKCS7; var bytes = Encoding.UTF8.GetBytes("secret text"); var enc = aes.CreateEncryptor(aes.Key, aes.IV).TransformFinalBlock(bytes, 0, bytes.Length); return Convert.ToBase64String(enc); }`, vars), expected);
  assert.equal(block(`${keys} var aes = new RijndaelManaged { Key = key, IV = iv }; return Encoding.UTF8.GetString(Convert.FromBase64String("${expected}").Decrypt(aes));`, vars), 'secret text');
  runtimeError(() => block(`${keys} return Encoding.UTF8.GetString(Convert.FromBase64String("${expected}").Decrypt("Aes", iv, iv));`, vars), 'CryptographicException');
});

test('more of the library: nameof, default, Merge, Values<T>, DeepClone', () => {
  assert.equal(block('var total = 1; return nameof(total) + nameof(context.Request);'), 'totalRequest');
  assert.equal(ev('default(int) + (default(string) == null ? 1 : 0)'), 1);
  assert.equal(block('var a = JObject.Parse("{\\"x\\":1,\\"l\\":[1]}"); a.Merge(JObject.Parse("{\\"y\\":2,\\"l\\":[2]}")); return a.ToString(Formatting.None);'), '{"x":1,"l":[1,2],"y":2}');
  assert.equal(ev('string.Join(",", JArray.Parse("[1,2,3]").Values<int>())'), '1,2,3');
  assert.equal(block('var a = JObject.Parse("{\\"x\\":1}"); var b = (JObject)a.DeepClone(); b["x"] = 2; return (int)a["x"] * 10 + (int)b["x"];'), 12);
});

test('names from policies never reach JavaScript objects', () => {
  assert.equal(ev('JsonConvert.SerializeObject(new { __proto__ = "x", constructor = 1 })'), '{"__proto__":"x","constructor":1}');
  assert.equal(ev('JObject.Parse("{\\"__proto__\\": {\\"polluted\\": true}}")["__proto__"]["polluted"].ToString()'), 'True');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(block('var d = new Dictionary<string, string>(); d["__proto__"] = "v"; d["constructor"] = "c"; return d["__proto__"] + d.Count;'), 'v2');
  loadError('"".constructor', 'unsupported-expression', '1:4', false, /no member 'constructor'/);
  loadError('process.exit(1)', 'unsupported-expression', '1:1', false, /'process' does not exist/);
  loadError('globalThis', 'unsupported-expression', '1:1');
  loadError('context.Request.__proto__', 'unsupported-expression', '1:17');
  loadError('context.Variables.get("a")', 'unsupported-expression', '1:19', false, /no member 'get'/);
});

test('LINQ to XML, read side: Parse, Descendants, Elements, Element, Attribute, Name, Value', () => {
  const xml = '<?xml version=\\"1.0\\"?><m:order xmlns:m=\\"urn:m\\" id=\\"7\\"><line sku=\\"a\\">2</line><line sku=\\"b\\">5</line><note>rush</note></m:order>';
  assert.equal(block(`var doc = XDocument.Parse("${xml}"); return doc.Descendants().Where(e => e.Name.LocalName == "line").Select(e => e.Attribute("sku").Value + "=" + e.Value).Aggregate((a, b) => a + "," + b);`), 'a=2,b=5');
  assert.equal(block(`var doc = XDocument.Parse("${xml}"); return doc.Root.Name.LocalName + "|" + doc.Root.Name.NamespaceName + "|" + doc.Root.Attribute("id").Value + "|" + doc.Root.Element("note").Value + "|" + doc.Root.Elements("line").Count();`), 'order|urn:m|7|rush|2');
  assert.equal(block(`var e = XElement.Parse("<a><b>1</b><b>2</b></a>"); return e.Descendants("b").Sum(x => int.Parse(x.Value));`), 3);
  assert.equal(block('var doc = XDocument.Parse("<r/>"); return doc.Root.Element("x") == null && doc.Root.Attribute("y") == null;'), true);
  runtimeError(() => block('return XDocument.Parse("<r><unclosed></r>").Root.Value;'), 'XmlException');
  runtimeError(() => block('return XDocument.Parse("<!DOCTYPE r [<!ENTITY a \\"x\\">]><r>&a;</r>").Root.Value;'), 'XmlException', /DTD/);
});
