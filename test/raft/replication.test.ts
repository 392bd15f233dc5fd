// Log replication: Raft paper §5.3 and §5.4.2, fast backtracking, flow control, snapshots, limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped, isProposalDropped } from '../../src/raft/errors.js';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { EntryType, MessageType, type Entry } from '../../src/raft/types.js';
import { Network, enc, seededRandom } from './harness.js';

const noHardening = { preVote: false, checkQuorum: false };
const entriesOfTerms = (terms: number[]): Entry[] =>
  terms.map((term, i) => ({ term, index: i + 1, type: EntryType.Normal, data: enc(`t${term}i${i + 1}`) }));

test('the leader sends MsgApp with the previous index and term and the commit index', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  const apps = net.node(1).sent.filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0);
  const last = apps.at(-1)!;
  assert.equal(last.index, 1, 'prev index: the empty entry of the election');
  assert.equal(last.logTerm, 1);
  assert.equal(last.entries[0]!.index, 2);
  assert.equal(last.entries[0]!.term, 1);
  assert.equal(last.commit, 1);
  for (const id of [1, 2, 3]) assert.equal(net.raft(id).raftLog.committed, 2);
});

test('leader MsgApps may leave before its own write; acks only after the write', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(1).raw.propose(enc('x'));
  const rd = net.node(1).raw.ready();
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.messages.filter((m) => m.type === MessageType.App).length, 2);
  assert.equal(rd.messagesAfterPersist.length, 0, 'the self-ack is stepped at advance, never sent');
  assert.equal(net.raft(1).raftLog.committed, 1, 'the leader does not count itself before advance');
  net.node(1).storage.append(rd.entries);
  net.node(1).raw.advance(rd);
  assert.equal(net.raft(1).trk.progress.get(1)!.match, 2);
  // A follower's acknowledgement is held until its own write is done.
  for (const m of rd.messages) net.node(m.to).raw.step(m);
  const frd = net.node(2).raw.ready();
  assert.equal(frd.entries.length, 1);
  assert.equal(frd.mustSync, true);
  assert.equal(frd.messages.some((m) => m.type === MessageType.AppResp), false);
  assert.equal(frd.messagesAfterPersist.filter((m) => m.type === MessageType.AppResp).length, 1);
});

test('only entries of the current term commit by counting replicas (Figure 8)', () => {
  const net = new Network([1, 2, 3], noHardening);
  net.nodes.delete(1);
  net.addNode(1, { voters: [1, 2, 3], learners: [] }, {}, (s) => {
    s.append(entriesOfTerms([1, 2]));
    s.setHardState({ term: 2, vote: 0, commit: 0 });
  });
  net.isolate(1);
  net.campaign(1); // candidate at term 3
  net.inject({ type: MessageType.VoteResp, from: 2, to: 1, term: 3 });
  assert.equal(net.raft(1).role, 'leader');
  assert.equal(net.raft(1).raftLog.lastIndex(), 3);
  net.inject({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 });
  assert.equal(net.raft(1).raftLog.committed, 0, 'entry 2 (term 2) on a majority is not committed');
  net.inject({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 });
  assert.equal(net.raft(1).raftLog.committed, 3, 'committing entry 3 commits the ones before it');
});

test('a leader brings divergent follower logs in line (Figure 7), with few rejections', () => {
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: number[][] = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6],
    [1, 1, 1, 4],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    [1, 1, 1, 4, 4, 4, 4],
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  ];
  for (const flog of followers) {
    const net = new Network([1, 2, 3], noHardening);
    net.nodes.delete(1);
    net.nodes.delete(2);
    net.addNode(1, { voters: [1, 2, 3], learners: [] }, {}, (s) => {
      s.append(entriesOfTerms(leaderLog));
      s.setHardState({ term: 8, vote: 0, commit: 0 });
    });
    net.addNode(2, { voters: [1, 2, 3], learners: [] }, {}, (s) => {
      s.append(entriesOfTerms(flog));
      s.setHardState({ term: 7, vote: 0, commit: 0 });
    });
    net.isolate(3);
    net.campaign(1);
    net.inject({ type: MessageType.VoteResp, from: 3, to: 1, term: 9 });
    assert.equal(net.raft(1).role, 'leader', `follower log ${flog}`);
    net.propose(1, 'sync');
    assert.deepEqual(net.logTerms(2), net.logTerms(1), `follower log ${flog}`);
    assert.equal(net.raft(2).raftLog.committed, net.raft(1).raftLog.committed);
    const rejections = net.node(2).sent.filter((m) => m.type === MessageType.AppResp && m.reject).length;
    const distinctTerms = new Set(flog).size;
    assert.ok(rejections <= distinctTerms, `${rejections} rejections for ${flog}`);
  }
});

