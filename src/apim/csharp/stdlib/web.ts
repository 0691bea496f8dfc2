import { randomUUID } from 'node:crypto';
import { OUT } from '../frame.js';
import { str } from '../runtime/budget.js';
import { fail, formatError } from '../runtime/exceptions.js';
import { addMembers, defineType } from '../types.js';

/** Guid, Uri, UriKind and WebUtility. */
export class CsGuid {
  readonly csType = 'System.Guid';
  constructor(readonly value: string) {}
  static parse(s: string | null): CsGuid {
    const t = s?.trim().replace(/^[{(]|[})]$/g, '') ?? '';
    if (/^[0-9a-fA-F]{32}$/.test(t)) return new CsGuid(`${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`.toLowerCase());
    if (/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(t)) return new CsGuid(t.toLowerCase());
    return formatError('Unrecognized Guid format.');
  }
  csString(): string { return this.value; }
  csFormat(f: string): string {
    switch (f) {
      case 'N': case 'n': return this.value.replace(/-/g, '');
      case 'D': case 'd': case '': return this.value;
      case 'B': case 'b': return `{${this.value}}`;
      case 'P': case 'p': return `(${this.value})`;
      default: return formatError('Format string can be only "D", "d", "N", "n", "P", "p", "B", "b", "X" or "x".');
    }
  }
  csEquals(o: unknown): boolean { return o instanceof CsGuid && o.value === this.value; }
  csKey(): unknown { return `guid:${this.value}`; }
  /** .NET's byte order: the first three groups little-endian, the last two as written. */
  toBytes(): Uint8Array {
    const h = Buffer.from(this.value.replace(/-/g, ''), 'hex');
    return new Uint8Array([h[3]!, h[2]!, h[1]!, h[0]!, h[5]!, h[4]!, h[7]!, h[6]!, ...h.subarray(8)]);
  }
  static fromBytes(b: Uint8Array | null): CsGuid {
    if (b === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'b')");
    if (b.length !== 16) return fail('ArgumentException', "Byte array for Guid must be exactly 16 bytes long. (Parameter 'b')");
    const h = Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]).toString('hex');
    return CsGuid.parse(h);
  }
}

const EMPTY = new CsGuid('00000000-0000-0000-0000-000000000000');
export const GUID = defineType({ name: 'Guid', valueType: true, is: (v) => v instanceof CsGuid, zero: EMPTY });
addMembers(GUID, [
  ['static NewGuid(): Guid', () => new CsGuid(randomUUID())],
  ['static Empty: Guid', () => EMPTY],
  ['static Parse(string): Guid', CsGuid.parse],
  ['static TryParse(string, out Guid): bool', (s: string | null) => { try { OUT[0] = CsGuid.parse(s); return true; } catch { OUT[0] = EMPTY; return false; } }],
  ['new(string)', CsGuid.parse],
  ['new(byte[])', CsGuid.fromBytes],
  ['ToByteArray(): byte[]', (g: CsGuid) => g.toBytes()],
  ['ToString(): string', (g: CsGuid) => g.value],
  ['ToString(string): string', (g: CsGuid, f: string | null) => g.csFormat(f ?? '')],
  ['Equals(Guid): bool', (a: CsGuid, b: CsGuid) => a.csEquals(b)],
  ['static operator ==(Guid, Guid): bool', (a: CsGuid, b: CsGuid) => a.csEquals(b)],
  ['static operator !=(Guid, Guid): bool', (a: CsGuid, b: CsGuid) => !a.csEquals(b)],
]);

export const URI_KIND = defineType({ name: 'UriKind', valueType: true, is: (v) => typeof v === 'number', enumValues: { RelativeOrAbsolute: 0, Absolute: 1, Relative: 2 } });

