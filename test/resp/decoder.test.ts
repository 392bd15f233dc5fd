// The request decoder against Redis 7.0's framing rules and error texts, each case fed whole, byte by
// byte, and split in two at every boundary: the results must not depend on how TCP cut the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, RequestDecoder, parseInteger, splitArgs } from '../../src/resp/decoder.js';
import * as errors from '../../src/resp/errors.js';

type Result = string[] | { error: string };

const LIMITS = { bulkBytesMax: 512 * 1024 * 1024 };

/** Feeds the chunks in order and collects every request (and a final error, if any). */
function decode(chunks: readonly Buffer[], authRequired = false, limits = LIMITS): Result[] {
  const decoder = new RequestDecoder(limits);
  const results: Result[] = [];
  for (const chunk of chunks) {
    decoder.feed(chunk);
    for (;;) {
      const next = decoder.next(authRequired);
      if (next === null) break;
      if (next instanceof ProtocolError) {
        results.push({ error: next.message });
        return results;
      }
      results.push(next);
    }
  }
  return results;
}

/** Every way of cutting `input`: whole, byte by byte, and two pieces at each boundary. */
function splits(input: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[input]];
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  ways.push(bytes);
  for (let cut = 1; cut < input.length; cut++) ways.push([input.subarray(0, cut), input.subarray(cut)]);
  return ways;
}

function check(input: string | Buffer, expected: Result[], authRequired = false): void {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  for (const chunks of splits(bytes)) {
    assert.deepEqual(decode(chunks, authRequired), expected, `input ${JSON.stringify(bytes.latin1Slice())} in ${chunks.length} chunks`);
  }
}

test('multibulk requests, pipelined', () => {
  check('*1\r\n$4\r\nPING\r\n', [['PING']]);
  check('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', [
    ['SET', 'k', ''],
    ['GET', 'k'],
  ]);
});

test('binary-safe arguments keep every byte as one latin1 char', () => {
  const payload = Buffer.from([0, 13, 10, 255, 128, 42, 36]);
  const input = Buffer.concat([Buffer.from('*2\r\n$3\r\nSET\r\n$7\r\n'), payload, Buffer.from('\r\n')]);
  check(input, [['SET', payload.latin1Slice()]]);
});

test('empty and negative multibulk counts are ignored', () => {
  check('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n', [['PING']]);
});

test('inline requests: CRLF or LF, empty lines ignored, quoting', () => {
  check('PING\r\n', [['PING']]);
  check('PING\n\r\n\n  \r\nECHO   a  b\r\n', [['PING'], ['ECHO', 'a', 'b']]);
  check('SET "a b" \'c d\'\r\n', [['SET', 'a b', 'c d']]);
  check('ECHO "\\x41\\n\\t\\\\" \'it\\\'s\'\r\n', [['ECHO', 'A\n\t\\', "it's"]]);
  check('$4\r\nPING\r\n', [['$4'], ['PING']]);
});

test('inline protocol errors', () => {
  check('ECHO "unbalanced\r\nPING\r\n', [{ error: errors.PROTO_UNBALANCED_QUOTES }]);
  check("ECHO 'x\r\n", [{ error: errors.PROTO_UNBALANCED_QUOTES }]);
  check('ECHO "a"b\r\n', [{ error: errors.PROTO_UNBALANCED_QUOTES }]);
});

test('multibulk protocol errors, exact texts', () => {
  check('*abc\r\n', [{ error: errors.PROTO_INVALID_MULTIBULK_LENGTH }]);
  check('*01\r\n', [{ error: errors.PROTO_INVALID_MULTIBULK_LENGTH }]);
  check('*3000000000\r\n', [{ error: errors.PROTO_INVALID_MULTIBULK_LENGTH }]);
  check('*1\r\n$999999999999\r\n', [{ error: errors.PROTO_INVALID_BULK_LENGTH }]);
  check('*1\r\n$-1\r\n', [{ error: errors.PROTO_INVALID_BULK_LENGTH }]);
  check('*1\r\n$x\r\n', [{ error: errors.PROTO_INVALID_BULK_LENGTH }]);
  check('*1\r\n+foo\r\n', [{ error: "ERR Protocol error: expected '$', got '+'" }]);
  check('*2\r\n$4\r\nPING\r\n:1\r\n', [{ error: "ERR Protocol error: expected '$', got ':'" }]);
});

