import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAddressMatcher, normalizeIp, parseV4, parseV6, scanV6, resolveClientIp } from '../../src/net/ip.js';
import { ConfigError } from '../../src/config/errors.js';

test('normalizeIp turns IPv4-mapped IPv6 into IPv4 and lower-cases IPv6', () => {
  assert.equal(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(normalizeIp('::FFFF:10.0.0.1'), '10.0.0.1');
  assert.equal(normalizeIp('2001:DB8::A'), '2001:db8::a');
  assert.equal(normalizeIp('fe80::1%eth0'), 'fe80::1');
  assert.equal(normalizeIp(' 127.0.0.1 '), '127.0.0.1');
});

test('parseV4 accepts only strict dotted quads', () => {
  assert.equal(parseV4('0.0.0.0'), 0);
  assert.equal(parseV4('255.255.255.255'), 0xffffffff);
  assert.equal(parseV4('1.2.3.4'), 0x01020304);
  for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..3.4', '1.2.3.4 ', 'a.b.c.d', '0x1.2.3.4', '1.2.3.-4', '']) {
    assert.equal(parseV4(bad), -1, bad);
  }
});

test('parseV6 expands compressed forms and embedded IPv4', () => {
  assert.equal(parseV6('::'), 0n);
  assert.equal(parseV6('::1'), 1n);
  assert.equal(parseV6('2001:db8::1'), 0x20010db8000000000000000000000001n);
  assert.equal(parseV6('::ffff:1.2.3.4'), 0xffff01020304n);
  assert.equal(parseV6('1::1.2.3.4'), (1n << 112n) | 0x01020304n);
  assert.equal(parseV6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n);
  assert.equal(parseV6('1:2:3:4:5:6:1.2.3.4'), 0x00010002000300040005000601020304n);
  for (const bad of ['1:2:3:4:5:6:7', ':::', '1::2::3', 'g::1', '1.2.3.4', '12345::1']) assert.equal(parseV6(bad), undefined, bad);
});

test('matches IPv4 addresses, CIDR blocks and ranges', () => {
  const m = compileAddressMatcher(['203.0.113.7', '10.0.0.0/8', '192.168.1.128/25'], [{ from: '172.16.0.10', to: '172.16.0.20' }]);
  assert.equal(m.size, 4);
  for (const yes of ['203.0.113.7', '10.0.0.0', '10.255.255.255', '192.168.1.128', '192.168.1.255', '172.16.0.10', '172.16.0.15', '172.16.0.20', '::ffff:10.1.2.3']) {
    assert.ok(m.has(yes), yes);
  }
  for (const no of ['203.0.113.8', '11.0.0.0', '9.255.255.255', '192.168.1.127', '172.16.0.9', '172.16.0.21', '2001:db8::1', 'garbage', '', '10.0.0']) {
    assert.ok(!m.has(no), no);
  }
});

test('matches IPv6 addresses, CIDR blocks and ranges', () => {
  const m = compileAddressMatcher(['2001:db8::/32', '::1', 'fe80::/10'], [{ from: '2001:db9::10', to: '2001:db9::20' }]);
  for (const yes of ['2001:db8::1', '2001:DB8:FFFF::', '::1', 'fe80::abcd', 'febf::1', '2001:db9::10', '2001:db9::1f', '2001:db9::20', 'fe80::1%eth0']) {
    assert.ok(m.has(yes), yes);
  }
  for (const no of ['2001:db7::1', '::2', 'fec0::1', '2001:db9::21', '2001:db9::f', '127.0.0.1', '::ffff:127.0.0.1']) {
    assert.ok(!m.has(no), no);
  }
});

test('an IPv4-mapped IPv6 entry matches the IPv4 addresses it covers', () => {
  const m = compileAddressMatcher(['::ffff:10.0.0.0/104']);
  assert.ok(m.has('10.9.8.7'));
  assert.ok(m.has('::ffff:10.9.8.7'));
  assert.ok(!m.has('11.0.0.1'));
});

test('a /0 block matches every address of its family only', () => {
  const m = compileAddressMatcher(['0.0.0.0/0']);
  assert.ok(m.has('1.2.3.4') && m.has('255.255.255.255'));
  assert.ok(!m.has('::1'));
  const m6 = compileAddressMatcher(['::/0']);
  assert.ok(m6.has('2001:db8::1'));
  assert.ok(!m6.has('1.2.3.4'));
});

test('overlapping and adjacent entries merge without losing coverage', () => {
  const m = compileAddressMatcher(['10.0.0.0/24', '10.0.0.128/25', '10.0.1.0/24', '10.0.0.5']);
  assert.ok(m.has('10.0.0.200') && m.has('10.0.1.255') && m.has('10.0.0.5'));
  assert.ok(!m.has('10.0.2.0'));
});

test('an empty matcher matches nothing', () => {
  const m = compileAddressMatcher([]);
  assert.equal(m.size, 0);
  assert.ok(!m.has('1.2.3.4') && !m.has('::1'));
});

test('rejects a bad entry with a ConfigError naming its index', () => {
  for (const bad of ['10.0.0.0/33', '1.2.3', 'example.com', '2001:db8::/129', '10.0.0.0/08', '', 'fe80::1%eth0', '10.0.0.0/']) {
    assert.throws(() => compileAddressMatcher(['1.2.3.4', bad]), (e: unknown) => e instanceof ConfigError && e.path.join('.') === '1', bad);
  }
  assert.throws(() => compileAddressMatcher(['x'], [], { addresses: ['addresses'] }), (e: unknown) => e instanceof ConfigError && e.path.join('.') === 'addresses.0');
});

