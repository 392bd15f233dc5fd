// Elections: Raft paper §5.2 and §5.4.1, pre-vote and check-quorum (thesis §9.6), learners.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../src/raft/types.js';
import { Network } from './harness.js';

const noHardening = { preVote: false, checkQuorum: false };

test('a candidate with a majority wins; every node starts as a follower', () => {
  const net = new Network([1, 2, 3, 4, 5]);
  for (const id of [1, 2, 3, 4, 5]) assert.equal(net.raft(id).role, 'follower');
  net.isolate(4);
  net.isolate(5);
  net.campaign(1);
  assert.equal(net.raft(1).role, 'leader');
  assert.equal(net.raft(1).term, 1);
  assert.equal(net.raft(2).lead, 1);
});

test('a candidate without a majority does not win', () => {
  const net = new Network([1, 2, 3, 4, 5], noHardening);
  net.isolate(3);
  net.isolate(4);
  net.isolate(5);
  net.campaign(1);
  assert.equal(net.raft(1).role, 'candidate');
  assert.equal(net.raft(1).term, 1);
  const pre = new Network([1, 2, 3, 4, 5]);
  pre.isolate(3);
  pre.isolate(4);
  pre.isolate(5);
  pre.campaign(1);
  assert.equal(pre.raft(1).role, 'pre-candidate');
  assert.equal(pre.raft(1).term, 0, 'a pre-candidate does not bump its term');
});

test('a quorum of one: a single node elects itself and commits at once', () => {
  const net = new Network([1]);
  net.campaign(1);
  assert.equal(net.raft(1).role, 'leader');
  net.propose(1, 'x');
  assert.equal(net.raft(1).raftLog.committed, 2);
  assert.deepEqual(net.node(1).applied, ['x']);
});

test('elections happen by ticks, with timeouts randomized in [E, 2E)', () => {
  const net = new Network([1, 2, 3]);
  const leader = net.electLeader();
  assert.notEqual(leader, 0);
  const seen = new Set<number>();
  for (const id of [1, 2, 3]) {
    const r = net.raft(id);
    for (let i = 0; i < 50; i++) {
      r.becomeFollower(r.term, r.lead);
      assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20);
      seen.add(r.randomizedElectionTimeout);
    }
  }
  assert.ok(seen.size > 3, 'timeouts vary');
});

test('first come first served: a follower votes for one candidate per term', () => {
  const net = new Network([1, 2, 3], noHardening);
  net.inject({ type: MessageType.Vote, from: 2, to: 1, term: 1, index: 0, logTerm: 0 });
  net.inject({ type: MessageType.Vote, from: 3, to: 1, term: 1, index: 0, logTerm: 0 });
  const resps = net.node(1).sent.filter((m) => m.type === MessageType.VoteResp);
  assert.deepEqual(
    resps.map((m) => [m.to, m.reject]),
    [
      [2, false],
      [3, true],
    ],
  );
  assert.equal(net.raft(1).vote, 2);
  // A repeated request from the same candidate is granted again.
  net.inject({ type: MessageType.Vote, from: 2, to: 1, term: 1, index: 0, logTerm: 0 });
  assert.equal(net.node(1).sent.filter((m) => m.type === MessageType.VoteResp).at(-1)!.reject, false);
});

test('a vote response leaves only after the vote is durable', () => {
  const net = new Network([1, 2, 3], noHardening);
  const n1 = net.node(1);
  n1.raw.step({
    type: MessageType.Vote, from: 2, to: 1, term: 5, index: 0, logTerm: 0, commit: 0,
    entries: [], reject: false, rejectHint: 0, snapshot: null, context: null,
  });
  const rd = n1.raw.ready();
  assert.equal(rd.messages.some((m) => m.type === MessageType.VoteResp), false);
  assert.equal(rd.messagesAfterPersist.filter((m) => m.type === MessageType.VoteResp).length, 1);
  assert.deepEqual(rd.hardState, { term: 5, vote: 2, commit: 0 });
  assert.equal(rd.mustSync, true);
  n1.raw.advance(rd);
});

