import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/**
 * Raw HTTP/2 frames over TLS, for tests that must send what node:http2 never sends on its own:
 * a header block cut in the middle, HEADERS and RST_STREAM back to back by the hundred. Header
 * blocks are HPACK literals without indexing and without Huffman coding (RFC 7541 §6.2.2), which
 * every decoder accepts.
 */

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const CANCEL = 0x8;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  value -= max;
  while (value >= 128) { out.push((value % 128) + 128); value = Math.floor(value / 128); }
  out.push(value);
  return Buffer.from(out);
}

/** A header block: every field a literal without indexing, new name, no Huffman. */
export function hpack(headers: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v);
  }
  return Buffer.concat(parts);
}

export function settingsFrame(ack = false): Buffer {
  return frame(FRAME.SETTINGS, ack ? FLAG.ACK : 0, 0);
}

export function headersFrame(stream: number, block: Buffer, opts: { endStream?: boolean; endHeaders?: boolean } = {}): Buffer {
  return frame(FRAME.HEADERS, (opts.endStream ? FLAG.END_STREAM : 0) | (opts.endHeaders === false ? 0 : FLAG.END_HEADERS), stream, block);
}

export function dataFrame(stream: number, payload: Buffer, endStream = false): Buffer {
  return frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, payload);
}

export function rstStreamFrame(stream: number, code = CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

export interface ReceivedFrame { type: number; flags: number; stream: number; payload: Buffer }

export interface RawH2 {
  socket: TLSSocket;
  /** every frame the server sent, in order */
  frames: ReceivedFrame[];
  closed: boolean;
  write(b: Buffer): boolean;
  /** wait until `pred` holds for a received frame, the connection closes, or the time is up */
  waitFrame(pred: (f: ReceivedFrame) => boolean, timeoutMs: number): Promise<ReceivedFrame | undefined>;
  destroy(): void;
}

/**
 * Open TLS with ALPN h2, send the client preface and an empty SETTINGS, and acknowledge the
 * server's SETTINGS. Frames the server sends are parsed (headers not decoded).
 */
export function connectRawH2(port: number, opts: { servername: string; ca: string; host?: string }): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: opts.host ?? '127.0.0.1', port, servername: opts.servername, ca: opts.ca, ALPNProtocols: ['h2'] });
    const frames: ReceivedFrame[] = [];
    const listeners = new Set<() => void>();
    let buf = Buffer.alloc(0);
    const conn: RawH2 = {
      socket, frames, closed: false,
      write: (b) => (socket.destroyed ? false : socket.write(b)),
      waitFrame: (pred, timeoutMs) => new Promise((res) => {
        const check = () => {
          const f = frames.find(pred);
          if (f || conn.closed) { cleanup(); res(f); }
        };
        const t = setTimeout(() => { cleanup(); res(frames.find(pred)); }, timeoutMs);
        const cleanup = () => { clearTimeout(t); listeners.delete(check); };
        listeners.add(check);
        check();
      }),
      destroy: () => socket.destroy(),
    };
    const notify = () => { for (const l of [...listeners]) l(); };
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        buf = buf.subarray(9 + len);
        frames.push(f);
        if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) conn.write(settingsFrame(true));
      }
      notify();
    });
    socket.on('close', () => { conn.closed = true; notify(); });
    socket.on('error', () => { /* a reset by the server shows as close */ });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') { socket.destroy(); reject(new Error(`ALPN chose ${socket.alpnProtocol}, not h2`)); return; }
      socket.write(Buffer.concat([PREFACE, settingsFrame()]));
      resolve(conn);
    });
    socket.once('error', reject);
  });
}

/** The GOAWAY frames received (last stream id, error code). */
export function goaways(conn: RawH2): Array<{ lastStream: number; code: number }> {
  return conn.frames.filter((f) => f.type === FRAME.GOAWAY && f.payload.length >= 8)
    .map((f) => ({ lastStream: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) }));
}