export class CsUri {
  readonly csType = 'System.Uri';
  constructor(readonly url: URL | null, readonly original: string) {}
  static create(s: string | null, kind = 1): CsUri {
    if (s === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'uriString')");
    if (kind !== 2) {
      try {
        const u = new URL(s);
        if (u.protocol && /^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return new CsUri(u, s);
      } catch { /* fall through */ }
    }
    if (kind === 1) return fail('UriFormatException', 'Invalid URI: The format of the URI could not be determined.');
    return new CsUri(null, s);
  }
  get abs(): URL { return this.url ?? fail('InvalidOperationException', 'This operation is not supported for a relative URI.'); }
  csString(): string { return this.url ? decodeURI(this.url.href) : this.original; }
  csEquals(o: unknown): boolean { return o instanceof CsUri && o.csString() === this.csString(); }
}
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ftp:': 21, 'ws:': 80, 'wss:': 443 };
export const URI = defineType({ name: 'Uri', is: (v) => v instanceof CsUri });
addMembers(URI, [
  ['new(string)', (s: string | null) => CsUri.create(s)],
  ['new(string, UriKind)', (s: string | null, k: number) => CsUri.create(s, k)],
  ['new(Uri, string)', (b: CsUri, rel: string) => { try { return new CsUri(new URL(rel, b.abs), rel); } catch { return fail('UriFormatException', 'Invalid URI: The format of the URI could not be determined.'); } }],
  ['static EscapeDataString(string): string', (s: string | null) => (s === null ? fail('ArgumentNullException', "Value cannot be null. (Parameter 'stringToEscape')") : str(encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)))],
  ['static UnescapeDataString(string): string', (s: string | null) => (s === null ? fail('ArgumentNullException', "Value cannot be null. (Parameter 'stringToUnescape')") : lenientDecode(s, false))],
  ['static EscapeUriString(string): string', (s: string) => str(encodeURI(s))],
  ['static IsWellFormedUriString(string, UriKind): bool', (s: string | null, k: number) => { if (s === null) return false; try { CsUri.create(s, k); return !/\s/.test(s); } catch { return false; } }],
  ['static TryCreate(string, UriKind, out Uri): bool', (s: string | null, k: number) => { try { OUT[0] = CsUri.create(s, k); return true; } catch { OUT[0] = null; return false; } }],
  ['AbsoluteUri: string', (u: CsUri) => u.abs.href],
  ['AbsolutePath: string', (u: CsUri) => u.abs.pathname],
  ['PathAndQuery: string', (u: CsUri) => u.abs.pathname + u.abs.search],
  ['Query: string', (u: CsUri) => u.abs.search],
  ['Fragment: string', (u: CsUri) => u.abs.hash],
  ['Host: string', (u: CsUri) => u.abs.hostname],
  ['Authority: string', (u: CsUri) => u.abs.host],
  ['Port: int', (u: CsUri) => (u.abs.port ? Number(u.abs.port) : DEFAULT_PORTS[u.abs.protocol] ?? -1)],
  ['Scheme: string', (u: CsUri) => u.abs.protocol.replace(/:$/, '')],
  ['UserInfo: string', (u: CsUri) => (u.abs.username ? `${u.abs.username}${u.abs.password ? `:${u.abs.password}` : ''}` : '')],
  ['Segments: string[]', (u: CsUri) => u.abs.pathname.split(/(?<=\/)/)],
  ['IsAbsoluteUri: bool', (u: CsUri) => u.url !== null],
  ['OriginalString: string', (u: CsUri) => u.original],
  ['ToString(): string', (u: CsUri) => u.csString()],
]);

function lenientDecode(s: string, plus: boolean): string {
  const t = plus ? s.replace(/\+/g, ' ') : s;
  return t.replace(/(%[0-9A-Fa-f]{2})+/g, (m) => { try { return decodeURIComponent(m); } catch { return m; } });
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const WEB_UTILITY = defineType({ name: 'WebUtility', ns: 'System.Net', is: () => false });
addMembers(WEB_UTILITY, [
  ['static UrlEncode(string): string', (s: string | null) => (s === null ? null : str(encodeURIComponent(s).replace(/%20/g, '+').replace(/[~']/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)))],
  ['static UrlDecode(string): string', (s: string | null) => (s === null ? null : lenientDecode(s, true))],
  ['static HtmlEncode(string): string', (s: string | null) => (s === null ? null : str(s.replace(/[&<>"']/g, (c) => HTML[c]!)))],
  ['static HtmlDecode(string): string', (s: string | null) => (s === null ? null : s.replace(/&(amp|lt|gt|quot|#39|apos|#(\d+)|#x([0-9a-f]+));/gi, (m, n: string, d?: string, h?: string) => d ? String.fromCodePoint(Number(d)) : h ? String.fromCodePoint(parseInt(h, 16)) : ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'" } as Record<string, string>)[n.toLowerCase()] ?? m))],
]);