test('bulk length above proto-max-bulk-len is refused', () => {
  const small = { bulkBytesMax: 1024 * 1024 };
  const over = Buffer.from(`*1\r\n$${1024 * 1024 + 1}\r\n`);
  assert.deepEqual(decode([over], false, small), [{ error: errors.PROTO_INVALID_BULK_LENGTH }]);
});

test('unauthenticated clients get Redis 7.0 limits', () => {
  check('*11\r\n', [{ error: errors.PROTO_UNAUTH_MULTIBULK_LENGTH }], true);
  check('*1\r\n$16385\r\n', [{ error: errors.PROTO_UNAUTH_BULK_LENGTH }], true);
  const ten = '*10\r\n' + '$1\r\na\r\n'.repeat(10);
  check(ten, [Array(10).fill('a')], true);
});

test('lines longer than 64 KiB without a newline are refused', () => {
  const long = Buffer.alloc(64 * 1024 + 1, 'a');
  assert.deepEqual(decode([long]), [{ error: errors.PROTO_TOO_BIG_INLINE }]);
  const count = Buffer.concat([Buffer.from('*'), Buffer.alloc(64 * 1024 + 1, '1')]);
  assert.deepEqual(decode([count]), [{ error: errors.PROTO_TOO_BIG_MBULK_COUNT }]);
  const bulk = Buffer.concat([Buffer.from('*1\r\n$'), Buffer.alloc(64 * 1024 + 1, '1')]);
  assert.deepEqual(decode([bulk]), [{ error: errors.PROTO_TOO_BIG_BULK_COUNT }]);
});

test('a big bulk split over many chunks arrives intact, and counts as buffered while incomplete', () => {
  const size = 200_000;
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i++) value[i] = (i * 7) & 0xff;
  const input = Buffer.concat([Buffer.from(`*2\r\n$4\r\nECHO\r\n$${size}\r\n`), value, Buffer.from('\r\n*1\r\n$4\r\nPING\r\n')]);
  for (const chunkSize of [1000, 4096, 65536, 7]) {
    const decoder = new RequestDecoder(LIMITS);
    const results: Result[] = [];
    let maxBuffered = 0;
    for (let at = 0; at < input.length; at += chunkSize) {
      decoder.feed(input.subarray(at, at + chunkSize));
      for (let next = decoder.next(false); next !== null; next = decoder.next(false)) {
        assert.ok(!(next instanceof ProtocolError));
        results.push(next);
      }
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes());
    }
    assert.equal(results.length, 2);
    assert.equal((results[0] as string[])[1], value.latin1Slice());
    assert.deepEqual(results[1], ['PING']);
    assert.ok(maxBuffered >= size - chunkSize && maxBuffered <= size + chunkSize + 64, `buffered ${maxBuffered}`);
    assert.equal(decoder.bufferedBytes(), 0);
  }
});

test('a huge multibulk count does not preallocate: memory follows the bytes received', () => {
  const decoder = new RequestDecoder(LIMITS);
  decoder.feed(Buffer.from('*1000000\r\n' + '$1\r\na\r\n'.repeat(1000)));
  assert.equal(decoder.next(false), null);
  assert.equal(decoder.bufferedBytes(), 1000);
});

test('parseInteger follows string2ll', () => {
  const p = (s: string): number => parseInteger(Buffer.from(s), 0, s.length);
  assert.equal(p('0'), 0);
  assert.equal(p('123'), 123);
  assert.equal(p('-5'), -5);
  for (const bad of ['', '-', '01', '-0', '+1', ' 1', '1 ', '1a', '99999999999999999999']) {
    assert.ok(Number.isNaN(p(bad)), bad);
  }
});

test('splitArgs matches sdssplitargs', () => {
  assert.deepEqual(splitArgs('  a   b\tc  '), ['a', 'b', 'c']);
  assert.deepEqual(splitArgs('""'), ['']);
  assert.deepEqual(splitArgs('"\\xzz"'), ['xzz']);
  assert.deepEqual(splitArgs('a\0b c'), ['a']);
  assert.equal(splitArgs('"abc'), null);
  assert.equal(splitArgs("'abc"), null);
  assert.equal(splitArgs("'a'b"), null);
});
