// MULTI/EXEC/DISCARD/WATCH/UNWATCH: the watch registry alone, then a real in-process server with
// real sockets (RESP2 bytes as Redis 7.0.15 answers them in cluster mode, checked side by side).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startServer, type TestServer } from './helpers.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { Watcher, WatchRegistry } from '../../src/server/transactions.js';
import type { ShardEngine } from '../../src/server/engine.js';

// ---------------------------------------------------------------- WatchRegistry

test('watch registry: a write to a watched key dirties its watchers only', () => {
  const keyspace = new Keyspace();
  let now = 1000;
  const registry = new WatchRegistry(() => now);
  const a = new Watcher();
  const b = new Watcher();
  registry.watch(a, keyspace, 'k');
  registry.watch(a, keyspace, 'k'); // WATCH k k: watched once
  assert.equal(a.keys.length, 1);
  registry.watch(b, keyspace, 'other');
  keyspace.set('k', 'v', now);
  assert.equal(registry.isDirty(a), true);
  assert.equal(registry.isDirty(b), false);
  registry.unwatchAll(a);
  registry.unwatchAll(b);
  assert.equal(registry.isDirty(a), false);
  assert.equal(registry.watchedKeys(), 0);
  // With nobody watching, the registry no longer listens: writes are not seen.
  registry.watch(a, keyspace, 'x');
  registry.unwatchAll(a);
  keyspace.set('x', 'v', now);
  assert.equal(registry.isDirty(a), false);
  now++;
});

test('watch registry: flush dirties keys that existed; logical expiry counts as a change', () => {
  const keyspace = new Keyspace();
  let now = 1000;
  const registry = new WatchRegistry(() => now);
  keyspace.set('present', 'v', now);
  keyspace.set('ttl', 'v', now, now + 10);
  const onPresent = new Watcher();
  const onMissing = new Watcher();
  const onTtl = new Watcher();
  registry.watch(onPresent, keyspace, 'present');
  registry.watch(onMissing, keyspace, 'missing');
  registry.watch(onTtl, keyspace, 'ttl');
  assert.equal(registry.isDirty(onTtl), false);
  now += 20; // 'ttl' expired without anyone deleting it yet
  assert.equal(registry.isDirty(onTtl), true);
  keyspace.flush();
  assert.equal(registry.isDirty(onPresent), true);
  assert.equal(registry.isDirty(onMissing), false);
});

test('watch registry: deleting a key that was already expired at WATCH is no change', () => {
  const keyspace = new Keyspace();
  let now = 1000;
  const registry = new WatchRegistry(() => now);
  keyspace.set('old', 'v', now, now + 1);
  now += 5;
  const watcher = new Watcher();
  registry.watch(watcher, keyspace, 'old');
  keyspace.getForWrite('old', now); // lazy expiry deletes it and notifies
  assert.equal(registry.isDirty(watcher), false);
  keyspace.set('old', 'new', now);
  assert.equal(registry.isDirty(watcher), true);
});

// ---------------------------------------------------------------- end to end

let node: TestServer;
before(async () => {
  node = await startServer();
});
after(async () => {
  await node.close();
});

test('MULTI/EXEC: queued replies, then the array of replies', async () => {
  const client = await RawClient.connect(node.port);
  client.write('*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$5\r\n{t}k1\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$5\r\n{t}k1\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$5\r\n{t}k1\r\n*1\r\n$4\r\nEXEC\r\n');
  const expected = '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n:2\r\n+PONG\r\n$1\r\n2\r\n';
  assert.equal(await client.expect(expected), expected);
  client.close();
});