test('a voter rejects a candidate whose log is less up to date (§5.4.1)', () => {
  const net = new Network([1, 2, 3], noHardening);
  net.campaign(1);
  net.propose(1, 'a');
  // Node 3 missed entries: its log is shorter, so it cannot win.
  net.isolate(3);
  net.propose(1, 'b');
  net.recover();
  net.cut(1, 3); // 3 may only reach 2
  net.cut(1, 2);
  net.campaign(3);
  assert.notEqual(net.raft(3).role, 'leader');
  const resp = net.node(2).sent.filter((m) => m.type === MessageType.VoteResp && m.to === 3);
  assert.equal(resp.at(-1)!.reject, true);
  // Node 2, more up to date, can win against 3's vote.
  net.campaign(2);
  assert.equal(net.raft(2).role, 'leader');
});

test('split votes resolve in a later term', () => {
  const net = new Network([1, 2, 3, 4], noHardening);
  // 1 and 2 campaign at the same time, each gets one extra vote: 2 of 4 is not a majority.
  net.cut(1, 4);
  net.cut(2, 3);
  net.cut(1, 2);
  net.node(1).raw.campaign();
  net.node(2).raw.campaign();
  net.stabilize();
  assert.equal(net.raft(1).role, 'candidate');
  assert.equal(net.raft(2).role, 'candidate');
  assert.equal(net.leader(), 0);
  net.recover();
  const leader = net.electLeader();
  assert.ok(net.raft(leader).term >= 2);
  net.propose(leader, 'after split');
  for (const id of [1, 2, 3, 4]) assert.deepEqual(net.node(id).applied, ['after split']);
});

test('a leader seeing a higher term steps down; a candidate concedes to a leader of its term', () => {
  const net = new Network([1, 2, 3], noHardening);
  net.campaign(1);
  net.inject({ type: MessageType.Heartbeat, from: 2, to: 1, term: 7 });
  assert.equal(net.raft(1).role, 'follower');
  assert.equal(net.raft(1).term, 7);
  assert.equal(net.raft(1).lead, 2);

  const net2 = new Network([1, 2, 3], noHardening);
  net2.isolate(1);
  net2.campaign(1); // candidate at term 1
  net2.inject({ type: MessageType.App, from: 2, to: 1, term: 1, index: 0, logTerm: 0 });
  assert.equal(net2.raft(1).role, 'follower');
  assert.equal(net2.raft(1).lead, 2);
});

test('messages of a stale term are ignored, and a stale leader is told the new term', () => {
  const net = new Network([1, 2, 3], { checkQuorum: false });
  net.campaign(1);
  net.campaign(2); // term 2; 1 is deposed
  assert.equal(net.raft(2).role, 'leader');
  const before = net.logTerms(2);
  net.inject({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [] });
  assert.deepEqual(net.logTerms(2), before);
  const reply = net.node(2).sent.filter((m) => m.to === 1 && m.type === MessageType.AppResp).at(-1)!;
  assert.equal(reply.term, 2, 'the stale leader learns the higher term');
});

test('pre-vote: a partitioned node does not bump its term and does not disrupt when it rejoins', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  const term = net.raft(1).term;
  net.isolate(3);
  net.tick(60);
  assert.equal(net.raft(3).term, term, 'pre-votes failed, the term did not move');
  assert.equal(net.raft(3).role, 'pre-candidate');
  net.recover();
  net.tick(3);
  assert.equal(net.leader(), 1);
  assert.equal(net.raft(1).term, term);
  assert.equal(net.raft(3).lead, 1);
});

test('without pre-vote and check-quorum, a rejoining node does disrupt the leader', () => {
  const net = new Network([1, 2, 3], noHardening);
  net.campaign(1);
  const term = net.raft(1).term;
  net.isolate(3);
  net.tick(60);
  assert.ok(net.raft(3).term > term + 1, 'the isolated node kept bumping its term');
  net.recover();
  net.tick(1, [3]); // its next vote request (or reply) carries the high term
  net.tick(40);
  assert.ok(net.raft(1).term > term, 'the old leader was deposed');
});

test('check-quorum: a leader that cannot hear a quorum steps down', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  net.tick(10, [1]);
  assert.equal(net.raft(1).role, 'leader', 'first check marks peers inactive');
  net.tick(10, [1]);
  assert.equal(net.raft(1).role, 'follower');
});

test('partial partition (one link down): the leader stays and the group stays available', () => {
  // The Cloudflare 2020 shape: 3 cannot reach leader 1 but can reach 2, which still hears 1.
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.cut(1, 3);
  for (let i = 0; i < 10; i++) {
    net.tick(10);
    net.propose(1, `p${i}`);
  }
  assert.equal(net.leader(), 1);
  assert.equal(net.raft(1).term, 1, 'no term churn');
  assert.equal(net.node(2).applied.length, 10);
});

