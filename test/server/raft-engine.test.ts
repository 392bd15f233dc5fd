// RaftEngine with real parts: 3 MultiRaft nodes in one process, an in-memory transport, MemoryStorage or
// real DiskLogs. Writes apply identically everywhere, reads are linearizable, a lost leader gives
// "outcome unknown" and never a double apply, restarted followers catch up (log replay and snapshots),
// MULTI is one entry, expiry goes through leader-proposed deletes, and the queues are bounded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WOULD_BLOCK } from '../../src/commands/types.js';
import { ErrorReply, SetReply, SimpleString } from '../../src/resp/reply.js';
import { decodeProposal } from '../../src/server/proposal.js';
import {
  NotLeaderError,
  PENDING_READS_FULL,
  PENDING_WRITES_FULL,
  WRITE_OUTCOME_UNKNOWN,
} from '../../src/server/raft-engine.js';
import type { EngineResult } from '../../src/server/engine.js';
import { MessageType } from '../../src/raft/types.js';
import { EngineCluster, GROUP, cmd, stateOf, type StorageMode, type TestNode } from './raft-engine-cluster.js';

const MODES: StorageMode[] = ['memory', 'disk'];

async function write(c: EngineCluster, n: TestNode, ...argv: string[]): Promise<EngineResult> {
  const p = n.engine.write(cmd(argv[0]!.toLowerCase()), argv, 2);
  await c.settle();
  return p;
}

async function read(c: EngineCluster, n: TestNode, ...argv: string[]): Promise<EngineResult> {
  const p = n.engine.read(cmd(argv[0]!.toLowerCase()), argv, 2);
  await c.settle();
  return p;
}

function simple(r: EngineResult): string {
  assert.ok(r instanceof SimpleString, `expected a status reply, got ${String(r)}`);
  return r.value;
}

function assertReplicasEqual(c: EngineCluster): void {
  const [first, ...rest] = c.live();
  for (const n of rest) assert.equal(stateOf(n), stateOf(first!), `node ${n.id} differs from node ${first!.id}`);
}

for (const mode of MODES) {
  test(`${mode}: writes through the leader apply identically on all 3 replicas`, async () => {
    const c = new EngineCluster(mode);
    try {
      await c.startAll();
      const leader = await c.elect(1);
      assert.equal(simple(await write(c, leader, 'SET', 'k\x00\xff', 'v\x01\xfe')), 'OK');
      assert.equal(await write(c, leader, 'INCR', 'n'), 1);
      assert.equal(await write(c, leader, 'INCR', 'n'), 2);
      assert.equal(await write(c, leader, 'SADD', 's', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), 8);
      // SPOP draws from the entry's seed: every replica pops the same member.
      const popped = await write(c, leader, 'SPOP', 's');
      assert.equal(typeof popped, 'string');
      await write(c, leader, 'HSET', 'h', 'f1', 'v1', 'f2', 'v2');
      await write(c, leader, 'ZADD', 'z', '1', 'a', '2.5', 'b');
      await write(c, leader, 'RPUSH', 'l', 'x', 'y');
      await write(c, leader, 'PEXPIRE', 'l', '100000');
      const wrongType = await write(c, leader, 'INCR', 's');
      assert.ok(wrongType instanceof ErrorReply && wrongType.message.startsWith('WRONGTYPE'));
      for (const n of c.live()) {
        assert.equal(n.keyspace.size(), 6, `node ${n.id} keys`);
        assert.equal(n.engine.stateMachine.appliedIndex, leader.engine.appliedIndex);
      }
      assertReplicasEqual(c);
      // The popped member is gone on every replica.
      for (const n of c.live()) {
        const reply = n.engine.read(cmd('smembers'), ['SMEMBERS', 's'], 2, { follower: true });
        assert.ok(reply instanceof SetReply);
        const members = reply.items;
        assert.equal(members.length, 7);
        assert.ok(!members.includes(popped as string));
      }
    } finally {
      await c.close();
    }
  });
}

