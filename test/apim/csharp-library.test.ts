import { test } from 'node:test';
import assert from 'node:assert/strict';
import { block, ev, loadError, runtimeError } from './helpers.js';

test('string methods', () => {
  assert.equal(ev('"Hello World".Substring(6)'), 'World');
  assert.equal(ev('"Hello World".Substring(0, 5).ToUpper()'), 'HELLO');
  runtimeError(() => ev('"abc".Substring(2, 5)'), 'ArgumentOutOfRangeException');
  assert.equal(ev('"a/b/c".IndexOf(\'/\') + "a/b/c".LastIndexOf("/") * 10'), 1 + 30);
  assert.equal(ev('"Bearer xyz".StartsWith("bearer", StringComparison.OrdinalIgnoreCase)'), true);
  assert.equal(ev('"file.JSON".EndsWith(".json")'), false);
  assert.equal(ev('"abc".Contains("b") && !"abc".Contains("d")'), true);
  assert.equal(ev('"  x  ".Trim() + "|" + "//p//".Trim(\'/\') + "|" + "xxay".TrimStart(\'x\') + "|" + "a/".TrimEnd(\'/\')'), 'x|p|ay|a');
  assert.equal(ev('"a-b-c".Replace("-", "+").Replace(\'a\', \'A\')'), 'A+b+c');
  assert.equal(ev('"7".PadLeft(3, \'0\') + "|" + "ab".PadRight(4) + "|"'), '007|ab  |');
  assert.equal(ev('"abc".Insert(1, "X").Remove(0, 1)'), 'Xbc');
  assert.equal(ev('"héllo".ToUpperInvariant().Length'), 5);
  assert.deepEqual(ev('"a,,b".Split(\',\')'), ['a', '', 'b']);
  assert.deepEqual(ev('"a,,b".Split(new[] { \',\' }, StringSplitOptions.RemoveEmptyEntries)'), ['a', 'b']);
  assert.deepEqual(ev('"a=1;b=2".Split(\';\', \'=\')'), ['a', '1', 'b', '2']);
  assert.deepEqual(ev('"k=v=w".Split(new[] { \'=\' }, 2)'), ['k', 'v=w']);
  assert.deepEqual(ev('"a::b::c".Split(new[] { "::" }, StringSplitOptions.None)'), ['a', 'b', 'c']);
  assert.deepEqual(ev('" a  b ".Split(\' \', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)'), ['a', 'b']);
  assert.equal(ev('string.Join(", ", new List<string> { "a", "b" })'), 'a, b');
  assert.equal(ev('string.Join("-", 1, 2, 3)'), '1-2-3');
  assert.equal(ev('string.Join("|", new[] { 1.5, 2 })'), '1.5|2');
  assert.equal(ev('string.Concat("a", "b", "c")'), 'abc');
  assert.equal(ev('string.IsNullOrEmpty("") && string.IsNullOrWhiteSpace("  ") && !string.IsNullOrEmpty("x")'), true);
  assert.equal(ev('new string(\'=\', 3) + new string(new[] { \'a\', \'b\' })'), '===ab');
  assert.equal(ev('"abc".ToCharArray().Length + "abc"[1]'), 3 + 98);
  assert.equal(ev('"abc".IndexOfAny(new[] { \'x\', \'c\' })'), 2);
  assert.equal(ev('string.Empty.Length'), 0);
  assert.equal(ev('char.IsDigit(\'7\') && char.IsLetter(\'x\') && char.IsWhiteSpace(\' \') && char.IsUpper(\'A\') && char.ToLower(\'A\') == \'a\''), true);
  assert.equal(block('var sb = new StringBuilder(); sb.Append("a").Append(1).Append(\'c\'); sb.AppendLine("!"); sb.AppendFormat("{0:D2}", 5); return sb.ToString();'), 'a1c!\n05');
});

