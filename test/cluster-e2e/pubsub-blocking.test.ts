// Pub/Sub and blocking commands across a real 3-node cluster: PUBLISH reaches subscribers on every node,
// SPUBLISH those of the slot's shard (leader and followers), and a client blocked on a key whose shard's
// leadership moves away gets the redirect Redis gives (MOVED to the new leader), never a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { keySlot } from '../../src/cluster/slot.js';
import { HOST, RedisParser, encodeRequest } from '../support/resp-client.js';
import { startCluster, waitFor, type ProcCluster } from '../support/cluster-procs.js';

/** A raw RESP2 connection that collects every reply (pushes included) in order. */
class Conn {
  readonly replies: unknown[] = [];
  private readonly socket: Socket;
  private readonly parser = new RedisParser({
    returnReply: (r: unknown) => this.replies.push(r),
    returnError: (e: Error) => this.replies.push(e),
  });

  constructor(port: number) {
    this.socket = connect({ host: HOST, port });
    this.socket.on('data', (chunk) => this.parser.execute(chunk));
    this.socket.on('error', () => {});
  }

  send(...args: string[]): void {
    this.socket.write(encodeRequest(args));
  }

  async next(what: string, timeoutMs = 10_000): Promise<unknown> {
    await waitFor(what, () => this.replies.length > 0, timeoutMs);
    return this.replies.shift();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Node indexes of the leader and the followers of `slot`, from CLUSTER SHARDS of node 0. */
async function shardOf(cluster: ProcCluster, slot: number): Promise<{ leader: number; followers: number[] }> {
  const slots = (await cluster.command(0, 'CLUSTER', 'SLOTS')) as [number, number, ...[string, number, string][]][];
  const range = slots.find(([start, end]) => slot >= start && slot <= end)!;
  const ids = (range.slice(2) as [string, number, string][]).map((e) => e[2]);
  const indexOfId = async (id: string) => {
    for (const n of cluster.nodes) if ((await cluster.command(n.index, 'CLUSTER', 'MYID')) === id) return n.index;
    throw new Error(`no node ${id}`);
  };
  const indexes = await Promise.all(ids.map(indexOfId));
  return { leader: indexes[0]!, followers: indexes.slice(1) };
}

test('PUBLISH, SPUBLISH and blocked clients in a 3-node cluster', { timeout: 90_000 }, async (t) => {
  const cluster = await startCluster({ kind: 'slotraft', nodes: 3 });
  const conns: Conn[] = [];
  const open = (i: number) => {
    const c = new Conn(cluster.nodes[i]!.port);
    conns.push(c);
    return c;
  };
  t.after(async () => {
    for (const c of conns) c.close();
    await cluster.stop();
  });

  await t.test('PUBLISH on one node reaches the subscribers of every node', async () => {
    const subscribers = [0, 1, 2].map(open);
    for (const s of subscribers) s.send('SUBSCRIBE', 'news');
    for (const s of subscribers) assert.deepEqual(await s.next('subscribe confirmation'), ['subscribe', 'news', 1]);
    const publisher = open(1);
    publisher.send('PUBLISH', 'news', 'hello');
    // Redis Cluster counts the receivers of the node that ran PUBLISH only.
    assert.equal(await publisher.next('PUBLISH reply'), 1);
    for (const s of subscribers) assert.deepEqual(await s.next('message'), ['message', 'news', 'hello']);
  });

  await t.test("SPUBLISH reaches the shard channel's subscribers on the shard's leader and followers", async () => {
    const channel = 'orders{7}';
    const { leader, followers } = await shardOf(cluster, keySlot(channel));
    assert.ok(followers.length >= 1);
    const subscribers = [leader, ...followers].map(open);
    for (const s of subscribers) s.send('SSUBSCRIBE', channel);
    for (const s of subscribers) assert.deepEqual(await s.next('ssubscribe confirmation'), ['ssubscribe', channel, 1]);
    const publisher = open(leader);
    publisher.send('SPUBLISH', channel, 'shipped');
    assert.equal(await publisher.next('SPUBLISH reply'), 1);
    for (const s of subscribers) assert.deepEqual(await s.next('smessage'), ['smessage', channel, 'shipped']);
  });

  await t.test('a client blocked on a key gets MOVED when the leadership of its shard moves away', async () => {
    const key = 'queue{3}';
    const { leader, followers } = await shardOf(cluster, keySlot(key));
    const blocked = open(leader);
    blocked.send('BLPOP', key, '0');
    await new Promise((r) => setTimeout(r, 300)); // it is parked
    assert.equal(blocked.replies.length, 0, 'BLPOP on an empty list blocks');
    const successor = followers[0]!;
    assert.equal(await cluster.command(successor, 'CLUSTER', 'FAILOVER'), 'OK');
    const reply = await blocked.next('the blocked client to be redirected');
    const address = `${HOST}:${cluster.nodes[successor]!.port}`;
    assert.ok(reply instanceof Error, `expected a redirect, got ${JSON.stringify(reply)}`);
    assert.equal(reply.message, `MOVED ${keySlot(key)} ${address}`);
    // The new leader serves the key: a push there wakes a client blocked on it.
    const waiter = open(successor);
    waiter.send('BLPOP', key, '5');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await cluster.command(successor, 'RPUSH', key, 'job'), 1);
    assert.deepEqual(await waiter.next('BLPOP reply on the new leader'), [key, 'job']);
  });
});
