import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import { header, parseCacheControl, type HeaderMap } from './cache-semantics.js';
import { UpstreamConfigError } from './targets.js';

/**
 * Response compression: decide, per response, whether to compress (and with what), and give the
 * header changes and a node:zlib Transform. The caller owns the stream: it pipes the backend's
 * body through `plan.stream()` with `pipeline()` and handles errors there.
 *
 * Compressed when all hold: a body is sent (not HEAD, 1xx, 204, 304) and it is whole (not 206);
 * the backend did not encode it; no `Cache-Control: no-transform`; a compressible type; not known
 * to be smaller than `minBytes` (an unknown length, chunked, is compressed); the client accepts
 * br or gzip (Accept-Encoding with q-values; equal q: the server's order, br first; no header:
 * not compressed). `text/event-stream` is never compressed: it would be buffered, not streamed.
 *
 * Header changes: Content-Encoding set; Content-Length and Accept-Ranges removed (the length is
 * unknown until the end and byte ranges would address the encoding); a strong ETag made weak
 * (RFC 9110 §8.8.1: another encoding is another representation); and `Vary: Accept-Encoding`
 * added whenever the answer depended on Accept-Encoding, compressed or not, so that caches keep
 * the two apart.
 */

export type Encoding = 'br' | 'gzip';
export type NoCompression = 'no-body' | 'partial' | 'encoded' | 'no-transform' | 'type' | 'size' | 'not-accepted';
export type OutHeaders = Record<string, string | string[]>;

export interface CompressionOptions {
  /** in the server's order of preference (default br, gzip) */
  encodings?: readonly Encoding[];
  /** bodies known to be smaller are sent as they are (default 1024 bytes) */
  minBytes?: number;
  /** media types: exact (application/json), a family (text/*) or a suffix (*\/*+json) */
  types?: readonly string[];
  /** brotli quality 0..11 (default 4: fast enough for streaming, better than gzip 6) */
  brotliQuality?: number;
  /** gzip level 1..9 (default 6) */
  gzipLevel?: number;
}

export interface CompressionPlan {
  /** undefined: send the body as it is */
  encoding: Encoding | undefined;
  reason: NoCompression | undefined;
  /** the response headers to send (a new object) */
  headers: OutHeaders;
  /** a new compressing stream for `encoding` (throws when not compressing) */
  stream(): Transform;
}

export const DEFAULT_COMPRESSIBLE = ['text/*', 'application/json', 'application/javascript', 'application/xml', 'application/x-www-form-urlencoded', 'application/wasm', 'image/svg+xml', '*/*+json', '*/*+xml'];
const NEVER = new Set(['text/event-stream']);

export class Compressor {
  private readonly encodings: readonly Encoding[];
  private readonly minBytes: number;
  private readonly exact = new Set<string>();
  private readonly families: string[] = [];
  private readonly suffixes: string[] = [];
  private readonly brotliQuality: number;
  private readonly gzipLevel: number;

