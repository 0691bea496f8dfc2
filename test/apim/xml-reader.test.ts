import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApimLoadError, attribute, childElements, content, readPolicyDocument, readXml, type XmlElement, type XmlExpression } from '../../src/apim/index.js';

const fail = (src: string, code: string, where: string, opts = {}) => {
  let err: unknown;
  try { readPolicyDocument(src, { file: 'p.xml', ...opts }); } catch (e) { err = e; }
  assert.ok(err instanceof ApimLoadError, `expected ${code} for ${src}`);
  assert.equal(err.code, code, err.message);
  assert.equal(`${err.pos.line}:${err.pos.column}`, where, err.message);
  assert.equal(err.pos.file, 'p.xml');
  return err;
};
const expr = (v: unknown): XmlExpression => { assert.ok(v && typeof v === 'object' && (v as XmlExpression).kind === 'expression', `not an expression: ${JSON.stringify(v)}`); return v as XmlExpression; };
const first = (el: XmlElement, name: string): XmlElement => { const c = childElements(el).find((x) => x.name === name); assert.ok(c, `no <${name}>`); return c; };

test('reads sections, policies and <base/> with positions', () => {
  const doc = readPolicyDocument('<policies>\n  <inbound>\n    <set-header name="x" exists-action="override"><value>1</value></set-header>\n    <base />\n    <rate-limit calls="5" renewal-period="60"/>\n  </inbound>\n  <backend><base/></backend>\n  <outbound/>\n  <on-error/>\n</policies>', { file: 'a.xml' });
  assert.equal(doc.kind, 'policies');
  if (doc.kind !== 'policies') return;
  const inbound = doc.sections.inbound!;
  assert.deepEqual(inbound.policies.map((p) => p.name), ['set-header', 'rate-limit']);
  assert.equal(inbound.baseIndex, 1);
  assert.deepEqual(inbound.base!.pos, { file: 'a.xml', line: 4, column: 5, offset: inbound.base!.pos.offset });
  assert.equal(inbound.policies[0]!.pos.line, 3);
  assert.equal(attribute(inbound.policies[1]!, 'calls')!.value, '5');
  assert.equal(attribute(inbound.policies[1]!, 'calls')!.pos.column, 17);
  assert.equal(attribute(inbound.policies[1]!, 'calls')!.valuePos.column, 24);
  assert.equal(doc.sections.backend!.baseIndex, 0);
  assert.equal(doc.sections.outbound!.baseIndex, -1, 'an omitted <base/> is reported as -1');
  assert.ok(doc.sections['on-error']);
});

test('reads <fragment> documents and refuses <base/> in them', () => {
  const doc = readPolicyDocument('<fragment>\n  <set-variable name="a" value="1" />\n  <choose><when condition="@(true)"><set-status code="200"/></when></choose>\n</fragment>');
  assert.equal(doc.kind, 'fragment');
  assert.equal(doc.expressions.length, 1);
  fail('<fragment>\n  <base/>\n</fragment>', 'misplaced-policy', '2:3');
  fail('<policies><inbound><choose><when condition="@(true)"><base/></when></choose></inbound></policies>', 'misplaced-policy', '1:54');
  fail('<policies><inbound><base/><base/></inbound></policies>', 'misplaced-policy', '1:27');
});

test('reads a snippet with no <policies> root as a fragment', () => {
  const one = readPolicyDocument('<!-- copy into the outbound section -->\n<choose>\n  <when condition="@(true)"><set-status code="200"/></when>\n</choose>');
  assert.equal(one.kind, 'fragment');
  if (one.kind !== 'fragment') return;
  assert.equal(one.snippet, true);
  assert.deepEqual(one.policies.map((p) => p.name), ['choose']);
  const many = readPolicyDocument('<set-variable name="p" value="@(15)"/>\n<set-header name="x" exists-action="override">\n  <value>@(context.User.Id)</value>\n</set-header>');
  assert.equal(many.kind, 'fragment');
  if (many.kind !== 'fragment') return;
  assert.deepEqual(many.policies.map((p) => [p.name, p.pos.line]), [['set-variable', 1], ['set-header', 2]]);
  assert.equal(many.expressions.length, 2);
  fail('<set-variable name="a" value="1"/>\n<base/>', 'misplaced-policy', '2:1');
  fail('<set-variable name="a" value="1"/>\ntext', 'xml-malformed', '2:1');
});

