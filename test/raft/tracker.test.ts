// Unit tests of flow control, progress states, quorum arithmetic and the conf change calculator.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Changer, ConfChangeError, restoreConfig } from '../../src/raft/confchange/confchange.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/confchange/encoding.js';
import { JointConfig, MajorityConfig } from '../../src/raft/quorum/quorum.js';
import { Inflights } from '../../src/raft/tracker/inflights.js';
import { Progress } from '../../src/raft/tracker/progress.js';
import { ProgressTracker } from '../../src/raft/tracker/tracker.js';
import { seededRandom } from './harness.js';
import { ConfChangeType, type ConfChange, type ConfState } from '../../src/raft/types.js';

test('Inflights: full by count, full by bytes, freeLE and freeFirstOne', () => {
  const inf = new Inflights(3, 0);
  inf.add(1, 10);
  inf.add(2, 10);
  assert.equal(inf.full(), false);
  inf.add(3, 10);
  assert.equal(inf.full(), true);
  assert.throws(() => inf.add(4, 1));
  inf.freeLE(2);
  assert.equal(inf.count, 1);
  assert.equal(inf.bytes, 10);
  inf.add(4, 5);
  inf.add(5, 5); // wraps around the ring
  assert.equal(inf.full(), true);
  inf.freeFirstOne();
  assert.equal(inf.count, 2);
  inf.freeLE(5);
  assert.equal(inf.count, 0);

  const byBytes = new Inflights(100, 25);
  byBytes.add(1, 10);
  byBytes.add(2, 10);
  assert.equal(byBytes.full(), false);
  byBytes.add(3, 10);
  assert.equal(byBytes.full(), true, 'bytes 30 >= 25');
  byBytes.freeLE(1);
  assert.equal(byBytes.full(), false);
});

test('Progress: probe pauses after one MsgApp, replicate pipelines until inflights are full', () => {
  const pr = new Progress(0, 1, new Inflights(2, 0), false);
  pr.sentEntries(1, 1);
  assert.equal(pr.isPaused(), true, 'probe: one message per round');
  assert.equal(pr.maybeUpdate(1), true);
  assert.equal(pr.isPaused(), false);
  pr.becomeReplicate();
  assert.equal(pr.next, 2);
  pr.sentEntries(2, 2);
  assert.equal(pr.next, 4);
  pr.sentEntries(1, 1);
  assert.equal(pr.isPaused(), true, 'two messages in flight');
  assert.equal(pr.maybeUpdate(1), false, 'stale ack');
  assert.equal(pr.maybeUpdate(3), true);
  pr.inflights.freeLE(3);
  assert.equal(pr.inflights.count, 1);
});

test('Progress.maybeDecrTo: stale rejections are ignored, hints move next back', () => {
  const pr = new Progress(5, 10, new Inflights(8, 0), false);
  pr.becomeReplicate();
  pr.next = 10;
  assert.equal(pr.maybeDecrTo(4, 4), false, 'rejection below match is stale');
  assert.equal(pr.maybeDecrTo(9, 7), true);
  assert.equal(pr.next, 6, 'replicate falls back to match+1');
  const probe = new Progress(0, 10, new Inflights(8, 0), false);
  assert.equal(probe.maybeDecrTo(5, 3), false, 'not the index we probed');
  assert.equal(probe.maybeDecrTo(9, 3), true);
  assert.equal(probe.next, 4);
  assert.equal(probe.maybeDecrTo(3, 0), true);
  assert.equal(probe.next, 1, 'never below match+1');
});

test('Progress: snapshot state pauses and probes from the snapshot index afterwards', () => {
  const pr = new Progress(3, 4, new Inflights(8, 0), false);
  pr.becomeSnapshot(20);
  assert.equal(pr.isPaused(), true);
  pr.becomeProbe();
  assert.equal(pr.next, 21);
});

/** A naive reference: the largest index acknowledged by at least a majority. */
function naiveCommitted(ids: number[], acked: Map<number, number>): number {
  if (ids.length === 0) return Number.MAX_SAFE_INTEGER;
  let best = 0;
  for (const cand of [0, ...acked.values()]) {
    const n = ids.filter((id) => (acked.get(id) ?? 0) >= cand).length;
    if (n > ids.length / 2) best = Math.max(best, cand);
  }
  return best;
}

test('MajorityConfig.committedIndex matches a naive implementation on random inputs', () => {
  const rnd = seededRandom(42);
  for (let iter = 0; iter < 500; iter++) {
    const n = Math.floor(rnd() * 7);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const acked = new Map<number, number>();
    for (const id of ids) if (rnd() < 0.8) acked.set(id, Math.floor(rnd() * 10));
    const got = new MajorityConfig(new Set(ids)).committedIndex((id) => acked.get(id));
    assert.equal(got, naiveCommitted(ids, acked), `ids=${ids} acked=${[...acked]}`);
  }
});

test('JointConfig needs both majorities for commit and votes', () => {
  const j = new JointConfig(new MajorityConfig(new Set([1, 2, 3])), new MajorityConfig(new Set([3, 4, 5])));
  const acked = new Map([
    [1, 10],
    [2, 10],
    [3, 5],
    [4, 7],
    [5, 1],
  ]);
  assert.equal(j.committedIndex((id) => acked.get(id)), 5);
  assert.equal(j.voteResult(new Map([[1, true], [2, true]])), 'pending');
  assert.equal(j.voteResult(new Map([[1, true], [2, true], [4, true], [5, true]])), 'won');
  assert.equal(j.voteResult(new Map([[1, true], [2, true], [4, false], [5, false]])), 'lost');
  const m = new MajorityConfig(new Set([1, 2, 3, 4]));
  assert.equal(m.voteResult(new Map([[1, true], [2, true]])), 'pending');
  assert.equal(m.voteResult(new Map([[1, true], [2, true], [3, true]])), 'won');
  assert.equal(m.voteResult(new Map([[1, false], [2, false], [3, true]])), 'lost');
  assert.equal(new MajorityConfig().voteResult(new Map()), 'won');
});

