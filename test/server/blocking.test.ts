// Blocked clients: BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP/BZPOPMIN/BZPOPMAX parked on their keys,
// served first come first served when a key is written, timed out with the null array, forgotten
// on disconnection, and unblocked by the registry's CLIENT UNBLOCK entry point. Real sockets.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startServer, type TestServer } from './helpers.js';
import { BlockingRegistry } from '../../src/server/blocking.js';
import { LocalEngine } from '../../src/server/engine.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { buildCommandTable } from '../../src/commands/table.js';
import type { DataCommand } from '../../src/commands/types.js';
import { NullArray } from '../../src/resp/reply.js';

// ---------------------------------------------------------------- the registry alone

test('registry: FIFO per key, served through the engine, timeouts and removal', async () => {
  let now = 1_000_000;
  const keyspace = new Keyspace();
  const engine = new LocalEngine(keyspace, () => now, () => 1);
  const table = buildCommandTable();
  const blpop = table.get('blpop') as DataCommand;
  const rpush = table.get('rpush') as DataCommand;
  const registry = new BlockingRegistry(() => now);
  const clients = [1, 2, 3].map((id) => ({ id, blocked: false }));
  const replies: unknown[] = [];
  const park = (index: number, argv: string[]) =>
    void (registry.park(clients[index]!, blpop, argv, argv.slice(1, -1), engine, 2) as Promise<unknown>).then((r) =>
      replies.push([index, r]),
    );
  park(0, ['blpop', 'q', '0']);
  park(1, ['blpop', 'other', 'q', '0']);
  park(2, ['blpop', 'q', '10']);
  assert.equal(registry.blockedClients(), 3);
  assert.ok(clients.every((c) => c.blocked));
  registry.remove(clients[2]!.id); // disconnected: never answered
  engine.write(rpush, ['rpush', 'q', 'a', 'b', 'c'], 2);
  assert.equal(registry.hasReady(), true);
  registry.serveReady();
  await Promise.resolve();
  assert.deepEqual(replies, [
    [0, ['q', 'a']],
    [1, ['q', 'b']],
  ]);
  assert.deepEqual(keyspace.size(), 1); // 'c' is left for the next reader
  assert.equal(registry.blockedClients(), 0);
  assert.ok(!clients[0]!.blocked && !clients[1]!.blocked);
  // A timeout: the null array once the deadline has passed, not before.
  park(0, ['blpop', 'empty', '0.5']);
  registry.expire(now + 499);
  assert.equal(registry.blockedClients(), 1);
  now += 500;
  registry.expire(now);
  await Promise.resolve();
  assert.deepEqual(replies[2], [0, NullArray.instance]);
  assert.equal(registry.blockedClients(), 0);
});

let node: TestServer;
before(async () => {
  node = await startServer();
});
after(async () => {
  await node.close();
});

const blocking = () => node.server.dispatcher.blocking;

