import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startGateway, type SupervisedGateway } from '../helpers/gateway.js';

/**
 * XML policy documents run by the real gateway (one process for the file): each API below has
 * its own document; requests go through a recording backend.
 */

const SECRET = Buffer.alloc(32, 7);
function hs256(claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const GLOBAL = `<policies>
  <inbound><set-header name="X-Global" exists-action="override"><value>in</value></set-header></inbound>
  <backend><forward-request timeout="10" /></backend>
  <outbound><set-header name="X-Global-Out" exists-action="override"><value>@(context.Deployment.Region)</value></set-header></outbound>
  <on-error><set-header name="X-Error-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error>
</policies>`;

const MAIN = `<policies>
  <inbound>
    <base />
    <set-variable name="user" value="@(context.Request.Headers.GetValueOrDefault("X-User", "anonymous"))" />
    <set-variable name="n" value="@(int.Parse(context.Request.Url.Query.GetValueOrDefault("n", "2")) * 21)" />
    <choose>
      <when condition="@((string)context.Variables["user"] == "blocked")">
        <return-response>
          <set-status code="403" reason="Blocked" />
          <set-header name="X-Why" exists-action="override"><value>@("user " + context.Variables["user"])</value></set-header>
          <set-body>@(new JObject(new JProperty("blocked", context.Variables["user"])).ToString(Newtonsoft.Json.Formatting.None))</set-body>
        </return-response>
      </when>
      <when condition="@(context.Variables.GetValueOrDefault<int>("n") > 100)">
        <set-header name="X-Size" exists-action="override"><value>large</value></set-header>
      </when>
      <otherwise>
        <set-header name="X-Size" exists-action="override"><value>small</value></set-header>
      </otherwise>
    </choose>
    <set-header name="X-Hello" exists-action="override"><value>@($"hi {context.Variables["user"]}, {context.Variables["n"]}")</value></set-header>
    <set-header name="X-Drop" exists-action="delete" />
    <set-header name="X-Multi" exists-action="append"><value>b</value></set-header>
    <set-query-parameter name="added" exists-action="override"><value>@(context.Request.Method.ToLower())</value></set-query-parameter>
    <set-query-parameter name="n" exists-action="delete" />
    <set-header name="X-Named" exists-action="override"><value>{{greeting}}</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound>
    <base />
    <set-header name="X-Status" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
    <set-body>@{
      var body = context.Response.Body.As<JObject>();
      return new JObject(new JProperty("url", body["url"]), new JProperty("hello", body["headers"]["x-hello"])).ToString(Newtonsoft.Json.Formatting.None);
    }</set-body>
    <set-status code="@(context.Request.Headers.ContainsKey("X-Teapot") ? 418 : 200)" reason="Fine" />
  </outbound>
  <on-error><base /></on-error>
</policies>`;

const NOBASE = `<policies>
  <inbound><set-header name="X-Own" exists-action="override"><value>yes</value></set-header></inbound>
  <backend><base /></backend>
  <outbound />
  <on-error />
</policies>`;

const FAILS = `<policies>
  <inbound>
    <base />
    <set-variable name="x" value="@(int.Parse(context.Request.Headers.GetValueOrDefault("X-Number", "nope")))" />
    <choose>
      <when condition="@(context.Request.Headers.ContainsKey("X-Loop"))">
        <set-variable name="y" value="@{ var i = 0; while (true) { i++; } return i; }" />
      </when>
    </choose>
    <set-header name="X-Inject" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("X-Evil", "ok").Replace("|", "\\r\\n"))</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error>
    <base />
    <set-header name="X-Error-Source" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
  </on-error>
</policies>`;

const OPS_API = `<policies>
  <inbound>
    <base />
    <set-header name="X-Api" exists-action="override"><value>api</value></set-header>
    <cors><allowed-origins><origin>https://ops.example</origin></allowed-origins><allowed-methods><method>GET</method></allowed-methods></cors>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const OP = `<policies>
  <inbound>
    <base />
    <set-header name="X-Item" exists-action="override"><value>@(context.Request.MatchedParameters["id"] + "@" + context.Operation.Id)</value></set-header>
    <rewrite-uri template="/v2/items/{id}?src=gw" />
    <include-fragment fragment-id="stamp" />
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const FRAGMENT = `<fragment>
  <set-header name="X-Stamp" exists-action="override"><value>@(context.Api.Name)</value></set-header>
</fragment>`;

const LIMITS = (name: string) => `<policies>
  <inbound>
    <base />
    <rate-limit-by-key calls="2" renewal-period="60" counter-key="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" remaining-calls-header-name="X-Remaining" />
    <set-header name="X-Api" exists-action="override"><value>${name}</value></set-header>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const CACHE = `<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Method == "PUT")">
        <cache-store-value key="@("v-" + context.Request.MatchedParameters.GetValueOrDefault("k", context.Request.Url.Path))" value="@(context.Request.Headers.GetValueOrDefault("X-Value", ""))" duration="60" caching-type="internal" />
        <return-response><set-status code="204" /></return-response>
      </when>
      <when condition="@(context.Request.Method == "DELETE")">
        <cache-remove-value key="@("v-" + context.Request.Url.Path)" caching-type="internal" />
        <return-response><set-status code="204" /></return-response>
      </when>
    </choose>
    <cache-lookup-value key="@("v-" + context.Request.Url.Path)" variable-name="cached" default-value="none" caching-type="internal" />
    <return-response>
      <set-header name="X-Cached" exists-action="override"><value>@((string)context.Variables["cached"])</value></set-header>
    </return-response>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const SEND = (backendUrl: string) => `<policies>
  <inbound>
    <base />
    <send-request mode="new" response-variable-name="info" timeout="5">
      <set-url>${backendUrl}/info</set-url>
      <set-method>POST</set-method>
      <set-header name="X-From" exists-action="override"><value>@(context.RequestId.ToString())</value></set-header>
      <set-body>@("{\\"ask\\":\\"" + context.Request.Url.Path + "\\"}")</set-body>
    </send-request>
    <set-variable name="answer" value="@((string)((IResponse)context.Variables["info"]).Body.As<JObject>(preserveContent: true)["answer"])" />
    <choose>
      <when condition="@(context.Request.Url.Path.EndsWith("/raw"))">
        <return-response response-variable-name="info" />
      </when>
    </choose>
    <return-response>
      <set-status code="200" />
      <set-header name="X-Answer" exists-action="override"><value>@((string)context.Variables["answer"])</value></set-header>
      <set-header name="X-Info-Status" exists-action="override"><value>@(((IResponse)context.Variables["info"]).StatusCode.ToString())</value></set-header>
    </return-response>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const WAIT = (backendUrl: string) => `<policies>
  <inbound>
    <base />
    <wait for="any">
      <send-request mode="new" response-variable-name="slow" timeout="20"><set-url>${backendUrl}/slow</set-url><set-method>GET</set-method></send-request>
      <send-request mode="new" response-variable-name="fast" timeout="20"><set-url>${backendUrl}/fast</set-url><set-method>GET</set-method></send-request>
    </wait>
    <return-response>
      <set-header name="X-Vars" exists-action="override"><value>@((context.Variables.ContainsKey("fast") ? "fast" : "") + (context.Variables.ContainsKey("slow") ? "slow" : ""))</value></set-header>
    </return-response>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const SUBLIMITS = `<policies>
  <inbound>
    <base />
    <quota calls="100" renewal-period="3600"><api name="subl"><operation name="op-c" calls="1" renewal-period="3600" /></api></quota>
    <rate-limit calls="100" renewal-period="60">
      <api name="subl" calls="4" renewal-period="60"><operation name="op-a" calls="1" renewal-period="60" /></api>
      <api name="other" calls="1" renewal-period="60" />
    </rate-limit>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const JSONP = `<policies>
  <inbound><base /></inbound><backend><base /></backend>
  <outbound><base /><jsonp callback-parameter-name="cb" /></outbound><on-error><base /></on-error>
