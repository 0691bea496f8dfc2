import type { CancelSignal } from '../exchange.js';
import { Readable } from 'node:stream';
import { brotliDecompress, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';

/**
 * Read a body stream into memory, never past `limit` bytes.
 *
 * Bytes are counted as they arrive, whether or not a Content-Length was sent; the moment the
 * count passes `limit`, reading stops (the stream is paused, not drained) and `over` is returned
 * with what was read so far. A caller that still wants to forward the body (a `detect` action)
 * gets it back whole with {@link rejoin}; one that refuses it ends the exchange, and the server
 * closes the connection instead of reading the rest.
 *
 * Memory: at most `limit` bytes (plus one chunk, ≤ 64 KiB) per request being read.
 */
export type ReadResult =
  | { kind: 'ok'; body: Buffer }
  | { kind: 'over'; chunks: Buffer[]; received: number }
  | { kind: 'error'; message: string };

export function readLimited(stream: Readable, limit: number, signal?: CancelSignal): Promise<ReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (r: ReadResult) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeListener('abort', onAbort);
      resolve(r);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += b.length;
      chunks.push(b);
      if (received > limit) {
        stream.pause();
        finish({ kind: 'over', chunks, received });
      }
    };
    const onEnd = () => finish({ kind: 'ok', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received) });
    const onError = (err: Error) => finish({ kind: 'error', message: err.message });
    const onClose = () => finish({ kind: 'error', message: 'the stream closed before its end' });
    const onAbort = () => finish({ kind: 'error', message: 'aborted' });
    if (stream.readableEnded) { resolve({ kind: 'ok', body: Buffer.alloc(0) }); return; }
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    if (signal?.aborted) { finish({ kind: 'error', message: 'aborted' }); return; }
    signal?.once('abort', onAbort);
    stream.resume();
  });
}

/** The chunks already read, followed by the rest of `stream`, as one stream. */
export function rejoin(chunks: Buffer[], stream: Readable): Readable {
  return Readable.from((async function* () {
    for (const c of chunks) yield c;
    for await (const c of stream) yield c as Buffer;
  })(), { objectMode: false });
}

/**
 * Decompress a `Content-Encoding` (gzip, x-gzip, deflate, br) into at most `limit` bytes.
 * The limit bounds what a zip bomb can cost: decompression stops at `limit` output bytes, however
 * small the input. Several encodings (`gzip, br`) or unknown ones are `unsupported`.
 */
export type DecodeResult = { kind: 'ok'; body: Buffer } | { kind: 'over' } | { kind: 'unsupported' } | { kind: 'error'; message: string };

export function decodeContent(encoding: string, body: Buffer, limit: number): Promise<DecodeResult> {
  const enc = encoding.trim().toLowerCase();
  if (enc === '' || enc === 'identity') return Promise.resolve({ kind: 'ok', body });
  const fn: ((buf: InputType, opts: ZlibOptions, cb: (err: Error | null, out: Buffer) => void) => void) | undefined =
    enc === 'gzip' || enc === 'x-gzip' ? gunzip : enc === 'deflate' ? inflate : enc === 'br' ? (brotliDecompress as never) : undefined;
  if (fn === undefined) return Promise.resolve({ kind: 'unsupported' });
  return new Promise((resolve) => {
    // maxOutputLength is exclusive of the limit: allow `limit` bytes, refuse `limit + 1`
    fn(body, { maxOutputLength: limit + 1 }, (err, out) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) resolve({ kind: 'over' });
        else resolve({ kind: 'error', message: 'the body cannot be decompressed' });
        return;
      }
      resolve(out.length > limit ? { kind: 'over' } : { kind: 'ok', body: out });
    });
  });
}