test('string.Format and interpolation with format specifiers and alignment', () => {
  assert.equal(ev('string.Format("{0} is {1:F2} ({2,5}|{3,-5}) {{x}}", "pi", 3.14159, "r", "l")'), 'pi is 3.14 (    r|l    ) {x}');
  assert.equal(ev('$"{42:D5}|{255:X}|{255:x4}|{1234567.891:N2}|{0.256:P1}|{1.5:0.00}|{1234:#,##0}|{5:000}"'), '00042|FF|00ff|1,234,567.89|25.6 %|1.50|1,234|005');
  assert.equal(ev('$"{-1.5:0.0;(0.0);zero}|{0:0.0;(0.0);zero}|{12345.678:E2}|{0.5:G}"'), '(1.5)|zero|1.23E+004|0.5');
  assert.equal(ev('$@"{"a"}\\{1}"'), 'a\\1');
  assert.equal(ev('$"{{literal}} {"x",3}"'), '{literal}   x');
  assert.equal(ev('(12.5).ToString("F0") + (13.5).ToString("F0") + 7.ToString("D3")'), '1214007'.replace('1214', '1314'));
  runtimeError(() => ev('string.Format("{1}", "a")'), 'FormatException');
  runtimeError(() => ev('string.Format("{0", "a")'), 'FormatException');
});

test('parsing numbers: Parse throws, TryParse reports', () => {
  assert.equal(ev('int.Parse(" 42 ") + int.Parse("-1")'), 41);
  assert.equal(ev('long.Parse("9223372036854775807")'), 9223372036854775807n);
  assert.equal(ev('double.Parse("1.5e3")'), 1500);
  assert.equal(ev('decimal.Parse("10.25")'), 10.25);
  assert.equal(ev('bool.Parse("TRUE")'), true);
  assert.equal(ev('int.Parse("ff", System.Globalization.NumberStyles.HexNumber)'), 255);
  runtimeError(() => ev('int.Parse("4x")'), 'FormatException', /'4x'/);
  runtimeError(() => ev('int.Parse("2147483648")'), 'OverflowException');
  runtimeError(() => ev('int.Parse(null)'), 'ArgumentNullException');
  assert.equal(block('return int.TryParse("12", out var n) ? n : -1;'), 12);
  assert.equal(block('int n; var ok = int.TryParse("x", out n); return ok + ":" + n;'), 'False:0');
  assert.equal(block('return double.TryParse("2.5", out double d) && d > 2;'), true);
  assert.equal(block('return bool.TryParse("nope", out var b) || b;'), false);
});

test('Convert, Encoding, Base64 and BitConverter', () => {
  assert.equal(ev('Convert.ToInt32("12") + Convert.ToInt32(2.5) + Convert.ToInt32(3.5) + Convert.ToInt32((string)null)'), 12 + 2 + 4 + 0);
  assert.equal(ev('Convert.ToInt32(context.Variables["n"])', { variables: { n: '7' } }), 7);
  assert.equal(ev('Convert.ToInt64("5") + 1'), 6n);
  assert.equal(ev('Convert.ToDouble("0.5") + Convert.ToBoolean("true").ToString().Length'), 4.5);
  assert.equal(ev('Convert.ToString(12) + Convert.ToString((object)null) + Convert.ToString(true)'), '12True');
  assert.equal(ev('Convert.ToInt32("ff", 16) + Convert.ToInt32("101", 2)'), 260);
  assert.equal(ev('Convert.ToBase64String(Encoding.UTF8.GetBytes("héllo"))'), 'aMOpbGxv');
  assert.equal(ev('Encoding.UTF8.GetString(Convert.FromBase64String("aMOpbGxv"))'), 'héllo');
  assert.equal(ev('Encoding.ASCII.GetString(Encoding.ASCII.GetBytes("héllo"))'), 'h?llo');
  assert.equal(ev('Encoding.Unicode.GetBytes("ab").Length'), 4);
  assert.equal(ev('System.Text.Encoding.UTF8.GetBytes("abc").Length'), 3);
  runtimeError(() => ev('Convert.FromBase64String("***")'), 'FormatException');
  assert.equal(ev('BitConverter.ToString(new byte[] { 1, 171, 255 })'), '01-AB-FF');
  assert.equal(ev('BitConverter.ToString(Encoding.UTF8.GetBytes("hi")).Replace("-", "").ToLower()'), '6869');
  assert.equal(ev('BitConverter.ToInt32(BitConverter.GetBytes(123456), 0)'), 123456);
  assert.equal(ev('Convert.ToHexString(new byte[] { 10, 11 })'), '0A0B');
});

