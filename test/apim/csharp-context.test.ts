import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { compileExpression, CsDateTime, DateTimeKind, memoryContext, memoryResponse, MemoryBody } from '../../src/apim/index.js';
import { block, ev, loadError, runtimeError } from './helpers.js';

const req = { method: 'POST', url: 'https://api.example.com/orders/7?expand=items&tag=a&tag=b', headers: { Authorization: 'Bearer abc.def', 'X-Multi': ['1', '2'], 'Content-Type': 'application/json' }, matchedParameters: { id: '7' }, ipAddress: '198.51.100.4' };

test('context.Request: method, URL, headers, query, matched parameters, IP', () => {
  assert.equal(ev('context.Request.Method', req), 'POST');
  assert.equal(ev('context.Request.Url.Path + "|" + context.Request.Url.Host + "|" + context.Request.Url.Scheme + "|" + context.Request.Url.Port', req), '/orders/7|api.example.com|https|443');
  assert.equal(ev('context.Request.Url.QueryString', req), '?expand=items&tag=a&tag=b');
  assert.equal(ev('context.Request.Url.ToString()', req), req.url);
  assert.equal(ev('context.Request.Url.Query.GetValueOrDefault("tag", "")', req), 'a,b');
  assert.equal(ev('context.Request.Url.Query.GetValueOrDefault("nope", "dflt")', req), 'dflt');
  assert.equal(ev('context.Request.Url.Query["expand"][0]', req), 'items');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("authorization", "")', req), 'Bearer abc.def', 'header names are case-insensitive');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("X-Multi", "")', req), '1,2');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("Missing")', req), null);
  assert.equal(ev('context.Request.Headers["X-Multi"].Length', req), 2);
  assert.equal(ev('context.Request.Headers.ContainsKey("content-type") && !context.Request.Headers.ContainsKey("x")', req), true);
  assert.equal(ev('context.Request.Headers.Count', req), 3);
  assert.equal(ev('string.Join(";", context.Request.Headers.Where(h => h.Key.StartsWith("X-")).Select(h => h.Key + "=" + string.Join(",", h.Value)))', req), 'X-Multi=1,2');
  assert.equal(ev('context.Request.MatchedParameters["id"]', req), '7');
  assert.equal(ev('context.Request.MatchedParameters.GetValueOrDefault("nope", "d")', req), 'd');
  assert.equal(ev('context.Request.IpAddress', req), '198.51.100.4');
  runtimeError(() => ev('context.Request.Headers["Missing"]', req), 'KeyNotFoundException');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("Authorization","").Split(\' \').Last()', req), 'abc.def');
});

test('context.Variables: indexer, ContainsKey, GetValueOrDefault<T> with and without a default', () => {
  const vars = { variables: { name: 'n', count: 3, flag: true, obj: null } };
  assert.equal(ev('(string)context.Variables["name"]', vars), 'n');
  assert.equal(ev('context.Variables.ContainsKey("count") && !context.Variables.ContainsKey("zzz")', vars), true);
  assert.equal(ev('context.Variables.GetValueOrDefault<int>("count") + context.Variables.GetValueOrDefault<int>("missing")', vars), 3);
  assert.equal(ev('context.Variables.GetValueOrDefault<string>("missing", "dflt")', vars), 'dflt');
  assert.equal(ev('context.Variables.GetValueOrDefault("missing", "inferred")', vars), 'inferred');
  assert.equal(ev('context.Variables.GetValueOrDefault("count", 0) * 2', vars), 6);
  assert.equal(ev('context.Variables.GetValueOrDefault<bool>("flag")', vars), true);
  assert.equal(ev('context.Variables.GetValueOrDefault<string>("missing")', vars), null);
  assert.equal(ev('context.Variables["obj"] == null', vars), true);
  runtimeError(() => ev('context.Variables["zzz"]', vars), 'KeyNotFoundException', /'zzz'/);
  runtimeError(() => ev('context.Variables.GetValueOrDefault<int>("name")', vars), 'InvalidCastException');
  loadError('context.Variables["a"] = 1', 'unsupported-expression', '1:1', false, /cannot be assigned|read-only/);
  loadError('context.Variable["a"]', 'unsupported-expression', '1:9', false, /no member 'Variable'/);
});

