import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { charge } from '../runtime/budget.js';
import { fail } from '../runtime/exceptions.js';
import type { CsValue } from '../runtime/values.js';
import { addMembers, defineType, named } from '../types.js';
import { extensionHost } from '../signatures.js';

/**
 * Hashes (SHA1, SHA256, SHA384, SHA512, MD5), HMACs, RandomNumberGenerator and AES (as the
 * service's `Encrypt`/`Decrypt` extensions and `Aes.Create()` transforms use it: CBC or ECB,
 * PKCS7, zero or no padding), on node:crypto.
 */
const cryptoError = (m: string): never => fail('CryptographicException', m);

class HashValue implements CsValue {
  readonly csType: string;
  constructor(readonly alg: string, public key: Uint8Array | null) { this.csType = `System.Security.Cryptography.${key ? 'HMAC' : ''}${alg.toUpperCase()}`; }
  csString(): string { return this.csType; }
  compute(b: Uint8Array | null, offset = 0, count?: number): Uint8Array {
    if (b === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'buffer')");
    charge(b.length);
    const data = b.subarray(offset, count === undefined ? undefined : offset + count);
    const h = this.key ? createHmac(this.alg, this.key) : createHash(this.alg);
    return new Uint8Array(h.update(data).digest());
  }
}

const HASH_ALG = defineType({ name: 'HashAlgorithm', ns: 'System.Security.Cryptography', is: (v) => v instanceof HashValue });
addMembers(HASH_ALG, [
  ['ComputeHash(byte[]): byte[]', (h: HashValue, b: Uint8Array | null) => h.compute(b)],
  ['ComputeHash(byte[], int, int): byte[]', (h: HashValue, b: Uint8Array | null, o: number, n: number) => h.compute(b, o, n)],
  ['Dispose(): void', () => undefined],
]);
const HMAC = defineType({ name: 'HMAC', ns: 'System.Security.Cryptography', base: () => named(HASH_ALG), is: (v) => v instanceof HashValue && v.key !== null });
addMembers(HMAC, [['Key: byte[] set', [(h: HashValue) => h.key, (h: HashValue, k: Uint8Array) => { h.key = k; }]]]);

for (const [name, alg] of [['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA384', 'sha384'], ['SHA512', 'sha512'], ['MD5', 'md5']] as const) {
  const d = defineType({ name, ns: 'System.Security.Cryptography', base: () => named(HASH_ALG), is: (v) => v instanceof HashValue && v.alg === alg && !v.key });
  addMembers(d, [
    [`static Create(): ${name}`, () => new HashValue(alg, null)],
    ['static HashData(byte[]): byte[]', (b: Uint8Array | null) => new HashValue(alg, null).compute(b)],
  ]);
  for (const alias of [`${name}Managed`, `${name}CryptoServiceProvider`]) {
    const a = defineType({ name: alias, ns: 'System.Security.Cryptography', base: () => named(d), is: d.is });
    addMembers(a, [['new()', () => new HashValue(alg, null)]]);
  }
  const h = defineType({ name: `HMAC${name}`, ns: 'System.Security.Cryptography', base: () => named(HMAC), is: (v) => v instanceof HashValue && v.alg === alg && v.key !== null });
  addMembers(h, [
    ['new()', () => new HashValue(alg, new Uint8Array(randomBytes(64)))],
    ['new(byte[])', (k: Uint8Array | null) => new HashValue(alg, k ?? fail('ArgumentNullException', "Value cannot be null. (Parameter 'key')"))],
    ['static HashData(byte[], byte[]): byte[]', (k: Uint8Array, b: Uint8Array) => new HashValue(alg, k).compute(b)],
  ]);
}

const RNG = defineType({ name: 'RandomNumberGenerator', ns: 'System.Security.Cryptography', is: (v) => v === RNG_VALUE });
const RNG_VALUE = { csType: 'System.Security.Cryptography.RandomNumberGenerator', csString: () => 'System.Security.Cryptography.RandomNumberGenerator' };
addMembers(RNG, [
  ['static Create(): RandomNumberGenerator', () => RNG_VALUE],
  ['static GetBytes(int): byte[]', (n: number) => (charge(n), new Uint8Array(randomBytes(Math.max(0, n))))],
  ['static GetInt32(int, int): int', (a: number, b: number) => a + Math.floor((randomBytes(4).readUInt32LE() / 2 ** 32) * (b - a))],
  ['GetBytes(byte[]): void', (_r: unknown, b: Uint8Array) => { b.set(randomBytes(b.length)); }],
  ['Dispose(): void', () => undefined],
]);