test('transaction errors: exact Redis 7.0 texts', async () => {
  const client = await RawClient.connect(node.port);
  const replies = await client.pipeline([
    ['EXEC'],
    ['DISCARD'],
    ['MULTI'],
    ['MULTI'],
    ['WATCH', 'a'],
    ['NOSUCH'],
    ['SET', 'a'],
    ['EXEC'],
    ['EXEC'],
    ['WATCH', 'a', 'b'],
    ['EXEC', 'x'],
    ['MULTI'],
    ['SAVE'],
    ['EXEC'],
  ]);
  assert.deepEqual(
    replies.map((r) => (r instanceof Error ? r.message : r)),
    [
      'ERR EXEC without MULTI',
      'ERR DISCARD without MULTI',
      'OK',
      'ERR MULTI calls can not be nested',
      'ERR WATCH inside MULTI is not allowed',
      "ERR unknown command 'NOSUCH', with args beginning with: ",
      "ERR wrong number of arguments for 'set' command",
      'EXECABORT Transaction discarded because of previous errors.',
      'ERR EXEC without MULTI',
      "CROSSSLOT Keys in request don't hash to the same slot",
      "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command",
      'OK',
      'ERR Command not allowed inside a transaction',
      'EXECABORT Transaction discarded because of previous errors.',
    ],
  );
  client.close();
});

test('commands in different slots are queued, and EXEC answers CROSSSLOT without running any', async () => {
  const client = await RawClient.connect(node.port);
  const replies = await client.pipeline([['MULTI'], ['SET', 'b', '1'], ['SET', 'f', '2'], ['EXEC'], ['EXISTS', 'b'], ['EXISTS', 'f']]);
  assert.deepEqual(
    replies.map((r) => (r instanceof Error ? r.message : r)),
    ['OK', 'QUEUED', 'QUEUED', "CROSSSLOT Keys in request don't hash to the same slot", 0, 0],
  );
  // A command that is itself cross-slot is refused at once and aborts the transaction.
  const more = await client.pipeline([['MULTI'], ['MSET', 'b', '1', 'f', '2'], ['SET', 'b', '1'], ['EXEC'], ['EXISTS', 'b']]);
  assert.deepEqual(
    more.map((r) => (r instanceof Error ? r.message : r)),
    ['OK', "CROSSSLOT Keys in request don't hash to the same slot", 'QUEUED', 'EXECABORT Transaction discarded because of previous errors.', 0],
  );
  client.close();
});

test('DISCARD drops the queue; a runtime error inside EXEC does not stop the others', async () => {
  const client = await RawClient.connect(node.port);
  const replies = await client.pipeline([
    ['MULTI'],
    ['SET', '{d}a', 'x'],
    ['DISCARD'],
    ['EXISTS', '{d}a'],
    ['MULTI'],
    ['SET', '{d}a', 'x'],
    ['LPUSH', '{d}a', 'y'],
    ['GET', '{d}a'],
    ['EXEC'],
  ]);
  assert.deepEqual(replies.slice(0, 8), ['OK', 'QUEUED', 'OK', 0, 'OK', 'QUEUED', 'QUEUED', 'QUEUED']);
  const exec = replies[8] as unknown[];
  assert.equal(exec[0], 'OK');
  assert.ok(exec[1] instanceof Error && exec[1].message.startsWith('WRONGTYPE'));
  assert.equal(exec[2], 'x');
  client.close();
});

test('WATCH: a write by another client makes EXEC answer the null array; UNWATCH forgets', async () => {
  const a = await RawClient.connect(node.port);
  const b = await RawClient.connect(node.port);
  assert.deepEqual(await a.pipeline([['SET', '{w}k', '1'], ['WATCH', '{w}k']]), ['OK', 'OK']);
  assert.equal(await b.call('SET', '{w}k', '2'), 'OK');
  a.send('MULTI');
  a.send('SET', '{w}k', '3');
  a.send('EXEC');
  assert.equal(await a.expect('+OK\r\n+QUEUED\r\n*-1\r\n'), '+OK\r\n+QUEUED\r\n*-1\r\n');
  assert.equal(await b.call('GET', '{w}k'), '2');
  // After EXEC nothing is watched any more: the next transaction runs.
  assert.equal(await b.call('SET', '{w}k', '4'), 'OK');
  const next = await a.pipeline([['MULTI'], ['SET', '{w}k', '5'], ['EXEC']]);
  assert.deepEqual(next, ['OK', 'QUEUED', ['OK']]);
  // UNWATCH: the conflict no longer matters.
  assert.deepEqual(await a.pipeline([['WATCH', '{w}k'], ['UNWATCH']]), ['OK', 'OK']);
  assert.equal(await b.call('SET', '{w}k', '6'), 'OK');
  assert.deepEqual(await a.pipeline([['MULTI'], ['GET', '{w}k'], ['EXEC']]), ['OK', 'QUEUED', ['6']]);
  // The transaction's own writes after WATCH do not abort it.
  assert.deepEqual(await a.pipeline([['WATCH', '{w}k'], ['MULTI'], ['SET', '{w}k', '7'], ['EXEC']]), ['OK', 'OK', 'QUEUED', ['OK']]);
  a.close();
  b.close();
});

