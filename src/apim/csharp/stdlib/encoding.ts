import { charge, str } from '../runtime/budget.js';
import { fail, formatError } from '../runtime/exceptions.js';
import { checkedInt, checkedLong, roundEven } from '../runtime/numbers.js';
import { toCsString, type CsValue } from '../runtime/values.js';
import { addMembers, defineType } from '../types.js';
import { parseBool, parseDouble, parseInt32, parseInt64 } from './numbers.js';

/** Encoding (UTF8, ASCII, Unicode), Convert (numbers, Base64, hex) and BitConverter. */

export class EncodingValue implements CsValue {
  readonly csType = 'System.Text.Encoding';
  constructor(readonly name: 'utf-8' | 'us-ascii' | 'utf-16') {}
  csString(): string { return this.csType; }
  getBytes(s: string | null): Uint8Array {
    if (s === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 's')");
    charge(s.length);
    if (this.name === 'utf-8') return new Uint8Array(Buffer.from(s, 'utf8'));
    if (this.name === 'utf-16') return new Uint8Array(Buffer.from(s, 'utf16le'));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); out[i] = c < 128 ? c : 63; }
    return out;
  }
  getString(b: Uint8Array | null, index = 0, count?: number): string {
    if (b === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'bytes')");
    const n = count ?? b.length - index;
    if (index < 0 || n < 0 || index + n > b.length) fail('ArgumentOutOfRangeException', "Index and count must refer to a location within the buffer. (Parameter 'bytes')");
    const part = b.subarray(index, index + n);
    charge(n);
    if (this.name === 'utf-8') return new TextDecoder('utf-8').decode(part);
    if (this.name === 'utf-16') return Buffer.from(part).toString('utf16le');
    let s = '';
    for (const x of part) s += x < 128 ? String.fromCharCode(x) : '?';
    return s;
  }
}

