// The reply encoder: exact RESP2/RESP3 bytes per reply kind, RESP2 output re-read by an independent
// parser (redis-parser), and doubles formatted as C's %.17g (expected values from printf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisParser } from '../support/resp-client.js';
import { ReplyWriter, encodeReply, formatDouble } from '../../src/resp/encoder.js';
import {
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK,
  PushReply,
  RawReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from '../../src/resp/reply.js';

function parseResp2(bytes: string): unknown[] {
  const out: unknown[] = [];
  const parser = new RedisParser({
    returnReply: (reply: unknown) => out.push(reply),
    returnError: (error: Error) => out.push({ error: error.message }),
  });
  parser.execute(Buffer.from(bytes, 'latin1'));
  return out;
}

test('RESP2 and RESP3 bytes of each reply kind', () => {
  const cases: [Reply, string, string][] = [
    [OK, '+OK\r\n', '+OK\r\n'],
    [new SimpleString('PONG'), '+PONG\r\n', '+PONG\r\n'],
    [new ErrorReply('ERR bad\r\nthing'), '-ERR bad  thing\r\n', '-ERR bad  thing\r\n'],
    [42, ':42\r\n', ':42\r\n'],
    [-7, ':-7\r\n', ':-7\r\n'],
    [9007199254740993n, ':9007199254740993\r\n', ':9007199254740993\r\n'],
    ['', '$0\r\n\r\n', '$0\r\n\r\n'],
    ['a\r\nb', '$4\r\na\r\nb\r\n', '$4\r\na\r\nb\r\n'],
    [Buffer.from([0, 255]), '$2\r\n\x00\xff\r\n', '$2\r\n\x00\xff\r\n'],
    [null, '$-1\r\n', '_\r\n'],
    [NullArray.instance, '*-1\r\n', '_\r\n'],
    [[], '*0\r\n', '*0\r\n'],
    [['a', 1, null], '*3\r\n$1\r\na\r\n:1\r\n$-1\r\n', '*3\r\n$1\r\na\r\n:1\r\n_\r\n'],
    [new MapReply(['k', 'v']), '*2\r\n$1\r\nk\r\n$1\r\nv\r\n', '%1\r\n$1\r\nk\r\n$1\r\nv\r\n'],
    [new SetReply(['x']), '*1\r\n$1\r\nx\r\n', '~1\r\n$1\r\nx\r\n'],
    [new PushReply(['message']), '*1\r\n$7\r\nmessage\r\n', '>1\r\n$7\r\nmessage\r\n'],
    [new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
    [new DoubleReply(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
    [new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
    [new BoolReply(true), ':1\r\n', '#t\r\n'],
    [new BoolReply(false), ':0\r\n', '#f\r\n'],
    [new VerbatimReply('txt', 'a:b'), '$3\r\na:b\r\n', '=7\r\ntxt:a:b\r\n'],
    [new RawReply(Buffer.from('+RAW\r\n')), '+RAW\r\n', '+RAW\r\n'],
  ];
  for (const [reply, resp2, resp3] of cases) {
    assert.equal(encodeReply(reply, 2), resp2, `RESP2 of ${String(reply)}`);
    assert.equal(encodeReply(reply, 3), resp3, `RESP3 of ${String(reply)}`);
  }
});

test('RESP2 output parses back with redis-parser', () => {
  const reply: Reply = [
    'value',
    12,
    null,
    ['nested', new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value')],
    new MapReply(['f', new DoubleReply(0.1)]),
  ];
  const parsed = parseResp2(encodeReply(reply, 2));
  assert.equal(parsed.length, 1);
  const [top] = parsed as [unknown[]];
  assert.equal(top[0], 'value');
  assert.equal(top[1], 12);
  assert.equal(top[2], null);
  assert.equal((top[3] as unknown[])[0], 'nested');
  assert.match(String((top[3] as unknown[])[1]), /WRONGTYPE/);
  assert.deepEqual(top[4], ['f', '0.10000000000000001']);
});

test('non-integer numbers are refused (a bug in a command, never silently sent)', () => {
  assert.throws(() => encodeReply(1.5, 2));
});

test('%.17g formatting of doubles', () => {
  const cases: [number, string][] = [
    [1.5, '1.5'],
    [0.1, '0.10000000000000001'],
    [-0, '-0'],
    [0, '0'],
    [1e20, '1e+20'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [123456789012345678, '1.2345678901234568e+17'],
    [1e-5, '1.0000000000000001e-05'],
    [0.0001, '0.0001'],
    [3.14159, '3.1415899999999999'],
    [-2.5e-10, '-2.5000000000000002e-10'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [5e-324, '4.9406564584124654e-324'],
    [100, '100'],
    [1 / 3, '0.33333333333333331'],
    [NaN, 'nan'],
  ];
  for (const [value, text] of cases) assert.equal(formatDouble(value), text, String(value));
});

test('a writer keeps large values as separate parts, in order, and counts its size', () => {
  const writer = new ReplyWriter();
  const big = 'x'.repeat(100_000);
  writer.reply(OK, 2);
  writer.reply(big, 2);
  writer.reply(7, 2);
  assert.equal(writer.size(), 5 + 9 + big.length + 2 + 4);
  const parts = writer.take()!;
  assert.ok(parts.length >= 3);
  assert.ok(parts.some((part) => part.length === big.length && part.latin1Slice(0, part.length) === big));
  assert.equal(Buffer.concat(parts).toString('latin1'), `+OK\r\n$100000\r\n${big}\r\n:7\r\n`);
  assert.equal(writer.take(), null);
  assert.equal(writer.size(), 0);
});

test('a writer gives the same bytes across buffer boundaries as one string would', () => {
  const writer = new ReplyWriter();
  let expected = '';
  const lengths = [0, 1, 3, 31, 32, 33, 64, 1000, 16_379, 16_384, 20_000, 70_000];
  for (let round = 0; round < 40; round++) {
    const length = lengths[round % lengths.length]!;
    let value = '';
    for (let i = 0; i < length; i++) value += String.fromCharCode((round * 7 + i * 13) & 0xff);
    writer.reply(value, 2);
    expected += `$${length}\r\n${value}\r\n`;
    writer.reply(round * 1_000_003 - 20_000_000, 2);
    expected += `:${round * 1_000_003 - 20_000_000}\r\n`;
    writer.reply(Buffer.from(value, 'latin1'), 2);
    expected += `$${length}\r\n${value}\r\n`;
  }
  assert.equal(writer.size(), expected.length);
  assert.equal(Buffer.concat(writer.take()!).toString('latin1'), expected);
});

test('integer replies and aggregate headers: digits of every magnitude and sign', () => {
  for (let power = 1; power <= 2 ** 53; power *= 10) {
    for (const n of [power - 1, power, power + 1, -power, -(power - 1), -(power + 1)]) {
      if (!Number.isSafeInteger(n)) continue;
      assert.equal(encodeReply(n, 2), `:${n}\r\n`);
    }
  }
  assert.equal(encodeReply(-(2 ** 53 - 1), 2), `:${-(2 ** 53 - 1)}\r\n`);
  for (const n of [2 ** 31 - 1, 2 ** 31, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1]) assert.equal(encodeReply(n, 2), `:${n}\r\n`);
  assert.equal(encodeReply(2 ** 60, 2), `:${2 ** 60}\r\n`); // beyond 2^53: formatted by V8, as before
  const items = Array.from({ length: 12_345 }, (_, i) => i);
  assert.ok(encodeReply(items, 2).startsWith('*12345\r\n:0\r\n:1\r\n'));
  assert.ok(encodeReply(new MapReply(['a', 'b']), 3).startsWith('%1\r\n'));
  assert.ok(encodeReply(new SetReply(Array(2000).fill('x')), 3).startsWith('~2000\r\n$1\r\nx\r\n'));
});

test('taken parts stay intact until recycle(); a recycled buffer is written again', () => {
  const writer = new ReplyWriter();
  writer.reply('first', 2);
  const first = writer.take()!;
  writer.reply('other', 2); // not recycled: a new buffer, the first parts are untouched
  assert.equal(Buffer.concat(first).toString('latin1'), '$5\r\nfirst\r\n');
  assert.equal(Buffer.concat(writer.take()!).toString('latin1'), '$5\r\nother\r\n');
  writer.recycle();
  writer.reply(1, 2);
  const third = writer.take()!;
  assert.equal(Buffer.concat(third).toString('latin1'), ':1\r\n');
  writer.recycle();
  writer.reply(2, 2);
  const fourth = writer.take()!;
  assert.equal(fourth[0]!.buffer, third[0]!.buffer, 'the recycled buffer is reused');
  assert.equal(Buffer.concat(fourth).toString('latin1'), ':2\r\n');
  assert.equal(writer.take(), null);
});

test('take(copy) gives exact-size copies for a backlogged socket and keeps the buffer', () => {
  const writer = new ReplyWriter();
  writer.reply(5, 2);
  const copied = writer.take(true)!;
  assert.equal(copied.length, 1);
  assert.equal(copied[0]!.length, 4);
  writer.reply(6, 2); // written into the kept buffer: the copy is unaffected
  assert.equal(Buffer.concat(copied).toString('latin1'), ':5\r\n');
  assert.equal(Buffer.concat(writer.take()!).toString('latin1'), ':6\r\n');
});