test('reads on the leader are linearizable and batched into one ReadIndex per turn', async () => {
  const c = new EngineCluster('memory');
  try {
    await c.startAll();
    const leader = await c.elect(1);
    for (let i = 1; i <= 5; i++) {
      await write(c, leader, 'SET', 'k', `v${i}`);
      assert.equal(await read(c, leader, 'GET', 'k'), `v${i}`, 'a read after an acknowledged write sees it');
    }
    const before = leader.readIndexCalls;
    const reads = [1, 2, 3, 4].map(() => leader.engine.read(cmd('get'), ['GET', 'k'], 2));
    await c.settle();
    assert.deepEqual(await Promise.all(reads), ['v5', 'v5', 'v5', 'v5']);
    assert.equal(leader.readIndexCalls - before, 1, 'four reads share one ReadIndex');
    assert.equal(leader.engine.pendingReads, 0);

    // A follower refuses a plain read (MOVED material) but serves a READONLY one from its own state.
    const follower = c.node(2);
    assert.throws(
      () => follower.engine.read(cmd('get'), ['GET', 'k'], 2),
      (e: unknown) => e instanceof NotLeaderError && e.leader === 1 && e.groupId === GROUP,
    );
    assert.equal(follower.engine.read(cmd('get'), ['GET', 'k'], 2, { follower: true }), 'v5');
    assert.throws(() => follower.engine.write(cmd('set'), ['SET', 'k', 'x'], 2), NotLeaderError);
  } finally {
    await c.close();
  }
});

test('lease reads are served at once by a leader that committed in its term', async () => {
  const c = new EngineCluster('memory', [1, 2, 3], { readConsistency: 'lease' });
  try {
    await c.startAll();
    const leader = await c.elect(1);
    await write(c, leader, 'SET', 'k', 'v');
    const before = leader.readIndexCalls;
    const r = leader.engine.read(cmd('get'), ['GET', 'k'], 2);
    assert.equal(r, 'v', 'answered synchronously');
    assert.equal(leader.readIndexCalls, before, 'no ReadIndex round');
  } finally {
    await c.close();
  }
});

test('an isolated leader answers "outcome unknown" for its in-flight write, which is never applied', async () => {
  const c = new EngineCluster('memory');
  try {
    await c.startAll();
    const old = await c.elect(1);
    await write(c, old, 'SET', 'k', 'before');
    c.allowFrame = (f) => f.from !== 1 && f.to !== 1; // node 1 is cut off
    const pending = old.engine.write(cmd('set'), ['SET', 'k', 'lost'], 2);
    const pendingBatch = old.engine.writeBatch([{ command: cmd('incr'), argv: ['INCR', 'n'] }], 2);
    const pendingRead = old.engine.read(cmd('get'), ['GET', 'k'], 2) as Promise<EngineResult>;
    const readFailure = assert.rejects(pendingRead, NotLeaderError);
    await c.ticks(40); // 2 and 3 elect a new leader; node 1 steps down (check quorum)
    assert.equal(await pending, WRITE_OUTCOME_UNKNOWN);
    assert.deepEqual(await pendingBatch, [WRITE_OUTCOME_UNKNOWN]);
    await readFailure;
    assert.equal(WRITE_OUTCOME_UNKNOWN.message, 'ERR write outcome unknown: leader changed before commit');
    const next = c.leader()!;
    assert.notEqual(next.id, 1);
    c.allowFrame = () => true;
    await write(c, next, 'SET', 'other', '1');
    await c.ticks(3);
    for (const n of c.live()) {
      assert.equal(n.engine.read(cmd('get'), ['GET', 'k'], 2, { follower: true }), 'before', `node ${n.id}`);
      assert.equal(n.engine.read(cmd('get'), ['GET', 'n'], 2, { follower: true }), null);
    }
    assert.equal(old.engine.pendingWriteCount, 0);
    assertReplicasEqual(c);
  } finally {
    await c.close();
  }
});

