import fc from 'fast-check';

/**
 * Generated HTTP/1.x requests for the fuzzer: a well-formed request built from random parts,
 * then up to two mutations from a catalogue. Each mutation says what it makes of the request:
 *
 * - `malformed`: a request that must be refused and NEVER reach a backend (a defect in the chunked
 *   framing, found only while the body streams, may follow a forwarded head, but the backend
 *   must never get a complete request). The definition, with
 *   the rule each one breaks (RFC 9110 / RFC 9112 / RFC 3986, and Gatehouse's own invariants in
 *   DESIGN.md for the target):
 *     framing     Content-Length with Transfer-Encoding (9112 §6.1); two Content-Length fields or
 *                 a list (9112 §6.3); a Content-Length that is not 1*DIGIT; a Transfer-Encoding
 *                 other than exactly `chunked`; a chunk size that is not 1*HEXDIG or overflows;
 *                 chunk data longer than its size (no CRLF where it must be)
 *     host        no Host in HTTP/1.1, or two Host fields (9112 §3.2)
 *     lines       a bare LF or bare CR as a line ending, obs-fold (9112 §5.2), a NUL or other
 *                 CTL byte in a field value, a byte outside tchar in a field name, whitespace
 *                 between the field name and the colon (9112 §5.1)
 *     method      a method that is not a token
 *     target      a space or NUL in the target; an encoded `/`, `\` or NUL, a raw `\`, a
 *                 malformed or control-character percent-escape, dot-segments that climb above
 *                 the root, an absolute-form naming another host (DESIGN.md: ambiguous paths are
 *                 refused)
 * - `odd`: unusual but not forbidden to forward (HTTP/0.9, an unknown method, a request cut
 *   short, oversized headers, Transfer-Encoding in HTTP/1.0, which RFC 9112 §6.1 calls faulty framing
 *   but lets the recipient process before closing): the gateway answers or closes in time,
 *   nothing else is judged.
 * - `benign`: keeps the request valid (a chunk extension, an absolute-form target naming this
 *   host, a body that looks like another request, a percent-encoded unreserved character).
 *
 * A valid request (no malformed or odd mutation) must be forwarded exactly once, byte for byte
 * in its body, and answered 200.
 */

export const FUZZ_HOST = 'gw.test';
export type Klass = 'valid' | 'malformed' | 'odd';

interface Msg {
  method: string;
  target: string;
  /** null: an HTTP/0.9 request line */
  version: string | null;
  /** header lines without their line ending */
  lines: string[];
  body: Buffer | null;
  framing: 'none' | 'cl' | 'chunked';
  chunks: number;
  chunkExt: boolean;
  /** serialization tweaks applied by mutations */
  sizeOverride?: string;
  overrun?: boolean;
  truncateBody?: boolean;
  truncateHead?: boolean;
  /** byte-level edits of the serialized head: replace the n-th CRLF by LF */
  bareLfAt?: number;
}

export interface Generated {
  /** bytes as sent, in one write */
  bytes: Buffer;
  klass: Klass;
  /**
   * malformed only in its body framing, found as the body streams: the backend may have seen
   * the head (as with any streaming proxy) but never a complete request
   */
  late: boolean;
  mutations: string[];
  method: string;
  /** the body the backend must receive (valid requests) */
  body: Buffer;
  requestId: string;
}

type Group = 'framing' | 'host' | 'lines' | 'method' | 'target' | 'version';
interface Mutation {
  name: string;
  group: Group;
  klass: 'malformed' | 'odd' | 'benign';
  /** a defect inside the body, found only while it streams: the head may have been forwarded */
  late?: boolean;
  apply(m: Msg, pick: (n: number) => number): void;
}

