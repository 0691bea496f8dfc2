import { test } from 'node:test';
import assert from 'node:assert/strict';
import { block, ev, runtimeError } from './helpers.js';

// Library members that public policy documents use, beyond the project's own corpus.

test('Guid.ToByteArray and new Guid(byte[]) use .NET byte order (an IV made from a Guid)', () => {
  const bytes = ev('Guid.Parse("00112233-4455-6677-8899-aabbccddeeff").ToByteArray()') as Uint8Array;
  assert.equal(Buffer.from(bytes).toString('hex'), '33221100554477668899aabbccddeeff');
  assert.equal(ev('new Guid(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff").ToByteArray()).ToString()'), '00112233-4455-6677-8899-aabbccddeeff');
  assert.equal(ev('Guid.NewGuid().ToByteArray().Length'), 16);
  runtimeError(() => ev('new Guid(new byte[] { 1, 2, 3 })'), 'ArgumentException');
  assert.equal(block(`
    var iv = Guid.Parse("6f1c2a4e-1b2c-4d3e-8f90-0123456789ab").ToByteArray();
    var key = Convert.FromBase64String("AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=");
    var cipher = Encoding.UTF8.GetBytes("session.1").Encrypt("Aes", key, iv);
    return Encoding.UTF8.GetString(cipher.Decrypt("Aes", key, iv));`), 'session.1');
});

test('unchecked blocks and expressions, and Array.Copy (a sequential Guid from the clock)', () => {
  assert.equal(block('long t = 0x0102030405060708; byte[] b = new byte[8]; unchecked { b[7] = (byte)(t >> 56); b[0] = (byte)t; } return b[7] * 1000 + b[0];'), 1008);
  assert.equal(ev('unchecked(int.MaxValue + 1)'), -2147483648);
  assert.equal(block(`
    var g = new byte[16];
    Array.Copy(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff").ToByteArray(), 0, g, 0, 10);
    Array.Copy(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 0, g, 8, 6);
    return new Guid(g).ToString();`), '00112233-4455-6677-0102-030405060000');
  runtimeError(() => block('var a = new byte[2]; Array.Copy(new byte[4], 0, a, 0, 4); return a;'), 'ArgumentException');
});