test('a write committed by the next leader is applied once; a re-proposal with the same id is skipped', async () => {
  const c = new EngineCluster('memory');
  try {
    await c.startAll();
    const old = await c.elect(1);
    await write(c, old, 'SET', 'n', '10');
    // The followers append the entry, but their acknowledgements never reach node 1: it cannot commit.
    c.allowMessage = (_from, to, m) => !(to === 1 && m.message.type === MessageType.AppResp);
    const pending = old.engine.write(cmd('incr'), ['INCR', 'n'], 2);
    await c.settle();
    const incrEntry = c.node(2).memory!.entries(1, c.node(2).memory!.lastIndex() + 1, Infinity).at(-1)!;
    assert.deepEqual(decodeProposal(incrEntry.data).argvs, [['INCR', 'n']], 'node 2 holds the uncommitted INCR');
    c.allowMessage = () => true;
    c.allowFrame = (f) => f.from !== 1 && f.to !== 1;
    await c.ticks(40);
    assert.equal(await pending, WRITE_OUTCOME_UNKNOWN, 'never reported as a plain failure');
    const next = c.leader()!;
    assert.notEqual(next.id, 1);
    c.allowFrame = () => true;
    await write(c, next, 'SET', 'wake', '1'); // a quiesced group catches a returning follower up on traffic
    await c.ticks(3);
    for (const n of c.live()) {
      assert.equal(n.engine.read(cmd('get'), ['GET', 'n'], 2, { follower: true }), '11', `node ${n.id}`);
    }

    // Re-proposing the very same entry (same proposal id) changes nothing anywhere.
    const lastBefore = next.multi.basicStatus(GROUP).applied;
    next.multi.propose(GROUP, incrEntry.data);
    await c.settle();
    assert.ok(next.multi.basicStatus(GROUP).applied > lastBefore, 'the re-proposal was committed and applied');
    for (const n of c.live()) assert.equal(n.engine.read(cmd('get'), ['GET', 'n'], 2, { follower: true }), '11');
    assert.equal(await write(c, next, 'INCR', 'n'), 12);
    assertReplicasEqual(c);
  } finally {
    await c.close();
  }
});

for (const mode of MODES) {
  test(`${mode}: a restarted follower catches up by log replay, then by snapshot install`, async () => {
    const c = new EngineCluster(mode);
    try {
      await c.startAll();
      const leader = await c.elect(1);
      for (let i = 0; i < 10; i++) await write(c, leader, 'SET', `k${i}`, `v${i}`);
      await write(c, leader, 'HSET', 'h', 'a', '1');
      await write(c, leader, 'ZADD', 'z', '3', 'm');
      await write(c, leader, 'SET', 'ttl', 'x', 'PX', '500000');

      // Log replay: node 2 restarts with an empty keyspace and rebuilds it from its own log.
      await c.stop(2);
      await write(c, leader, 'SET', 'while-down', '1');
      const restarted = await c.start(2);
      assert.equal(restarted.keyspace.size(), 0);
      await c.ticks(3);
      assert.equal(restarted.keyspace.size(), 14);
      assertReplicasEqual(c);

      // Snapshot install: node 3 is down while the leader snapshots and compacts its log.
      await c.stop(3);
      for (let i = 0; i < 5; i++) await write(c, leader, 'INCR', 'counter');
      const snap = leader.engine.createSnapshot();
      assert.equal(snap.metadata.index, leader.engine.appliedIndex);
      if (mode === 'memory') {
        leader.memory!.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data);
        leader.memory!.compact(snap.metadata.index);
      } else {
        await leader.disk!.write([{ groupId: GROUP, snapshotTaken: snap, compactTo: snap.metadata.index }]);
      }
      await write(c, leader, 'SADD', 'after-snapshot', 'x');
      const third = await c.start(3);
      await c.ticks(5);
      assert.equal(third.engine.read(cmd('get'), ['GET', 'counter'], 2, { follower: true }), '5');
      assert.equal(third.engine.read(cmd('pttl'), ['PTTL', 'ttl'], 2, { follower: true }), 500000);
      assert.ok(third.engine.appliedIndex > snap.metadata.index);
      const stored = mode === 'memory' ? third.memory! : third.disk!.group(GROUP);
      assert.equal(stored.snapshot().metadata.index, snap.metadata.index, 'node 3 installed the snapshot');
      assertReplicasEqual(c);

      // And node 3 restarts once more from the snapshot it stored, plus its log tail.
      await c.stop(3);
      const again = await c.start(3);
      assert.equal(again.engine.appliedIndex, snap.metadata.index, 'restored from the stored snapshot');
      await c.ticks(3);
      assertReplicasEqual(c);
      // Its dedup table came back too: the leader's sequences are known.
      assert.equal(again.engine.stateMachine.lastSequence(1), leader.engine.stateMachine.lastSequence(1));
      assert.ok(again.engine.stateMachine.lastSequence(1) > 0);
    } finally {
      await c.close();
    }
  });
}