test('structural errors of <policies>', () => {
  fail('<inbound/>', 'xml-malformed', '1:1');
  fail('<policies><inbound/></policies>\n<policies/>', 'xml-malformed', '2:1');
  fail('<policies>\n  <inbund/>\n</policies>', 'unsupported-policy', '2:3');
  fail('<policies><inbound/><inbound/></policies>', 'xml-malformed', '1:21');
  fail('<policies id="x"/>', 'unsupported-attribute', '1:11');
  fail('<policies><inbound>text</inbound></policies>', 'xml-malformed', '1:20');
});

test('an expression runs to its matching bracket, skipping strings, chars and comments', () => {
  const src = `<policies><inbound><set-variable name="v" value="@(context.Request.Headers.GetValueOrDefault("X-A)", "(d)") + ')' + @"x"")" + $"{("}")}" + $@"{{ {1} }}")" /></inbound></policies>`;
  const doc = readPolicyDocument(src);
  const e = expr(attribute(doc.root.children.length ? childElements(childElements(doc.root)[0]!)[0]! : doc.root, 'value')!.value);
  assert.equal(e.code, `context.Request.Headers.GetValueOrDefault("X-A)", "(d)") + ')' + @"x"")" + $"{("}")}" + $@"{{ {1} }}"`);
  assert.equal(e.block, false);
  const block = readXml('<set-body>@{\n  // a comment with ) and " and }\n  /* block } */\n  var s = "}";\n  return s;\n}</set-body>');
  const b = expr(content(block));
  assert.equal(b.block, true);
  assert.ok(b.code.includes('// a comment with ) and " and }\n'), 'newlines and // comments survive');
  assert.ok(b.code.endsWith('return s;\n'));
});

test('interpolated strings with nested holes and format specifiers do not end the expression', () => {
  const el = readXml(`<set-header name="x"><value>@($"{DateTime.UtcNow:HH':'mm} {(true ? $"{1}" : "}")} {"a".Length,3}")</value></set-header>`);
  const e = expr(content(first(el, 'value')));
  assert.equal(e.code, `$"{DateTime.UtcNow:HH':'mm} {(true ? $"{1}" : "}")} {"a".Length,3}"`);
});

test('entity-escaped and raw forms give the same expression text', () => {
  const raw = readXml(`<when condition="@(context.Request.Headers.GetValueOrDefault("a","") == "x" && 1 < 2)" />`);
  const escaped = readXml(`<when condition="@(context.Request.Headers.GetValueOrDefault(&quot;a&quot;,&quot;&quot;) == &quot;x&quot; &amp;&amp; 1 &lt; 2)" />`);
  const single = readXml(`<when condition='@(context.Request.Headers.GetValueOrDefault("a","") == "x" &amp;&amp; 1 &lt; 2)' />`);
  const a = expr(attribute(raw, 'condition')!.value), b = expr(attribute(escaped, 'condition')!.value), c = expr(attribute(single, 'condition')!.value);
  assert.equal(a.code, b.code);
  assert.equal(a.code, c.code);
  assert.equal(a.code, 'context.Request.Headers.GetValueOrDefault("a","") == "x" && 1 < 2');
});

