import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { rssOf, startServer } from '../helpers/raw.js';

/**
 * 500 MB each way through the gateway in constant memory. The bytes are generated on the fly
 * (never held whole), hashed on both sides, and the gateway's RSS is sampled from /proc during
 * the transfer: it must stay within a fixed bound above its resting size.
 */

const SIZE = 500 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** how far above its resting RSS the gateway may go while streaming */
const RSS_HEADROOM = 150 * 1024 * 1024;

/** Chunk `i` of the stream: a fixed pattern stamped with its index, so order and content count. */
function makeChunk(i: number, template: Buffer, size: number): Buffer {
  const c = Buffer.allocUnsafe(size);
  template.copy(c, 0, 0, size);
  if (size >= 8) c.writeDoubleLE(i, 0);
  return c;
}

const template = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) template[i] = (i * 31 + 7) & 0xff;

/** A Readable producing `total` bytes lazily and hashing what it produced. */
function generator(total: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  let i = 0;
  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= total) { this.push(null); return; }
      const size = Math.min(CHUNK, total - sent);
      const c = makeChunk(i++, template, size);
      sent += size;
      hash.update(c);
      this.push(c);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

const samplers = new Set<NodeJS.Timeout>();

/** Sample a process's RSS every `ms` until stopped; returns the peak. */
function sampleRss(pid: number, ms = 50): { stop: () => { peak: number; samples: number } } {
  let peak = 0;
  let samples = 0;
  const t = setInterval(() => {
    try { peak = Math.max(peak, rssOf(pid)); samples++; } catch { /* process gone */ }
  }, ms);
  t.unref();
  samplers.add(t);
  return { stop: () => { clearInterval(t); try { peak = Math.max(peak, rssOf(pid)); samples++; } catch { /* gone */ } return { peak, samples }; } };
}

let gw: RunningGateway;
let backend: Awaited<ReturnType<typeof startServer>>;
const uploads: Array<{ bytes: number; sha256: string }> = [];
const downloads: Array<{ sha256: string }> = [];

before(async () => {
  backend = await startServer((req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c); });
      req.on('end', () => {
        const r = { bytes, sha256: hash.digest('hex') };
        uploads.push(r);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(r));
      });
      return;
    }
    const total = Number(new URL(req.url!, 'http://x').searchParams.get('bytes'));
    const g = generator(total);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    g.stream.pipe(res);
    g.stream.on('end', () => downloads.push({ sha256: g.digest() }));
  });
  gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  files: { url: ${backend.url}, timeout: 60s }
apis:
  - name: files
    path: /files
    backend: files
    max-body-size: 1gb
`);
  // warm up: the first requests load code and open the pool
  for (let i = 0; i < 3; i++) {
    const r = await request(`${gw.url}/files/warm?bytes=${1024 * 1024}`);
    for await (const _ of r.body) { /* drain */ }
  }
});

after(async () => {
  for (const t of samplers) clearInterval(t);
  if (gw && gw.proc.exitCode !== null) console.error(`gateway exited with ${gw.proc.exitCode}:\n${gw.text.join('\n')}`);
  await gw?.stop();
  await backend?.close();
});

describe('streaming in constant memory', { timeout: 240_000 }, () => {
  it('passes a 500 MB chunked upload through with the gateway RSS bounded', { timeout: 90_000 }, async () => {
    const restRss = rssOf(gw.proc.pid!);
    const g = generator(SIZE);
    const sampler = sampleRss(gw.proc.pid!);
    const r = await request(`${gw.url}/files/upload`, { method: 'POST', body: g.stream, headers: { 'content-type': 'application/octet-stream' } });
    const got = (await r.body.json()) as { bytes: number; sha256: string };
    const { peak, samples } = sampler.stop();
    assert.equal(r.statusCode, 200);
    assert.equal(got.bytes, SIZE);
    assert.equal(got.sha256, g.digest(), 'the backend received exactly the bytes sent, in order');
    assert.ok(samples > 3, 'RSS was sampled during the transfer');
    assert.ok(peak < restRss + RSS_HEADROOM,
      `gateway RSS peaked at ${(peak / 2 ** 20).toFixed(0)} MB, resting ${(restRss / 2 ** 20).toFixed(0)} MB: more than ${RSS_HEADROOM / 2 ** 20} MB above rest`);
  });

  it('passes a 500 MB upload with Content-Length through with the gateway RSS bounded', { timeout: 90_000 }, async () => {
    const restRss = rssOf(gw.proc.pid!);
    const g = generator(SIZE);
    const sampler = sampleRss(gw.proc.pid!);
    const r = await request(`${gw.url}/files/upload-cl`, { method: 'POST', body: g.stream, headers: { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) } });
    const got = (await r.body.json()) as { bytes: number; sha256: string };
    const { peak } = sampler.stop();
    assert.equal(r.statusCode, 200);
    assert.equal(got.bytes, SIZE);
    assert.equal(got.sha256, g.digest());
    assert.ok(peak < restRss + RSS_HEADROOM, `gateway RSS peaked at ${(peak / 2 ** 20).toFixed(0)} MB, resting ${(restRss / 2 ** 20).toFixed(0)} MB`);
  });

  it('passes a 500 MB download through with the gateway RSS bounded', { timeout: 90_000 }, async () => {
    const restRss = rssOf(gw.proc.pid!);
    const sampler = sampleRss(gw.proc.pid!);
    const before = downloads.length;
    const r = await request(`${gw.url}/files/download?bytes=${SIZE}`);
    assert.equal(r.statusCode, 200);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const c of r.body) { bytes += (c as Buffer).length; hash.update(c as Buffer); }
    const { peak, samples } = sampler.stop();
    assert.equal(bytes, SIZE);
    assert.equal(downloads.length, before + 1);
    assert.equal(hash.digest('hex'), downloads[before]!.sha256, 'the client received exactly the bytes the backend sent');
    assert.ok(samples > 3);
    assert.ok(peak < restRss + RSS_HEADROOM,
      `gateway RSS peaked at ${(peak / 2 ** 20).toFixed(0)} MB, resting ${(restRss / 2 ** 20).toFixed(0)} MB: more than ${RSS_HEADROOM / 2 ** 20} MB above rest`);
  });

  it('applies backpressure: a client that reads slowly does not make the gateway buffer the download', { timeout: 90_000 }, async () => {
    const restRss = rssOf(gw.proc.pid!);
    const sampler = sampleRss(gw.proc.pid!);
    const total = 200 * 1024 * 1024;
    const r = await request(`${gw.url}/files/download?bytes=${total}`);
    // read nothing for a while: the backend keeps offering data, the gateway must not take it all
    await new Promise((res) => setTimeout(res, 1500));
    const mid = sampler.stop();
    let bytes = 0;
    for await (const c of r.body) bytes += (c as Buffer).length;
    assert.equal(bytes, total);
    assert.ok(mid.peak < restRss + RSS_HEADROOM, `gateway RSS reached ${(mid.peak / 2 ** 20).toFixed(0)} MB while the client was not reading (rest ${(restRss / 2 ** 20).toFixed(0)} MB)`);
  });
});
