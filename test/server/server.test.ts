// A real server in process on port 0 with real sockets: dispatch errors, pipelining order with an
// asynchronous reply in the middle, binary safety, RESP3, auth, limits (maxclients, timeout, query
// and output buffers), expiry and eviction driving, and the admin endpoint.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startServer, type TestServer } from './helpers.js';
import { AdminServer } from '../../src/server/admin.js';
import { OUTPUT_PAUSE_BYTES } from '../../src/server/connection.js';

let node: TestServer;
before(async () => {
  node = await startServer();
});
after(async () => {
  await node.close();
});

test('unknown command and wrong arity: exact Redis texts, connection stays open', async () => {
  const client = await RawClient.connect(node.port);
  client.send('foo', 'a', 'b');
  assert.equal(
    await client.expect("-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
    "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
  );
  client.send('T.GET');
  assert.equal(await client.expect("-ERR wrong number of arguments for 't.get' command\r\n"), "-ERR wrong number of arguments for 't.get' command\r\n");
  client.write('*1\r\n$5\r\nnoone\r\n');
  const expected = "-ERR unknown command 'noone', with args beginning with: \r\n";
  assert.equal(await client.expect(expected), expected);
  client.close();
});

test('pipelined replies keep request order, even behind an asynchronous reply', async () => {
  const client = await RawClient.connect(node.port);
  const replies = await client.pipeline([
    ['t.set', 'k1', 'v1'],
    ['t.later', '50', 'slow'],
    ['t.get', 'k1'],
    ['t.later', '0', 'fast'],
    ['t.set', 'k1', 'v2'],
    ['t.get', 'k1'],
  ]);
  assert.deepEqual(replies, ['OK', 'slow', 'v1', 'fast', 'OK', 'v2']);
  client.close();
});

test('keyed commands are routed by slot: CROSSSLOT unless the keys share a hash tag', async () => {
  const client = await RawClient.connect(node.port);
  const replies = await client.pipeline([
    ['t.mget', 'a', 'b'],
    ['t.set', '{user1}.name', 'n'],
    ['t.mget', '{user1}.name', '{user1}.age'],
  ]);
  assert.equal((replies[0] as Error).message, "CROSSSLOT Keys in request don't hash to the same slot");
  assert.deepEqual(replies.slice(1), ['OK', ['n', null]]);
  assert.ok(node.server.stats.commands.get('t.mget')!.rejected >= 1);
  client.close();
});

test('keys and values are binary safe', async () => {
  const client = await RawClient.connect(node.port);
  const key = '\x00k\r\n\xff';
  let value = '';
  for (let i = 0; i < 256; i++) value += String.fromCharCode(i);
  client.send('t.set', key, value);
  assert.equal(await client.expect('+OK\r\n'), '+OK\r\n');
  client.send('t.get', key);
  const expected = `$256\r\n${value}\r\n`;
  assert.equal(await client.expect(expected), expected);
  client.close();
});

test('RESP3 replies after the protocol is switched', async () => {
  const client = await RawClient.connect(node.port);
  client.send('t.get', 'missing');
  assert.equal(await client.expect('$-1\r\n'), '$-1\r\n');
  client.send('HELLO', '3');
  client.send('t.get', 'missing');
  client.send('t.mget', 'missing', 'missing');
  const tail = '_\r\n*2\r\n_\r\n_\r\n';
  const all = await client.readUntil(tail);
  assert.ok(all.startsWith('%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n'), all);
  assert.match(all, /\$5\r\nproto\r\n:3\r\n/);
  assert.ok(all.endsWith('$7\r\nmodules\r\n*0\r\n' + tail), all);
  client.close();
});

test('inline commands and a large pipeline in one write', async () => {
  const client = await RawClient.connect(node.port);
  client.write('t.set inline "a b"\r\n\r\nt.get inline\n');
  assert.equal(await client.expect('+OK\r\n$3\r\na b\r\n'), '+OK\r\n$3\r\na b\r\n');
  const commands: string[][] = [];
  for (let i = 0; i < 5000; i++) commands.push(i % 2 === 0 ? ['t.set', `p${i}`, `${i}`] : ['t.get', `p${i - 1}`]);
  const replies = await client.pipeline(commands);
  assert.equal(replies.length, 5000);
  for (let i = 1; i < 5000; i += 2) assert.equal(replies[i], `${i - 1}`);
  client.close();
});

test('a protocol error is answered with Redis text, then the connection closes; others are unaffected', async () => {
  const bystander = await RawClient.connect(node.port);
  const cases: [string, string][] = [
    ['*1\r\n$999999999999\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['*x\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['*1\r\n+PING\r\n', "-ERR Protocol error: expected '$', got '+'\r\n"],
    ['ECHO "abc\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
    ['t.set a b\r\n*1\r\n$-5\r\n', '+OK\r\n-ERR Protocol error: invalid bulk length\r\n'],
  ];
  for (const [input, expected] of cases) {
    const client = await RawClient.connect(node.port);
    client.write(input);
    assert.equal(await client.readToClose(), expected, JSON.stringify(input));
  }
  assert.deepEqual(await bystander.call('t.get', 'a'), 'b');
  bystander.close();
});

test('hostile input: random bytes, truncated frames, a million-element multibulk; memory stays bounded', async () => {
  const rssBefore = process.memoryUsage().rss;
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const clients: RawClient[] = [];
  for (let c = 0; c < 20; c++) {
    const client = await RawClient.connect(node.port);
    const bytes = Buffer.alloc(2000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    client.write(bytes);
    clients.push(client);
  }
  const truncated = await RawClient.connect(node.port);
  truncated.write('*3\r\n$3\r\nSET\r\n$100\r\nabc');
  // A million arguments: served (as Redis does), with memory proportional to what was sent.
  const million = await RawClient.connect(node.port);
  million.write('*1000000\r\n' + '$1\r\na\r\n'.repeat(1_000_000));
  const reply = await million.read(100, 20_000);
  assert.ok(reply.startsWith("-ERR unknown command 'a', with args beginning with: 'a' 'a'"), reply);

  const fresh = await RawClient.connect(node.port);
  assert.equal(await fresh.call('t.get', 'a'), 'b');
  const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  assert.ok(grownMb < 400, `rss grew by ${grownMb} MB`);
  for (const client of [...clients, truncated, million, fresh]) client.close();
});

test('a client that never reads: the server stops reading from it and keeps serving others', async () => {
  const slow = await RawClient.connect(node.port);
  slow.socket.pause();
  const replySize = 100_000;
  const count = 300; // 30 MB of replies
  for (let i = 0; i < count; i++) slow.send('t.big', String(replySize));
  const other = await RawClient.connect(node.port);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await other.call('t.get', 'a'), 'b');
  }
  const session = [...node.server.clients()].find((s) => s.outputBufferBytes() > 0);
  assert.ok(session !== undefined, 'the slow client has output waiting');
  assert.ok(session.outputBufferBytes() <= OUTPUT_PAUSE_BYTES + replySize + 64, `omem ${session.outputBufferBytes()}`);
  // Everything arrives, in order, once the client reads again.
  slow.socket.resume();
  const all = await slow.read(count * (replySize + 11), 20_000);
  assert.equal(all.length, count * (replySize + 11));
  assert.ok(all.endsWith(`$${replySize}\r\n${'x'.repeat(replySize)}\r\n`));
  slow.close();
  other.close();
});

/** A client that reads nothing asks for a 4 MB reply: the server must close it and log `logged`. */
async function assertSlowReaderClosed(flags: string[], logged: string): Promise<void> {
  const limited = await startServer(flags);
  try {
    const slow = await RawClient.connect(limited.port);
    slow.socket.pause();
    slow.send('t.big', String(4 * 1024 * 1024));
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && [...limited.server.clients()].length > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal([...limited.server.clients()].length, 0);
    assert.ok(limited.logs.some((line) => line.includes(logged)));
    slow.close();
  } finally {
    await limited.close();
  }
}

test('client-output-buffer-limit: a client over the soft limit for too long is closed', () =>
  assertSlowReaderClosed(['--client-output-buffer-limit', 'normal 0 256kb 0', '--hz', '50'], '"limit":"soft"'));

test('client-output-buffer-limit: a client over the hard limit is closed', () =>
  assertSlowReaderClosed(['--client-output-buffer-limit', 'normal 1mb 0 0'], 'output buffer limits'));

test('2000 concurrent connections are served', async () => {
  const clients = await Promise.all(Array.from({ length: 2000 }, () => RawClient.connect(node.port)));
  const replies = await Promise.all(clients.map((c, i) => c.call('t.later', '0', `c${i}`)));
  replies.forEach((reply, i) => assert.equal(reply, `c${i}`));
  for (const client of clients) client.close();
});

test('requirepass: NOAUTH before authentication, stricter framing limits, then served', async () => {
  const guarded = await startServer(['--requirepass', 'secret']);
  try {
    const client = await RawClient.connect(guarded.port);
    client.send('t.get', 'x');
    assert.equal(await client.expect('-NOAUTH Authentication required.\r\n'), '-NOAUTH Authentication required.\r\n');
    client.send('t.auth');
    client.send('t.get', 'x');
    assert.equal(await client.expect('+OK\r\n$-1\r\n'), '+OK\r\n$-1\r\n');
    const stranger = await RawClient.connect(guarded.port);
    stranger.write('*11\r\n');
    assert.equal(await stranger.readToClose(), '-ERR Protocol error: unauthenticated multibulk length\r\n');
    client.close();
  } finally {
    await guarded.close();
  }
});

test('maxclients: the extra client gets Redis error and is closed', async () => {
  const small = await startServer(['--maxclients', '2']);
  try {
    const a = await RawClient.connect(small.port);
    const b = await RawClient.connect(small.port);
    assert.equal(await a.call('t.get', 'x'), null);
    const c = await RawClient.connect(small.port);
    assert.equal(await c.readToClose(), '-ERR max number of clients reached\r\n');
    assert.equal(small.server.stats.rejectedConnections, 1);
    assert.equal(await b.call('t.get', 'x'), null);
    a.close();
    b.close();
  } finally {
    await small.close();
  }
});

test('timeout closes idle clients; client-query-buffer-limit closes greedy ones', async () => {
  const strict = await startServer(['--timeout', '1', '--client-query-buffer-limit', '1mb', '--hz', '50']);
  try {
    const idle = await RawClient.connect(strict.port);
    const started = Date.now();
    await idle.readToClose(4000);
    assert.ok(Date.now() - started >= 900);
    const greedy = await RawClient.connect(strict.port);
    greedy.write('*2\r\n$5\r\nt.get\r\n$3000000\r\n');
    for (let i = 0; i < 30 && !greedy.closed; i++) {
      greedy.write(Buffer.alloc(100_000, 'z'));
      await new Promise((r) => setTimeout(r, 5));
    }
    await greedy.readToClose(4000);
    assert.ok(greedy.closed);
  } finally {
    await strict.close();
  }
});

test('active expiry deletes expired keys through the engine', async () => {
  const keyspace = node.server.keyspaces()[0]!;
  const now = Date.now();
  for (let i = 0; i < 100; i++) keyspace.set(`exp${i}`, 'v', now, now + 20);
  const before = node.server.stats.expiredKeys;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && node.server.stats.expiredKeys - before < 100) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(node.server.stats.expiredKeys - before, 100);
  assert.equal(keyspace.exists('exp0', Date.now()), false);
});

test('maxmemory: eviction keeps memory under the limit; noeviction answers OOM', async () => {
  const evicting = await startServer(['--maxmemory', '1mb', '--maxmemory-policy', 'allkeys-random']);
  const full = await startServer(['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction']);
  try {
    const value = 'v'.repeat(10_000);
    const commands = Array.from({ length: 300 }, (_, i) => ['t.set', `big${i}`, value]);
    const client = await RawClient.connect(evicting.port);
    const replies = await client.pipeline(commands);
    assert.ok(replies.every((r) => r === 'OK'));
    assert.ok(evicting.server.usedMemoryBytes() <= 1024 * 1024 + 20_000, `used ${evicting.server.usedMemoryBytes()}`);
    assert.ok(evicting.server.stats.evictedKeys > 0);
    const refused = await RawClient.connect(full.port);
    const outcomes = await refused.pipeline(commands);
    const oom = outcomes.filter((r) => r instanceof Error);
    assert.ok(oom.length > 0);
    assert.equal((oom[0] as Error).message, "OOM command not allowed when used memory > 'maxmemory'.");
    assert.equal(await refused.call('t.get', 'big0'), value);
    client.close();
    refused.close();
  } finally {
    await evicting.close();
    await full.close();
  }
});

test('admin endpoint: /health, /ready, /metrics', async () => {
  const admin = new AdminServer(node.server);
  const port = await admin.start('127.0.0.1', 0);
  try {
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /slotraft_commands_processed_total \d+/);
    assert.match(metrics, /slotraft_command_calls_total\{command="t.set"\} \d+/);
    assert.match(metrics, /slotraft_connected_clients \d+/);
    const processed = Number(/slotraft_commands_processed_total (\d+)/.exec(metrics)![1]);
    assert.equal(processed, node.server.stats.totalCommandsProcessed);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
  } finally {
    await admin.close();
  }
});