test('raw <, &&, " and generics inside attribute values and text are tolerated', () => {
  const el = readXml(`<policies><inbound><set-body>@{ var o = context.Request.Body.As<JObject>(preserveContent: true); if (o != null && o.Count < 3) { return "<x a=\\"1\\"/>"; } return "y"; }</set-body><set-header name="a"><value>@((string)context.Variables["a"] ?? "<none>")</value></set-header></inbound></policies>`);
  const inbound = first(el, 'inbound');
  const body = expr(content(first(inbound, 'set-body')));
  assert.ok(body.code.includes('As<JObject>(preserveContent: true)'));
  assert.ok(body.code.includes('"<x a=\\"1\\"/>"'));
  const value = expr(content(first(first(inbound, 'set-header'), 'value')));
  assert.equal(value.code, '(string)context.Variables["a"] ?? "<none>"');
  const url = readXml('<set-backend-service base-url="https://h/x?a=1&b=2" />');
  assert.equal(attribute(url, 'base-url')!.value, 'https://h/x?a=1&b=2', 'a raw & in a literal stays');
  const lt = readXml('<value>a < b &amp; c</value>');
  assert.equal(content(lt), 'a < b & c');
});

test('expressions keep file:line:column, and offsets inside map back to the document', () => {
  const src = '<policies>\n  <inbound>\n    <set-variable name="n" value="@(1 +\n      2)" />\n  </inbound>\n</policies>';
  const doc = readPolicyDocument(src, { file: 'x.xml' });
  const e = doc.expressions[0]!;
  assert.deepEqual([e.pos.line, e.pos.column], [3, 35]);
  const two = e.code.indexOf('2');
  assert.deepEqual([e.codePos(two).line, e.codePos(two).column], [4, 7]);
  const esc = readPolicyDocument('<policies><inbound><set-variable name="n" value="@(&quot;é&quot; + x)" /></inbound></policies>');
  const x = esc.expressions[0]!;
  const pos = x.codePos(x.code.indexOf('x'));
  assert.equal(pos.column, src.length > 0 ? '<policies><inbound><set-variable name="n" value="@(&quot;é&quot; + '.length + 1 : 0);
});

test('text mixed with an expression is a load error, in attributes and in content', () => {
  fail('<policies><inbound><set-header name="a"><value>Bearer @(context.Variables["t"])</value></set-header></inbound></policies>', 'mixed-expression', '1:55');
  fail('<policies><inbound><set-variable name="a" value="x-@(1)" /></inbound></policies>', 'mixed-expression', '1:52');
  fail('<policies><inbound><set-variable name="a" value="@(1)x" /></inbound></policies>', 'mixed-expression', '1:54');
  fail('<policies><inbound><set-body>@(1)@(2)</set-body></inbound></policies>', 'mixed-expression', '1:30');
  const ok = readXml('<value>\n   @(1)\n   <!-- a comment -->\n</value>');
  assert.equal(expr(content(ok)).code, '1');
  const ws = readXml('<x a="  @(1)  " />');
  assert.equal(expr(attribute(ws, 'a')!.value).code, '1', 'whitespace around the expression is fine');
});

test('@( and @{ inside comments and CDATA are text', () => {
  const el = readXml('<set-body><!-- @(not) --><![CDATA[@(literal) <b>]]></set-body>');
  assert.equal(content(el), '@(literal) <b>');
  const email = readXml('<value>user@example.com</value>');
  assert.equal(content(email), 'user@example.com');
});

test('malformed XML is xml-malformed at a precise position', () => {
  fail('<policies>\n  <inbound>\n    <set-header name="a">\n  </inbound>\n</policies>', 'xml-malformed', '4:3');
  fail('<policies><inbound></policies>', 'xml-malformed', '1:20');
  fail('<policies><inbound a="1" a="2"/></policies>', 'xml-malformed', '1:26');
  fail('<policies><inbound a=1/></policies>', 'xml-malformed', '1:22');
  fail('<policies><inbound a/></policies>', 'xml-malformed', '1:21');
  fail('<policies>\n<inbound a="x/></policies>', 'xml-malformed', '2:12');
  fail('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<policies/>', 'xml-malformed', '2:1');
  fail('<policies/><policies/>', 'xml-malformed', '1:12');
  fail('text<policies/>', 'xml-malformed', '1:1');
  fail('<policies><!-- never closed </policies>', 'xml-malformed', '1:11');
  fail('<policies><inbound><set-body>&nbsp;</set-body></inbound></policies>', 'xml-malformed', '1:30');
  fail('<policies><inbound><set-body>@(1 + (2)</set-body></inbound></policies>', 'expression-syntax', '1:30');
  fail('<policies><inbound><set-body>@(1 + 2]</set-body></inbound></policies>', 'expression-syntax', '1:37');
  fail('', 'xml-malformed', '1:1');
});