</policies>`;

const CONVERT = `<policies>
  <inbound><base /><json-to-xml apply="content-type-json" consider-accept-header="false" /></inbound><backend><base /></backend>
  <outbound><base /><xml-to-json kind="direct" apply="content-type-xml" consider-accept-header="false" /></outbound><on-error><base /></on-error>
</policies>`;

const MI = `<policies>
  <inbound>
    <base />
    <choose><when condition="@(context.Request.Url.Path.EndsWith("/wrong"))"><authentication-managed-identity resource="https://orders.example" client-id="intruder" /></when></choose>
    <authentication-managed-identity resource="https://orders.example" />
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const RETRY = `<policies>
  <inbound><base /></inbound>
  <backend>
    <retry condition="@(context.Response.StatusCode == 503)" count="3" interval="0" first-fast-retry="true">
      <forward-request />
    </retry>
  </backend>
  <outbound><base /><set-header name="X-Tries" exists-action="override"><value>done</value></set-header></outbound>
  <on-error><base /></on-error>
</policies>`;

const GUARDS = `<policies>
  <inbound>
    <base />
    <check-header name="X-Tenant" failed-check-httpcode="401" failed-check-error-message="Tenant missing" ignore-case="true">
      <value>contoso</value><value>fabrikam</value>
    </check-header>
    <ip-filter action="forbid">
      <address-range from="10.0.0.1" to="10.0.0.9" />
    </ip-filter>
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401" failed-validation-error-message="Unauthorized" output-token-variable-name="jwt">
      <issuer-signing-keys><key>${SECRET.toString('base64')}</key></issuer-signing-keys>
      <audiences><audience>orders</audience></audiences>
      <issuers><issuer>https://idp.example</issuer></issuers>
      <required-claims><claim name="scp" match="any" separator=" "><value>orders.read</value></claim></required-claims>
    </validate-jwt>
    <set-header name="X-Sub" exists-action="override"><value>@(((Jwt)context.Variables["jwt"]).Subject)</value></set-header>
    <authentication-basic username="svc" password="{{secret}}" />
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const MISC = `<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Url.Path.EndsWith("/mock"))"><mock-response status-code="202" content-type="application/json" /></when>
      <when condition="@(context.Request.Url.Path.EndsWith("/liquid"))">
        <set-body template="liquid">{"name":"{{body.user.name}}","method":"{{context.Request.Method}}","missing":"{{body.nope | Default: none}}"}</set-body>
        <set-method>PUT</set-method>
      </when>
      <when condition="@(context.Request.Url.Path.EndsWith("/expr-body"))">
        <set-body>@{
          var j = context.Request.Body.As<JObject>(preserveContent: true);
          j["total"] = j["items"].Sum(i => (int)i["qty"]);
          return j.ToString(Newtonsoft.Json.Formatting.None);
        }</set-body>
      </when>
    </choose>
    <set-backend-service base-url="@(context.Api.ServiceUrl.ToString().TrimEnd('/') + "/based")" />
    <trace source="misc" severity="information"><message>@("traced " + context.Request.Url.Path)</message></trace>
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const ACCESS = (action: string) => `<policies>
  <inbound>
    <base />
    <ip-filter action="${action}"><address>192.0.2.1</address><address-range from="127.0.0.1" to="127.0.0.3" /></ip-filter>
    <cors allow-credentials="false">
      <allowed-origins><origin>https://app.example</origin></allowed-origins>
      <allowed-methods preflight-result-max-age="300"><method>GET</method></allowed-methods>
      <allowed-headers><header>X-Key</header></allowed-headers>
    </cors>
    <quota-by-key calls="1" renewal-period="3600" counter-key="@("q-" + context.Request.Headers.GetValueOrDefault("X-Key", ""))" increment-condition="@(context.Response.StatusCode &lt; 400)" />
  </inbound>
  <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
</policies>`;

