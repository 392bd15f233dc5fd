// Key commands on a Keyspace with a controlled clock: expiry decisions, RENAME/COPY with TTLs,
// RESTORE TTLs, OBJECT under LRU/LFU policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runner, plain } from '../store/harness.js';

test('EXPIRE in the past deletes at once; GT/LT compare absolute times', () => {
  const r = new Runner();
  const events: (string | null)[] = [];
  r.db.addListener((key) => events.push(key));
  r.run('SET', 'k', 'v');
  assert.equal(r.run('EXPIRE', 'k', '-10'), 1);
  assert.equal(r.db.size(), 0, 'deleted, not just hidden');
  assert.deepEqual(events, ['k', 'k']);
  r.run('SET', 'k', 'v', 'EX', '100');
  assert.equal(r.run('PEXPIREAT', 'k', String(r.nowMs + 200_000), 'GT'), 1);
  assert.equal(r.run('PEXPIREAT', 'k', String(r.nowMs + 150_000), 'GT'), 0);
  assert.equal(r.run('PEXPIREAT', 'k', String(r.nowMs + 150_000), 'LT'), 1);
  assert.equal(r.run('PTTL', 'k'), 150_000);
  assert.equal(r.run('PEXPIRETIME', 'k'), r.nowMs + 150_000);
  r.nowMs += 150_000;
  assert.equal(r.run('EXPIRE', 'k', '10'), 0, 'no EXPIRE on a key whose time has passed');
  assert.equal(r.run('PERSIST', 'k'), 0);
});

test('RENAME and COPY carry the TTL; an expired destination counts as absent', () => {
  const r = new Runner();
  r.run('SET', 'a', '1', 'PX', '5000');
  r.run('SET', 'dst', 'old', 'PX', '10');
  r.nowMs += 10;
  assert.equal(r.run('RENAMENX', 'a', 'dst'), 1);
  assert.equal(r.run('PTTL', 'dst'), 4990);
  assert.equal(r.run('COPY', 'dst', 'c'), 1);
  assert.equal(r.run('PTTL', 'c'), 4990);
  r.nowMs += 4990;
  assert.deepEqual(plain(r.run('RENAME', 'dst', 'x')), { error: 'ERR no such key' });
});

test('RESTORE: relative and absolute TTLs from the command clock; IDLETIME and FREQ under a policy', () => {
  const r = new Runner();
  r.run('SET', 's', 'value');
  const payload = r.run('DUMP', 's') as string;
  assert.deepEqual(plain(r.run('RESTORE', 'a', '5000', payload)), 'OK');
  assert.equal(r.run('PTTL', 'a'), 5000);
  assert.deepEqual(plain(r.run('RESTORE', 'b', String(r.nowMs + 7000), payload, 'ABSTTL')), 'OK');
  assert.equal(r.run('PTTL', 'b'), 7000);
  r.db.setAccessTracking('lru');
  assert.deepEqual(plain(r.run('RESTORE', 'c', '0', payload, 'IDLETIME', '300')), 'OK');
  assert.equal(r.run('OBJECT', 'IDLETIME', 'c'), 300);
  const freq = plain(r.run('OBJECT', 'FREQ', 'c'));
  assert.ok(typeof freq === 'object' && freq !== null && 'error' in freq, 'FREQ is an error under LRU');
  r.db.setAccessTracking('lfu');
  assert.deepEqual(plain(r.run('RESTORE', 'd', '0', payload, 'FREQ', '42')), 'OK');
  assert.equal(r.run('OBJECT', 'FREQ', 'd'), 42);
  assert.deepEqual(plain(r.run('OBJECT', 'IDLETIME', 'd')), {
    error:
      'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  });
  assert.equal(r.run('OBJECT', 'REFCOUNT', 's'), 1, 'no shared integers under an LRU/LFU policy');
});

test('DEL and UNLINK count only live keys', () => {
  const r = new Runner();
  r.run('MSET', 'a', '1', 'b', '2');
  r.run('PEXPIRE', 'b', '10');
  r.nowMs += 10;
  assert.equal(r.run('DEL', 'a', 'b', 'c'), 1);
  assert.equal(r.db.size(), 0, 'the expired key was removed too');
});

test('keyspace hits and misses count reads as Redis does, not writes or SCAN-like walks', () => {
  const r = new Runner();
  r.db.setAccessTracking('lru');
  r.run('SET', 'a', '1');
  r.run('INCR', 'a');
  r.run('DEL', 'zz');
  assert.deepEqual([r.db.hits, r.db.misses], [0, 0], 'writes are not lookups for reads');
  r.run('GET', 'a');
  r.run('EXISTS', 'a', 'nokey');
  r.run('TYPE', 'nokey');
  r.run('TTL', 'a');
  r.run('MGET', 'a', 'b');
  assert.deepEqual([r.db.hits, r.db.misses], [4, 3]);
  r.nowMs += 50_000;
  r.run('TYPE', 'a');
  r.run('EXISTS', 'a');
  assert.equal(r.run('OBJECT', 'IDLETIME', 'a'), 50, 'TYPE, EXISTS and OBJECT do not touch the key');
  r.run('GET', 'a');
  assert.equal(r.run('OBJECT', 'IDLETIME', 'a'), 0);
});