test('fast backtracking skips a long conflicting tail in one round trip', () => {
  const leaderLog = [1, 1, 1, 1, 1];
  const follower = [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
  const net = new Network([1, 2, 3], noHardening);
  net.nodes.delete(1);
  net.nodes.delete(2);
  net.addNode(1, { voters: [1, 2, 3], learners: [] }, {}, (s) => {
    s.append(entriesOfTerms(leaderLog));
    s.setHardState({ term: 3, vote: 0, commit: 0 });
  });
  net.addNode(2, { voters: [1, 2, 3], learners: [] }, {}, (s) => {
    s.append(entriesOfTerms(follower));
    s.setHardState({ term: 2, vote: 0, commit: 0 });
  });
  net.isolate(3);
  net.campaign(1);
  net.inject({ type: MessageType.VoteResp, from: 3, to: 1, term: 4 });
  net.stabilize();
  const rejections = net.node(2).sent.filter((m) => m.type === MessageType.AppResp && m.reject);
  assert.equal(rejections.length, 1);
  assert.equal(rejections[0]!.rejectHint, 1, 'the hint points at the last entry with term <= 1');
  assert.deepEqual(net.logTerms(2), net.logTerms(1));
});

test('a stale or reordered MsgApp never truncates a longer matching log', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  const e = (index: number): Entry => ({ term: 1, index, type: EntryType.Normal, data: enc(`e${index}`) });
  net.isolate(2); // forged messages straight into 2; its answers go nowhere
  net.inject({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [e(2), e(3)] });
  assert.equal(net.raft(2).raftLog.lastIndex(), 3);
  net.inject({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [e(2)] });
  assert.equal(net.raft(2).raftLog.lastIndex(), 3);
  const acks = net.node(2).sent.filter((m) => m.type === MessageType.AppResp && !m.reject && m.to === 1);
  assert.equal(acks.at(-1)!.index, 2, 'the ack covers what the message carried');
});

test('heartbeats never advance a follower commit past what it is known to hold', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 3; i++) net.propose(1, `p${i}`);
  net.recover();
  net.ignore(MessageType.App); // 3 gets heartbeats only
  net.tick(1, [1]);
  const hb = net.node(1).sent.filter((m) => m.type === MessageType.Heartbeat && m.to === 3).at(-1)!;
  assert.equal(hb.commit, 1, 'min(match of 3, leader commit)');
  assert.equal(net.raft(1).raftLog.committed, 4);
  assert.equal(net.raft(3).raftLog.committed, 1);
});

test('flow control: a full inflight window pauses; a heartbeat response frees one; acks resume', () => {
  const net = new Network([1, 2], { maxInflightMsgs: 3 });
  net.campaign(1);
  net.propose(1, 'warmup'); // 2 is now in replicate state
  assert.equal(net.raft(1).trk.progress.get(2)!.state, 'replicate');
  net.filter = (m) => !(m.type === MessageType.AppResp && m.from === 2);
  const appsTo2 = () =>
    net.node(1).sent.filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0).length;
  const before = appsTo2();
  // One Ready per proposal: proposals stepped together would share one (extended) MsgApp.
  for (let i = 0; i < 10; i++) {
    net.node(1).raw.propose(enc(`p${i}`));
    net.stabilize();
  }
  assert.equal(appsTo2() - before, 3, 'three MsgApps, then paused');
  assert.equal(net.raft(1).trk.progress.get(2)!.isPaused(), true);
  net.tick(1, [1]); // heartbeat -> response frees one slot
  assert.equal(appsTo2() - before, 4);
  net.filter = null;
  net.tick(1, [1]);
  assert.equal(net.node(2).applied.length, 11);
  assert.equal(net.raft(1).trk.progress.get(2)!.isPaused(), false);
});

test('proposals stepped together share one MsgApp per follower, within maxSizePerMsg', () => {
  const net = new Network([1, 2, 3], { maxSizePerMsg: 25 });
  net.campaign(1);
  net.propose(1, 'warmup'); // both followers in replicate state
  const before = net.node(1).sent.length;
  for (let i = 0; i < 5; i++) net.node(1).raw.propose(enc('0123456789'));
  net.stabilize();
  const apps = net.node(1).sent.slice(before).filter((m) => m.type === MessageType.App && m.entries.length > 0);
  for (const to of [2, 3]) {
    const sizes = apps.filter((m) => m.to === to).map((m) => m.entries.length);
    assert.deepEqual(sizes, [2, 2, 1], `follower ${to}: 25-byte messages of 10-byte entries`);
  }
  for (const id of [1, 2, 3]) assert.equal(net.node(id).applied.length, 6, `node ${id} applied everything`);
  const pr = net.raft(1).trk.progress.get(2)!;
  assert.equal(pr.inflights.count, 0, 'one ack per merged message frees every slot');
});