function trackerWith(cs: ConfState): ProgressTracker {
  const t = new ProgressTracker(10, 0);
  restoreConfig(t, 10, cs);
  return t;
}
const cs = (voters: number[]): ConfState => ({
  voters,
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
});
const add = (nodeId: number) => ({ type: ConfChangeType.AddNode, nodeId });
const addL = (nodeId: number) => ({ type: ConfChangeType.AddLearner, nodeId });
const rm = (nodeId: number) => ({ type: ConfChangeType.RemoveNode, nodeId });

test('Changer.simple allows one voter change at a time', () => {
  const t = trackerWith(cs([1, 2, 3]));
  const r = new Changer(t, 10).simple([add(4)]);
  assert.deepEqual([...r.config.voters.incoming.ids].sort(), [1, 2, 3, 4]);
  assert.equal(r.progress.get(4)!.next, 10);
  assert.throws(() => new Changer(t, 10).simple([add(4), add(5)]), ConfChangeError);
  assert.throws(() => new Changer(t, 10).simple([rm(1), rm(2), rm(3)]), /removed all voters/);
  // Adding a learner and promoting it are each one-voter changes.
  const l = new Changer(t, 10).simple([addL(5)]);
  assert.deepEqual([...l.config.learners], [5]);
  assert.equal(t.config.learners.size, 0, 'inputs are not mutated');
});

test('Changer.enterJoint and leaveJoint, with a demoted voter going through learnersNext', () => {
  const t = trackerWith(cs([1, 2, 3]));
  const j = new Changer(t, 10).enterJoint(true, [addL(3), add(4)]);
  assert.deepEqual([...j.config.voters.incoming.ids].sort(), [1, 2, 4]);
  assert.deepEqual([...j.config.voters.outgoing.ids].sort(), [1, 2, 3]);
  assert.deepEqual([...j.config.learnersNext], [3]);
  assert.equal(j.config.autoLeave, true);
  t.config = j.config;
  t.progress = j.progress;
  assert.throws(() => new Changer(t, 10).enterJoint(false, [add(5)]), /already joint/);
  assert.throws(() => new Changer(t, 10).simple([add(5)]), /joint/);
  const l = new Changer(t, 10).leaveJoint();
  assert.deepEqual([...l.config.voters.incoming.ids].sort(), [1, 2, 4]);
  assert.equal(l.config.voters.outgoing.size, 0);
  assert.deepEqual([...l.config.learners], [3]);
  assert.equal(l.progress.get(3)!.isLearner, true);
  assert.throws(() => new Changer(trackerWith(cs([1])), 1).leaveJoint(), /non-joint/);
});

test('Changer.change picks simple, joint-auto or joint-explicit from the ConfChange', () => {
  const t = trackerWith(cs([1, 2, 3]));
  const simple: ConfChange = { changes: [add(4)], transition: 'auto' };
  assert.equal(new Changer(t, 1).change(simple).config.voters.isJoint(), false);
  const double: ConfChange = { changes: [add(4), add(5)], transition: 'auto' };
  const jr = new Changer(t, 1).change(double);
  assert.equal(jr.config.voters.isJoint(), true);
  assert.equal(jr.config.autoLeave, true);
  const explicit: ConfChange = { changes: [add(4)], transition: 'joint-explicit' };
  const je = new Changer(t, 1).change(explicit);
  assert.equal(je.config.voters.isJoint(), true);
  assert.equal(je.config.autoLeave, false);
});

test('restoreConfig round-trips random configurations', () => {
  const rnd = seededRandom(7);
  for (let iter = 0; iter < 200; iter++) {
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const pick = () => ids.filter(() => rnd() < 0.5);
    const voters = pick();
    if (voters.length === 0) voters.push(1);
    const joint = rnd() < 0.5;
    const outgoing = joint ? pick().filter(() => true) : [];
    if (joint && outgoing.length === 0) outgoing.push(2);
    const learnersNext = joint ? outgoing.filter((id) => !voters.includes(id) && rnd() < 0.5) : [];
    const learners = ids.filter((id) => !voters.includes(id) && !outgoing.includes(id) && rnd() < 0.5);
    const autoLeave = joint && rnd() < 0.5;
    const want: ConfState = { voters, votersOutgoing: outgoing, learners, learnersNext, autoLeave };
    const t = new ProgressTracker(10, 0);
    restoreConfig(t, 5, want);
    assert.deepEqual(t.confState(), {
      voters: [...voters].sort((a, b) => a - b),
      votersOutgoing: [...outgoing].sort((a, b) => a - b),
      learners,
      learnersNext,
      autoLeave: want.autoLeave,
    });
  }
});

test('ConfChange encoding round-trips and rejects garbage', () => {
  const cc: ConfChange = { changes: [add(1), rm(2 ** 40), addL(3)], transition: 'joint-explicit' };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  assert.deepEqual(decodeConfChange(new Uint8Array()), { changes: [], transition: 'auto' });
  assert.throws(() => decodeConfChange(new Uint8Array([9, 0, 0, 0])));
  assert.throws(() => decodeConfChange(new Uint8Array([1, 0, 0, 2, 0])));
});
