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
