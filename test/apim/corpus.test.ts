import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExpressionEvaluationError, loadPolicyDocument, memoryContext, toCsString, type XmlElement, type XmlExpression } from '../../src/apim/index.js';
import { JToken } from '../../src/apim/csharp/runtime/json.js';
import { serialize } from '../../src/apim/csharp/runtime/json.js';
import { ROOT } from '../helpers/gateway.js';
import { CORPUS, type Expected } from './corpus-cases.js';

const DIR = join(ROOT, 'test', 'fixtures', 'apim');
const files = readdirSync(DIR).filter((f) => f.endsWith('.xml')).sort();

/** Run-time values as a test compares them: JSON text for tokens, base64 for bytes. */
function show(v: unknown): unknown {
  if (v instanceof JToken) return serialize(v, false);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(show);
  if (typeof v === 'object' && v !== null) return toCsString(v);
  return v;
}

/** Which element an expression belongs to, so set-variable results can be stored. */
function owners(root: XmlElement): Map<XmlExpression, { el: XmlElement; attr?: string }> {
  const out = new Map<XmlExpression, { el: XmlElement; attr?: string }>();
  const walk = (el: XmlElement) => {
    for (const a of el.attributes) if (typeof a.value !== 'string') out.set(a.value, { el, attr: a.name });
    for (const c of el.children) {
      if (c.kind === 'expression') out.set(c, { el });
      else if (c.kind === 'element') walk(c);
    }
  };
  walk(root);
  return out;
}

function check(file: string, i: number, actual: { value?: unknown; error?: ExpressionEvaluationError }, want: Expected): void {
  const where = `${file} expression #${i + 1}`;
  if (want && typeof want === 'object' && 'throws' in (want as object)) {
    assert.equal(actual.error?.exceptionType, (want as { throws: string }).throws, `${where}: expected ${(want as { throws: string }).throws}`);
    return;
  }
  if (actual.error) assert.fail(`${where} failed: ${actual.error.exceptionType}: ${actual.error.message}`);
  const got = show(actual.value);
  if (want instanceof RegExp) assert.match(String(got), want, where);
  else assert.deepEqual(got, want, where);
}

test('the corpus has at least 40 policy documents, each with expectations', () => {
  assert.ok(files.length >= 40, `${files.length} documents`);
  assert.deepEqual(files, Object.keys(CORPUS).sort());
});

for (const file of files) {
  test(`corpus ${file} loads and its expressions evaluate as expected`, () => {
    const c = CORPUS[file]!;
    const { document, expressions } = loadPolicyDocument(readFileSync(join(DIR, file), 'utf8'), { file, namedValues: c.namedValues ?? {} });
    assert.equal(expressions.length, c.expect.length, `${file}: ${expressions.length} expressions, ${c.expect.length} expectations`);
    const ctx = memoryContext(c.context);
    const owner = owners(document.root);
    expressions.forEach(({ node, compiled }, i) => {
      let value: unknown, error: ExpressionEvaluationError | undefined;
      try {
        value = compiled.evaluate(ctx);
      } catch (e) {
        if (!(e instanceof ExpressionEvaluationError)) throw e;
        error = e;
      }
      check(file, i, { value, error }, c.expect[i]);
      const o = owner.get(node);
      if (o?.el.name === 'set-variable' && o.attr === 'value' && !error) ctx.Variables.set(o.el.attributes.find((a) => a.name === 'name')!.value as string, value);
    });
  });
}