test('Math, Random and Guid', () => {
  assert.equal(ev('Math.Round(2.5) + Math.Round(3.5) + Math.Round(-2.5)'), 2 + 4 - 2, 'rounds half to even by default');
  assert.equal(ev('Math.Round(2.5, MidpointRounding.AwayFromZero)'), 3);
  assert.equal(ev('Math.Round(1.23456, 2)'), 1.23);
  assert.equal(ev('Math.Max(3, 7) + Math.Min(2L, 9L) + Math.Abs(-4)'), 13n);
  assert.equal(ev('Math.Floor(-1.5) + Math.Ceiling(1.2) + Math.Pow(2, 10) + Math.Sqrt(16)'), -2 + 2 + 1024 + 4);
  assert.equal(ev('Math.Max(1, 2.5)'), 2.5);
  runtimeError(() => ev('Math.Abs(int.MinValue)'), 'OverflowException');
  const r = ev('new Random().Next(5, 10)') as number;
  assert.ok(r >= 5 && r < 10);
  assert.equal(ev('new Random(42).Next(100) == new Random(42).Next(100)'), true);
  const d = ev('new Random().NextDouble()') as number;
  assert.ok(d >= 0 && d < 1);
  assert.match(String(ev('Guid.NewGuid().ToString()')), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(ev('Guid.Parse("6F1C2A4E1B2C4D3E8F900123456789AB").ToString("B")'), '{6f1c2a4e-1b2c-4d3e-8f90-0123456789ab}');
  assert.equal(ev('Guid.Empty.ToString("N")'), '00000000000000000000000000000000');
  assert.equal(block('return Guid.TryParse("nope", out var g) ? "y" : g.ToString();'), '00000000-0000-0000-0000-000000000000');
  assert.equal(ev('context.RequestId.ToString()', { requestId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }), 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
});

test('DateTime: parsing, formatting and arithmetic', () => {
  assert.equal(ev('DateTime.Parse("2024-03-05T07:08:09Z").ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ")'), '2024-03-05T07:08:09Z');
  assert.equal(ev('new DateTime(2024, 3, 5, 7, 8, 9).ToString("dddd, dd MMM yyyy h:mm tt")'), 'Tuesday, 05 Mar 2024 7:08 AM');
  assert.equal(ev('new DateTime(2024, 3, 5, 17, 8, 9).ToString()'), '03/05/2024 17:08:09');
  assert.equal(ev('new DateTime(2024, 3, 5, 7, 8, 9, DateTimeKind.Utc).ToString("o")'), '2024-03-05T07:08:09.0000000Z');
  assert.equal(ev('new DateTime(2024, 3, 5, 7, 8, 9, DateTimeKind.Utc).ToString("R")'), 'Tue, 05 Mar 2024 07:08:09 GMT');
  assert.equal(ev('new DateTime(2024, 3, 5).ToString("s") + "|" + new DateTime(2024, 3, 5).ToString("u")'), '2024-03-05T00:00:00|2024-03-05 00:00:00Z');
  assert.equal(ev('DateTime.Parse("Tue, 05 Mar 2024 07:08:09 GMT").Hour'), 7);
  assert.equal(ev('DateTime.Parse("03/05/2024 5:00 PM").Hour'), 17);
  assert.equal(ev('DateTime.ParseExact("20240305", "yyyyMMdd", CultureInfo.InvariantCulture).Day'), 5);
  runtimeError(() => ev('DateTime.Parse("not a date")'), 'FormatException');
  assert.equal(block('return DateTime.TryParse("nope", out var d) ? "y" : d.Year.ToString();'), '1');
  assert.equal(ev('(new DateTime(2024, 3, 5) - new DateTime(2024, 3, 1)).TotalDays'), 4);
  assert.equal(ev('new DateTime(2024, 1, 31).AddMonths(1).ToString("yyyy-MM-dd")'), '2024-02-29');
  assert.equal(ev('new DateTime(2024, 3, 5).AddDays(-5).AddHours(1.5).ToString("yyyy-MM-dd HH:mm")'), '2024-02-29 01:30');
  assert.equal(ev('new DateTime(2024, 3, 5) > new DateTime(2024, 3, 4) && new DateTime(2024, 3, 5) == new DateTime(2024, 3, 5)'), true);
  assert.equal(ev('new DateTime(2024, 3, 5).DayOfWeek == DayOfWeek.Tuesday'), true);
  assert.equal(ev('new DateTime(2024, 3, 5).DayOfYear'), 65);
  assert.equal(ev('new DateTime(2024, 3, 5, 1, 2, 3).Date.ToString("HH:mm")'), '00:00');
  assert.equal(ev('new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks'), 621355968000000000n);
  const now = Date.now();
  const ts = ev('DateTime.UtcNow') as { ms: number };
  assert.ok(Math.abs(ts.ms - now) < 5000);
  assert.equal(ev('context.Timestamp.ToString("yyyy-MM-dd")', { timestamp: Date.UTC(2024, 5, 1) }), '2024-06-01');
});

test('DateTimeOffset and TimeSpan', () => {
  assert.equal(ev('DateTimeOffset.FromUnixTimeSeconds(1700000000).ToString("o")'), '2023-11-14T22:13:20.0000000+00:00');
  assert.equal(ev('DateTimeOffset.Parse("2024-03-05T07:08:09+02:00").ToUnixTimeSeconds()'), 1709615289n);
  assert.equal(ev('DateTimeOffset.Parse("2024-03-05T07:08:09+02:00").Offset.TotalHours'), 2);
  assert.equal(ev('DateTimeOffset.Parse("2024-03-05T07:08:09+02:00").UtcDateTime.Hour'), 5);
  assert.ok((ev('DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()') as bigint) > 1700000000000n);
  assert.equal(ev('(DateTimeOffset.FromUnixTimeSeconds(100) - DateTimeOffset.FromUnixTimeSeconds(40)).TotalSeconds'), 60);
  assert.equal(ev('TimeSpan.FromMinutes(90).ToString()'), '01:30:00');
  assert.equal(ev('TimeSpan.FromDays(1.5).ToString()'), '1.12:00:00');
  assert.equal(ev('TimeSpan.FromMilliseconds(1500).ToString()'), '00:00:01.5000000');
  assert.equal(ev('new TimeSpan(1, 2, 3).ToString(@"hh\\:mm\\:ss")'), '01:02:03');
  assert.equal(ev('TimeSpan.Parse("01:30:00").TotalMinutes'), 90);
  assert.equal(ev('(TimeSpan.FromSeconds(30) + TimeSpan.FromSeconds(45)).Minutes'), 1);
  assert.equal(ev('TimeSpan.FromHours(2) > TimeSpan.FromMinutes(100)'), true);
  assert.equal(ev('new DateTime(2024, 1, 1).Add(TimeSpan.FromHours(36)).ToString("yyyy-MM-dd HH")'), '2024-01-02 12');
  assert.equal(ev('context.Elapsed.TotalMilliseconds', { elapsedMs: 250 }), 250);
});

test('Uri, Uri.EscapeDataString and WebUtility', () => {
  assert.equal(ev('Uri.EscapeDataString("a b&c/d!")'), 'a%20b%26c%2Fd%21');
  assert.equal(ev('Uri.UnescapeDataString("a%20b%2Fc%zz")'), 'a b/c%zz');
  assert.equal(ev('new Uri("https://ex.com:8443/a/b?x=1#f").Host + "|" + new Uri("https://ex.com:8443/a/b?x=1").Port + "|" + new Uri("https://ex.com/a/b?x=1").PathAndQuery'), 'ex.com|8443|/a/b?x=1');
  assert.equal(ev('new Uri("http://ex.com/a").Port + new Uri("https://ex.com/").Segments.Length'), 81);
  assert.equal(ev('new Uri(new Uri("https://ex.com/a/"), "b/c").AbsoluteUri'), 'https://ex.com/a/b/c');
  runtimeError(() => ev('new Uri("/relative")'), 'UriFormatException');
  assert.equal(ev('Uri.IsWellFormedUriString("https://x.y", UriKind.Absolute) && !Uri.IsWellFormedUriString("nope", UriKind.Absolute)'), true);
  assert.equal(ev('System.Net.WebUtility.UrlEncode("a b&c=d")'), 'a+b%26c%3Dd');
  assert.equal(ev('WebUtility.UrlDecode("a+b%26c")'), 'a b&c');
  assert.equal(ev('WebUtility.HtmlEncode("<a href=\\"x\\">&\'</a>")'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  assert.equal(ev('WebUtility.HtmlDecode("&lt;b&gt; &amp; &#65;")'), '<b> & A');
});

test('unknown library members are load errors naming the position', () => {
  loadError('"abc".Lenght', 'unsupported-expression', '1:7', false, /'string' has no member 'Lenght'/);
  loadError('Math.Foo(1)', 'unsupported-expression', '1:6', false, /'Math' has no static member 'Foo'/);
  loadError('System.IO.File.ReadAllText("x")', 'unsupported-expression', '1:8', false, /'System.IO' is not a supported type or namespace/);
  loadError('Environment.GetEnvironmentVariable("PATH")', 'unsupported-expression', '1:1', false, /'Environment' does not exist/);
  loadError('"a".Substring("x")', 'unsupported-expression', '1:5', false, /no overload of 'Substring' takes \(string\)/);
  loadError('new System.Net.Http.HttpClient()', 'unsupported-expression', '1:5');
  loadError('Process.Start("sh")', 'unsupported-expression', '1:1');
  loadError('"x".GetType()', 'unsupported-expression', '1:5');
  loadError('typeof(string)', 'unsupported-expression', '1:1');
  loadError('XmlReader.Create("x")', 'unsupported-expression', '1:1', false, /XML documents/);
});

test('Array statics with predicates and Variables.GetValueOrDefault without a type', () => {
  assert.equal(ev('Array.Exists(new[] { "read", "write" }, p => p == "write")'), true);
  assert.equal(ev('Array.Exists(new string[0], p => p == "write")'), false);
  assert.equal(ev('Array.TrueForAll(new[] { 2, 4 }, n => n % 2 == 0)'), true);
  assert.equal(ev('Array.Find(new[] { 1, 5, 9 }, n => n > 3)'), 5);
  assert.equal(ev('Array.FindIndex(new[] { 1, 5, 9 }, n => n > 6)'), 2);
  assert.deepEqual(ev('Array.FindAll(new[] { 1, 5, 9 }, n => n > 3)'), [5, 9]);
  assert.equal(block('var v = context.Variables.GetValueOrDefault("code"); return $"k-{v}|" + (context.Variables.GetValueOrDefault("none") == null);', { variables: { code: 'abc' } }), 'k-abc|True');
});

test('Split with separators, a count and options', () => {
  assert.deepEqual(ev('"a/model/b/c".Split(new[] { "model/" }, 2, StringSplitOptions.None)'), ['a/', 'b/c']);
  assert.deepEqual(ev('"a-b-c".Split(new[] { \'-\' }, 2, StringSplitOptions.None)'), ['a', 'b-c']);
});