const HDR = (m: Msg, name: string) => m.lines.findIndex((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'));
const removeHeader = (m: Msg, name: string) => { m.lines = m.lines.filter((l) => !l.toLowerCase().startsWith(name.toLowerCase() + ':')); };
const CTLS = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f];
const ensureBody = (m: Msg, framing: 'cl' | 'chunked') => {
  if (!m.body || m.body.length === 0) m.body = Buffer.from('hello=world');
  if (m.framing !== framing) {
    removeHeader(m, 'content-length');
    removeHeader(m, 'transfer-encoding');
    m.framing = framing;
    m.lines.push(framing === 'cl' ? `Content-Length: ${m.body.length}` : 'Transfer-Encoding: chunked');
  }
  if (m.method === 'GET' || m.method === 'DELETE' || m.method === 'OPTIONS') m.method = 'POST';
};
const inPath = (m: Msg, piece: string) => { m.target = m.target.replace(/^\/[^?]*/, (p) => `${p.replace(/\/$/, '')}/${piece}`); };

export const MUTATIONS: Mutation[] = [
  // ---- malformed: framing
  { name: 'cl+te', group: 'framing', klass: 'malformed', apply: (m, p) => {
    if (p(2) === 0) { ensureBody(m, 'chunked'); m.lines.splice(p(m.lines.length + 1), 0, `Content-Length: ${m.body!.length}`); } else { ensureBody(m, 'cl'); m.lines.splice(p(m.lines.length + 1), 0, 'Transfer-Encoding: chunked'); }
  } },
  { name: 'duplicate-cl', group: 'framing', klass: 'malformed', apply: (m, p) => {
    ensureBody(m, 'cl');
    const n = m.body!.length;
    const v = [`${n}`, `${n + 1}`, `0`][p(3)]!;
    if (p(2) === 0) m.lines.push(`Content-Length: ${v}`);
    else m.lines[HDR(m, 'content-length')] = `Content-Length: ${n}, ${v}`;
  } },
  { name: 'invalid-cl', group: 'framing', klass: 'malformed', apply: (m, p) => {
    ensureBody(m, 'cl');
    m.lines[HDR(m, 'content-length')] = `Content-Length: ${['abc', '-1', '+5', '5 5', '0x10', '1e3', '99999999999999999999999', '1_0', ''][p(9)]}`;
  } },
  { name: 'bad-te', group: 'framing', klass: 'malformed', apply: (m, p) => {
    ensureBody(m, 'chunked');
    m.lines[HDR(m, 'transfer-encoding')] = `Transfer-Encoding: ${['gzip, chunked', 'chunked, gzip', 'xchunked', 'identity', 'chunked, chunked', 'gzip', 'chunked;q=1'][p(7)]}`;
  } },
  { name: 'invalid-chunk-size', group: 'framing', klass: 'malformed', late: true, apply: (m, p) => {
    ensureBody(m, 'chunked');
    m.sizeOverride = ['zz', '-1', '0x5', 'ffffffffffffffffffff', ' 5', '5 ', ''][p(7)];
  } },
  { name: 'chunk-overrun', group: 'framing', klass: 'malformed', late: true, apply: (m) => { ensureBody(m, 'chunked'); m.overrun = true; } },
  // ---- malformed: host
  { name: 'missing-host', group: 'host', klass: 'malformed', apply: (m) => { m.version = 'HTTP/1.1'; removeHeader(m, 'host'); } },
  { name: 'duplicate-host', group: 'host', klass: 'malformed', apply: (m, p) => {
    m.lines.splice(p(m.lines.length + 1), 0, `${['Host', 'host', 'HOST'][p(3)]}: ${[FUZZ_HOST, 'other.test', `${FUZZ_HOST}:80`][p(3)]}`);
  } },
  // ---- malformed: lines
  { name: 'bare-lf', group: 'lines', klass: 'malformed', apply: (m, p) => { m.bareLfAt = p(m.lines.length + 2); } },
  { name: 'bare-cr', group: 'lines', klass: 'malformed', apply: (m, p) => { m.lines.splice(p(m.lines.length + 1), 0, 'X-Cr: a\rX-Injected: 1'); } },
  { name: 'obs-fold', group: 'lines', klass: 'malformed', apply: (m, p) => {
    // a continuation of a field line (whitespace before the first field line is another rule)
    if (m.lines.length === 0) m.lines.push('X-A: a');
    m.lines.splice(p(m.lines.length) + 1, 0, `${p(2) ? ' ' : '\t'}folded`);
  } },
  { name: 'ctl-in-value', group: 'lines', klass: 'malformed', apply: (m, p) => { m.lines.push(`X-Ctl: a${String.fromCharCode(CTLS[p(CTLS.length)]!)}b`); } },
  { name: 'bad-header-name', group: 'lines', klass: 'malformed', apply: (m, p) => {
    const bad = ['(', ')', '<', '@', ',', ';', '\\', '"', '/', '[', '?', '=', '{', ' ', '\x80', '\xff', '\x01'][p(17)];
    m.lines.push(`X${bad}Name: 1`);
  } },
  { name: 'space-before-colon', group: 'lines', klass: 'malformed', apply: (m, p) => { m.lines.push(`${['Transfer-Encoding', 'X-A', 'Host'][p(3)]} : chunked`); } },
  // ---- malformed: method
  { name: 'bad-method', group: 'method', klass: 'malformed', apply: (m, p) => { m.method = ['G(T', 'GE\x01T', 'GET,', 'P@ST', 'GE"T', '\x00GET'][p(6)]!; } },
  // ---- malformed: target
  { name: 'space-in-target', group: 'target', klass: 'malformed', apply: (m) => inPath(m, 'a b') },
  { name: 'nul-in-target', group: 'target', klass: 'malformed', apply: (m) => inPath(m, 'a\0b') },
  { name: 'encoded-slash', group: 'target', klass: 'malformed', apply: (m, p) => inPath(m, ['a%2Fb', 'a%2fb', '%2F..%2Fetc'][p(3)]!) },
  { name: 'encoded-backslash', group: 'target', klass: 'malformed', apply: (m, p) => inPath(m, ['a%5Cb', '%5c..%5cetc'][p(2)]!) },
  { name: 'encoded-nul', group: 'target', klass: 'malformed', apply: (m) => inPath(m, 'a%00.json') },
  { name: 'raw-backslash', group: 'target', klass: 'malformed', apply: (m) => inPath(m, 'a\\b') },
  { name: 'dot-escape', group: 'target', klass: 'malformed', apply: (m, p) => { m.target = ['/../etc/passwd', '/a/../../etc', '/%2e%2e/etc', '/.%2e/etc', '/a/%2E%2E/%2e%2e/etc', '/..'][p(6)]!; } },
  { name: 'bad-escape', group: 'target', klass: 'malformed', apply: (m, p) => inPath(m, ['a%zz', 'a%4', 'a%G1', '%'][p(4)]!) },
  { name: 'encoded-ctl', group: 'target', klass: 'malformed', apply: (m, p) => inPath(m, ['a%0d%0aX-Injected:%201', 'a%01', 'a%1f', 'a%0A'][p(4)]!) },
  { name: 'absolute-other-host', group: 'target', klass: 'malformed', apply: (m, p) => { m.target = `http://${['evil.test', '169.254.169.254', 'localhost:1'][p(3)]}${m.target}`; } },
  // ---- odd
  { name: 'http/0.9', group: 'version', klass: 'odd', apply: (m) => { m.version = null; } },
  { name: 'truncated-head', group: 'version', klass: 'odd', apply: (m) => { m.truncateHead = true; } },
  { name: 'http/1.0-no-host', group: 'host', klass: 'odd', apply: (m) => { m.version = 'HTTP/1.0'; removeHeader(m, 'host'); } },
  { name: 'unknown-method', group: 'method', klass: 'odd', apply: (m, p) => { m.method = ['FOO', 'PROPFIND', 'BREW', 'get', 'CONNECT', 'TRACE'][p(6)]!; } },
  // RFC 9112 §6.1: faulty framing, but the recipient may still process the message and then close
  { name: 'te-in-http/1.0', group: 'framing', klass: 'odd', apply: (m) => { ensureBody(m, 'chunked'); m.version = 'HTTP/1.0'; } },
  { name: 'truncated-body', group: 'framing', klass: 'odd', apply: (m, p) => { ensureBody(m, p(2) ? 'cl' : 'chunked'); m.truncateBody = true; } },
  { name: 'huge-header', group: 'lines', klass: 'odd', apply: (m) => { m.lines.push(`X-Big: ${'a'.repeat(10 * 1024)}`); } },
  // ---- benign
  { name: 'chunk-extension', group: 'framing', klass: 'benign', apply: (m) => { ensureBody(m, 'chunked'); m.chunkExt = true; } },
  { name: 'request-in-body', group: 'framing', klass: 'benign', apply: (m, p) => {
    m.body = Buffer.from(`GET /smuggled HTTP/1.1\r\nHost: ${FUZZ_HOST}\r\n\r\n`);
    const f = p(2) ? 'cl' : 'chunked';
    removeHeader(m, 'content-length');
    removeHeader(m, 'transfer-encoding');
    m.framing = 'none';
    ensureBody(m, f);
  } },
  { name: 'absolute-same-host', group: 'target', klass: 'benign', apply: (m) => { m.target = `http://${FUZZ_HOST}${m.target}`; } },
  { name: 'encoded-unreserved', group: 'target', klass: 'benign', apply: (m) => inPath(m, 'caf%65-%7E') },
];

const chars = (s: string) => s.split('');
const SEG = chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~');
const QUERY = chars('abcdefghijklmnopqrstuvwxyz0123456789=&-_.~');
const NAME = chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-');
const VALUE = chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&\'()*+,-./:;<=>?@[]^_`{|}~"\\\t');
/** names the gateway manages itself or that change the exchange (never generated as extra headers) */
const RESERVED = /^(host|content-length|transfer-encoding|connection|keep-alive|proxy-connection|te|trailer|upgrade|expect|x-request-id|http2-settings|content-encoding|content-type)$/i;

