import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startGateway, type SupervisedGateway } from '../helpers/gateway.js';

/**
 * The service's validation policies and liquid templates with tags, in XML documents run by the
 * real gateway against a recording backend.
 */

const OPENAPI = `openapi: 3.0.3
info: { title: items, version: "1" }
paths:
  /items:
    post:
      operationId: create-item
      parameters:
        - { name: dry-run, in: query, required: false, schema: { type: boolean } }
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, qty]
              properties: { name: { type: string }, qty: { type: integer, minimum: 1 } }
      responses:
        "201": { description: created }
  /items/{id}:
    get:
      operationId: get-item
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
      responses:
        "200": { description: the item }
`;

const VALIDATE = `<policies>
  <inbound>
    <base />
    <validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent">
      <headers specified-parameter-action="ignore" unspecified-parameter-action="ignore" />
    </validate-parameters>
    <validate-content unspecified-content-type-action="prevent" max-size="1024" size-exceeded-action="prevent" errors-variable-name="bodyErrors">
      <content type="application/json" validate-as="json" action="prevent" allow-additional-properties="false" />
    </validate-content>
  </inbound>
  <backend><base /></backend>
  <outbound>
    <base />
    <validate-status-code unspecified-status-code-action="prevent" />
  </outbound>
  <on-error>
    <base />
    <set-header name="X-Error-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
  </on-error>
</policies>`;

const LIQUID = `<policies>
  <inbound>
    <base />
    <set-body template="liquid">{% assign total = 0 -%}
{"who":"{{ body.user.name | Upcase }}","lines":[
{%- for l in body.lines %}{% if l.qty > 0 %}{"sku":"{{ l.sku }}","n":{{ forloop.index }}}{% unless forloop.last %},{% endunless %}{% endif %}{% endfor -%}
],"tier":"{% case body.tier %}{% when "g", "gold" %}gold{% else %}basic{% endcase %}","method":"{{ context.Request.Method | Downcase }}"}</set-body>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>`;

const LIQUID_XML = `<policies>
  <inbound>
    <base />
    <set-variable name="parsed" value="@{
      var doc = XDocument.Parse(context.Request.Body.As<string>(preserveContent: true));
      var o = new JObject();
      o[&quot;id&quot;] = doc.Root.Attribute(&quot;id&quot;).Value;
      o[&quot;first&quot;] = doc.Descendants().Where(e => e.Name.LocalName == &quot;item&quot;).First().Value;
      return o;
    }" />
    <set-body template="liquid">
      {% assign v = context.Variables["parsed"] %}<summary id="{{ v['id'] }}"><first>{{ v.first | Upcase }}</first></summary>
    </set-body>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>`;

const HOST = `<policies>
  <inbound>
    <base />
    <set-header name="Host" exists-action="override"><value>@("signed." + context.Request.Headers.GetValueOrDefault("X-Region", "eu") + ".example")</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>`;

describe('XML validation policies, liquid tags and the backend Host in the gateway', () => {
  let backend: TestBackend;
  let gw: SupervisedGateway;
  before(async () => {
    backend = await startBackend((req, res, body) => {
      if (req.url?.startsWith('/items/500')) { res.statusCode = 500; return res.end('stack trace at internal.host'); }
      res.statusCode = req.method === 'POST' && req.url?.startsWith('/items') ? 201 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body: body.toString() }));
    });
    gw = await startGateway(`gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  be: { url: "${backend.url}" }
apis:
  - { name: items, path: /items-api, backend: be, openapi: ./items.yaml, policy-xml: validate.xml }
  - { name: tpl, path: /tpl, backend: be, policy-xml: liquid.xml }
  - { name: hosted, path: /hosted, backend: be, policy-xml: host.xml }
  - { name: xmlbody, path: /xmlbody, backend: be, policy-xml: liquid-xml.xml }
`, { files: { 'items.yaml': OPENAPI, 'validate.xml': VALIDATE, 'liquid.xml': LIQUID, 'host.xml': HOST, 'liquid-xml.xml': LIQUID_XML } });
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  const post = (path: string, body: string, type = 'application/json') => fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('validate-content and validate-parameters pass valid requests and refuse the others before the backend', async () => {
    const before = backend.requests.length;
    const ok = await post('/items-api/items?dry-run=true', JSON.stringify({ name: 'pen', qty: 2 }));
    assert.equal(ok.status, 201);
    assert.equal(backend.requests.length, before + 1);
    const bad = await post('/items-api/items', JSON.stringify({ name: 'pen', qty: 0, extra: true }));
    assert.equal(bad.status, 400);
    assert.ok(/json/.test(bad.headers.get('content-type') ?? ''));
    const badType = await post('/items-api/items', 'name=pen', 'application/x-www-form-urlencoded');
    assert.equal(badType.status, 415);
    const tooBig = await post('/items-api/items', JSON.stringify({ name: 'x'.repeat(2000), qty: 1 }));
    assert.equal(tooBig.status, 413);
    const unknownQuery = await post('/items-api/items?debug=1', JSON.stringify({ name: 'pen', qty: 2 }));
    assert.equal(unknownQuery.status, 400);
    const badPath = await fetch(`${gw.url}/items-api/items/abc`);
    assert.equal(badPath.status, 400);
    assert.equal(backend.requests.length, before + 1, 'refused requests never reach the backend');
  });

  it('validate-status-code replaces an undeclared backend status with a 502 without its body', async () => {
    const ok = await fetch(`${gw.url}/items-api/items/7`);
    assert.equal(ok.status, 200);
    const r = await fetch(`${gw.url}/items-api/items/500`);
    assert.equal(r.status, 502);
    assert.ok(!(await r.text()).includes('internal.host'));
  });

  it('a liquid template with for, if, unless, case, assign and filters shapes the request body', async () => {
    const r = await post('/tpl/x', JSON.stringify({ user: { name: 'ann' }, tier: 'g', lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 0 }, { sku: 'c', qty: 2 }] }));
    assert.equal(r.status, 200);
    const echoed = await r.json() as { body: string };
    assert.deepEqual(JSON.parse(echoed.body), { who: 'ANN', lines: [{ sku: 'a', n: 1 }, { sku: 'c', n: 3 }], tier: 'gold', method: 'post' });
  });

  it('set-header Host in inbound sets the Host the backend gets', async () => {
    const r = await fetch(`${gw.url}/hosted/x`, { headers: { 'x-region': 'us' } });
    assert.equal(r.status, 200);
    assert.equal(backend.requests.at(-1)!.headers.host, 'signed.us.example');
    await (await fetch(`${gw.url}/tpl/plain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).text();
    assert.notEqual(backend.requests.at(-1)!.headers.host, 'signed.us.example', 'other requests keep the backend host');
  });

  it('an XML body read with XDocument feeds a liquid template written as XML markup', async () => {
    const r = await post('/xmlbody/x', '<order id="42"><item>pen</item><item>ink</item></order>', 'application/xml');
    assert.equal(r.status, 200);
    const echoed = await r.json() as { body: string };
    assert.equal(echoed.body.trim(), '<summary id="42"><first>PEN</first></summary>');
  });
});