test('WATCH: FLUSHALL and expiry of a watched key abort EXEC', async () => {
  const a = await RawClient.connect(node.port);
  const b = await RawClient.connect(node.port);
  assert.deepEqual(await a.pipeline([['SET', '{f}k', '1'], ['WATCH', '{f}k']]), ['OK', 'OK']);
  assert.equal(await b.call('FLUSHALL'), 'OK');
  assert.deepEqual(await a.pipeline([['MULTI'], ['PING'], ['EXEC']]), ['OK', 'QUEUED', null]);
  assert.deepEqual(await a.pipeline([['SET', '{f}t', '1', 'PX', '30'], ['WATCH', '{f}t']]), ['OK', 'OK']);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await a.pipeline([['MULTI'], ['PING'], ['EXEC']]), ['OK', 'QUEUED', null]);
  a.close();
  b.close();
});

test('blocking commands inside MULTI answer their timeout reply at once', async () => {
  const client = await RawClient.connect(node.port);
  client.write(
    '*1\r\n$5\r\nMULTI\r\n' +
      '*6\r\n$6\r\nBLMOVE\r\n$5\r\n{m}a1\r\n$5\r\n{m}a2\r\n$5\r\nRIGHT\r\n$4\r\nLEFT\r\n$1\r\n0\r\n' +
      '*3\r\n$5\r\nBLPOP\r\n$5\r\n{m}a1\r\n$1\r\n0\r\n' +
      '*4\r\n$10\r\nBRPOPLPUSH\r\n$5\r\n{m}a1\r\n$5\r\n{m}a2\r\n$1\r\n0\r\n' +
      '*3\r\n$8\r\nBZPOPMIN\r\n$4\r\n{m}z\r\n$1\r\n0\r\n' +
      '*1\r\n$4\r\nEXEC\r\n',
  );
  const expected = '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n$-1\r\n*-1\r\n$-1\r\n*-1\r\n';
  assert.equal(await client.expect(expected), expected);
  client.close();
});

test('EXEC runs its data commands as ONE engine write, with nothing interleaved', async () => {
  const engine = node.server.defaultEngine() as ShardEngine;
  const original = engine.writeBatch.bind(engine);
  const batches: number[] = [];
  engine.writeBatch = (commands, resp) => {
    batches.push(commands.length);
    return original(commands, resp);
  };
  try {
    const client = await RawClient.connect(node.port);
    const replies = await client.pipeline([
      ['MULTI'],
      ['SET', '{x}a', '1'],
      ['INCR', '{x}a'],
      ['RPUSH', '{x}l', 'p', 'q'],
      ['LPOP', '{x}l'],
      ['EXEC'],
    ]);
    assert.deepEqual(replies[5], ['OK', 2, 2, 'p']);
    assert.deepEqual(batches, [4]);
    client.close();
  } finally {
    engine.writeBatch = original;
  }
});

test('CLIENT LIST shows an open MULTI (flags=x) until DISCARD', async () => {
  const client = await RawClient.connect(node.port);
  const other = await RawClient.connect(node.port);
  assert.equal(await client.call('MULTI'), 'OK');
  assert.match(String(await other.call('CLIENT', 'LIST')), /flags=x/);
  assert.equal(await client.call('DISCARD'), 'OK');
  assert.doesNotMatch(String(await other.call('CLIENT', 'LIST')), /flags=x/);
  client.close();
  other.close();
});