export function requestArbitrary(): fc.Arbitrary<{ msg: Msg; mutations: Mutation[]; picks: number[] }> {
  const header = fc.tuple(
    fc.string({ unit: fc.constantFrom(...NAME), minLength: 1, maxLength: 14 }).filter((n) => !RESERVED.test(n) && !n.includes('_')),
    fc.string({ unit: fc.constantFrom(...VALUE), maxLength: 40 }).map((v) => v.trim()),
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
    segments: fc.array(fc.string({ unit: fc.constantFrom(...SEG), minLength: 1, maxLength: 8 }), { maxLength: 4 }),
    query: fc.option(fc.string({ unit: fc.constantFrom(...QUERY), minLength: 1, maxLength: 20 }), { nil: undefined }),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
    headers: fc.array(header, { maxLength: 6 }),
    body: fc.option(fc.record({ framing: fc.constantFrom<'cl' | 'chunked'>('cl', 'chunked'), data: fc.uint8Array({ maxLength: 3000 }), chunks: fc.integer({ min: 1, max: 4 }) }), { nil: undefined }),
    mutations: fc.array(fc.constantFrom(...MUTATIONS), { maxLength: 2 }),
    picks: fc.array(fc.nat({ max: 1 << 20 }), { minLength: 8, maxLength: 8 }),
  }).map((r) => {
    const withBody = r.body !== undefined && (r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH');
    const msg: Msg = {
      method: r.method,
      target: `/${r.segments.join('/')}${r.query ? `?${r.query}` : ''}`,
      version: r.version,
      lines: [`Host: ${FUZZ_HOST}`, ...r.headers.map(([n, v]) => `${n}: ${v}`)],
      body: withBody ? Buffer.from(r.body!.data) : null,
      // chunked is HTTP/1.1 only (RFC 9112 §6.1): a 1.0 request with a body says its length
      framing: withBody ? (r.version === 'HTTP/1.0' ? 'cl' : r.body!.framing) : 'none',
      chunks: r.body?.chunks ?? 1,
      chunkExt: false,
    };
    if (msg.framing === 'cl') msg.lines.push(`Content-Length: ${msg.body!.length}`);
    if (msg.framing === 'chunked') msg.lines.push('Transfer-Encoding: chunked');
    return { msg, mutations: r.mutations, picks: r.picks };
  });
}

