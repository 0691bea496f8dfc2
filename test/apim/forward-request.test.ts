import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { runCli, startGateway, type SupervisedGateway } from '../helpers/gateway.js';

/**
 * forward-request's attributes: fail-on-error-status-code sends a 4xx/5xx answer to on-error,
 * follow-redirects follows the backend's redirects (method and body as HTTP says, credentials
 * kept to their origin, a bounded number of hops), buffer-request-body lets a 307 resend the body,
 * timeout-ms bounds the wait, and the accepted-only attributes are checked at load.
 */

const doc = (backend: string) => `<policies>
  <inbound><base /></inbound>
  <backend>${backend}</backend>
  <outbound><base /></outbound>
  <on-error>
    <return-response>
      <set-status code="502" reason="Bad Gateway" />
      <set-body>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Message)</set-body>
    </return-response>
  </on-error>
</policies>`;

describe('forward-request attributes', () => {
  let backend: TestBackend;
  let other: TestBackend;
  let gw: SupervisedGateway;

  before(async () => {
    other = await startBackend();
    backend = await startBackend((req, res, body) => {
      const path = req.url!.split('?')[0];
      const redirect = (status: number, to: string) => res.writeHead(status, { location: to }).end('moved');
      if (path === '/err') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      if (path === '/missing') return void res.writeHead(404).end('no');
      if (path === '/redir') return void redirect(302, '/final?from=302');
      if (path === '/redir303') return void redirect(303, '/final');
      if (path === '/redir307') return void redirect(307, '/final');
      if (path === '/loop') return void redirect(302, '/loop');
      if (path === '/away') return void redirect(302, `${other.url}/elsewhere`);
      if (path === '/slow') return void setTimeout(() => res.end('late'), 3000);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body: body.toString() }));
    });
    gw = await startGateway(`gateway:
  listen: { http: 0 }
backends:
  b: { url: ${backend.url} }
apis:
  - { name: fail, path: /fail, backend: b, policy-xml: fail.xml }
  - { name: plain, path: /plain, backend: b, policy-xml: plain.xml }
  - { name: follow, path: /follow, backend: b, policy-xml: follow.xml }
  - { name: streamed, path: /streamed, backend: b, policy-xml: streamed.xml }
  - { name: quick, path: /quick, backend: b, policy-xml: quick.xml }
`, {
      files: {
        'fail.xml': doc('<forward-request fail-on-error-status-code="true" http-version="2or1" buffer-response="false" />'),
        'plain.xml': doc('<forward-request />'),
        'follow.xml': doc('<forward-request follow-redirects="true" buffer-request-body="true" />'),
        'streamed.xml': doc('<forward-request follow-redirects="@(true)" />'),
        'quick.xml': doc('<forward-request timeout-ms="300" />'),
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
    await other?.close();
  });

  const text = async (r: Response) => ({ status: r.status, body: await r.text(), location: r.headers.get('location') });

  it('fail-on-error-status-code: a 4xx or 5xx answer goes to on-error with LastError; without it the answer passes', async () => {
    assert.deepEqual(await text(await fetch(`${gw.url}/fail/err`)), { status: 502, body: 'forward-request|BackendErrorStatusCode|The backend responded with status code 503.', location: null });
    assert.equal((await text(await fetch(`${gw.url}/fail/missing`))).body, 'forward-request|BackendErrorStatusCode|The backend responded with status code 404.');
    assert.equal((await text(await fetch(`${gw.url}/fail/ok`))).status, 200);
    assert.deepEqual(await text(await fetch(`${gw.url}/plain/err`)), { status: 503, body: 'down', location: null });
  });

  it('follow-redirects: off, the redirect is the answer; on, the gateway follows it', async () => {
    const off = await text(await fetch(`${gw.url}/plain/redir`, { redirect: 'manual' }));
    assert.equal(off.status, 302);
    assert.equal(off.location, '/final?from=302');
    const on = await fetch(`${gw.url}/follow/redir`, { redirect: 'manual' });
    assert.equal(on.status, 200);
    assert.deepEqual(await on.json(), { method: 'GET', url: '/final?from=302', body: '' });
  });

  it('303 becomes a GET without body; 307 keeps the method and the buffered body', async () => {
    const see = await fetch(`${gw.url}/follow/redir303`, { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' }, redirect: 'manual' });
    assert.deepEqual(await see.json(), { method: 'GET', url: '/final', body: '' });
    const n = backend.requests.length;
    const temp = await fetch(`${gw.url}/follow/redir307`, { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' }, redirect: 'manual' });
    assert.deepEqual(await temp.json(), { method: 'POST', url: '/final', body: 'abc' });
    assert.equal(backend.requests.length, n + 2);
    // without buffer-request-body the streamed body cannot be sent again: the 307 is the answer
    const streamed = await text(await fetch(`${gw.url}/streamed/redir307`, { method: 'POST', body: 'abc', redirect: 'manual' }));
    assert.equal(streamed.status, 307);
  });

  it('redirects are bounded, and credentials are not sent to another origin', async () => {
    assert.deepEqual(await text(await fetch(`${gw.url}/follow/loop`, { redirect: 'manual' })), { status: 502, body: 'forward-request|TooManyRedirects|The backend redirected more than 10 times.', location: null });
    const away = await fetch(`${gw.url}/follow/away`, { headers: { authorization: 'Bearer secret', 'x-keep': '1' }, redirect: 'manual' });
    assert.equal(away.status, 200);
    await away.arrayBuffer();
    const seen = other.requests.at(-1)!;
    assert.equal(seen.url, '/elsewhere');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers['x-keep'], '1');
  });

  it('timeout-ms bounds the wait for the backend', async () => {
    const r = await text(await fetch(`${gw.url}/quick/slow`));
    assert.equal(r.status, 502, 'through on-error');
    assert.match(r.body, /\|backend-timeout\|/);
  });

  it('attributes are checked at load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fwd-'));
    const files = {
      both: '<forward-request timeout="5" timeout-ms="5000" />',
      version: '<forward-request http-version="3" />',
      buffer: '<forward-request buffer-response="maybe" />',
      fine: '<forward-request http-version="2" timeout-ms="@(1000)" continue-timeout="2" buffer-request-body="false" />',
    };
    for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, `${n}.xml`), doc(b));
    const r = await runCli(['apim', 'check', ...Object.keys(files).map((n) => join(dir, `${n}.xml`))]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /both\.xml:3:\d+: error unsupported-attribute: <forward-request> takes timeout or timeout-ms, not both/);
    assert.match(r.stdout, /version\.xml:3:\d+: error unsupported-attribute: http-version is 1, 2 or 2or1, not "3"/);
    assert.match(r.stdout, /buffer\.xml:3:\d+: error unsupported-attribute: buffer-response is true or false/);
    assert.match(r.stdout, /fine\.xml: ok \(1 policies, 1 expressions\)|fine\.xml: ok/);
  });
});