/** Waits until `count` clients are blocked (the request must reach the server first). */
async function blockedClients(count: number): Promise<void> {
  for (let i = 0; i < 200 && blocking().blockedClients() !== count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(blocking().blockedClients(), count);
}

test('BLPOP waits for a push from another client', async () => {
  const waiter = await RawClient.connect(node.port);
  const pusher = await RawClient.connect(node.port);
  waiter.send('BLPOP', '{b}q', '0');
  await blockedClients(1);
  assert.equal(await pusher.call('RPUSH', '{b}q', 'job1', 'job2'), 2);
  const served = '*2\r\n$4\r\n{b}q\r\n$4\r\njob1\r\n';
  assert.equal(await waiter.expect(served), served);
  await blockedClients(0);
  assert.deepEqual(await pusher.call('LRANGE', '{b}q', '0', '-1'), ['job2']);
  waiter.close();
  pusher.close();
});

test('waiters are served in arrival order, one element each', async () => {
  const first = await RawClient.connect(node.port);
  const second = await RawClient.connect(node.port);
  const pusher = await RawClient.connect(node.port);
  first.send('BRPOP', '{o}q', '0');
  await blockedClients(1);
  second.send('BRPOP', '{o}other', '{o}q', '0');
  await blockedClients(2);
  assert.equal(await pusher.call('LPUSH', '{o}q', 'a'), 1);
  assert.equal(await first.expect('*2\r\n$4\r\n{o}q\r\n$1\r\na\r\n'), '*2\r\n$4\r\n{o}q\r\n$1\r\na\r\n');
  await blockedClients(1);
  assert.equal(await pusher.call('LPUSH', '{o}q', 'b'), 1);
  assert.equal(await second.expect('*2\r\n$4\r\n{o}q\r\n$1\r\nb\r\n'), '*2\r\n$4\r\n{o}q\r\n$1\r\nb\r\n');
  first.close();
  second.close();
  pusher.close();
});

test('timeouts answer the null array (RESP2 *-1, RESP3 _)', async () => {
  const client = await RawClient.connect(node.port);
  const started = Date.now();
  client.send('BLPOP', '{t}none', '0.05');
  assert.equal(await client.expect('*-1\r\n'), '*-1\r\n');
  assert.ok(Date.now() - started >= 45, 'waited for the timeout');
  client.send('BLMOVE', '{t}none', '{t}dst', 'LEFT', 'RIGHT', '0.02');
  assert.equal(await client.expect('*-1\r\n'), '*-1\r\n');
  client.send('t.resp3');
  assert.equal(await client.expect('+OK\r\n'), '+OK\r\n');
  client.send('BZPOPMIN', '{t}z', '0.02');
  assert.equal(await client.expect('_\r\n'), '_\r\n');
  assert.equal(blocking().blockedClients(), 0);
  client.close();
});

test('a blocked client runs none of its next requests until served, then all in order', async () => {
  const client = await RawClient.connect(node.port);
  const pusher = await RawClient.connect(node.port);
  client.write(
    '*3\r\n$5\r\nBLPOP\r\n$4\r\n{p}q\r\n$1\r\n0\r\n' + '*2\r\n$4\r\nLLEN\r\n$4\r\n{p}q\r\n' + '*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n',
  );
  await blockedClients(1);
  assert.equal(await pusher.call('RPUSH', '{p}q', 'x', 'y'), 2);
  const expected = '*2\r\n$4\r\n{p}q\r\n$1\r\nx\r\n:1\r\n$2\r\nhi\r\n';
  assert.equal(await client.expect(expected), expected);
  client.close();
  pusher.close();
});

test('BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN and BZPOPMAX are served when their key is written', async () => {
  const client = await RawClient.connect(node.port);
  const writer = await RawClient.connect(node.port);
  client.send('BLMOVE', '{m}src', '{m}dst', 'RIGHT', 'LEFT', '5');
  await blockedClients(1);
  await writer.call('RPUSH', '{m}src', 'one');
  assert.equal(await client.expect('$3\r\none\r\n'), '$3\r\none\r\n');
  assert.deepEqual(await writer.call('LRANGE', '{m}dst', '0', '-1'), ['one']);

  client.send('BRPOPLPUSH', '{m}src', '{m}dst', '5');
  await blockedClients(1);
  await writer.call('RPUSH', '{m}src', 'two');
  assert.equal(await client.expect('$3\r\ntwo\r\n'), '$3\r\ntwo\r\n');

  client.send('BLMPOP', '5', '2', '{m}a', '{m}b', 'LEFT', 'COUNT', '2');
  await blockedClients(1);
  await writer.call('RPUSH', '{m}b', 'x', 'y', 'z');
  const mpop = '*2\r\n$4\r\n{m}b\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n';
  assert.equal(await client.expect(mpop), mpop);

  client.send('BZPOPMIN', '{m}z', '5');
  await blockedClients(1);
  await writer.call('ZADD', '{m}z', '2', 'b', '1', 'a');
  assert.equal(await client.expect('*3\r\n$4\r\n{m}z\r\n$1\r\na\r\n$1\r\n1\r\n'), '*3\r\n$4\r\n{m}z\r\n$1\r\na\r\n$1\r\n1\r\n');
  client.send('BZPOPMAX', '{m}z', '{m}other', '5');
  assert.equal(await client.expect('*3\r\n$4\r\n{m}z\r\n$1\r\nb\r\n$1\r\n2\r\n'), '*3\r\n$4\r\n{m}z\r\n$1\r\nb\r\n$1\r\n2\r\n');
  client.close();
  writer.close();
});

test('a key of another type does not serve the waiter (Redis 7.0): it stays blocked', async () => {
  const client = await RawClient.connect(node.port);
  const writer = await RawClient.connect(node.port);
  client.send('BLPOP', '{y}k', '5');
  await blockedClients(1);
  assert.equal(await writer.call('SET', '{y}k', 'string'), 'OK');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(blocking().blockedClients(), 1);
  await writer.call('DEL', '{y}k');
  await writer.call('RPUSH', '{y}k', 'v');
  assert.equal(await client.expect('*2\r\n$4\r\n{y}k\r\n$1\r\nv\r\n'), '*2\r\n$4\r\n{y}k\r\n$1\r\nv\r\n');
  client.close();
  writer.close();
});

test('a disconnected waiter is removed and never consumes an element', async () => {
  const gone = await RawClient.connect(node.port);
  const writer = await RawClient.connect(node.port);
  gone.send('BLPOP', '{g}q', '0');
  await blockedClients(1);
  gone.close();
  await blockedClients(0);
  assert.equal(await writer.call('RPUSH', '{g}q', 'kept'), 1);
  assert.deepEqual(await writer.call('LRANGE', '{g}q', '0', '-1'), ['kept']);
  writer.close();
});

test('unblock by client id: timeout reply, or the UNBLOCKED error', async () => {
  const client = await RawClient.connect(node.port);
  const id = (await client.call('CLIENT', 'ID')) as number;
  client.send('BLPOP', '{u}q', '0');
  await blockedClients(1);
  assert.equal(blocking().unblock(id, false), true);
  assert.equal(await client.expect('*-1\r\n'), '*-1\r\n');
  client.send('BZPOPMAX', '{u}z', '0');
  await blockedClients(1);
  assert.equal(blocking().unblock(id, true), true);
  const error = '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n';
  assert.equal(await client.expect(error), error);
  assert.equal(blocking().unblock(id, true), false);
  client.close();
});

test('a transaction that pushes serves the waiter after EXEC', async () => {
  const client = await RawClient.connect(node.port);
  const writer = await RawClient.connect(node.port);
  client.send('BLPOP', '{x}q', '0');
  await blockedClients(1);
  const replies = await writer.pipeline([['MULTI'], ['RPUSH', '{x}q', 'a'], ['RPUSH', '{x}q', 'b'], ['LLEN', '{x}q'], ['EXEC']]);
  assert.deepEqual(replies[4], [1, 2, 2]);
  assert.equal(await client.expect('*2\r\n$4\r\n{x}q\r\n$1\r\na\r\n'), '*2\r\n$4\r\n{x}q\r\n$1\r\na\r\n');
  client.close();
  writer.close();
});
