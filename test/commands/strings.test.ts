// String commands on a Keyspace with a controlled clock: TTL interplay, RESP3 shapes, memory, events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapReply } from '../../src/resp/reply.js';
import { Runner, plain } from '../store/harness.js';

test('TTLs: which writes keep, set or clear them, with the clock moving', () => {
  const r = new Runner();
  const t0 = r.nowMs;
  r.run('SET', 'k', '1', 'EX', '10');
  r.nowMs = t0 + 4_400;
  assert.equal(r.run('TTL', 'k'), 6, 'TTL rounds to the nearest second');
  assert.equal(r.run('PTTL', 'k'), 5_600);
  r.run('INCR', 'k');
  r.run('APPEND', 'k', '0');
  r.run('SETRANGE', 'k', '0', '3');
  r.run('INCRBYFLOAT', 'k', '0.5');
  r.run('SET', 'k', 'x', 'KEEPTTL');
  assert.equal(r.run('PTTL', 'k'), 5_600, 'INCR, APPEND, SETRANGE, INCRBYFLOAT and KEEPTTL keep the TTL');
  r.run('GETSET', 'k', 'y');
  assert.equal(r.run('TTL', 'k'), -1, 'GETSET clears it');
  r.run('SET', 'k', 'z', 'PX', '100');
  r.nowMs += 100;
  assert.equal(r.run('GET', 'k'), null, 'gone exactly at its expiry time');
  assert.equal(r.run('TTL', 'k'), -2);
  assert.equal(r.run('SET', 'k', 'new', 'NX'), plainOk(), 'an expired key counts as absent for NX');
  assert.equal(r.run('TTL', 'k'), -1);
  r.run('SET', 'c', '41', 'PX', '5');
  r.nowMs += 5;
  assert.equal(r.run('INCR', 'c'), 1, 'INCR on an expired key starts from 0');
  assert.equal(r.run('TTL', 'c'), -1);
  r.run('SET', 'g', 'v');
  assert.equal(r.run('GETEX', 'g', 'PXAT', String(r.nowMs)), 'v');
  assert.equal(r.run('EXISTS', 'g'), 0, 'GETEX with a time already passed deletes the key');
  r.run('SET', 'p', 'v', 'EXAT', String(Math.floor(r.nowMs / 1000) + 100));
  assert.equal(r.run('EXPIRETIME', 'p'), Math.floor(r.nowMs / 1000) + 100);
});

function plainOk() {
  return new Runner().run('SET', 'x', 'y');
}

test('an expired key leaves no trace: same replies and state as if it never existed', () => {
  const a = new Runner();
  const b = new Runner();
  a.run('SET', 'k', 'v', 'PX', '10');
  a.nowMs += 20;
  b.nowMs += 20;
  for (const argv of [['SET', 'k', 'w', 'GET'], ['APPEND', 'k', 'z'], ['GET', 'k']]) {
    assert.deepEqual(plain(a.run(...argv)), plain(b.run(...argv)));
  }
  assert.equal(a.db.size(), b.db.size());
  assert.equal(a.db.usedMemoryBytes(), b.db.usedMemoryBytes());
});

test('LCS IDX is a map (RESP3 map, RESP2 flat array)', () => {
  const r = new Runner();
  r.run('MSET', 'a', 'ohmytext', 'b', 'mynewtext');
  r.resp = 3;
  const reply = r.run('LCS', 'a', 'b', 'IDX', 'WITHMATCHLEN');
  assert.ok(reply instanceof MapReply);
  assert.deepEqual(plain(reply), ['matches', [[['4', '7'], ['5', '8'], '4'], [['2', '3'], ['0', '1'], '2']], 'len', '6']);
});

test('memory accounting follows writes; listeners see each write', () => {
  const r = new Runner();
  const touched: (string | null)[] = [];
  r.db.addListener((key) => touched.push(key));
  const before = r.db.usedMemoryBytes();
  r.run('SET', 'k', 'abc');
  const afterSet = r.db.usedMemoryBytes();
  assert.ok(afterSet > before);
  r.run('APPEND', 'k', '123456789');
  assert.equal(r.db.usedMemoryBytes(), afterSet + 8, 'abc (8 bytes rounded) became abc123456789 (16)');
  r.run('DEL', 'k');
  assert.equal(r.db.usedMemoryBytes(), before);
  r.run('MSET', 'a', '1', 'b', '2');
  r.run('GET', 'a');
  assert.deepEqual(touched, ['k', 'k', 'k', 'a', 'b'], 'reads notify nobody');
});

test('huge strings are refused before anything is allocated', () => {
  const r = new Runner();
  r.run('SET', 'k', 'x');
  const tooLong = { error: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)' };
  assert.deepEqual(plain(r.run('SETRANGE', 'k', String(512 * 1024 * 1024), 'x')), tooLong);
  assert.deepEqual(plain(r.run('SETRANGE', 'k', '9223372036854775807', 'x')), tooLong);
  assert.equal(r.run('GET', 'k'), 'x');
});
