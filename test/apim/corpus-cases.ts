import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { memoryResponse, parseJwt, type MemoryContextInit } from '../../src/apim/index.js';

/**
 * For each document in test/fixtures/apim: the request it runs against, its named values, and the
 * value of each of its expressions in document order (a RegExp for random values, `{ throws }`
 * for a run-time failure). set-variable results are stored as the gateway will, so later
 * expressions see them.
 */
export type Expected = unknown | RegExp | { throws: string };
export interface CorpusCase { context?: MemoryContextInit; namedValues?: Record<string, string>; expect: Expected[] }

export const TS = Date.UTC(2024, 2, 5, 14, 30, 0); // Tuesday 5 March 2024, 14:30 UTC
export const RID = '6f1c2a4e-1b2c-4d3e-8f90-0123456789ab';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.c2lnbmF0dXJl`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const KEY = Buffer.alloc(32, 3), IV = Buffer.alloc(16, 5);
const aes = (text: string) => { const c = createCipheriv('aes-256-cbc', KEY, IV); return Buffer.concat([c.update(text), c.final()]).toString('base64'); };
const aesNamed = { 'aes-key': KEY.toString('base64'), 'aes-iv': IV.toString('base64') };
const ts = (over: MemoryContextInit = {}): MemoryContextInit => ({ timestamp: TS, requestId: RID, ...over });
const stickyHash = (id: string) => { let h = 0; for (const c of id) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0; return Math.abs(h % 100); };
const aliceToken = jwt({ sub: 'alice', roles: ['Orders.Read', 'Orders.Write'], tid: 'T1', aud: ['api://orders'], exp: TS / 1000 + 90 * 60 + 30, iat: 1709600000 });
const readerToken = jwt({ sub: 'rita', roles: 'Orders.Read', aud: 'api://orders', exp: TS / 1000 + 90 * 60 + 30, iat: 1709600000 });

export const CORPUS: Record<string, CorpusCase> = {
  '01-forwarded-headers.xml': { context: ts({ ipAddress: '198.51.100.7' }), expect: ['198.51.100.7', RID, 'Orders/get-order'] },
  '02-correlation-id.xml': { context: ts({ headers: { 'X-Correlation-Id': 'abc-123' } }), expect: [false, GUID, 'abc-123', 'abc-123'] },
  '03-jwt-claims-to-headers.xml': {
    context: ts({ headers: { Authorization: `Bearer ${aliceToken}` }, variables: { jwt: parseJwt(aliceToken) } }),
    expect: ['alice', 'Orders.Read,Orders.Write', 'T1'],
  },
  '04-basic-auth-check.xml': {
    context: ts({ headers: { Authorization: basic('svc', 'p@ss') } }),
    namedValues: { 'basic-user': 'svc', 'basic-password': 'p@ss', 'backend-user': 'b', 'backend-password': 'bp' },
    expect: [false],
  },
  '05-route-by-version.xml': { context: ts({ headers: { 'api-version': '2.1' } }), expect: ['2.1', true, 'https://backend.example.com/api', 'current'] },
  '06-rate-limit-by-key.xml': { context: ts({ response: { statusCode: 201 }, product: { Name: 'Gold' } }), expect: ['key-1', true, 100000, '203.0.113.9', '0'] },
  '07-cached-token.xml': {
    context: ts({ variables: { tokenResponse: memoryResponse({ body: '{"access_token":"tok-123","expires_in":3600}' }) } }),
    namedValues: { 'token-endpoint': 'https://login.example.com/token', 'client-id': 'my client', 'client-secret': 's&cret' },
    expect: ['bearer-token-sub-1', true, 'grant_type=client_credentials&client_id=my%20client&client_secret=s%26cret&scope=api%3A%2F%2Fbackend%2F.default',
      '{"access_token":"tok-123","expires_in":3600}', 'tok-123', 'bearer-token-sub-1', 'tok-123', 3540, 'Bearer tok-123'],
  },
  '08-transform-request-body.xml': {
    context: ts({ method: 'POST', headers: { 'X-Channel': 'mobile' }, body: '{"customer":"c1","items":[{"sku":"a"},{"sku":"b"}],"internalNotes":"x"}' }),
    expect: ['{"customer":"c1","items":[{"sku":"a"},{"sku":"b"}],"receivedAt":"2024-03-05T14:30:00Z","channel":"mobile","itemCount":2}'],
  },
  '09-filter-response-by-product.xml': {
    context: ts({ product: { Name: 'Starter' }, response: { statusCode: 200, body: '{"id":1,"name":"n","costPrice":5,"margin":0.2}' } }),
    expect: [true, '{\n  "id": 1,\n  "name": "n"\n}'],
  },
  '10-unauthorized-response.xml': {
    context: ts(),
    expect: [true, 'Bearer realm="Orders", error="invalid_token"', `{"error":"unauthorized","message":"A bearer token is required.","requestId":"${RID}"}`],
  },
  '11-mock-echo.xml': {
    context: ts({ url: 'https://api.example.com/echo?x=1', headers: { 'X-B': ['1', '2'], Accept: 'application/json' } }),
    expect: ['{"method":"GET","path":"/echo","query":"?x=1","headers":{"Accept":"application/json","X-B":"1,2"}}'],
  },
  '12-cors-dynamic-origin.xml': {
    context: ts({ headers: { Origin: 'https://APP.example.com' } }),
    namedValues: { 'allowed-origins': 'https://app.example.com; https://admin.example.com' },
    expect: ['https://APP.example.com', true, true, 'https://APP.example.com'],
  },
  '13-query-and-uri-rewrite.xml': {
    context: ts({ method: 'HEAD', url: 'https://api.example.com/orders/7?api-key=k1&x=2', matchedParameters: { id: '7' } }),
    expect: ['k1', '2024-03-04', '/v2/orders/7/details', 'GET'],
  },
  '14-hmac-signature.xml': {
    context: ts({ method: 'POST' }),
    namedValues: { 'signing-key': Buffer.from('secret').toString('base64') },
    expect: ['2024-03-05T14:30:00.0000000Z', createHmac('sha256', 'secret').update('POST\n/orders/7\n2024-03-05T14:30:00.0000000Z').digest('base64'), '2024-03-05T14:30:00.0000000Z'],
  },
  '15-body-hash.xml': {
    context: ts({ method: 'POST', body: 'hello' }),
    expect: [createHash('sha256').update('hello').digest('hex'), createHash('md5').update('hello').digest('base64')],
  },
  '16-aes-encrypt-header.xml': { context: ts({ headers: { 'X-Customer-Id': 'cust-42' } }), namedValues: aesNamed, expect: [aes('cust-42')] },
  '17-aes-decrypt-token.xml': { context: ts({ headers: { 'X-Session': aes('alice') } }), namedValues: aesNamed, expect: ['alice', false] },
  '18-log-to-eventhub.xml': {
    context: ts({ response: { statusCode: 200 } }),
    expect: [`{"EventTime":"2024-03-05T14:30:00.0000000Z","ServiceName":"gatehouse","RequestId":"${RID}","RequestIp":"203.0.113.9","OperationName":"Get order","Subscription":"Contoso"}`, '200,12,/orders/7'],
  },
  '19-trace-and-metrics.xml': { context: ts({ response: { statusCode: 204 } }), expect: ['GET /orders/7 from 203.0.113.9', 'get-order', 'Orders', 'sub-1', 12, '2xx'] },
  '20-ab-testing.xml': { context: ts({ headers: { 'X-Client-Id': 'client-a' } }), expect: [/^\d{1,2}$/, stickyHash('client-a'), stickyHash('client-a') < 10] },
  '21-retry-on-throttle.xml': { context: ts({ response: { statusCode: 429, headers: { 'Retry-After': '120' } } }), expect: [true, 30, true, '120'] },
  '22-regex-tenant.xml': { context: ts({ url: 'https://Contoso.api.example.com/orders/123' }), expect: ['contoso', '123', false] },
  '23-regex-mask-pii.xml': {
    context: ts({ response: { body: 'Contact jane.doe@contoso.com or card 4111 1111 1111 1234.' } }),
    expect: ['Contact ***@contoso.com or card 4111-XXXX-XXXX-1234.', 'api.example.com'],
  },
  '24-role-check-linq.xml': { context: ts({ headers: { Authorization: readerToken } }), expect: ['Orders.Read', true, 'Missing one of the roles: Orders.Write, Orders.Admin'] },
  '25-order-totals-jarray.xml': {
    context: ts({ method: 'POST', body: '{"lines":[{"sku":"b","price":19.99,"quantity":3},{"sku":"a","price":5.5,"quantity":10},{"sku":"b","price":1,"quantity":1}]}' }),
    expect: ['115.97', 'a;b', 10, false],
  },
  '26-business-hours.xml': { context: ts(), expect: [false, '3600', '2024-03-05T15:30:00+01:00'] },
  '27-token-expiry.xml': { context: ts({ headers: { Authorization: `Bearer ${aliceToken}` } }), expect: [90, '90 minutes', '2024-03-05 00:53:20Z'] },
  '28-tier-limits.xml': { context: ts({ product: { Id: 'Gold' } }), expect: [1000, 1000, 'sub-1'] },
  '29-luhn-local-function.xml': { context: ts({ headers: { 'X-Card': '4111 1111 1111 1111' } }), expect: [true] },
  '30-safe-json-parse.xml': { context: ts({ method: 'POST', body: '{"id": 7}' }), expect: ['ok:7', false, `{\n  "error": "The body is not valid JSON.",\n  "requestId": "${RID}"\n}`] },
  '31-interpolated-and-verbatim.xml': {
    context: ts({ matchedParameters: { id: '7' } }),
    expect: [1234.5, '{\n  "path": "/orders/7",\n  "price": "1,234.50",\n  "padded": "    7",\n  "hex": "00FF"\n}', 'GET 0042 2.3'],
  },
  '32-required-headers.xml': { context: ts({ headers: { Accept: '*/*' } }), expect: ['X-Client-Id, X-Client-Version', true, 'Missing headers: X-Client-Id, X-Client-Version'] },
  '33-nonce-bitconverter.xml': {
    context: ts(),
    expect: [createHash('sha1').update(RID).digest('hex').toUpperCase().slice(0, 16), /^[A-Za-z0-9+/]{16}$/, '02-01-00-00'],
  },
  '34-fragment-common-headers.xml': { context: ts(), expect: ['West Europe', 'Orders', '12'] },
  '35-fragment-cors-origins.xml': {
    context: ts({ headers: { Origin: 'https://admin.example.com' } }),
    namedValues: { 'cors-origins': 'https://app.example.com;https://admin.example.com' },
    expect: [true],
  },
  '36-on-error-problem.xml': {
    context: ts({ lastError: { Source: 'validate-jwt', Reason: 'TokenExpired', Message: 'Token expired', Scope: 'api', Section: 'inbound', Path: 'inbound/validate-jwt[1]', PolicyId: '' } }),
    expect: [`{"type":"https://errors.example.com/tokenexpired","title":"Token expired","status":500,"source":"validate-jwt (inbound)","traceId":"${RID}"}`],
  },
  '37-config-from-named-value.xml': {
    context: ts(),
    namedValues: { 'region-backends': "{'westeurope':'https://eu.example.com','default':'https://us.example.com'}" },
    expect: ['https://eu.example.com', 'https://eu.example.com', '["A","B"]'],
  },
  '38-loops-and-casts.xml': { context: ts({ url: 'https://api.example.com/api/v1/orders/items?pageSize=500' }), expect: [100, 'orders:2:6'] },
  '39-user-groups.xml': {
    context: ts({ user: { Email: 'bob@example.com', Groups: [{ Id: 'admins', Name: 'Administrators' }] } }),
    expect: [true, 'bob@example.com', '2024'],
  },
  '40-cache-duration.xml': { context: ts({ response: { statusCode: 200 }, matchedParameters: { id: '7' } }), expect: [3600, 'last-status-orders-api', '200', 34200, 'stale-7'] },
  '41-webhook-one-way.xml': {
    context: ts({ response: { statusCode: 503 } }),
    namedValues: { 'alert-webhook-url': 'https://hooks.example.com/x' },
    expect: [true, `{"text":"Orders returned 503 for GET /orders/7","requestId":"${RID}","at":"2024-03-05T14:30:00.0000000Z","elapsedMs":12}`],
  },
  '42-ai-token-usage.xml': {
    context: ts({ response: { body: '{"choices":[{"message":{"role":"assistant"}}],"usage":{"total_tokens":42}}' } }),
    expect: ['sub-1', 42, '42', 'assistant'],
  },
  '43-content-type-switch.xml': { context: ts({ headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } }), expect: ['json'] },
  '44-query-builder.xml': {
    context: ts({ url: 'https://api.example.com/search?q=a%20b%26c&page=2' }),
    namedValues: { 'search-base-url': 'https://search.example.com/find' },
    expect: ['https://search.example.com/find?q=a+b%26c&page=2', 'search.example.com', 'a%20b%26c|a+b'],
  },
  '45-string-shaping.xml': { context: ts({ headers: { 'X-Customer': ' ab12 ', 'X-Title': 'Hello Big World' } }), expect: ['0000AB12', 'AL', 2, '1,4,9,16', 'hello-big-world'] },
  '46-validation-exceptions.xml': {
    context: ts({ url: 'https://api.example.com/pay?amount=-5' }),
    expect: ["range:amount must be positive (Parameter 'amount')|checked", { throws: 'InvalidOperationException' }],
  },
  '47-json-navigation.xml': {
    context: ts({ response: { body: '{"data":{"total":3,"items":[{"name":"a","active":true},{"name":"b","active":false},{"name":"c"}],"next":null}}' } }),
    expect: ['{"names":["a"],"total":3,"firstKey":"total","hasNext":true}'],
  },
  '48-scores-linq.xml': {
    context: ts({ url: 'https://api.example.com/s?scores=70,45,90', headers: { Authorization: aliceToken } }),
    expect: ['min=45 max=90 allPassing=True avg=63.8', true, 'audience ok'],
  },
};