export const CIPHER_MODE = defineType({ name: 'CipherMode', ns: 'System.Security.Cryptography', valueType: true, is: (v) => typeof v === 'number', enumValues: { CBC: 1, ECB: 2, OFB: 3, CFB: 4, CTS: 5 } });
export const PADDING_MODE = defineType({ name: 'PaddingMode', ns: 'System.Security.Cryptography', valueType: true, is: (v) => typeof v === 'number', enumValues: { None: 1, PKCS7: 2, Zeros: 3, ANSIX923: 4, ISO10126: 5 } });

export class AesValue implements CsValue {
  readonly csType = 'System.Security.Cryptography.Aes';
  key: Uint8Array = new Uint8Array(randomBytes(32));
  iv: Uint8Array = new Uint8Array(randomBytes(16));
  mode = 1;
  padding = 2;
  csString(): string { return this.csType; }
}

export function aesTransform(encrypt: boolean, key: Uint8Array | null, iv: Uint8Array | null, mode: number, padding: number, input: Uint8Array | null): Uint8Array {
  if (input === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'input')");
  if (!key || ![16, 24, 32].includes(key.length)) return cryptoError('Specified key is not a valid size for this algorithm.');
  if (mode !== 1 && mode !== 2) return cryptoError('Specified cipher mode is not valid for this algorithm.');
  if (mode === 1 && (!iv || iv.length !== 16)) return cryptoError('Specified initialization vector (IV) does not match the block size for this algorithm.');
  if (padding !== 1 && padding !== 2 && padding !== 3) return cryptoError('Specified padding mode is not valid for this algorithm.');
  charge(input.length + 16);
  const name = `aes-${key.length * 8}-${mode === 1 ? 'cbc' : 'ecb'}`;
  let data = Buffer.from(input);
  if (encrypt && padding === 3 && data.length % 16 !== 0) data = Buffer.concat([data, Buffer.alloc(16 - (data.length % 16))]);
  if (padding !== 2 && data.length % 16 !== 0) return cryptoError('The input data is not a complete block.');
  try {
    const c = encrypt ? createCipheriv(name, key, mode === 1 ? iv : null) : createDecipheriv(name, key, mode === 1 ? iv : null);
    c.setAutoPadding(padding === 2);
    return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
  } catch {
    return cryptoError(encrypt ? 'The input data is not a complete block.' : 'Padding is invalid and cannot be removed.');
  }
}

class TransformValue implements CsValue {
  readonly csType = 'System.Security.Cryptography.ICryptoTransform';
  constructor(readonly encrypt: boolean, readonly key: Uint8Array, readonly iv: Uint8Array, readonly mode: number, readonly padding: number) {}
  csString(): string { return this.csType; }
}

