import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApimLoadError } from '../../src/apim/index.js';
import { JObject, JProperty, JValue } from '../../src/apim/csharp/runtime/json.js';
import { compileLiquid } from '../../src/gateway/apim/liquid.js';
import type { ExchangeContext } from '../../src/gateway/apim/context.js';

const POS = { file: 't.xml', line: 1, column: 1, offset: 0 };
const headers = new Map<string, readonly string[]>([['Accept', ['application/json']], ['X-Id', ['7', '8']]]);
const profile = new JObject();
profile.addProperty(new JProperty('tier', new JValue(8, 'gold')));
profile.addProperty(new JProperty('score', new JValue(6, 42)));
const vars = new Map<string, unknown>([['profile', profile]]);
class FakeContext { Request = { Method: 'POST', Headers: headers, Url: { Path: '/orders' } }; Variables = vars; secret = 'hidden'; }
const context = new FakeContext() as unknown as ExchangeContext;
const render = (src: string, body: unknown = {}) => compileLiquid(src, POS)(context, () => body);
const loadError = (src: string, re: RegExp) => assert.throws(() => compileLiquid(src, POS), (e) => e instanceof ApimLoadError && re.test(e.message));

test('liquid values: body and context paths, filters, whitespace control', () => {
  const body = { user: { name: 'ann', tags: ['a', 'b'] }, items: [{ id: 1, qty: 2 }, { id: 2, qty: 5 }], n: 7 };
  assert.equal(render('{{ body.user.name | Upcase }}/{{ body.items[1].id }}/{{ body.user.tags | join: "," }}', body), 'ANN/2/a,b');
  assert.equal(render('{{context.Request.Method}} {{ context.Request.Headers.X-Id }} {{ context.Request.Headers["Accept"] }}'), 'POST 7,8 application/json');
  assert.equal(render('{{ body.nope | Default: "none" }}|{{ body.nope | default: 3 }}|{{ body.nope | Default: bare }}'), 'none|3|bare');
  assert.equal(render('{{ body.n | plus: 3 | times: 2 }} {{ body.n | divided_by: 2 }} {{ body.n | modulo: 4 }} {{ body.user.name | size }} {{ body.items.size }}', body), '20 3 3 3 2');
  assert.equal(render('{{ "a b" | url_encode }} {{ "<i>" | escape }} {{ "  x " | strip | append: "!" | prepend: "¡" }} {{ "a-b-c" | replace: "-", "+" }} {{ "hello world" | truncate: 8 }}'), 'a+b &lt;i&gt; ¡x! a+b+c hello...');
  assert.equal(render('{{ context.Variables["profile"].tier }} {{ context.Variables.profile.score | minus: 2 }}'), 'gold 40');
  assert.equal(render('{{ context.secret }}{{ context.Request.toString }}'), '', 'only capitalized members of the object model');
  assert.equal(render('a  {{- "b" -}}  c\n{%- if true -%}  d  {%- endif %}'), 'abcd');
});

test('liquid tags: if/elsif/else/unless, for with forloop, case, assign, capture, comment, raw', () => {
  const body = { status: 'shipped', total: 120, lines: [{ sku: 'x', qty: 1 }, { sku: 'y', qty: 3 }, { sku: 'z', qty: 0 }], empty: [] };
  assert.equal(render('{% if body.total > 100 and body.status == "shipped" %}big{% elsif body.total > 10 %}mid{% else %}small{% endif %}', body), 'big');
  assert.equal(render('{% unless body.status contains "ship" %}no{% else %}yes{% endunless %}', body), 'yes');
  assert.equal(render('{% if body.missing %}x{% elsif body.empty == empty %}empty{% endif %}', body), 'empty');
  assert.equal(render('[{% for l in body.lines %}{% if l.qty == 0 %}{% continue %}{% endif %}{"sku":"{{ l.sku }}","n":{{ forloop.index }}}{% unless forloop.last %},{% endunless %}{% endfor %}]', body), '[{"sku":"x","n":1},{"sku":"y","n":2},]');
  assert.equal(render('{% for l in body.lines limit:2 reversed %}{{ l.sku }}{% endfor %}|{% for i in (1..4) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}|{% for x in body.empty %}x{% else %}none{% endfor %}', body), 'yx|12|none');
  assert.equal(render('{% for h in context.Request.Headers %}{{ h.Key }}={{ h.Value }};{% endfor %}'), 'Accept=application/json;X-Id=7,8;');
  assert.equal(render('{% case body.status %}{% when "new", "paid" %}open{% when "shipped" %}done{% else %}?{% endcase %}', body), 'done');
  assert.equal(render('{% assign who = body.status | upcase %}{% capture line %}{{ who }}:{{ body.total }}{% endcapture %}{{ line }}{% comment %}{{ body.secret }}{% endcomment %}{% raw %}{{ kept }}{% endraw %}', body), 'SHIPPED:120{{ kept }}');
  assert.equal(render('{% assign vars = context.Variables["profile"] %}<d t="{{ vars[\'tier\'] }}"/>'), '<d t="gold"/>');
});

test('liquid: unknown tags and filters are load errors; a runaway loop is bounded', () => {
  loadError('{% include "x" %}', /tag \{% include %\} is not supported/);
  loadError('{{ body.a | shout }}', /filter "shout" is not supported/);
  loadError('{% if body.a %}never closed', /endif %\} is missing/);
  loadError('{% for x body.a %}{% endfor %}', /not "for item in collection"/);
  assert.throws(() => render('{% for i in (1..9000) %}{% for j in (1..9000) %}.{% endfor %}{% endfor %}'), /too long/);
});
