// Pub/Sub: the registry alone, then a real in-process server with real sockets, RESP2 and RESP3
// bytes as Redis 7.0.15 sends them (checked side by side with a real redis-server in cluster mode).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startServer, type TestServer } from './helpers.js';
import { ClientPubSub, PubSubRegistry, pubsubOutputLimit, type Subscriber } from '../../src/server/pubsub.js';
import type { RawReply } from '../../src/resp/reply.js';

function bytes(reply: unknown): string {
  const raw = reply as RawReply;
  return raw.bytes.latin1Slice(0, raw.bytes.length);
}

class FakeSubscriber implements Subscriber {
  readonly received: string[] = [];
  constructor(public resp: 2 | 3) {}
  deliver(message: RawReply): void {
    this.received.push(bytes(message));
  }
}

// ---------------------------------------------------------------- registry

test('registry: channels, patterns and shard channels reach the right subscribers', () => {
  const registry = new PubSubRegistry();
  const s2 = new FakeSubscriber(2);
  const s3 = new FakeSubscriber(3);
  const c2 = new ClientPubSub(registry, s2);
  const c3 = new ClientPubSub(registry, s3);
  assert.equal(bytes(c2.subscribe('channel', ['news', 'news'])), '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n'.repeat(2));
  assert.equal(bytes(c3.subscribe('pattern', ['n*'])), '>3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n');
  c3.subscribe('shard', ['s']);
  assert.equal(registry.publish('channel', 'news', 'hi'), 2);
  assert.deepEqual(s2.received, ['*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n']);
  assert.deepEqual(s3.received, ['>4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n']);
  assert.equal(registry.publish('channel', 'other', 'x'), 0);
  assert.equal(registry.publish('shard', 's', 'm'), 1);
  assert.equal(s3.received[1], '>3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n');
  // A shard channel is not a channel: PUBLISH to its name reaches nobody but pattern subscribers.
  assert.equal(registry.publish('channel', 's', 'm'), 0);
  assert.deepEqual(registry.channels('channel', null), ['news']);
  assert.deepEqual(registry.channels('shard', '*'), ['s']);
  assert.equal(registry.patternCount(), 1);
  c2.clear();
  c3.clear();
  assert.deepEqual(registry.channels('channel', null), []);
  assert.equal(registry.patternCount(), 0);
  assert.equal(registry.publish('channel', 'news', 'hi'), 0);
});

test('registry: unsubscribe replies, with and without names', () => {
  const registry = new PubSubRegistry();
  const client = new ClientPubSub(registry, new FakeSubscriber(2));
  assert.equal(bytes(client.unsubscribe('channel', [])), '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n');
  client.subscribe('channel', ['a', 'b']);
  client.subscribe('pattern', ['p*']);
  assert.equal(client.count(), 3);
  assert.equal(
    bytes(client.unsubscribe('channel', [])),
    '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n',
  );
  assert.equal(bytes(client.unsubscribe('pattern', ['nope'])), '*3\r\n$12\r\npunsubscribe\r\n$4\r\nnope\r\n:1\r\n');
  assert.equal(client.subscribed(), true);
  client.unsubscribe('pattern', []);
  assert.equal(client.subscribed(), false);
});

test('pubsub output limit: parsed from client-output-buffer-limit', () => {
  assert.deepEqual(pubsubOutputLimit('normal 0 0 0 slave 268435456 67108864 60 pubsub 1024 512 3'), {
    hardBytes: 1024,
    softBytes: 512,
    softSeconds: 3,
  });
});

// ---------------------------------------------------------------- end to end

let node: TestServer;
before(async () => {
  node = await startServer();
});
after(async () => {
  await node.close();
});

