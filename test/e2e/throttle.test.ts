import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';

/** rate-limit-by-key and quota-by-key through the real gateway on the memory store. */

describe('throttling end to end (memory store)', () => {
  let backend: TestBackend;
  let gw: RunningGateway;
  before(async () => {
    backend = await startBackend((req, res) => {
      const status = req.url?.includes('missing') ? 404 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(req.url?.includes('big') ? 'x'.repeat(3000) : 'ok');
    });
    gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  b: { url: ${backend.url} }
apis:
  - name: limited
    path: /limited
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key:
            calls: 3
            renewal-period: 60
            counter-key: "{request.header.X-Api-Key}"
            remaining-calls-header-name: X-Remaining
            total-calls-header-name: X-Total
            ratelimit-headers: true
  - name: counted
    path: /counted
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key:
            calls: 2
            renewal-period: 60
            counter-key: "{request.header.X-Api-Key}"
            increment-condition: { status: ["2xx"] }
  - name: weighted
    path: /weighted
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key: { calls: 10, renewal-period: 60, counter-key: "{request.ip}", increment-count: "{request.header.X-Cost}" }
  - name: byip
    path: /byip
    backend: b
    policies:
      inbound:
        - base
        - rate-limit-by-key: { calls: 5, renewal-period: 60, counter-key: "{request.ip}" }
  - name: quota
    path: /quota
    backend: b
    policies:
      inbound:
        - base
        - quota-by-key: { calls: 2, renewal-period: 3600, counter-key: "{request.header.X-Api-Key}" }
  - name: bandwidth
    path: /bandwidth
    backend: b
    policies:
      inbound:
        - base
        - quota-by-key: { bandwidth: 5, renewal-period: 0, counter-key: "{request.header.X-Api-Key}" }
`);
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(gw.url + path, { headers });
  const seen = (prefix: string) => backend.requests.filter((r) => r.url.startsWith(prefix)).length;

  it('answers the call over the limit with 429 rate-limit-exceeded and a Retry-After, without calling the backend', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get('/limited/x', { 'x-api-key': 'alice' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-remaining'), String(2 - i));
      assert.equal(r.headers.get('x-total'), '3');
      assert.equal(r.headers.get('ratelimit-policy'), '"rate-limit-by-key";q=3;w=60');
      assert.match(r.headers.get('ratelimit')!, new RegExp(`^"rate-limit-by-key";r=${2 - i};t=\\d+$`));
      await r.arrayBuffer();
    }
    const before = seen('/limited');
    const r = await get('/limited/x', { 'x-api-key': 'alice' });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal(r.headers.get('x-remaining'), '0');
    const body = await r.json() as Record<string, unknown>;
    assert.equal(body.code, 'rate-limit-exceeded');
    assert.equal(body.status, 429);
    assert.equal(seen('/limited'), before, 'the backend saw nothing of the rejected call');
  });

  it('keeps callers apart by counter-key', async () => {
    const r = await get('/limited/x', { 'x-api-key': 'bob' });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });

  it('puts every request without the key into one shared fallback counter instead of skipping the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await get('/limited/x');
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const empty = await get('/limited/x', { 'x-api-key': '' });
    assert.equal(empty.status, 429, 'an empty header is a missing one');
    await empty.arrayBuffer();
  });

  it('cannot be dodged by a client naming the fallback counter', async () => {
    const r = await get('/limited/x', { 'x-api-key': '(missing)' });
    assert.equal(r.status, 200, 'a literal "(missing)" key is its own counter');
    await r.arrayBuffer();
  });

  it('cannot be dodged by forging X-Forwarded-For when the key is the client IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const r = await get('/byip/x', { 'x-forwarded-for': `203.0.113.${i}`, forwarded: `for=198.51.100.${i}` });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    assert.equal(statuses.filter((s) => s === 200).length, 5, 'the socket address is the key; forged headers from an untrusted peer are ignored');
  });

  it('counts only the responses that match increment-condition, and a burst cannot overshoot', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await get('/counted/missing', { 'x-api-key': 'carol' });
      assert.equal(r.status, 404, '404s are refunded');
      await r.arrayBuffer();
    }
    const burst = await Promise.all(Array.from({ length: 20 }, () => get('/counted/ok', { 'x-api-key': 'carol' })));
    assert.equal(burst.filter((r) => r.status === 200).length, 2);
    assert.equal(burst.filter((r) => r.status === 429).length, 18);
    await Promise.all(burst.map((r) => r.arrayBuffer()));
  });

  it('weights calls by increment-count', async () => {
    const statuses: number[] = [];
    for (const cost of ['4', '4', '4', '2']) {
      const r = await get('/weighted/x', { 'x-cost': cost });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429, 200]);
  });

  it('answers a call over quota with 403 quota-exceeded and a Retry-After until the period renews', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get('/quota/x', { 'x-api-key': 'dave' });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    const r = await get('/quota/x', { 'x-api-key': 'dave' });
    assert.equal(r.status, 403);
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 3600, `Retry-After ${retry}`);
    const body = await r.json() as Record<string, unknown>;
    assert.equal(body.code, 'quota-exceeded');
  });

  it('counts request and response bytes against a bandwidth quota', async () => {
    let status = 200;
    let calls = 0;
    while (status === 200 && calls < 10) {
      const r = await get('/bandwidth/big', { 'x-api-key': 'erin' });
      status = r.status;
      await r.arrayBuffer();
      calls++;
      await new Promise((res) => setTimeout(res, 20)); // the bytes are counted once the response is done
    }
    assert.equal(status, 403);
    assert.equal(calls, 3, 'two 3000-byte responses use up 5 KB: the third call is refused');
  });
});