test('Body.As<T>() consumes the body unless preserveContent is true', () => {
  const ctx = memoryContext({ method: 'POST', body: '{"a":1}' });
  const body = ctx.Request.Body as MemoryBody;
  const peek = compileExpression('context.Request.Body.As<JObject>(preserveContent: true)["a"].ToString()', { block: false });
  assert.equal(peek.evaluate(ctx), '1');
  assert.equal(body.remaining, '{"a":1}', 'preserved for forwarding');
  const read = compileExpression('context.Request.Body.As<string>()', { block: false });
  assert.equal(read.evaluate(ctx), '{"a":1}');
  assert.equal(body.consumed, true);
  assert.equal(body.remaining, '', 'consumed: nothing left to forward');
  assert.equal(read.evaluate(ctx), '', 'a second read finds an empty body');
  assert.equal(compileExpression('context.Request.Body.As<JObject>()', { block: false }).evaluate(ctx), null);
  assert.equal(ev('context.Request.Body.As<byte[]>(true).Length', { body: 'abc' }), 3);
  assert.equal(ev('context.Request.Body.As<JArray>(true).Count', { body: '[1,2]' }), 2);
  assert.equal(ev('context.Request.Body == null', {}), true);
  runtimeError(() => ev('context.Request.Body.As<string>()', {}), 'NullReferenceException');
  runtimeError(() => ev('context.Request.Body.As<JObject>()', { body: '[1]' }), 'InvalidCastException');
  assert.equal(ev('context.Request.Body.AsFormUrlEncodedContent(true)["b"][1]', { body: 'a=1&b=x&b=y' }), 'y');
});

test('context.Response and IResponse values stored by send-request', () => {
  const init = { response: { statusCode: 404, statusReason: 'Not Found', headers: { 'Content-Type': 'text/plain' }, body: 'nope' } };
  assert.equal(ev('context.Response.StatusCode == 404 ? context.Response.StatusReason : "ok"', init), 'Not Found');
  assert.equal(ev('context.Response.Headers.GetValueOrDefault("content-type", "")', init), 'text/plain');
  assert.equal(ev('context.Response.Body.As<string>(true)', init), 'nope');
  const token = memoryResponse({ statusCode: 200, body: '{"access_token":"t0k"}' });
  assert.equal(ev('(string)((IResponse)context.Variables["tokenResponse"]).Body.As<JObject>()["access_token"]', { variables: { tokenResponse: token } }), 't0k');
  assert.equal(ev('((IResponse)context.Variables["r"]).StatusCode', { variables: { r: memoryResponse({ statusCode: 503 }) } }), 503);
  runtimeError(() => ev('((IResponse)context.Variables["r"]).StatusCode', { variables: { r: 'text' } }), 'InvalidCastException');
  assert.equal(ev('context.Variables["r"] as IResponse == null', { variables: { r: 'text' } }), true);
});

test('Api, Operation, Product, Subscription, User, Deployment, LastError, RequestId, Trace', () => {
  const ctx = memoryContext({
    api: { name: 'Orders', version: 'v2' }, operation: { id: 'create-order', name: 'Create' },
    product: { Name: 'Gold', Id: 'gold' }, subscription: { Id: 's-9', Name: 'Fabrikam', Key: 'k9' },
    user: { Email: 'bob@example.com', Id: 'bob' }, deployment: { region: 'North Europe' },
    lastError: { Source: 'validate-jwt', Reason: 'TokenExpired', Message: 'expired', Scope: 'api', Section: 'inbound', Path: 'policies/inbound/validate-jwt[1]', PolicyId: 'jwt' },
  });
  const run = (code: string) => compileExpression(code, { block: false }).evaluate(ctx);
  assert.equal(run('context.Api.Name + " " + context.Api.Version'), 'Orders v2');
  assert.equal(run('context.Operation.Id'), 'create-order');
  assert.equal(run('context.Product.Name + context.Product.Id'), 'Goldgold');
  assert.equal(run('context.Subscription.Id + ":" + context.Subscription.Key'), 's-9:k9');
  assert.equal(run('context.User.Email'), 'bob@example.com');
  assert.equal(run('context.Deployment.Region'), 'North Europe');
  assert.equal(run('context.LastError.Source + "/" + context.LastError.Reason + "/" + context.LastError.Message + "/" + context.LastError.Section'), 'validate-jwt/TokenExpired/expired/inbound');
  assert.equal(run('context.Api.ServiceUrl.Host'), 'backend.example.com');
  assert.equal(run('context.Subscription.CreatedDate.Year'), 2024);
  assert.equal(run('context.Product.SubscriptionLimit ?? -1'), -1);
  assert.equal(compileExpression('context.Trace("seen " + context.Api.Name); return true;', { block: true }).evaluate(ctx), true);
  assert.deepEqual(ctx.traces, ['seen Orders']);
  assert.equal(ev('context.User == null ? "anonymous" : context.User.Id', {}), 'anonymous');
});