test('RESP2: subscribe, publish from another client, pattern and unsubscribe', async () => {
  const sub = await RawClient.connect(node.port);
  const pub = await RawClient.connect(node.port);
  sub.send('SUBSCRIBE', 'ch1', 'ch2');
  const subscribed = '*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n';
  assert.equal(await sub.expect(subscribed), subscribed);
  sub.send('PSUBSCRIBE', 'ch*');
  assert.equal(await sub.expect('*3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:3\r\n'), '*3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:3\r\n');
  assert.equal(await pub.call('PUBLISH', 'ch1', 'hello'), 2);
  const delivered = '*3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\nhello\r\n*4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$3\r\nch1\r\n$5\r\nhello\r\n';
  assert.equal(await sub.expect(delivered), delivered);
  assert.deepEqual(await pub.call('PUBSUB', 'NUMSUB', 'ch1', 'zz'), ['ch1', 1, 'zz', 0]);
  assert.equal(await pub.call('PUBSUB', 'NUMPAT'), 1);
  assert.deepEqual((await pub.call('PUBSUB', 'CHANNELS', 'ch*')) as string[], ['ch1', 'ch2']);
  // Subscribed mode: only the pub/sub commands, PING, QUIT and RESET.
  sub.send('GET', 'x');
  const refused = "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";
  assert.equal(await sub.expect(refused), refused);
  sub.send('PING');
  assert.equal(await sub.expect('*2\r\n$4\r\npong\r\n$0\r\n\r\n'), '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  sub.send('UNSUBSCRIBE');
  const left = '*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$3\r\nch2\r\n:1\r\n';
  assert.equal(await sub.expect(left), left);
  sub.send('PUNSUBSCRIBE');
  assert.equal(await sub.expect('*3\r\n$12\r\npunsubscribe\r\n$3\r\nch*\r\n:0\r\n'), '*3\r\n$12\r\npunsubscribe\r\n$3\r\nch*\r\n:0\r\n');
  // Out of subscribed mode: normal commands again, and messages no longer arrive.
  assert.equal(await pub.call('PUBLISH', 'ch1', 'lost'), 0);
  assert.equal(await sub.call('ECHO', 'back'), 'back');
  sub.close();
  pub.close();
});

test('RESP3: confirmations and messages are push frames; any command is allowed', async () => {
  const sub = await RawClient.connect(node.port);
  sub.send('t.resp3'); // switches to RESP3 like HELLO 3, with a short reply
  assert.equal(await sub.expect('+OK\r\n'), '+OK\r\n');
  sub.send('SUBSCRIBE', 'r3');
  assert.equal(await sub.expect('>3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n'), '>3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n');
  sub.send('SET', '{r}k', 'v');
  assert.equal(await sub.expect('+OK\r\n'), '+OK\r\n');
  sub.send('PUBLISH', 'r3', 'self');
  const expected = '>3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$4\r\nself\r\n:1\r\n';
  assert.equal(await sub.expect(expected), expected);
  sub.send('PING');
  assert.equal(await sub.expect('+PONG\r\n'), '+PONG\r\n');
  sub.close();
});

test('SSUBSCRIBE and SPUBLISH route by slot; cross-slot shard channels get CROSSSLOT', async () => {
  const sub = await RawClient.connect(node.port);
  const pub = await RawClient.connect(node.port);
  sub.send('SSUBSCRIBE', 'a', 'b');
  const crossslot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
  assert.equal(await sub.expect(crossslot), crossslot);
  sub.send('SSUBSCRIBE', '{s}1', '{s}2');
  const ok = '*3\r\n$10\r\nssubscribe\r\n$4\r\n{s}1\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$4\r\n{s}2\r\n:2\r\n';
  assert.equal(await sub.expect(ok), ok);
  assert.equal(await pub.call('SPUBLISH', '{s}2', 'm'), 1);
  assert.equal(await sub.expect('*3\r\n$8\r\nsmessage\r\n$4\r\n{s}2\r\n$1\r\nm\r\n'), '*3\r\n$8\r\nsmessage\r\n$4\r\n{s}2\r\n$1\r\nm\r\n');
  assert.deepEqual(await pub.call('PUBSUB', 'SHARDNUMSUB', '{s}1', 'x'), ['{s}1', 1, 'x', 0]);
  assert.deepEqual(((await pub.call('PUBSUB', 'SHARDCHANNELS')) as string[]).sort(), ['{s}1', '{s}2']);
  sub.send('SUNSUBSCRIBE');
  const left = '*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{s}1\r\n:1\r\n*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{s}2\r\n:0\r\n';
  assert.equal(await sub.expect(left), left);
  sub.close();
  pub.close();
});

test('a disconnected subscriber is forgotten; RESET leaves subscribed mode', async () => {
  const sub = await RawClient.connect(node.port);
  const pub = await RawClient.connect(node.port);
  assert.equal(((await sub.pipeline([['SUBSCRIBE', 'gone']])) as unknown[][])[0]![2], 1);
  sub.close();
  for (let i = 0; i < 50 && (await pub.call('PUBSUB', 'NUMSUB', 'gone') as unknown[])[1] !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(await pub.call('PUBLISH', 'gone', 'x'), 0);
  const again = await RawClient.connect(node.port);
  await again.pipeline([['SUBSCRIBE', 'r']]);
  assert.equal(await again.call('RESET'), 'RESET');
  assert.equal(await again.call('GET', 'nothing'), null);
  assert.equal(await pub.call('PUBLISH', 'r', 'x'), 0);
  again.close();
  pub.close();
});

test('a subscriber that does not read is disconnected past the pubsub output limit', async () => {
  const pub = await RawClient.connect(node.port);
  assert.equal(await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 0 0'), 'OK');
  try {
    const slow = await RawClient.connect(node.port);
    await slow.pipeline([['SUBSCRIBE', 'flood']]);
    slow.socket.pause(); // stop reading: the server's socket buffer fills up
    const payload = 'x'.repeat(64 * 1024);
    let receivers = 1;
    for (let i = 0; i < 400 && receivers > 0; i++) {
      receivers = (await pub.call('PUBLISH', 'flood', payload)) as number;
    }
    assert.equal(receivers, 0, 'the slow subscriber was dropped');
    assert.equal(await pub.call('PUBSUB', 'NUMSUB', 'flood').then((r) => (r as unknown[])[1]), 0);
    slow.close();
  } finally {
    await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
  }
});

test('RESP3: a subscriber blocked on BLPOP still receives its messages at once', async () => {
  const client = await RawClient.connect(node.port);
  const other = await RawClient.connect(node.port);
  client.send('t.resp3');
  assert.equal(await client.expect('+OK\r\n'), '+OK\r\n');
  client.send('SUBSCRIBE', 'live');
  assert.equal(await client.expect('>3\r\n$9\r\nsubscribe\r\n$4\r\nlive\r\n:1\r\n'), '>3\r\n$9\r\nsubscribe\r\n$4\r\nlive\r\n:1\r\n');
  client.send('BLPOP', '{live}q', '0');
  for (let i = 0; i < 200 && node.server.dispatcher.blocking.blockedClients() === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(await other.call('PUBLISH', 'live', 'now'), 1);
  const push = '>3\r\n$7\r\nmessage\r\n$4\r\nlive\r\n$3\r\nnow\r\n';
  assert.equal(await client.expect(push), push);
  assert.equal(await other.call('RPUSH', '{live}q', 'v'), 1);
  assert.equal(await client.expect('*2\r\n$7\r\n{live}q\r\n$1\r\nv\r\n'), '*2\r\n$7\r\n{live}q\r\n$1\r\nv\r\n');
  client.close();
  other.close();
});