test('MULTI/EXEC is one entry applied atomically on every replica', async () => {
  const c = new EngineCluster('memory');
  try {
    await c.startAll();
    const leader = await c.elect(1);
    const lastBefore = leader.memory!.lastIndex();
    const p = leader.engine.writeBatch(
      [
        { command: cmd('set'), argv: ['SET', 'a', '1'] },
        { command: cmd('incr'), argv: ['INCR', 'a'] },
        { command: cmd('lpush'), argv: ['LPUSH', 'a', 'x'] },
        { command: cmd('get'), argv: ['GET', 'a'] },
      ],
      3,
    );
    await c.settle();
    const replies = await p;
    assert.equal(simple(replies[0]!), 'OK');
    assert.equal(replies[1], 2);
    assert.ok(replies[2] instanceof ErrorReply && replies[2].message.startsWith('WRONGTYPE'));
    assert.equal(replies[3], '2');
    assert.equal(leader.memory!.lastIndex(), lastBefore + 1, 'exactly one log entry');
    for (const n of c.live()) assert.equal(n.engine.read(cmd('get'), ['GET', 'a'], 2, { follower: true }), '2');
    assertReplicasEqual(c);
  } finally {
    await c.close();
  }
});

test('expiry and eviction are deletes proposed by the leader; flush empties every replica', async () => {
  const c = new EngineCluster('memory');
  try {
    await c.startAll();
    const leader = await c.elect(1);
    await write(c, leader, 'SET', 'short', 'x', 'PX', '100');
    await write(c, leader, 'SET', 'long', 'x', 'PX', '100000');
    await write(c, leader, 'SET', 'plain', 'x');
    await write(c, leader, 'SET', 'victim', 'x');
    c.now += 1000;
    // Followers keep the expired key until the leader's delete arrives.
    for (const n of c.live()) assert.equal(n.keyspace.size(), 4);
    assert.throws(() => c.node(2).engine.expireKeys(['short']), NotLeaderError);
    const expired = leader.engine.expireKeys(['short', 'long', 'plain', 'missing']);
    await c.settle();
    assert.equal(await expired, 1);
    for (const n of c.live()) {
      assert.equal(n.keyspace.size(), 3, `node ${n.id}`);
      assert.equal(n.engine.read(cmd('exists'), ['EXISTS', 'long'], 2, { follower: true }), 1);
    }
    const evicted = leader.engine.evictKeys(['victim', 'missing']);
    await c.settle();
    assert.equal(await evicted, 1);
    for (const n of c.live()) {
      assert.equal(n.keyspace.size(), 2);
      assert.equal(n.engine.stateMachine.evictedKeys, 1);
    }
    const flushed = leader.engine.flush();
    await c.settle();
    await flushed;
    for (const n of c.live()) assert.equal(n.keyspace.size(), 0);
    assertReplicasEqual(c);
  } finally {
    await c.close();
  }
});