  constructor(opts: CompressionOptions = {}) {
    this.encodings = opts.encodings ?? ['br', 'gzip'];
    if (this.encodings.length === 0 || this.encodings.some((e) => e !== 'br' && e !== 'gzip')) throw new UpstreamConfigError('compression encodings: br and/or gzip');
    this.minBytes = opts.minBytes ?? 1024;
    this.brotliQuality = opts.brotliQuality ?? 4;
    this.gzipLevel = opts.gzipLevel ?? 6;
    if (!(this.minBytes >= 0) || !(this.brotliQuality >= 0 && this.brotliQuality <= 11) || !(this.gzipLevel >= 1 && this.gzipLevel <= 9)) throw new UpstreamConfigError('compression: min size ≥ 0, brotli quality 0..11, gzip level 1..9');
    for (const t of opts.types ?? DEFAULT_COMPRESSIBLE) {
      const type = t.trim().toLowerCase();
      if (type.startsWith('*/*+')) this.suffixes.push(type.slice(3));
      else if (/^[a-z0-9.+-]+\/\*$/.test(type)) this.families.push(type.slice(0, -1));
      else if (/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type)) this.exact.add(type);
      else throw new UpstreamConfigError(`"${t}" is not a media type, a family such as text/* or a suffix such as */*+json`);
    }
  }

  /** Is this Content-Type compressible (parameters ignored)? */
  compressible(contentType: string | undefined): boolean {
    if (contentType === undefined) return false;
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (NEVER.has(type)) return false;
    if (this.exact.has(type)) return true;
    for (const f of this.families) if (type.startsWith(f)) return true;
    for (const s of this.suffixes) if (type.endsWith(s)) return true;
    return false;
  }

  plan(req: { method: string; headers: HeaderMap }, res: { status: number; headers: HeaderMap }): CompressionPlan {
    const headers = copy(res.headers);
    const no = (reason: NoCompression, vary = false): CompressionPlan => {
      if (vary) addVary(headers);
      return { encoding: undefined, reason, headers, stream: () => { throw new Error('not compressing'); } };
    };
    if (req.method === 'HEAD' || res.status < 200 || res.status === 204 || res.status === 304) return no('no-body');
    if (res.status === 206) return no('partial');
    const ce = header(res.headers, 'content-encoding');
    if (ce !== undefined && ce.trim().toLowerCase() !== 'identity' && ce.trim() !== '') return no('encoded');
    if (parseCacheControl(header(res.headers, 'cache-control')).has('no-transform')) return no('no-transform');
    if (!this.compressible(header(res.headers, 'content-type'))) return no('type');
    const lengthRaw = header(res.headers, 'content-length');
    const length = lengthRaw !== undefined && /^\d+$/.test(lengthRaw.trim()) ? Number(lengthRaw) : undefined;
    if (length !== undefined && length < this.minBytes) return no('size');
    const encoding = negotiate(header(req.headers, 'accept-encoding'), this.encodings);
    if (encoding === undefined) return no('not-accepted', true);
    addVary(headers);
    delete headers['content-encoding'];
    delete headers['content-length'];
    delete headers['accept-ranges'];
    headers['content-encoding'] = encoding;
    const etag = headers.etag;
    if (typeof etag === 'string' && etag.startsWith('"')) headers.etag = 'W/' + etag;
    return { encoding, reason: undefined, headers, stream: () => this.stream(encoding, length) };
  }

  private stream(encoding: Encoding, sizeHint: number | undefined): Transform {
    if (encoding === 'gzip') return createGzip({ level: this.gzipLevel });
    const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: this.brotliQuality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT };
    if (sizeHint !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
    return createBrotliCompress({ params });
  }
}

/**
 * The coding to use for an Accept-Encoding (RFC 9110 §12.5.3): the highest q among `offered`
 * (`*` covers codings not named; q=0 refuses; x-gzip is gzip); equal q: the order of `offered`.
 */
export function negotiate(acceptEncoding: string | undefined, offered: readonly Encoding[]): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    let name = rawName!.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i.exec(p);
      if (m) weight = Number(m[1]);
      else if (/^\s*q\s*=/i.test(p)) weight = 0; // an unreadable q: not acceptable
    }
    if (!q.has(name)) q.set(name, weight);
  }
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const e of offered) {
    const w = q.get(e) ?? q.get('*') ?? 0;
    if (w > bestQ) {
      best = e;
      bestQ = w;
    }
  }
  return best;
}

function copy(h: HeaderMap): OutHeaders {
  const out: OutHeaders = {};
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v !== undefined) out[name] = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : [...v];
  }
  return out;
}

function addVary(h: OutHeaders): void {
  const v = h.vary === undefined ? '' : Array.isArray(h.vary) ? h.vary.join(', ') : h.vary;
  const names = v.split(',').map((s) => s.trim().toLowerCase());
  if (names.includes('*') || names.includes('accept-encoding')) return;
  h.vary = v.trim() === '' ? 'Accept-Encoding' : `${v}, Accept-Encoding`;
}
