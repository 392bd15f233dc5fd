// Linearizable reads (ReadIndex, lease) and leadership transfer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped } from '../../src/raft/errors.js';
import { MessageType } from '../../src/raft/types.js';
import { Network, dec, enc } from './harness.js';

test('ReadIndex on the leader: answered after a heartbeat quorum, at the commit index', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.node(1).raw.readIndex(enc('r1'));
  net.stabilize();
  const hbs = net.node(1).sent.filter((m) => m.type === MessageType.Heartbeat && m.context !== null);
  assert.equal(hbs.length, 2, 'one confirming heartbeat per follower');
  assert.equal(dec(hbs[0]!.context!), 'r1');
  assert.deepEqual(
    net.node(1).readStates.map((rs) => [rs.index, dec(rs.context)]),
    [[2, 'r1']],
  );
});

test('ReadIndex is not answered by a leader that cannot reach a quorum', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  net.node(1).raw.readIndex(enc('lost'));
  net.tick(5, [1]);
  assert.deepEqual(net.node(1).readStates, []);
});

test('reads are batched: one heartbeat round answers every request queued before it', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.ignore(MessageType.HeartbeatResp);
  net.node(1).raw.readIndex(enc('x'));
  net.node(1).raw.readIndex(enc('y'));
  net.node(1).raw.readIndex(enc('y')); // duplicate context: ignored
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, []);
  net.recover();
  net.tick(1, [1]); // the next heartbeat carries the latest context, 'y'
  assert.deepEqual(
    net.node(1).readStates.map((rs) => dec(rs.context)),
    ['x', 'y'],
  );
});

test('ReadIndex from a follower is forwarded and answered with the leader commit index', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.node(3).raw.readIndex(enc('from-3'));
  net.stabilize();
  assert.deepEqual(
    net.node(3).readStates.map((rs) => [rs.index, dec(rs.context)]),
    [[2, 'from-3']],
  );
  assert.deepEqual(net.node(1).readStates, []);
  // A follower without a leader drops the request (the caller retries with a new context).
  const lonely = new Network([1, 2, 3]);
  lonely.node(2).raw.readIndex(enc('nobody'));
  lonely.stabilize();
  assert.deepEqual(lonely.node(2).readStates, []);
});

test('a new leader answers reads only after an entry of its own term commits', () => {
  const net = new Network([1, 2, 3]);
  // Followers' acks are lost: the election's empty entry does not commit.
  net.filter = (m) => m.type !== MessageType.AppResp || m.to !== 1 || m.from === 1;
  net.campaign(1);
  assert.equal(net.raft(1).role, 'leader');
  assert.equal(net.raft(1).raftLog.committed, 0);
  net.node(1).raw.readIndex(enc('early'));
  net.stabilize();
  net.tick(2, [1]);
  assert.deepEqual(net.node(1).readStates, [], 'held: commit index may lag the old leader');
  net.filter = null;
  net.tick(1, [1]);
  assert.equal(net.raft(1).raftLog.committed, 1);
  assert.deepEqual(
    net.node(1).readStates.map((rs) => [rs.index, dec(rs.context)]),
    [[1, 'early']],
  );
});

test('single-voter groups and lease-based reads answer at once', () => {
  const single = new Network([1]);
  single.campaign(1);
  single.node(1).raw.readIndex(enc('solo'));
  single.stabilize();
  assert.deepEqual(single.node(1).readStates.map((rs) => dec(rs.context)), ['solo']);

  const lease = new Network([1, 2, 3], { readOnlyOption: 'lease-based' });
  lease.campaign(1);
  const sentBefore = lease.node(1).sent.length;
  lease.node(1).raw.readIndex(enc('lease'));
  lease.stabilize();
  assert.deepEqual(lease.node(1).readStates.map((rs) => dec(rs.context)), ['lease']);
  assert.equal(lease.node(1).sent.length, sentBefore, 'no heartbeat round');
  assert.throws(
    () => new Network([1], { readOnlyOption: 'lease-based', checkQuorum: false }),
    /CheckQuorum must be enabled/,
  );
});

test('leadership transfer to an up-to-date follower (bypasses pre-vote and the lease)', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.node(1).raw.transferLeader(2);
  net.stabilize();
  assert.equal(net.leader(), 2);
  assert.equal(net.raft(1).role, 'follower');
  assert.equal(net.raft(2).term, 2);
  net.propose(2, 'b');
  assert.deepEqual(net.node(1).applied, ['a', 'b']);
});

test('leadership transfer to a lagging follower: catch up first, then MsgTimeoutNow', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 3; i++) net.propose(1, `v${i}`);
  net.recover();
  net.node(1).raw.transferLeader(3);
  net.stabilize();
  assert.equal(net.leader(), 3);
  assert.deepEqual(net.node(3).applied, ['v0', 'v1', 'v2']);
  const timeoutNow = net.node(1).sent.filter((m) => m.type === MessageType.TimeoutNow);
  assert.equal(timeoutNow.length, 1);
});

/** Leader 1 (with 'a' committed) transferring to node 3, which is cut off: the transfer cannot finish. */
function transferStuckOnIsolatedNode3(): Network {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  net.propose(1, 'a');
  net.node(1).raw.transferLeader(3);
  net.stabilize();
  assert.equal(net.raft(1).leadTransferee, 3);
  return net;
}

test('proposals are dropped during a transfer, and a stuck transfer aborts after an election timeout', () => {
  const net = transferStuckOnIsolatedNode3();
  assert.throws(() => net.node(1).raw.propose(enc('x')), (e) => e === ErrProposalDropped['leader-transfer']);
  net.tick(10, [1, 2]);
  assert.equal(net.raft(1).leadTransferee, 0, 'aborted');
  assert.equal(net.leader(), 1);
  net.propose(1, 'after abort');
  assert.deepEqual(net.node(2).applied, ['a', 'after abort']);
});

test('transfers to self, to a non-member and to a learner are ignored; followers forward requests', () => {
  const net = new Network([1, 2, 3], { learners: [4] });
  net.campaign(1);
  for (const to of [1, 9, 4]) {
    net.node(1).raw.transferLeader(to);
    net.stabilize();
    assert.equal(net.raft(1).leadTransferee, 0, `transfer to ${to}`);
    assert.equal(net.leader(), 1);
  }
  net.node(2).raw.transferLeader(2); // asked at the follower: forwarded to the leader
  net.stabilize();
  assert.equal(net.leader(), 2);
});

test('a second transfer request to another node replaces the first', () => {
  const net = transferStuckOnIsolatedNode3();
  net.node(1).raw.transferLeader(2);
  net.stabilize();
  assert.equal(net.leader(), 2);
});