test('flow control by bytes: maxInflightBytes limits what is in flight', () => {
  const net = new Network([1, 2], { maxInflightMsgs: 100, maxInflightBytes: 20, maxSizePerMsg: 10 });
  net.campaign(1);
  net.propose(1, 'warmup');
  net.filter = (m) => !(m.type === MessageType.AppResp && m.from === 2);
  const before = net.node(1).sent.length;
  for (let i = 0; i < 10; i++) net.node(1).raw.propose(enc('0123456789'));
  net.stabilize();
  const apps = net.node(1).sent.slice(before).filter((m) => m.type === MessageType.App && m.to === 2);
  assert.equal(apps.length, 2, '2 x 10 bytes fill the 20-byte window');
});

test('probe state: one MsgApp per heartbeat interval until the follower answers', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(1).raw.reportUnreachable(2);
  assert.equal(net.raft(1).trk.progress.get(2)!.state, 'probe');
  net.filter = (m) => !(m.type === MessageType.AppResp && m.from === 2);
  const count = () => net.node(1).sent.filter((m) => m.type === MessageType.App && m.to === 2).length;
  const before = count();
  for (let i = 0; i < 5; i++) net.node(1).raw.propose(enc(`p${i}`));
  net.stabilize();
  assert.equal(count() - before, 1, 'a single probe while waiting');
  net.filter = null;
  net.tick(1, [1]);
  assert.equal(net.raft(1).trk.progress.get(2)!.state, 'replicate');
  assert.equal(net.node(2).applied.length, 5);
});

test('a follower too far behind gets a snapshot after compaction, then catches up', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 10; i++) net.propose(1, `v${i}`);
  net.compact(1);
  assert.ok(net.node(1).storage.firstIndex() > 2);
  net.recover();
  net.tick(1, [1]);
  const snaps = net.node(1).sent.filter((m) => m.type === MessageType.Snap && m.to === 3);
  assert.equal(snaps.length, 1);
  assert.deepEqual(net.node(3).applied, net.node(1).applied);
  assert.equal(net.raft(1).trk.progress.get(3)!.state, 'replicate', 'the ack after install ends snapshot state');
  net.propose(1, 'after');
  assert.deepEqual(net.node(3).applied.at(-1), 'after');
  assert.deepEqual(net.logTerms(3).slice(-1), net.logTerms(1).slice(-1));
});

test('a failed snapshot send makes the leader probe again and retry', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  net.compact(1);
  net.recover();
  net.reportSnapshots = false;
  net.ignore(MessageType.Snap); // lost in transit
  net.tick(1, [1]);
  assert.equal(net.raft(1).trk.progress.get(3)!.state, 'snapshot');
  assert.equal(net.raft(1).trk.progress.get(3)!.pendingSnapshot, 6, 'the snapshot at the applied index 6');
  net.node(1).raw.reportSnapshot(3, false);
  assert.equal(net.raft(1).trk.progress.get(3)!.state, 'probe');
  net.recover();
  net.tick(2, [1]);
  assert.deepEqual(net.node(3).applied, net.node(1).applied);
});

test('a stale snapshot is ignored; a snapshot the log already covers only advances commit', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  for (let i = 0; i < 3; i++) net.propose(1, `v${i}`);
  const cs = net.node(1).confState;
  const stale = { metadata: { index: 2, term: 1, confState: cs }, data: enc('') };
  net.inject({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: stale });
  assert.equal(net.raft(2).raftLog.lastIndex(), 4);
  assert.deepEqual(net.node(2).applied, ['v0', 'v1', 'v2']);
  const notForMe = { metadata: { index: 9, term: 1, confState: { ...cs, voters: [1, 3] } }, data: enc('') };
  net.inject({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: notForMe });
  assert.equal(net.raft(2).raftLog.lastIndex(), 4, 'a snapshot whose config lacks us is refused');
});