const AI = (backendUrl: string) => `<policies>
  <inbound>
    <base />
    <emit-metric name="calls" value="@(context.Request.Headers.GetValueOrDefault("X-Weight", "1"))" namespace="bench">
      <dimension name="API ID" /><dimension name="caller" value="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" />
    </emit-metric>
    <azure-openai-emit-token-metric namespace="openai"><dimension name="API ID" /></azure-openai-emit-token-metric>
    <rate-limit calls="3" renewal-period="60" />
    <azure-openai-token-limit counter-key="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" tokens-per-minute="40" remaining-tokens-variable-name="left" />
    <send-one-way-request mode="new">
      <set-url>${backendUrl}/hook</set-url>
      <set-method>POST</set-method>
      <set-body>@(context.Request.Headers.GetValueOrDefault("X-Key", ""))</set-body>
    </send-one-way-request>
  </inbound>
  <backend><base /></backend>
  <outbound>
    <base />
    <set-header name="X-Tokens" exists-action="override"><value>@(context.Response.Body.As<JObject>(preserveContent: true)["usage"]["total_tokens"].ToString())</value></set-header>
  </outbound>
  <on-error><base /></on-error>
</policies>`;

describe('XML policy documents in the gateway', () => {
  let backend: TestBackend;
  let gw: SupervisedGateway;
  const tries = new Map<string, number>();
  const held: Array<() => void> = [];
  let tokens = 0;

  before(async () => {
    backend = await startBackend((req, res, body) => {
      if (req.url === '/info') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-info', 'yes');
        return res.end(JSON.stringify({ answer: `for ${JSON.parse(body.toString()).ask}` }));
      }
      if (req.url?.startsWith('/missing')) { res.statusCode = 404; return res.end(); }
      if (req.url === '/hook') return res.end();
      if (req.url === '/fast') return res.end('fast');
      if (req.url === '/token') {
        const p = new URLSearchParams(body.toString());
        const ok = p.get('grant_type') === 'client_credentials' && p.get('client_id') === 'gw' && p.get('client_secret') === 'gw-secret';
        res.statusCode = ok ? 200 : 401;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(ok ? { access_token: `tok-${p.get('resource')}-${++tokens}`, expires_in: 3600, token_type: 'Bearer' } : { error: 'invalid_client' }));
      }
      if (req.url === '/xmlout') { res.setHeader('content-type', 'application/xml'); return res.end('<r id="1"><i>a</i><i>b &amp; c</i><n/></r>'); }
      if (req.url === '/doctype') { res.setHeader('content-type', 'text/xml'); return res.end('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>'); }
      if (req.url === '/slow') return void held.push(() => res.end('slow'));
      if (req.url?.startsWith('/chat')) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50 } }));
      }
      if (req.url?.startsWith('/flaky')) {
        const k = String(req.headers['x-attempt-key']);
        const n = (tries.get(k) ?? 0) + 1;
        tries.set(k, n);
        res.statusCode = n < 3 ? 503 : 200;
        return res.end(`try ${n}`);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString() }));
    });
    const api = (name: string, file: string, extra = '') => `  - name: ${name}\n    path: /${name}\n    backend: be\n    policy-xml: ${file}\n${extra}`;
    const yaml = `gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  be: { url: "${backend.url}" }
apim:
  named-values: { greeting: "hello from a named value", secret: "s3cret" }
  fragments: .
  deployment: { region: test-region }
  metrics: { max-series: 2 }
  managed-identity: { token-endpoint: "${backend.url}/token", client-id: gw, client-secret: gw-secret }
policy-xml: global.xml
apis:
${api('main', 'main.xml')}
${api('nobase', 'nobase.xml')}
${api('fails', 'fails.xml')}
${api('ops', 'ops.xml', `    operations:
      - { id: get-item, method: GET, path: "/items/{id}", policy-xml: op.xml }
      - { id: list, method: GET, path: /items }