test('the corpus covers every expression feature of the census', () => {
  const code = files.map((f) => loadPolicyDocument(readFileSync(join(DIR, f), 'utf8'), { namedValues: CORPUS[f]!.namedValues ?? {} }).expressions.map((e) => e.node.code).join('\n')).join('\n');
  const features: Record<string, RegExp> = {
    'interpolated string': /\$"/, 'verbatim string': /@"/, 'verbatim interpolated': /\$@"/, 'format specifier': /\{[^{}]+:[^{}]+\}/,
    'cast (int)': /\(int\)/, 'cast (string)': /\(string\)/, 'as': /\bas (string|JArray)\b/, 'is pattern': /\bis string \w+/, '?.': /\?\./, '??': /\?\?/, ternary: /\? [^?:]+ : /,
    var: /\bvar \w+ =/, 'if/else': /\bif \(/, foreach: /\bforeach \(/, for: /\bfor \(var/, while: /\bwhile \(/, 'do/while': /\bdo \{/, switch: /\bswitch \(/,
    return: /\breturn\b/, 'try/catch/finally': /finally/, throw: /\bthrow new\b/, 'throw expression': /\?\? throw/, lambda: /=>/, 'local function': /bool IsLuhnValid\(/, using: /using \(var/,
    'GetValueOrDefault<T>': /GetValueOrDefault<\w+>/, ContainsKey: /ContainsKey\(/, 'Body.As<JObject>': /Body\.As<JObject>/, 'As<string>': /As<string>/, preserveContent: /preserveContent: true/,
    JObject: /new JObject/, JArray: /JArray/, JProperty: /new JProperty/, 'JToken.Parse': /JToken\.Parse/, SelectToken: /SelectToken/, 'Value<T>': /Value<\w+>/,
    'JsonConvert.SerializeObject': /JsonConvert\.SerializeObject/, 'JsonConvert.DeserializeObject': /JsonConvert\.DeserializeObject/,
    'List<T>': /new List</, 'Dictionary<K,V>': /new Dictionary</, BitConverter: /BitConverter\./, StringComparer: /StringComparer\./, 'string.Join': /string\.Join/, Split: /\.Split\(/, 'string.Format': /string\.Format/,
    'int.TryParse': /int\.TryParse/, 'out var': /out var/, 'Convert.ToBase64String': /Convert\.ToBase64String/, 'Convert.FromBase64String': /Convert\.FromBase64String/,
    'Encoding.UTF8': /Encoding\.UTF8/, 'Encoding.ASCII': /Encoding\.ASCII/, DateTime: /DateTime\.TryParse/, DateTimeOffset: /DateTimeOffset/, TimeSpan: /TimeSpan\.From/, Guid: /Guid\.NewGuid/,
    Math: /Math\.(Round|Max|Min|Abs|Floor)/, Random: /new Random/, 'Uri.EscapeDataString': /Uri\.EscapeDataString/, Uri: /new Uri\(/, WebUtility: /WebUtility\.UrlEncode/,
    'Regex.Match': /Regex\.Match/, 'Regex.IsMatch': /Regex\.IsMatch/, 'Regex.Replace': /Regex\.Replace/,
    Any: /\.Any\(/, All: /\.All\(/, Where: /\.Where\(/, Select: /\.Select\(/, First: /\.First\(\)/, FirstOrDefault: /\.FirstOrDefault\(/, Last: /\.Last\(\)/, Count: /\.Count\(/,
    Max: /\.Max\(/, Min: /\.Min\(/, Sum: /\.Sum\(/, OrderBy: /\.OrderBy\(/, ToArray: /\.ToArray\(/, ToList: /\.ToList\(/, Contains: /\.Contains\(/, Concat: /\.Concat\(/, Distinct: /\.Distinct\(/,
    SHA256: /SHA256\.Create/, SHA1: /SHA1\.Create/, HMACSHA256: /new HMACSHA256/, Aes: /Aes\.Create/, Encrypt: /\.Encrypt\(/, Decrypt: /\.Decrypt\(/, AsJwt: /\.AsJwt\(\)/, TryParseJwt: /TryParseJwt/, AsBasic: /\.AsBasic\(\)/,
    'context.Variables': /context\.Variables/, Headers: /context\.Request\.Headers/, Url: /context\.Request\.Url\./, MatchedParameters: /MatchedParameters/, Method: /context\.Request\.Method/, IpAddress: /IpAddress/,
    'Response.StatusCode': /context\.Response\.StatusCode/, 'Response.Headers': /context\.Response\.Headers/, 'Response.Body': /context\.Response\.Body/, IResponse: /\(IResponse\)/,
    Api: /context\.Api\./, Operation: /context\.Operation\./, Product: /context\.Product/, Subscription: /context\.Subscription/, User: /context\.User/, Deployment: /context\.Deployment/,
    LastError: /context\.LastError/, RequestId: /context\.RequestId/, Elapsed: /context\.Elapsed/, Timestamp: /context\.Timestamp/,
  };
  const missing = Object.entries(features).filter(([, re]) => !re.test(code)).map(([name]) => name);
  assert.deepEqual(missing, [], `features not covered by the corpus: ${missing.join(', ')}`);
});