test('proposals are refused with named errors', () => {
  const net = new Network([1, 2, 3]);
  assert.throws(() => net.node(1).raw.propose(enc('x')), (e) => e === ErrProposalDropped['no-leader']);
  net.isolate(1);
  net.campaign(1);
  assert.throws(() => net.node(1).raw.propose(enc('x')), (e) => isProposalDropped(e) && e.reason === 'no-leader');
  net.recover();
  const f = new Network([1, 2, 3], { disableProposalForwarding: true });
  f.campaign(1);
  assert.throws(() => f.node(2).raw.propose(enc('x')), (e) => e === ErrProposalDropped['forwarding-disabled']);
  f.propose(1, 'ok');
  assert.deepEqual(f.node(2).applied, ['ok']);
});

test('a leader past its uncommitted-size limit drops proposals until entries commit', () => {
  const net = new Network([1, 2, 3], { maxUncommittedEntriesSize: 10 });
  net.campaign(1);
  net.isolate(1);
  net.node(1).raw.propose(enc('123456'));
  const overLimit = (e: unknown) => e === ErrProposalDropped['uncommitted-size-limit'];
  assert.throws(() => net.node(1).raw.propose(enc('123456')), overLimit);
  net.node(1).raw.propose(new Uint8Array(0)); // empty entries are never refused
  assert.equal(net.raft(1).uncommittedSize, 6);
  net.recover();
  net.tick(1, [1]);
  assert.equal(net.raft(1).uncommittedSize, 0);
  net.propose(1, '123456');
  assert.deepEqual(net.node(2).applied, ['123456', '123456']);
});

test('committed entries are handed out in pages of maxCommittedSizePerReady', () => {
  const net = new Network([1], { maxCommittedSizePerReady: 10 });
  net.campaign(1);
  for (let i = 0; i < 5; i++) net.node(1).raw.propose(enc(`entry-${i}-`));
  let maxPerReady = 0;
  for (let i = 0; i < 50 && net.node(1).raw.hasReady(); i++) {
    const n = net.node(1);
    const rd = n.raw.ready();
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    maxPerReady = Math.max(maxPerReady, rd.committedEntries.filter((e) => e.data.length > 0).length);
    for (const e of rd.committedEntries) if (e.data.length > 0) n.applied.push(new TextDecoder().decode(e.data));
    n.raw.advance(rd);
  }
  assert.equal(maxPerReady, 1);
  assert.deepEqual(net.node(1).applied, ['entry-0-', 'entry-1-', 'entry-2-', 'entry-3-', 'entry-4-']);
});

test('bootstrap starts a group from nothing; restart resumes from storage', () => {
  const storages = new Map<number, MemoryStorage>();
  const nodes = new Map<number, RawNode>();
  for (const id of [1, 2, 3]) {
    const storage = new MemoryStorage();
    storages.set(id, storage);
    const raw = new RawNode({ id, storage, random: seededRandom(id) });
    raw.bootstrap([1, 2, 3]);
    nodes.set(id, raw);
  }
  const applied = new Map<number, number>();
  const pump = () => {
    for (let round = 0; round < 100; round++) {
      const out = [];
      let moved = false;
      for (const [id, raw] of nodes) {
        if (!raw.hasReady()) continue;
        moved = true;
        const rd = raw.ready();
        storages.get(id)!.append(rd.entries);
        if (rd.hardState) storages.get(id)!.setHardState(rd.hardState);
        out.push(...rd.messages, ...rd.messagesAfterPersist);
        for (const e of rd.committedEntries) applied.set(id, e.index);
        raw.advance(rd);
      }
      if (!moved) return;
      for (const m of out) nodes.get(m.to)!.step(m);
    }
  };
  pump();
  assert.deepEqual(nodes.get(1)!.status().config.voters, [1, 2, 3]);
  nodes.get(2)!.campaign();
  pump();
  assert.equal(nodes.get(2)!.basicStatus().softState.role, 'leader');
  nodes.get(2)!.propose(enc('hello'));
  pump();
  for (const id of [1, 2, 3]) assert.equal(applied.get(id), 5, 'three conf changes, empty entry, hello');
  // Restart node 3 from its storage: same log, same config, same term. The configuration comes from
  // initialState(), so the host records it (here with a snapshot) as of the applied index it restarts at.
  storages.get(3)!.createSnapshot(5, nodes.get(3)!.status().config, enc('state'));
  const restarted = new RawNode({ id: 3, storage: storages.get(3)!, random: seededRandom(9), applied: 5 });
  assert.equal(restarted.raft.raftLog.lastIndex(), 5);
  assert.equal(restarted.raft.term, nodes.get(3)!.raft.term);
  assert.equal(restarted.raft.raftLog.committed, 5);
  assert.deepEqual(restarted.status().config.voters, [1, 2, 3]);
  assert.equal(restarted.hasReady(), false, 'nothing new to persist or apply');
});