`)}
${api('rl1', 'rl1.xml')}
${api('rl2', 'rl2.xml')}
${api('cache', 'cache.xml')}
${api('send', 'send.xml')}
${api('retry', 'retry.xml')}
${api('wait', 'wait.xml')}
${api('mi', 'mi.xml')}
${api('conv', 'conv.xml')}
${api('jsonp', 'jsonp.xml')}
${api('subl', 'subl.xml', `    operations:
      - { id: op-a, method: GET, path: /a }
      - { id: op-b, method: GET, path: /b }
      - { id: op-c, method: GET, path: /c }
`)}
${api('guards', 'guards.xml')}
${api('misc', 'misc.xml')}
${api('allow', 'allow.xml')}
${api('forbid', 'forbid.xml')}
${api('ai', 'ai.xml')}
`;
    gw = await startGateway(yaml, {
      files: {
        'global.xml': GLOBAL, 'main.xml': MAIN, 'nobase.xml': NOBASE, 'fails.xml': FAILS, 'ops.xml': OPS_API, 'op.xml': OP, 'stamp.xml': FRAGMENT,
        'rl1.xml': LIMITS('rl1'), 'rl2.xml': LIMITS('rl2'), 'cache.xml': CACHE, 'send.xml': SEND(backend.url), 'retry.xml': RETRY, 'wait.xml': WAIT(backend.url), 'mi.xml': MI, 'conv.xml': CONVERT, 'jsonp.xml': JSONP, 'subl.xml': SUBLIMITS,
        'guards.xml': GUARDS, 'misc.xml': MISC, 'allow.xml': ACCESS('allow'), 'forbid.xml': ACCESS('forbid'), 'ai.xml': AI(backend.url),
      },
    });
  });
  after(async () => {
    for (const release of held) release();
    await gw?.stop();
    await backend?.close();
  });

  const seen = () => backend.requests[backend.requests.length - 1]!;

  it('runs expressions, choose, set-variable, set-header and set-query-parameter, with the global scope at <base/>', async () => {
    const r = await fetch(`${gw.url}/main/things?n=3&keep=1`, { headers: { 'x-user': 'bob', 'x-drop': 'x', 'x-multi': 'a' } });
    assert.equal(r.status, 200);
    const h = seen().headers;
    assert.equal(h['x-global'], 'in');
    assert.equal(h['x-hello'], 'hi bob, 63');
    assert.equal(h['x-size'], 'small');
    assert.equal(h['x-drop'], undefined);
    assert.equal(h['x-multi'], 'a, b');
    assert.equal(h['x-named'], 'hello from a named value');
    assert.equal(seen().url, '/things?keep=1&added=get');
    assert.equal(r.headers.get('x-global-out'), 'test-region');
    assert.equal(r.headers.get('x-status'), '200');
    assert.deepEqual(await r.json(), { url: '/things?keep=1&added=get', hello: 'hi bob, 63' });
  });

  it('set-status in outbound takes an expression; choose takes the branch whose condition holds', async () => {
    const r = await fetch(`${gw.url}/main/x?n=9`, { headers: { 'x-teapot': '1' } });
    assert.equal(r.status, 418);
    assert.equal(seen().headers['x-size'], 'large');
    assert.equal(seen().headers['x-hello'], 'hi anonymous, 189');
  });

  it('return-response answers without the backend, and outbound does not run', async () => {
    const before = backend.requests.length;
    const r = await fetch(`${gw.url}/main/x`, { headers: { 'x-user': 'blocked' } });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('x-why'), 'user blocked');
    assert.equal(r.headers.get('x-global-out'), null);
    assert.deepEqual(await r.json(), { blocked: 'blocked' });
    assert.equal(backend.requests.length, before);
  });

  it('a section without <base/> inherits nothing from the outer scope', async () => {
    const r = await fetch(`${gw.url}/nobase/x`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(seen().headers['x-own'], 'yes');
    assert.equal(seen().headers['x-global'], undefined);
    assert.equal(r.headers.get('x-global-out'), null);
  });

  it('an expression that throws becomes context.LastError and goes to on-error, with the service error body', async () => {
    const r = await fetch(`${gw.url}/fails/x`);
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-error-reason'), 'ExpressionValueEvaluationFailure');
    assert.equal(r.headers.get('x-error-source'), 'set-variable');
    const body = await r.json() as { statusCode: number; message: string };
    assert.equal(body.statusCode, 500);
    assert.match(body.message, /Expression evaluation failed/);
  });

  it('a loop in an expression is cut by the budget, and the gateway goes on answering', async () => {
    const r = await fetch(`${gw.url}/fails/x`, { headers: { 'x-number': '1', 'x-loop': '1' } });
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-error-reason'), 'ExpressionValueEvaluationFailure');
    await r.arrayBuffer();
    const ok = await fetch(`${gw.url}/fails/x`, { headers: { 'x-number': '1' } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });

  it('refuses to put a line break into a header (no header injection through expressions)', async () => {
    const before = backend.requests.length;
    const r = await fetch(`${gw.url}/fails/x`, { headers: { 'x-number': '1', 'x-evil': 'a|X-Injected: 1' } });
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-injected'), null);
    await r.arrayBuffer();
    assert.equal(backend.requests.length, before);
  });

  it('operation scope: matched parameters, rewrite-uri, include-fragment, and <base/> through global → API → operation', async () => {
    const r = await fetch(`${gw.url}/ops/items/42?q=1`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const h = seen().headers;
    assert.equal(h['x-item'], '42@get-item');
    assert.equal(h['x-api'], 'api');
    assert.equal(h['x-global'], 'in');
    assert.equal(h['x-stamp'], 'ops');
    assert.equal(seen().url, '/v2/items/42?src=gw&q=1');
    const list = await fetch(`${gw.url}/ops/items`);
    await list.arrayBuffer();
    assert.equal(seen().headers['x-item'], undefined);
    assert.equal(seen().headers['x-api'], 'api');
  });

  it('cors in XML answers a preflight before operation matching, where no operation lists OPTIONS', async () => {
    const pre = (origin: string) => fetch(`${gw.url}/ops/items/42`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    const ok = await pre('https://ops.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://ops.example');
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /GET/);
    await ok.arrayBuffer();
    const evil = await pre('https://evil.example');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    await evil.arrayBuffer();
    const plain = await fetch(`${gw.url}/ops/items/42`, { method: 'OPTIONS' });
    assert.equal(plain.status, 405, 'an OPTIONS request that is not a preflight is matched as usual');
    await plain.arrayBuffer();
    const get = await fetch(`${gw.url}/ops/items/42`, { headers: { origin: 'https://ops.example' } });
    assert.equal(get.headers.get('access-control-allow-origin'), 'https://ops.example');
    await get.arrayBuffer();
  });

  it('rate-limit-by-key counts per key value across policies (the service counts globally per key)', async () => {
    const call = (api: string, key: string) => fetch(`${gw.url}/${api}/x`, { headers: { 'x-key': key } });
    const a = await call('rl1', 'k1'); await a.arrayBuffer();
    assert.equal(a.headers.get('x-remaining'), '1');
    const b = await call('rl2', 'k1'); await b.arrayBuffer();
    assert.equal(b.status, 200);
    const c = await call('rl1', 'k1');
    assert.equal(c.status, 429);
    assert.ok(Number(c.headers.get('retry-after')) >= 1);
    assert.equal((await c.json() as { statusCode: number }).statusCode, 429);
    const other = await call('rl2', 'k2'); await other.arrayBuffer();
    assert.equal(other.status, 200);
  });

  it('cache-store-value, cache-lookup-value (default-value) and cache-remove-value use the gateway cache', async () => {
    const look = async () => (await fetch(`${gw.url}/cache/a`)).headers.get('x-cached');
    assert.equal(await look(), 'none');
    assert.equal((await fetch(`${gw.url}/cache/a`, { method: 'PUT', headers: { 'x-value': 'v1' } })).status, 204);
    assert.equal(await look(), 'v1');
    assert.equal((await fetch(`${gw.url}/cache/a`, { method: 'DELETE' })).status, 204);
    assert.equal(await look(), 'none');
  });

  it('send-request stores an IResponse that expressions and return-response read', async () => {
    const r = await fetch(`${gw.url}/send/q`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-answer'), 'for /send/q');
    assert.equal(r.headers.get('x-info-status'), '200');
    const info = backend.requests.find((x) => x.url === '/info')!;
    assert.equal(info.method, 'POST');
    assert.match(String(info.headers['x-from']), /^[0-9a-f-]{36}$/);
    const raw = await fetch(`${gw.url}/send/raw`);
    assert.equal(raw.headers.get('x-info'), 'yes');
    assert.deepEqual(await raw.json(), { answer: 'for /send/raw' });
  });

  it('wait for="any" goes on when the first child ends', async () => {
    const r = await fetch(`${gw.url}/wait/x`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-vars'), 'fast', 'the slow request is still held by the backend');
    await r.arrayBuffer();
    for (const release of held.splice(0)) release();
  });

  it('rate-limit and quota <api>/<operation> limits apply to calls of that API and operation', async () => {
    const call = async (op: string) => { const r = await fetch(`${gw.url}/subl/${op}`); await r.arrayBuffer(); return r.status; };
    const got = [await call('a'), await call('a'), await call('b'), await call('c'), await call('c'), await call('b')];
    assert.deepEqual(got, [200, 429, 200, 200, 403, 429], 'op-a: 1 call; op-c: quota of 1; the API: 4 calls');
  });

  it('jsonp wraps the response for a callback that is an identifier path, and leaves it alone for anything else', async () => {
    const ok = await fetch(`${gw.url}/jsonp/x?cb=app.onData`);
    assert.equal(ok.headers.get('content-type'), 'application/javascript; charset=utf-8');
    assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');
    const text = await ok.text();
    assert.match(text, /^\/\*\*\/app\.onData\(\{.*\}\)$/s);
    for (const cb of ['alert(1)//', 'x;fetch("//evil")', '1cb', 'a'.repeat(200)]) {
      const r = await fetch(`${gw.url}/jsonp/x?cb=${encodeURIComponent(cb)}`);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/, cb);
      assert.ok((await r.json() as { url: string }).url.startsWith('/x?cb='));
    }
  });

  it('json-to-xml converts the request body, xml-to-json the response; a document with a DOCTYPE is left alone', async () => {
    const r = await fetch(`${gw.url}/conv/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1, b: [1, 2], 'c d': null, e: '<x>' }) });
    const echoed = await r.json() as { body: string; headers: Record<string, string> };
    assert.equal(echoed.body, '<?xml version="1.0" encoding="utf-8"?><Document><a>1</a><b>1</b><b>2</b><c_x0020_d /><e>&lt;x&gt;</e></Document>');
    assert.equal(echoed.headers['content-type'], 'application/xml; charset=utf-8');
    const x = await fetch(`${gw.url}/conv/xmlout`);
    assert.equal(x.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await x.json(), { r: { '@id': '1', i: ['a', 'b & c'], n: null } });
    const d = await fetch(`${gw.url}/conv/doctype`);
    assert.equal(d.headers.get('content-type'), 'text/xml');
    assert.match(await d.text(), /^<!DOCTYPE/);
  });

  it('authentication-managed-identity gets a client-credentials token from the configured endpoint and keeps it', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${gw.url}/mi/x`, { headers: { authorization: 'Bearer caller-token' } });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.equal(seen().headers.authorization, 'Bearer tok-https://orders.example-1');
    }
    assert.equal(backend.requests.filter((x) => x.url === '/token').length, 1, 'the token is cached');
    const before = backend.requests.filter((x) => x.url !== '/token').length;
    const refused = await fetch(`${gw.url}/mi/wrong`);
    assert.equal(refused.status, 500, 'a refused token request stops the call');
    assert.equal(refused.headers.get('x-error-reason'), 'TokenRequestFailed');
    await refused.arrayBuffer();
    assert.equal(backend.requests.filter((x) => x.url !== '/token').length, before);
  });

  it('retry repeats forward-request while its condition holds', async () => {
    const r = await fetch(`${gw.url}/retry/flaky`, { headers: { 'x-attempt-key': 'once' } });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'try 3');
    assert.equal(r.headers.get('x-tries'), 'done');
  });

  it('check-header, validate-jwt (required claims answer failed-validation-httpcode) and output-token-variable-name', async () => {
    const good = hs256({ sub: 'alice', aud: 'orders', iss: 'https://idp.example', scp: 'orders.read other', exp: Math.floor(Date.now() / 1000) + 300 });
    const noTenant = await fetch(`${gw.url}/guards/x`, { headers: { authorization: `Bearer ${good}` } });
    assert.equal(noTenant.status, 401);
    assert.deepEqual(await noTenant.json(), { statusCode: 401, message: 'Tenant missing' });
    const ok = await fetch(`${gw.url}/guards/x`, { headers: { authorization: `Bearer ${good}`, 'x-tenant': 'CONTOSO' } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal(seen().headers['x-sub'], 'alice');
    assert.equal(seen().headers.authorization, `Basic ${Buffer.from('svc:s3cret').toString('base64')}`);
    const scope = hs256({ sub: 'alice', aud: 'orders', iss: 'https://idp.example', scp: 'other', exp: Math.floor(Date.now() / 1000) + 300 });
    const claims = await fetch(`${gw.url}/guards/x`, { headers: { authorization: `Bearer ${scope}`, 'x-tenant': 'contoso' } });
    assert.equal(claims.status, 401);
    await claims.arrayBuffer();
    const forged = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad = await fetch(`${gw.url}/guards/x`, { headers: { authorization: `Bearer ${forged}`, 'x-tenant': 'contoso' } });
    assert.equal(bad.status, 401);
    assert.equal((await bad.json() as { statusCode: number }).statusCode, 401);
  });

  it('mock-response, liquid and expression bodies, set-method and set-backend-service base-url', async () => {
    const mock = await fetch(`${gw.url}/misc/mock`);
    assert.equal(mock.status, 202);
    assert.equal(mock.headers.get('content-type'), 'application/json');
    const liquid = await fetch(`${gw.url}/misc/liquid`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { name: 'Ann' } }) });
    assert.equal(liquid.status, 200);
    const echoed = await liquid.json() as { method: string; url: string; body: string };
    assert.equal(echoed.method, 'PUT');
    assert.equal(echoed.url, '/based/liquid');
    assert.deepEqual(JSON.parse(echoed.body), { name: 'Ann', method: 'POST', missing: 'none' });
    const expr = await fetch(`${gw.url}/misc/expr-body`, { method: 'POST', body: JSON.stringify({ items: [{ qty: 2 }, { qty: 5 }] }) });
    const e = await expr.json() as { body: string };
    assert.deepEqual(JSON.parse(e.body), { items: [{ qty: 2 }, { qty: 5 }], total: 7 });
    await gw.waitForLog((l) => l.msg === 'traced /misc/expr-body');
  });

  it('ip-filter: address-range from/to admits and refuses, with the service error body', async () => {
    const no = await fetch(`${gw.url}/forbid/x`, { headers: { 'x-key': 'ip' } });
    assert.equal(no.status, 403);
    assert.equal((await no.json() as { statusCode: number }).statusCode, 403);
    const yes = await fetch(`${gw.url}/allow/x`, { headers: { 'x-key': 'ip' } });
    assert.equal(yes.status, 200);
    await yes.arrayBuffer();
  });

  it('quota-by-key with an increment-condition: a call it does not count is refunded', async () => {
    const call = async (path: string) => { const r = await fetch(`${gw.url}/allow${path}`, { headers: { 'x-key': 'quota' } }); await r.arrayBuffer(); return r.status; };
    assert.equal(await call('/missing'), 404);
    assert.equal(await call('/x'), 200);
    assert.equal(await call('/x'), 403);
  });

  it('cors adds its headers for an allowed origin and not for another', async () => {
    const ok = await fetch(`${gw.url}/allow/x`, { headers: { origin: 'https://app.example', 'x-key': 'cors' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    await ok.arrayBuffer();
    const other = await fetch(`${gw.url}/allow/x`, { headers: { origin: 'https://evil.example', 'x-key': 'cors2' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    await other.arrayBuffer();
  });

  it('token limit counts usage.total_tokens; rate-limit counts per caller and API; emit-metric and send-one-way-request', async () => {
    const call = async (key: string) => fetch(`${gw.url}/ai/chat`, { headers: { 'x-key': key } });
    const first = await call('t1');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-tokens'), '50');
    await first.arrayBuffer();
    // the tokens are counted when the exchange ends, as the access log line is written
    await gw.waitForLog((l) => l.msg === 'request' && l.path === '/ai/chat');
    const second = await call('t1');
    assert.equal(second.status, 429, 'the 50 tokens of the first call are over the 40 of this minute');
    assert.match((await second.json() as { message: string }).message, /^Token limit is exceeded/);
    const third = await call('t2');
    assert.equal(third.status, 200);
    await third.arrayBuffer();
    const fourth = await call('t3');
    assert.equal(fourth.status, 429, 'rate-limit: 3 calls per minute for this caller on this API');
    assert.match((await fourth.json() as { message: string }).message, /^Rate limit is exceeded/);
    for (let i = 0; i < 50 && !backend.requests.some((r) => r.url === '/hook' && r.body.toString() === 't2'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(backend.requests.some((r) => r.url === '/hook' && r.method === 'POST' && r.body.toString() === 't2'));
    // emit-metric on /metrics: dimensions as labels, the value from an expression; the third caller is over max-series
    let m = '';
    for (let i = 0; i < 50 && !/apim_openai_total_tokens_total\{api_id="ai"\} 100/.test(m); i++) {
      if (i) await new Promise((r) => setTimeout(r, 20));
      m = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    }
    assert.match(m, /^apim_bench_calls_total\{api_id="ai",caller="t1"\} 2$/m);
    assert.match(m, /^apim_bench_calls_total\{api_id="ai",caller="t2"\} 1$/m);
    assert.doesNotMatch(m, /caller="t3"/);
    assert.match(m, /^gatehouse_apim_metric_series_dropped_total\{metric="apim_bench_calls_total"\} 1$/m);
    assert.match(m, /^apim_openai_prompt_tokens_total\{api_id="ai"\} 40$/m);
    assert.match(m, /^apim_openai_total_tokens_total\{api_id="ai"\} 100$/m);
  });
});
