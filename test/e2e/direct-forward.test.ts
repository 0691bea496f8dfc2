import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { rawRequest, startServer, waitFor, watchBackend } from '../helpers/raw.js';

/**
 * The two ways a backend's response reaches the client give the same answers: written straight
 * from undici's dispatch callbacks on a route where nothing reads the body (`/direct`: no outbound
 * policy, no compression), or through a stream outbound policies may read (`/stream`: an outbound
 * set-header). The cases no other suite covers: HEAD, 204, 304, 1xx before the answer, a retried
 * response that had a body (small and large), and a backend that fails in the middle of the body.
 */

let gw: RunningGateway;
let backend: Awaited<ReturnType<typeof startServer>>;
let seen: ReturnType<typeof watchBackend>;
const attempts = new Map<string, number>();

before(async () => {
  backend = await startServer((req, res: ServerResponse) => {
    const url = req.url ?? '';
    const n = (attempts.get(url) ?? 0) + 1;
    attempts.set(url, n);
    req.resume();
    if (url.endsWith('/head')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', 'x-from': 'backend' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    } else if (url.endsWith('/no-content')) {
      res.writeHead(204, { 'x-from': 'backend' }).end();
    } else if (url.endsWith('/not-modified')) {
      res.writeHead(304, { etag: '"v1"', 'x-from': 'backend' }).end();
    } else if (url.endsWith('/early')) {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('after hints');
    } else if (url.includes('/busy-')) {
      // the first attempt answers 503 with a body (small, or larger than is read to keep the connection)
      if (n === 1) res.writeHead(503, { 'content-type': 'text/plain' }).end(url.includes('large') ? 'x'.repeat(300_000) : 'busy');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`attempt ${n}`);
    } else if (url.endsWith('/cut')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 1), () => setTimeout(() => res.socket?.destroy(), 50));
    } else {
      res.writeHead(404).end();
    }
  });
  seen = watchBackend(backend.server);
  gw = await startGateway(`
gateway:
  listen: { http: 0 }
backends:
  b:
    url: "${backend.url}"
    retries: { attempts: 1, on: [gateway-error] }
apis:
  - name: direct
    path: /direct
    backend: b
  - name: stream
    path: /stream
    backend: b
    policies:
      outbound:
        - set-header: { name: x-mode, value: stream }
`);
});

after(async () => {
  if (gw && gw.proc.exitCode !== null) console.error(`gateway exited with ${gw.proc.exitCode}:\n${gw.text.join('\n')}`);
  await gw?.stop();
  await backend?.close();
});

async function call(method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const r = await request(`${gw.url}${path}`, { method: method as 'GET' });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

for (const mode of ['direct', 'stream']) {
  describe(`${mode}: the backend's response`, () => {
    it('HEAD: the head with the backend\'s Content-Length and no body', async () => {
      const x = await rawRequest(gw.port, `HEAD /${mode}/head HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`);
      assert.equal(x.responses.length, 1);
      const r = x.responses[0]!;
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-length'], '11');
      assert.equal(r.headers['x-from'], 'backend');
      assert.equal(r.body.length, 0);
      // and the same route with GET has the body
      const g = await call('GET', `/${mode}/head`);
      assert.equal(g.body, 'hello world');
    });

    it('204 and 304: no body, the backend\'s headers', async () => {
      const a = await call('GET', `/${mode}/no-content`);
      assert.equal(a.status, 204);
      assert.equal(a.headers['x-from'], 'backend');
      assert.equal(a.body, '');
      const b = await call('GET', `/${mode}/not-modified`);
      assert.equal(b.status, 304);
      assert.equal(b.headers.etag, '"v1"');
      assert.equal(b.body, '');
      assert.ok(typeof a.headers['x-request-id'] === 'string' && typeof b.headers['x-request-id'] === 'string');
    });

    it('1xx (103 Early Hints) before the answer: the answer arrives', async () => {
      const r = await call('GET', `/${mode}/early`);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'after hints');
    });

    for (const size of ['small', 'large']) {
      it(`retries a 503 that had a ${size} body: the client gets the second answer only`, async () => {
        const r = await call('GET', `/${mode}/busy-${size}?mode=${mode}`);
        assert.equal(r.status, 200);
        assert.equal(r.body, 'attempt 2');
        if (mode === 'stream') assert.equal(r.headers['x-mode'], 'stream');
        else assert.equal(r.headers['x-mode'], undefined);
      });
    }

    it('a backend that fails in the middle of the body: the client\'s response is cut off, the gateway goes on', async () => {
      const before = seen.requests.length;
      const x = await rawRequest(gw.port, `GET /${mode}/cut HTTP/1.1\r\nHost: gw.test\r\n\r\n`, { idleMs: 5000 });
      await waitFor(() => seen.requests.length > before, 5000, 'the backend to see the request');
      assert.ok(x.closed, 'the gateway closed the connection');
      const head = x.raw.indexOf('\r\n\r\n');
      assert.match(x.raw.subarray(0, head).toString(), /^HTTP\/1\.1 200 /);
      assert.ok(x.raw.length - head - 4 < 100_000, 'the body is incomplete');
      const again = await call('GET', `/${mode}/head`);
      assert.equal(again.body, 'hello world');
    });
  });
}
