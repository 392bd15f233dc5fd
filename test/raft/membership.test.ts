// Membership changes: simple changes, learners, joint consensus (enter/leave, auto and explicit),
// one change at a time, removing the leader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeType, MessageType, type ConfChange, type ConfChangeSingle } from '../../src/raft/types.js';
import { Network } from './harness.js';

const add = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.AddNode, nodeId });
const addLearner = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.AddLearner, nodeId });
const remove = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.RemoveNode, nodeId });
const simple = (c: ConfChangeSingle): ConfChange => ({ changes: [c], transition: 'auto' });

/** A 3-node group with leader 1 and some history, plus an empty node 4 cut off for now. */
function groupWithHistory(): Network {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  for (let i = 0; i < 3; i++) net.propose(1, `v${i}`);
  net.addNode(4, null);
  net.isolate(4);
  return net;
}

function proposeConf(net: Network, leader: number, cc: ConfChange): void {
  net.node(leader).raw.proposeConfChange(cc);
  net.stabilize();
}

/**
 * Let node 4 join: the leader snapshots (after the change that added 4, so the snapshot's config holds
 * it: an older one would be refused) and compacts, then 4 gets that snapshot.
 */
function join4(net: Network): void {
  net.compact(1);
  net.recover();
  net.tick(1, [1]);
}

test('adding a voter: the new node gets a snapshot, then counts toward the quorum', () => {
  const net = groupWithHistory();
  proposeConf(net, 1, simple(add(4)));
  assert.deepEqual(net.node(1).confState.voters, [1, 2, 3, 4]);
  join4(net);
  assert.equal(net.node(1).sent.filter((m) => m.type === MessageType.Snap && m.to === 4).length, 1);
  assert.deepEqual(net.node(4).applied, ['v0', 'v1', 'v2']);
  assert.deepEqual(net.node(4).confState.voters, [1, 2, 3, 4]);
  // With 4 voters a quorum is 3: 1 and 4 alone cannot commit, 1, 2 and 4 can.
  net.isolate(2);
  net.isolate(3);
  net.node(1).raw.propose(new TextEncoder().encode('needs 3'));
  net.stabilize();
  assert.equal(net.node(4).applied.includes('needs 3'), false);
  net.recover();
  net.isolate(3);
  net.tick(1, [1]);
  assert.equal(net.node(4).applied.at(-1), 'needs 3');
});

test('adding a learner, then promoting it; a learner never counts toward commit', () => {
  const net = groupWithHistory();
  proposeConf(net, 1, simple(addLearner(4)));
  join4(net);
  assert.deepEqual(net.node(4).confState.learners, [4]);
  assert.deepEqual(net.node(4).applied, ['v0', 'v1', 'v2']);
  assert.equal(net.raft(4).isLearner, true);
  // Learner plus leader is not a quorum of {1, 2, 3}.
  net.isolate(2);
  net.isolate(3);
  net.node(1).raw.propose(new TextEncoder().encode('x'));
  net.stabilize();
  assert.equal(net.raft(1).raftLog.committed < net.raft(1).raftLog.lastIndex(), true);
  net.recover();
  net.tick(1, [1]);
  proposeConf(net, 1, simple(add(4)));
  assert.deepEqual(net.node(4).confState.voters, [1, 2, 3, 4]);
  assert.equal(net.raft(4).isLearner, false);
  assert.equal(net.raft(1).trk.progress.get(4)!.isLearner, false);
});

test('removing a follower: the rest commit with the smaller quorum', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  proposeConf(net, 1, simple(remove(3)));
  assert.deepEqual(net.node(1).confState.voters, [1, 2]);
  net.isolate(3);
  net.propose(1, 'two of two');
  assert.deepEqual(net.node(2).applied, ['two of two']);
  // Responses from the removed node are ignored.
  assert.equal(net.raft(1).trk.progress.has(3), false);
});

test('removing the leader: it steps down once the change applies, and the rest elect', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  proposeConf(net, 1, simple(remove(1)));
  assert.equal(net.raft(1).role, 'follower');
  assert.deepEqual(net.node(2).confState.voters, [2, 3]);
  const leader = net.electLeader();
  assert.ok(leader === 2 || leader === 3);
  net.propose(leader, 'after removal');
  assert.deepEqual(net.node(2).applied, ['after removal']);
  assert.deepEqual(net.node(3).applied, ['after removal']);
});