export const ENCODING = defineType({ name: 'Encoding', ns: 'System.Text', is: (v) => v instanceof EncodingValue });
const UTF8 = new EncodingValue('utf-8'), ASCII = new EncodingValue('us-ascii'), UNICODE = new EncodingValue('utf-16');
addMembers(ENCODING, [
  ['static UTF8: Encoding', () => UTF8],
  ['static ASCII: Encoding', () => ASCII],
  ['static Unicode: Encoding', () => UNICODE],
  ['static Default: Encoding', () => UTF8],
  ['static GetEncoding(string): Encoding', (n: string) => {
    const k = n.toLowerCase();
    return k === 'utf-8' || k === 'utf8' ? UTF8 : k === 'ascii' || k === 'us-ascii' ? ASCII : k === 'utf-16' || k === 'unicode' ? UNICODE : fail('ArgumentException', `'${n}' is not a supported encoding name.`);
  }],
  ['GetBytes(string): byte[]', (e: EncodingValue, s: string | null) => e.getBytes(s)],
  ['GetBytes(char[]): byte[]', (e: EncodingValue, s: string[]) => e.getBytes(s.join(''))],
  ['GetString(byte[]): string', (e: EncodingValue, b: Uint8Array | null) => e.getString(b)],
  ['GetString(byte[], int, int): string', (e: EncodingValue, b: Uint8Array | null, i: number, n: number) => e.getString(b, i, n)],
  ['GetByteCount(string): int', (e: EncodingValue, s: string) => e.getBytes(s).length],
  ['WebName: string', (e: EncodingValue) => e.name],
]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export function fromBase64(s: string | null): Uint8Array {
  if (s === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 's')");
  const t = s.replace(/[\s]/g, '');
  if (t.length % 4 !== 0 || !BASE64.test(t)) formatError('The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.');
  charge(t.length);
  return new Uint8Array(Buffer.from(t, 'base64'));
}
export const toBase64 = (b: Uint8Array | null, offset = 0, length?: number): string => {
  if (b === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'inArray')");
  const part = b.subarray(offset, length === undefined ? undefined : offset + length);
  return str(Buffer.from(part).toString('base64'));
};

/** Convert.ToInt32(object) and friends: null → 0, strings are parsed, numbers rounded to even. */
function toNumber(v: unknown, parse: (s: string) => number | bigint): number | bigint {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return parse(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  return fail('InvalidCastException', `Unable to cast object of type '${typeof v}' to type 'System.IConvertible'.`);
}
const toInt = (v: unknown) => { const n = toNumber(v, parseInt32); return typeof n === 'bigint' ? checkedInt(Number(n)) : checkedInt(n); };
const toLong = (v: unknown) => checkedLong(toNumber(v, parseInt64));
const toDouble = (v: unknown) => Number(toNumber(v, parseDouble));
const toBool = (v: unknown) => (typeof v === 'string' ? parseBool(v) : typeof v === 'boolean' ? v : v === null ? false : Number(v) !== 0);
function fromBase(s: string | null, base: number, bits: 32 | 64): number | bigint {
  if (s === null) return bits === 32 ? 0 : 0n;
  const digits = base === 16 ? s.replace(/^0x/i, '') : s;
  const re = base === 16 ? /^[0-9a-f]+$/i : base === 8 ? /^[0-7]+$/ : base === 2 ? /^[01]+$/ : /^-?\d+$/;
  if (![2, 8, 10, 16].includes(base)) fail('ArgumentException', 'Invalid Base.');
  if (!re.test(digits)) formatError('Could not find any recognizable digits.');
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  const v = base === 10 ? BigInt(digits) : BigInt(prefix + digits);
  return bits === 32 ? Number(BigInt.asIntN(32, v)) : BigInt.asIntN(64, v);
}

export const CONVERT = defineType({ name: 'Convert', is: () => false });
addMembers(CONVERT, [
  ['static ToBase64String(byte[]): string', (b: Uint8Array | null) => toBase64(b)],
  ['static ToBase64String(byte[], int, int): string', toBase64],
  ['static FromBase64String(string): byte[]', fromBase64],
  ['static ToHexString(byte[]): string', (b: Uint8Array) => str(Buffer.from(b).toString('hex').toUpperCase())],
  ['static FromHexString(string): byte[]', (s: string) => (/^([0-9a-fA-F]{2})*$/.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : formatError('The input is not a valid hex string as it contains a non-hex character.'))],
  ['static ToInt32(string): int', (s: string | null) => (s === null ? 0 : parseInt32(s))],
  ['static ToInt32(double): int', (v: number) => checkedInt(v)],
  ['static ToInt32(decimal): int', (v: number) => checkedInt(v)],
  ['static ToInt32(long): int', (v: bigint) => checkedInt(Number(v))],
  ['static ToInt32(int): int', (v: number) => v],
  ['static ToInt32(bool): int', (v: boolean) => (v ? 1 : 0)],
  ['static ToInt32(char): int', (c: string) => c.charCodeAt(0)],
  ['static ToInt32(object): int', toInt],
  ['static ToInt32(string, int): int', (s: string | null, b: number) => fromBase(s, b, 32)],
  ['static ToInt64(string): long', (s: string | null) => (s === null ? 0n : parseInt64(s))],
  ['static ToInt64(double): long', (v: number) => checkedLong(v)],
  ['static ToInt64(int): long', (v: number) => BigInt(v)],
  ['static ToInt64(long): long', (v: bigint) => v],
  ['static ToInt64(object): long', toLong],
  ['static ToInt64(string, int): long', (s: string | null, b: number) => fromBase(s, b, 64)],
  ['static ToDouble(string): double', (s: string | null) => (s === null ? 0 : parseDouble(s))],
  ['static ToDouble(int): double', (v: number) => v],
  ['static ToDouble(long): double', (v: bigint) => Number(v)],
  ['static ToDouble(decimal): double', (v: number) => v],
  ['static ToDouble(object): double', toDouble],
  ['static ToDecimal(string): decimal', (s: string | null) => (s === null ? 0 : parseDouble(s))],
  ['static ToDecimal(double): decimal', (v: number) => v],
  ['static ToDecimal(object): decimal', toDouble],
  ['static ToBoolean(string): bool', (s: string | null) => (s === null ? false : parseBool(s))],
  ['static ToBoolean(object): bool', toBool],
  ['static ToString(object): string', (v: unknown) => toCsString(v)],
  ['static ToString(int, int): string', (v: number, b: number) => (b === 10 ? String(v) : (v >>> 0).toString(b))],
  ['static ToChar(int): char', (v: number) => (v < 0 || v > 65535 ? fail('OverflowException', 'Value was either too large or too small for a character.') : String.fromCharCode(v))],
  ['static ToByte(int): byte', (v: number) => (v < 0 || v > 255 ? fail('OverflowException', 'Value was either too large or too small for an unsigned byte.') : v)],
  ['static ToByte(string, int): byte', (s: string, b: number) => { const v = fromBase(s, b, 32) as number; return v < 0 || v > 255 ? fail('OverflowException', 'Value was either too large or too small for an unsigned byte.') : v; }],
]);

function bytesOf(view: (d: DataView) => void, n: number): Uint8Array {
  const b = new Uint8Array(n);
  view(new DataView(b.buffer));
  return b;
}
function checkIndex(b: Uint8Array, i: number, n: number): DataView {
  if (i < 0 || i + n > b.length) fail('ArgumentOutOfRangeException', "Index was out of range. (Parameter 'startIndex')");
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const BIT_CONVERTER = defineType({ name: 'BitConverter', is: () => false });
addMembers(BIT_CONVERTER, [
  ['static IsLittleEndian: bool', () => true],
  ['static ToString(byte[]): string', (b: Uint8Array) => str(Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join('-'))],
  ['static ToString(byte[], int): string', (b: Uint8Array, i: number) => str(Array.from(b.subarray(i), (x) => x.toString(16).toUpperCase().padStart(2, '0')).join('-'))],
  ['static ToString(byte[], int, int): string', (b: Uint8Array, i: number, n: number) => str(Array.from(b.subarray(i, i + n), (x) => x.toString(16).toUpperCase().padStart(2, '0')).join('-'))],
  ['static GetBytes(int): byte[]', (v: number) => bytesOf((d) => d.setInt32(0, v, true), 4)],
  ['static GetBytes(long): byte[]', (v: bigint) => bytesOf((d) => d.setBigInt64(0, v, true), 8)],
  ['static GetBytes(double): byte[]', (v: number) => bytesOf((d) => d.setFloat64(0, v, true), 8)],
  ['static GetBytes(bool): byte[]', (v: boolean) => Uint8Array.of(v ? 1 : 0)],
  ['static ToInt32(byte[], int): int', (b: Uint8Array, i: number) => checkIndex(b, i, 4).getInt32(i, true)],
  ['static ToInt64(byte[], int): long', (b: Uint8Array, i: number) => checkIndex(b, i, 8).getBigInt64(i, true)],
  ['static ToDouble(byte[], int): double', (b: Uint8Array, i: number) => checkIndex(b, i, 8).getFloat64(i, true)],
]);

export { roundEven };