const SYMMETRIC = defineType({ name: 'SymmetricAlgorithm', ns: 'System.Security.Cryptography', is: (v) => v instanceof AesValue });
const TRANSFORM = defineType({ name: 'ICryptoTransform', ns: 'System.Security.Cryptography', is: (v) => v instanceof TransformValue });
addMembers(SYMMETRIC, [
  ['Key: byte[] set', [(a: AesValue) => a.key, (a: AesValue, k: Uint8Array) => { if (![16, 24, 32].includes(k?.length ?? 0)) cryptoError('Specified key is not a valid size for this algorithm.'); a.key = k; }]],
  ['IV: byte[] set', [(a: AesValue) => a.iv, (a: AesValue, v: Uint8Array) => { if (v?.length !== 16) cryptoError('Specified initialization vector (IV) does not match the block size for this algorithm.'); a.iv = v; }]],
  ['Mode: CipherMode set', [(a: AesValue) => a.mode, (a: AesValue, m: number) => { a.mode = m; }]],
  ['Padding: PaddingMode set', [(a: AesValue) => a.padding, (a: AesValue, p: number) => { a.padding = p; }]],
  ['KeySize: int set', [(a: AesValue) => a.key.length * 8, (a: AesValue, n: number) => { if (![128, 192, 256].includes(n)) cryptoError('Specified key is not a valid size for this algorithm.'); a.key = new Uint8Array(randomBytes(n / 8)); }]],
  ['BlockSize: int set', [() => 128, (_a: AesValue, n: number) => { if (n !== 128) cryptoError('Specified block size is not valid for this algorithm.'); }]],
  ['GenerateKey(): void', (a: AesValue) => { a.key = new Uint8Array(randomBytes(a.key.length)); }],
  ['GenerateIV(): void', (a: AesValue) => { a.iv = new Uint8Array(randomBytes(16)); }],
  ['CreateEncryptor(): ICryptoTransform', (a: AesValue) => new TransformValue(true, a.key, a.iv, a.mode, a.padding)],
  ['CreateEncryptor(byte[], byte[]): ICryptoTransform', (a: AesValue, k: Uint8Array, iv: Uint8Array) => new TransformValue(true, k, iv, a.mode, a.padding)],
  ['CreateDecryptor(): ICryptoTransform', (a: AesValue) => new TransformValue(false, a.key, a.iv, a.mode, a.padding)],
  ['CreateDecryptor(byte[], byte[]): ICryptoTransform', (a: AesValue, k: Uint8Array, iv: Uint8Array) => new TransformValue(false, k, iv, a.mode, a.padding)],
  ['Dispose(): void', () => undefined],
]);
addMembers(TRANSFORM, [
  ['TransformFinalBlock(byte[], int, int): byte[]', (t: TransformValue, b: Uint8Array, o: number, n: number) => aesTransform(t.encrypt, t.key, t.iv, t.mode, t.padding, b.subarray(o, o + n))],
  ['Dispose(): void', () => undefined],
]);
const AES = defineType({ name: 'Aes', ns: 'System.Security.Cryptography', base: () => named(SYMMETRIC), is: (v) => v instanceof AesValue });
addMembers(AES, [['static Create(): Aes', () => new AesValue()]]);
for (const name of ['AesManaged', 'RijndaelManaged', 'AesCryptoServiceProvider']) {
  const d = defineType({ name, ns: 'System.Security.Cryptography', base: () => named(AES), is: (v) => v instanceof AesValue });
  addMembers(d, [['new()', () => new AesValue()]]);
}

/** The service's extension methods: `bytes.Encrypt(aes)`, `bytes.Encrypt("Aes", key, iv)`, Decrypt. */
const EXT = defineType({ name: 'CryptoExtensions', ns: '', is: () => false });
extensionHost(EXT);
const algOk = (alg: string) => (/^(aes|rijndael|system\.security\.cryptography\.(aes|rijndaelmanaged|aesmanaged))$/i.test(alg) ? true : cryptoError(`The algorithm '${alg}' is not supported (use Aes).`));
addMembers(EXT, [
  ['static Encrypt(this byte[], SymmetricAlgorithm): byte[]', (b: Uint8Array, a: AesValue) => aesTransform(true, a.key, a.iv, a.mode, a.padding, b)],
  ['static Encrypt(this byte[], SymmetricAlgorithm, byte[], byte[]): byte[]', (b: Uint8Array, a: AesValue, k: Uint8Array, iv: Uint8Array) => aesTransform(true, k, iv, a.mode, a.padding, b)],
  ['static Encrypt(this byte[], string, byte[], byte[]): byte[]', (b: Uint8Array, alg: string, k: Uint8Array, iv: Uint8Array) => (algOk(alg), aesTransform(true, k, iv, 1, 2, b))],
  ['static Decrypt(this byte[], SymmetricAlgorithm): byte[]', (b: Uint8Array, a: AesValue) => aesTransform(false, a.key, a.iv, a.mode, a.padding, b)],
  ['static Decrypt(this byte[], SymmetricAlgorithm, byte[], byte[]): byte[]', (b: Uint8Array, a: AesValue, k: Uint8Array, iv: Uint8Array) => aesTransform(false, k, iv, a.mode, a.padding, b)],
  ['static Decrypt(this byte[], string, byte[], byte[]): byte[]', (b: Uint8Array, alg: string, k: Uint8Array, iv: Uint8Array) => (algOk(alg), aesTransform(false, k, iv, 1, 2, b))],
]);
