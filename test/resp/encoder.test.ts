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
  assert.ok(parts.includes(big));
  assert.equal(parts.join(''), `+OK\r\n$100000\r\n${big}\r\n:7\r\n`);
  assert.equal(writer.take(), null);
  assert.equal(writer.size(), 0);
});