test('rejects bad ranges: garbage, mixed families, reversed bounds, CIDR as a bound', () => {
  const cases: Array<[{ from: string; to: string }, string]> = [
    [{ from: 'nope', to: '1.2.3.4' }, 'address-ranges.0.from'],
    [{ from: '1.2.3.4', to: '::1' }, 'address-ranges.0.to'],
    [{ from: '1.2.3.5', to: '1.2.3.4' }, 'address-ranges.0.to'],
    [{ from: '1.2.3.0/24', to: '1.2.3.4' }, 'address-ranges.0.from'],
  ];
  for (const [r, path] of cases) {
    assert.throws(() => compileAddressMatcher([], [r]), (e: unknown) => e instanceof ConfigError && e.path.join('.') === path, JSON.stringify(r));
  }
});

test('10,000 entries match correctly (every entry and its neighbours)', () => {
  const entries: string[] = [];
  for (let i = 0; i < 10000; i++) entries.push(`10.${(i >> 8) & 255}.${i & 255}.${i % 2 === 0 ? 1 : 3}`);
  const m = compileAddressMatcher(entries);
  for (const e of entries) assert.ok(m.has(e), e);
  for (let i = 0; i < 10000; i += 7) assert.ok(!m.has(`10.${(i >> 8) & 255}.${i & 255}.2`));
});

test('resolveClientIp uses the socket address when the socket is not a trusted proxy', () => {
  const trusted = compileAddressMatcher(['127.0.0.2/32']);
  assert.equal(resolveClientIp('127.0.0.1', '9.9.9.9', trusted), '127.0.0.1');
  assert.equal(resolveClientIp('::ffff:127.0.0.1', '9.9.9.9', trusted), '127.0.0.1');
  assert.equal(resolveClientIp('203.0.113.9', undefined, trusted), '203.0.113.9');
});

test('resolveClientIp ignores X-Forwarded-For when nobody is trusted', () => {
  assert.equal(resolveClientIp('127.0.0.1', '9.9.9.9', compileAddressMatcher([])), '127.0.0.1');
});

test('resolveClientIp walks X-Forwarded-For right to left from a trusted proxy', () => {
  const trusted = compileAddressMatcher(['10.0.0.0/8']);
  assert.equal(resolveClientIp('10.0.0.1', '198.51.100.7', trusted), '198.51.100.7');
  // the leftmost entry is chosen by the client; the rightmost untrusted hop is the truth
  assert.equal(resolveClientIp('10.0.0.1', '1.1.1.1, 198.51.100.7, 10.0.0.3', trusted), '198.51.100.7');
  assert.equal(resolveClientIp('::ffff:10.0.0.1', ['1.1.1.1', '198.51.100.7, 10.0.0.3'], trusted), '198.51.100.7');
  assert.equal(resolveClientIp('10.0.0.1', '2001:DB8::5', trusted), '2001:db8::5');
  assert.equal(resolveClientIp('10.0.0.1', '[2001:db8::5]:1234', trusted), '2001:db8::5');
});

test('resolveClientIp stops at garbage and keeps the last good hop', () => {
  const trusted = compileAddressMatcher(['10.0.0.0/8']);
  assert.equal(resolveClientIp('10.0.0.1', 'not-an-ip', trusted), '10.0.0.1');
  assert.equal(resolveClientIp('10.0.0.1', '1.1.1.1, junk, 10.0.0.9', trusted), '10.0.0.9');
  assert.equal(resolveClientIp('10.0.0.1', '1.1.1.1,,', trusted), '10.0.0.1');
  assert.equal(resolveClientIp('10.0.0.1', '', trusted), '10.0.0.1');
  assert.equal(resolveClientIp('10.0.0.1', '1.1.1.1:80', trusted), '10.0.0.1');
  assert.equal(resolveClientIp('10.0.0.1', 'unknown', trusted), '10.0.0.1');
});

test('resolveClientIp returns the leftmost hop when every hop is trusted', () => {
  const trusted = compileAddressMatcher(['10.0.0.0/8']);
  assert.equal(resolveClientIp('10.0.0.1', '10.0.0.7, 10.0.0.8', trusted), '10.0.0.7');
});

test('the hot-path IPv6 scanner agrees with the reference parser (random and hostile inputs)', () => {
  const words = new Uint32Array(4);
  const toBig = (w: Uint32Array) => (BigInt(w[0]!) << 96n) | (BigInt(w[1]!) << 64n) | (BigInt(w[2]!) << 32n) | BigInt(w[3]!);
  let seed = 42;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const samples: string[] = ['::', '::1', '1::', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', 'fe80::1%eth0', ':::', '1::2::3', ':1::', '1:', '::1:', 'g::1',
    '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1.2.3', '::1.2.3.4.5', '1.2.3.4', '::ffff:01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', 'ABCD::EF', ''];
  for (let i = 0; i < 3000; i++) {
    const groups = Array.from({ length: 8 }, () => (rnd(3) === 0 ? 0 : rnd(65536)).toString(16));
    let text = groups.join(':');
    if (rnd(2) === 0) text = text.replace(/(^|:)0(:0)+(:|$)/, '::');
    if (rnd(5) === 0) text = text.toUpperCase();
    if (rnd(7) === 0) text = text.slice(0, rnd(text.length));
    if (rnd(9) === 0) text = `${text}:${rnd(256)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
    samples.push(text);
  }
  for (const s of samples) {
    const ref = parseV6(s);
    const ok = scanV6(s, words);
    assert.equal(ok, ref !== undefined, `acceptance of ${JSON.stringify(s)}`);
    if (ok) assert.equal(toBig(words), ref, `value of ${s}`);
  }
});