test('check-quorum lease: followers ignore vote requests while they hear from a leader', () => {
  const net = new Network([1, 2, 3], { preVote: false, checkQuorum: true });
  net.campaign(1);
  net.cut(1, 3);
  net.campaign(3); // real vote at term 2, but 2 is in lease with leader 1
  assert.equal(net.raft(3).role, 'candidate');
  assert.equal(net.raft(2).term, 1, 'node 2 ignored the request');
  assert.equal(net.raft(2).vote, 1);
  assert.equal(net.leader(), 1);
  // Disruptive follower (etcd TestDisruptiveFollower): once it can reach the leader, its reply at
  // the higher term to a heartbeat deposes the leader.
  net.recover();
  net.tick(1, [1]);
  assert.equal(net.raft(1).role, 'follower');
  assert.equal(net.raft(1).term, 2);
});

test('check-quorum with pre-vote: the same disruptive follower is harmless', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.cut(1, 3);
  net.campaign(3);
  assert.equal(net.raft(3).role, 'pre-candidate');
  assert.equal(net.raft(3).term, 1);
  net.recover();
  net.tick(2);
  assert.equal(net.leader(), 1);
  assert.equal(net.raft(1).term, 1);
});

test('pre-vote with a lower-term follower: the rejection carries our term so nobody deadlocks', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.isolate(2);
  net.node(2).raw.forgetLeader();
  // A real vote request at term 2 with a short log: refused, but node 2 moves to term 2.
  net.inject({ type: MessageType.Vote, from: 3, to: 2, term: 2, index: 0, logTerm: 0 });
  assert.equal(net.raft(2).term, 2);
  // A pre-vote for term 2 from a node at term 1 is lower than ours: rejected WITH our term.
  net.inject({ type: MessageType.PreVote, from: 3, to: 2, term: 1, index: 5, logTerm: 1 });
  const r = net.node(2).sent.filter((m) => m.type === MessageType.PreVoteResp && m.to === 3).at(-1);
  assert.ok(r !== undefined);
  assert.equal(r.reject, true);
  assert.equal(r.term, 2);
});

test('learners never campaign and their votes do not count', () => {
  const net = new Network([1, 2], { learners: [3] });
  net.tick(100, [3]);
  assert.equal(net.raft(3).role, 'follower');
  assert.equal(net.raft(3).term, 0);
  net.campaign(3);
  assert.equal(net.raft(3).role, 'follower');
  // 1 and 2 are both needed: the learner's grant does not make a majority.
  net.cut(1, 2);
  net.campaign(1);
  assert.notEqual(net.raft(1).role, 'leader');
  net.recover();
  net.campaign(1);
  assert.equal(net.raft(1).role, 'leader');
  net.propose(1, 'to learner');
  assert.deepEqual(net.node(3).applied, ['to learner']);
});

test('a learner grants a vote when asked (it may have been promoted without knowing yet)', () => {
  const net = new Network([1, 2], { learners: [3], ...noHardening });
  net.inject({ type: MessageType.Vote, from: 1, to: 3, term: 1, index: 0, logTerm: 0 });
  const r = net.node(3).sent.filter((m) => m.type === MessageType.VoteResp).at(-1)!;
  assert.equal(r.reject, false);
});

test('forgetLeader lets a quorum that knows the leader is dead elect at once', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  net.campaign(2);
  assert.equal(net.raft(2).role, 'pre-candidate', 'refused: 3 is still in lease with 1');
  net.node(3).raw.forgetLeader();
  net.node(2).raw.forgetLeader();
  net.campaign(2);
  assert.equal(net.raft(2).role, 'leader');
});

test('a node with an unapplied conf change in its committed log does not campaign', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  // Stop node 2 from applying: take its Ready but do not advance it.
  net.node(1).raw.proposeConfChange({ changes: [{ type: 2, nodeId: 4 }], transition: 'auto' });
  net.processReady(1);
  net.deliver();
  // Node 2 receives the entry; now commit it by hand on node 2 without applying.
  const r2 = net.raft(2);
  r2.raftLog.commitTo(r2.raftLog.lastIndex());
  const termBefore = r2.term;
  net.isolate(2);
  net.node(2).raw.campaign();
  assert.equal(r2.role, 'follower');
  assert.equal(r2.term, termBefore);
});
