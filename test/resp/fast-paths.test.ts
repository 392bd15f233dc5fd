// The decoder's and encoder's shortcuts give exactly what the general code gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latin1String, RequestDecoder } from '../../src/resp/decoder.js';
import { encodeReply } from '../../src/resp/encoder.js';

test('latin1String equals latin1Slice for every length and byte value', () => {
  const bytes = Buffer.alloc(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 97 + 13) & 0xff; // every byte value, 0x80-0xff included
  for (let start = 0; start < 3; start++) {
    for (let length = 0; length <= 40; length++) {
      const expected = bytes.latin1Slice(start, start + length);
      const actual = latin1String(bytes, start, start + length);
      assert.equal(actual, expected, `start ${start} length ${length}`);
      assert.equal(actual.length, length);
    }
  }
});

test('keys of 1 to 20 bytes decode unchanged, binary bytes included', () => {
  const decoder = new RequestDecoder({ bulkBytesMax: 512 * 1024 * 1024 });
  const keys: string[] = [];
  let frames = '';
  for (let length = 1; length <= 20; length++) {
    let key = '';
    for (let i = 0; i < length; i++) key += String.fromCharCode((length * 31 + i * 101) & 0xff);
    keys.push(key);
    frames += `*2\r\n$3\r\nGET\r\n$${length}\r\n${key}\r\n`;
  }
  decoder.feed(Buffer.from(frames, 'latin1'));
  for (const key of keys) assert.deepEqual(decoder.next(false), ['GET', key]);
  assert.equal(decoder.next(false), null);
});

test('integer replies: cached small ones and formatted others agree', () => {
  for (let n = 0; n <= 1100; n++) assert.equal(encodeReply(n, 2), `:${n}\r\n`);
  assert.equal(encodeReply(-0, 2), ':0\r\n');
  assert.equal(encodeReply(-1, 3), ':-1\r\n');
  assert.equal(encodeReply(2 ** 53 - 1, 2), `:${2 ** 53 - 1}\r\n`);
  assert.throws(() => encodeReply(1.5, 2), /not an integer/);
});

test('arguments equal to the previous request reuse it; near misses decode as themselves', () => {
  const decoder = new RequestDecoder({ bulkBytesMax: 512 * 1024 * 1024 });
  const base = ['SADD', 'myset', 'element:000000000000', 'x'.repeat(64), 'y'.repeat(65), '', '\xff\x00\x80'];
  const requests: string[][] = [base, base];
  // Each variant changes one byte (first, middle, last) or the length of one argument.
  for (let a = 1; a < base.length; a++) {
    const arg = base[a]!;
    for (const at of [0, arg.length >> 1, arg.length - 1]) {
      if (arg.length === 0) break;
      const changed = arg.slice(0, at) + String.fromCharCode((arg.charCodeAt(at) + 1) & 0xff) + arg.slice(at + 1);
      requests.push(base.map((value, i) => (i === a ? changed : value)), base);
    }
    requests.push(base.map((value, i) => (i === a ? value + 'z' : value)), base.slice(0, a), base);
  }
  const frames = requests.map((argv) => `*${argv.length}\r\n` + argv.map((v) => `$${v.length}\r\n${v}\r\n`).join('')).join('');
  const bytes = Buffer.from(frames, 'latin1');
  // Fed in uneven chunks, so that some requests are split and take the general path.
  const decoded: unknown[] = [];
  for (let start = 0; start < bytes.length; start += 97) {
    decoder.feed(bytes.subarray(start, Math.min(bytes.length, start + 97)));
    for (let argv = decoder.next(false); argv !== null; argv = decoder.next(false)) decoded.push(argv);
  }
  assert.deepEqual(decoded, requests);
});