test('joint consensus with auto-leave: replace a voter in one change', () => {
  const net = groupWithHistory();
  net.isolate(3);
  proposeConf(net, 1, { changes: [add(4), remove(3)], transition: 'auto' });
  // {1, 2} is a majority of both {1, 2, 3} and {1, 2, 4}: enter and leave without 3 or 4.
  join4(net);
  net.tick(1, [1]);
  const history = net.node(2).confHistory;
  assert.deepEqual(history.at(-2), {
    voters: [1, 2, 4],
    votersOutgoing: [1, 2, 3],
    learners: [],
    learnersNext: [],
    autoLeave: true,
  });
  assert.deepEqual(history.at(-1)!.voters, [1, 2, 4]);
  assert.deepEqual(history.at(-1)!.votersOutgoing, [], 'left the joint configuration by itself');
  net.propose(1, 'new config');
  assert.equal(net.node(4).applied.at(-1), 'new config');
});

test('while joint, both majorities are needed to commit', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.addNode(4, { voters: [1, 2, 3], learners: [] });
  net.addNode(5, { voters: [1, 2, 3], learners: [] });
  proposeConf(net, 1, { changes: [add(4), add(5), remove(2), remove(3)], transition: 'joint-explicit' });
  assert.deepEqual(net.node(1).confState.votersOutgoing, [1, 2, 3]);
  assert.deepEqual(net.node(1).confState.voters, [1, 4, 5]);
  // The new majority {1, 4, 5} alone is not enough: the old one {1, 2, 3} must agree too.
  net.isolate(2);
  net.isolate(3);
  net.node(1).raw.propose(new TextEncoder().encode('joint'));
  net.stabilize();
  assert.equal(net.node(4).applied.includes('joint'), false);
  net.recover();
  net.tick(1, [1]);
  assert.equal(net.node(4).applied.at(-1), 'joint');
  // Explicit: still joint until the empty change.
  assert.deepEqual(net.node(1).confState.votersOutgoing, [1, 2, 3]);
  proposeConf(net, 1, { changes: [], transition: 'auto' });
  assert.deepEqual(net.node(1).confState.votersOutgoing, []);
  net.isolate(2);
  net.isolate(3);
  net.propose(1, 'new only');
  assert.equal(net.node(5).applied.at(-1), 'new only');
});

test('a voter demoted in a joint change waits in learnersNext, then becomes a learner', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  proposeConf(net, 1, { changes: [addLearner(3)], transition: 'joint-implicit' });
  const history = net.node(1).confHistory;
  assert.deepEqual(history[0]!.learnersNext, [3]);
  assert.deepEqual(history[0]!.votersOutgoing, [1, 2, 3]);
  assert.deepEqual(history.at(-1)!.learners, [3]);
  assert.deepEqual(history.at(-1)!.voters, [1, 2]);
  assert.equal(net.raft(3).isLearner, true);
});

test('replacing the leader through a joint change: it steps down after leaving', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.addNode(4, { voters: [1, 2, 3], learners: [] });
  proposeConf(net, 1, { changes: [add(4), remove(1)], transition: 'auto' });
  assert.deepEqual(net.node(2).confState.voters, [2, 3, 4]);
  assert.deepEqual(net.node(2).confState.votersOutgoing, []);
  assert.equal(net.raft(1).role, 'follower');
  const leader = net.electLeader();
  assert.notEqual(leader, 1);
});

test('one conf change at a time: a second one while the first is unapplied becomes an empty entry', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1); // nothing commits, so nothing applies
  net.node(1).raw.proposeConfChange(simple(remove(3)));
  net.node(1).raw.proposeConfChange(simple(remove(2)));
  net.stabilize();
  const log = net.raft(1).raftLog;
  const ents = log.slice(2, log.lastIndex() + 1, Infinity);
  assert.deepEqual(
    ents.map((e) => [e.type, e.data.length > 0]),
    [
      [1, true],
      [0, false],
    ],
  );
  // Also refused: leaving a joint config when not joint, and an illegal change.
  net.recover();
  net.tick(1, [1]);
  assert.deepEqual(net.node(1).confState.voters, [1, 2]);
  const before = net.node(1).confHistory.length;
  proposeConf(net, 1, { changes: [], transition: 'auto' }); // not joint: nothing to leave
  proposeConf(net, 1, { changes: [remove(1), remove(2)], transition: 'auto' }); // would remove all voters
  assert.equal(net.node(1).confHistory.length, before, 'both became empty normal entries');
  assert.deepEqual(net.node(1).confState.voters, [1, 2]);
  assert.equal(net.raft(1).raftLog.committed, net.raft(1).raftLog.lastIndex());
});

test('a new leader may not change the configuration before everything before it applied', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  assert.equal(net.raft(1).pendingConfIndex, 0, 'log was empty at election');
  net.propose(1, 'a');
  net.node(2).raw.forgetLeader();
  net.node(3).raw.forgetLeader();
  net.campaign(2);
  assert.equal(net.raft(2).pendingConfIndex, 2, 'conservatively, the last index at election');
});