test('writes of one job become one entry, and a read sees the writes sent before it (pipelines)', async () => {
  for (const readConsistency of ['readindex', 'lease'] as const) {
    const c = new EngineCluster('memory', [1, 2, 3], { readConsistency });
    try {
      await c.startAll();
      const leader = await c.elect(1);
      await write(c, leader, 'SET', 'k', 'old');
      const before = leader.multi.rawNode(GROUP).raft.raftLog.lastIndex();
      // A pipeline: SET, SET, GET sent together, before any turn runs.
      const w1 = leader.engine.write(cmd('set'), ['SET', 'k', 'new'], 2);
      const w2 = leader.engine.write(cmd('incr'), ['INCR', 'n'], 2);
      const r = leader.engine.read(cmd('get'), ['GET', 'k'], 2);
      await c.settle();
      assert.deepEqual([((await w1) as SimpleString).value, await w2, String(await r)], ['OK', 1, 'new'], readConsistency);
      assert.equal(leader.multi.rawNode(GROUP).raft.raftLog.lastIndex(), before + 1, 'both writes in one entry');
      const states = [...c.nodes.values()].map(stateOf);
      assert.ok(states.every((st) => st === states[0]), 'every replica applied the batch alike');
    } finally {
      await c.close();
    }
  }
});

test('pending writes and reads are bounded: past the limit the answer comes at once', async () => {
  const c = new EngineCluster('memory', [1, 2, 3], { maxPendingWrites: 2, maxPendingReads: 2 });
  try {
    await c.startAll();
    const leader = await c.elect(1);
    const w1 = leader.engine.write(cmd('incr'), ['INCR', 'n'], 2);
    const w2 = leader.engine.write(cmd('incr'), ['INCR', 'n'], 2);
    assert.equal(await leader.engine.write(cmd('incr'), ['INCR', 'n'], 2), PENDING_WRITES_FULL);
    assert.equal(leader.engine.pendingWriteCount, 2);
    const r1 = leader.engine.read(cmd('get'), ['GET', 'n'], 2);
    const r2 = leader.engine.read(cmd('get'), ['GET', 'n'], 2);
    assert.equal(leader.engine.read(cmd('get'), ['GET', 'n'], 2), PENDING_READS_FULL);
    await c.settle();
    assert.deepEqual([await w1, await w2], [1, 2]);
    assert.deepEqual([await r1, await r2].map(String), ['2', '2']);
    assert.equal(leader.engine.pendingWriteCount, 0);
    assert.equal(leader.engine.pendingReads, 0);
    // Blocking commands that cannot be served change nothing and say so.
    const blocked = await write(c, leader, 'BLPOP', 'empty-list', '0');
    assert.equal(blocked, WOULD_BLOCK);
  } finally {
    await c.close();
  }
});

test('a restarted node whose sequence start went backwards still has its new writes applied', async () => {
  const c = new EngineCluster('disk');
  try {
    await c.startAll();
    const first = await c.elect(1);
    for (let i = 0; i < 3; i++) await write(c, first, 'INCR', 'n');
    const used = first.engine.stateMachine.lastSequence(1);
    await c.stop(1);
    const restarted = await c.start(1, { sequenceStart: 1 }); // e.g. the clock stepped back
    await c.ticks(30);
    const current = c.leader()!;
    if (current.id !== 1) {
      current.multi.transferLeader(GROUP, 1);
      await c.ticks(3);
    }
    assert.equal(c.leader()?.id, 1);
    assert.equal(await write(c, restarted, 'INCR', 'n'), 4, 'not mistaken for a duplicate');
    assert.ok(restarted.engine.stateMachine.lastSequence(1) > used);
    assertReplicasEqual(c);
  } finally {
    await c.close();
  }
});