function chunkedBody(m: Msg): Buffer {
  const body = m.body ?? Buffer.alloc(0);
  const parts: Buffer[] = [];
  const n = Math.max(1, Math.min(m.chunks, body.length));
  const size = Math.ceil(body.length / n);
  let first = true;
  for (let o = 0; o < body.length; o += size) {
    const part = body.subarray(o, o + size);
    const hex = first && m.sizeOverride !== undefined ? m.sizeOverride : part.length.toString(16);
    parts.push(Buffer.from(`${hex}${m.chunkExt ? ';ext="v"' : ''}\r\n`, 'latin1'), part, Buffer.from(first && m.overrun ? 'XX\r\n' : '\r\n'));
    first = false;
  }
  if (body.length === 0 && m.sizeOverride !== undefined) parts.push(Buffer.from(`${m.sizeOverride}\r\n`, 'latin1'));
  if (!m.truncateBody) parts.push(Buffer.from(`0${m.chunkExt ? ';last' : ''}\r\n\r\n`));
  return Buffer.concat(parts);
}

/** Apply the mutations (one per group) and serialize. */
export function build(g: { msg: Msg; mutations: Mutation[]; picks: number[] }, requestId: string): Generated {
  const m: Msg = { ...g.msg, lines: [...g.msg.lines] };
  const applied: Mutation[] = [];
  const groups = new Set<Group>();
  let k = 0;
  const pick = (n: number) => (n <= 0 ? 0 : g.picks[k++ % g.picks.length]! % n);
  for (const mu of g.mutations) {
    if (groups.has(mu.group)) continue;
    groups.add(mu.group);
    mu.apply(m, pick);
    applied.push(mu);
  }
  if (m.version !== null) m.lines.push(`X-Request-Id: ${requestId}`);
  const names = applied.map((x) => x.name);
  // mutations of different groups can combine into a defect neither makes alone
  if (m.version === 'HTTP/1.0' && m.lines.some((l) => /^transfer-encoding:/i.test(l)) && !names.includes('te-in-http/1.0')) names.push('(te-in-http/1.0)');
  const odd = applied.some((x) => x.klass === 'odd') || names.includes('(te-in-http/1.0)');
  let klass: Klass = applied.some((x) => x.klass === 'malformed') ? 'malformed' : odd ? 'odd' : 'valid';
  // an HTTP/0.9 line has no headers or body: whatever else was done to them did not happen
  if (m.version === null || m.truncateHead) klass = 'odd';
  let head = m.version === null
    ? `${m.method} ${m.target}\r\n`
    : `${m.method} ${m.target} ${m.version}\r\n${m.lines.map((l) => `${l}\r\n`).join('')}\r\n`;
  if (m.bareLfAt !== undefined && m.version !== null) {
    let count = 0;
    head = head.replace(/\r\n/g, (x) => (count++ === m.bareLfAt ? '\n' : x));
  }
  if (m.truncateHead) head = head.slice(0, Math.max(1, head.length - 2 - (m.version === null ? 0 : 3)));
  let body: Buffer = Buffer.alloc(0);
  if (!m.truncateHead && m.version !== null) {
    if (m.framing === 'chunked') body = chunkedBody(m);
    else if (m.framing === 'cl' && m.body) body = m.truncateBody ? m.body.subarray(0, Math.floor(m.body.length / 2)) : m.body;
  }
  return {
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]),
    klass,
    late: klass === 'malformed' && applied.every((x) => x.klass !== 'malformed' || x.late === true),
    mutations: names,
    method: m.method,
    body: m.body ?? Buffer.alloc(0),
    requestId,
  };
}