test('refuses nesting deeper than the bound', () => {
  const deep = '<a>'.repeat(100) + '</a>'.repeat(100);
  assert.throws(() => readXml(deep), (e: unknown) => e instanceof ApimLoadError && e.code === 'xml-malformed' && /nested deeper/.test(e.message));
});

test('named values are substituted first, only defined names, and not in liquid bodies', () => {
  const src = '<policies><inbound>\n<set-header name="k"><value>{{api-key}}</value></set-header>\n<set-variable name="e" value="{{expr}}" />\n<set-body template="liquid">{{body.name}} {{api-key}}</set-body>\n<set-body>{backend-id}</set-body>\n</inbound></policies>';
  const doc = readPolicyDocument(src, { namedValues: { 'api-key': 'secret&1', expr: '@(1 + 2)' } });
  if (doc.kind !== 'policies') throw new Error('not policies');
  const [header, variable, liquid, plain] = doc.sections.inbound!.policies;
  assert.equal(content(first(header!, 'value')), 'secret&1');
  const e = expr(attribute(variable!, 'value')!.value);
  assert.equal(e.code, '1 + 2', 'a named value may hold an expression');
  assert.equal(e.pos.line, 3, 'its position is the reference');
  assert.equal(content(liquid!), '{{body.name}} {{api-key}}');
  assert.equal(content(plain!), '{backend-id}', 'single-brace deployment placeholders are plain text');
  fail('<policies><inbound>\n  <set-header name="k"><value>{{missing}}</value></set-header></inbound></policies>', 'undefined-named-value', '2:31', { namedValues: {} });
  const kept = readPolicyDocument('<policies><inbound><set-body>{{missing}}</set-body></inbound></policies>', { undefinedNamedValues: 'keep' });
  assert.equal(kept.expressions.length, 0);
});

test('positions after a substituted named value stay those of the original text', () => {
  const src = '<policies><inbound><set-variable name="a" value="{{long-value}}" /><set-variable name="b" value="@(x)" /></inbound></policies>';
  let err: unknown;
  const doc = readPolicyDocument(src, { namedValues: { 'long-value': 'a'.repeat(50) } });
  const e = doc.expressions[0]!;
  assert.equal(e.pos.column, src.indexOf('@(x)') + 1);
  try { readPolicyDocument(src.replace('@(x)', '@(x'), { namedValues: { 'long-value': 'z' } }); } catch (x) { err = x; }
  assert.ok(err instanceof ApimLoadError);
  assert.equal(err.pos.column, src.indexOf('@(x)') + 1);
});

test('a named value fills literal text as it is, quotes and angle brackets included', () => {
  const config = '[{"name":"a","weight":1}] <b> & \'c\'';
  const src = '<policies><inbound>\n<set-variable name="cfg" value="{{config}}" />\n<set-variable name="single" value=\'{{config}}\' />\n<set-header name="h"><value>{{config}}</value></set-header>\n<set-variable name="e" value="@("{{plain}}" + "x")" />\n</inbound></policies>';
  const doc = readPolicyDocument(src, { namedValues: { config, plain: 'a&b<c' } });
  if (doc.kind !== 'policies') throw new Error('not policies');
  const [cfg, single, header, e] = doc.sections.inbound!.policies;
  assert.equal(attribute(cfg!, 'value')!.value, config);
  assert.equal(attribute(single!, 'value')!.value, config);
  assert.equal(content(first(header!, 'value')), config);
  assert.equal(expr(attribute(e!, 'value')!.value).code, '"a&b<c" + "x"', 'inside an expression the value is code');
});