test('AsJwt, TryParseJwt and AsBasic read tokens without validating them', async () => {
  const key = new TextEncoder().encode('k'.repeat(32));
  const jwt = await new SignJWT({ scp: 'orders.read', roles: ['a', 'b'], tid: 'T1' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('alice').setIssuer('https://idp').setAudience(['api://orders', 'api://x']).setJti('j1').setExpirationTime(2000000000).setNotBefore(1700000000).sign(key);
  const init = { headers: { Authorization: `Bearer ${jwt}` } };
  const tok = 'context.Request.Headers.GetValueOrDefault("Authorization", "").Split(\' \').Last().AsJwt()';
  assert.equal(ev(`${tok}.Subject`, init), 'alice');
  assert.equal(ev(`${tok}.Issuer + "|" + ${tok}.Id + "|" + ${tok}.Algorithm`, init), 'https://idp|j1|HS256');
  assert.equal(ev(`string.Join(",", ${tok}.Audiences)`, init), 'api://orders,api://x');
  assert.equal(ev(`${tok}.Claims.GetValueOrDefault("roles", "")`, init), 'a,b');
  assert.equal(ev(`${tok}.Claims.GetValueOrDefault("nope", "none")`, init), 'none');
  assert.equal(ev(`${tok}.Claims["scp"][0]`, init), 'orders.read');
  assert.equal(ev(`${tok}.ExpirationTime.Value.Year`, init), 2033);
  assert.equal(ev(`${tok}.ExpirationTime > DateTime.UtcNow`, init), true);
  assert.equal(ev(`${tok}.NotBefore.Value.ToString("yyyy-MM-dd")`, init), '2023-11-14');
  assert.equal(ev(`${tok}.Header.GetValueOrDefault("typ", "")`, init), 'JWT');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt()?.Subject', init), 'alice', 'a Bearer prefix is tolerated');
  assert.equal(ev('"not-a-jwt".AsJwt() == null'), true);
  assert.equal(block('if ("x.y.z".TryParseJwt(out var jwt)) { return jwt.Subject; } return "invalid";'), 'invalid');
  const basic = { headers: { Authorization: `Basic ${Buffer.from('user:pa:ss').toString('base64')}` } };
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("Authorization").AsBasic().UserId', basic), 'user');
  assert.equal(ev('context.Request.Headers.GetValueOrDefault("Authorization").AsBasic().Password', basic), 'pa:ss');
  assert.equal(ev('"Basic !!!".AsBasic() == null'), true);
  assert.equal(block('return context.Request.Headers.GetValueOrDefault("Authorization", "").TryParseBasic(out var c) ? c.UserId : "none";', basic), 'user');
});

test('the client certificate', () => {
  const certificate = { Subject: 'CN=client', Issuer: 'CN=ca', Thumbprint: 'ABC123', SerialNumber: '01', NotBefore: new CsDateTime(Date.UTC(2024, 0, 1), DateTimeKind.Utc), NotAfter: new CsDateTime(Date.UTC(2030, 0, 1), DateTimeKind.Utc), Verify: () => true };
  assert.equal(ev('context.Request.Certificate != null && context.Request.Certificate.Verify() && context.Request.Certificate.NotAfter > DateTime.UtcNow', { certificate }), true);
  assert.equal(ev('context.Request.Certificate?.Thumbprint ?? "none"', {}), 'none');
  assert.equal(ev('context.Request.Certificate.Subject', { certificate }), 'CN=client');
});
