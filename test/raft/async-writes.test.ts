// Asynchronous storage writes (etcd's AsyncStorageWrites): a RawNode hands out a second Ready before the
// first is advanced, and the Multi-Raft host keeps two turns in flight. Nothing is handed out twice,
// acknowledgements wait for their own write, and advances must come in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { MultiRaft } from '../../src/raft/multi/multi-raft.js';
import type { Frame, GroupWrite } from '../../src/raft/multi/ports.js';
import { MessageType, type GroupId, type NodeId } from '../../src/raft/types.js';
import { Network, dec, enc, seededRandom } from './harness.js';

test('a second Ready while the first is outstanding holds only what is new', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  const raw = net.node(1).raw;
  raw.propose(enc('a'));
  const rd1 = raw.ready();
  assert.deepEqual(rd1.entries.map((e) => dec(e.data)), ['a']);
  raw.propose(enc('b'));
  assert.equal(raw.hasReady(), true);
  const rd2 = raw.ready();
  assert.deepEqual(rd2.entries.map((e) => dec(e.data)), ['b'], 'entry a is not handed out again');
  assert.equal(rd2.entries[0]!.index, rd1.entries[0]!.index + 1);
  assert.equal(raw.readysInFlight(), 2);
  assert.equal(raw.hasReady(), false, 'nothing new: both Readys are in flight');

  assert.throws(() => raw.advance(rd2), /out of order/);
  // Persist and advance in order; the leader's own acks count only then.
  net.node(1).storage.append(rd1.entries);
  raw.advance(rd1);
  assert.equal(net.raft(1).trk.progress.get(1)!.match, rd1.entries[0]!.index);
  net.node(1).storage.append(rd2.entries);
  raw.advance(rd2);
  assert.equal(net.raft(1).trk.progress.get(1)!.match, rd2.entries[0]!.index);
  assert.equal(raw.readysInFlight(), 0);
  assert.throws(() => raw.advance(), /without an outstanding/);

  // The MsgApps of both Readys reach the followers; both entries commit and apply everywhere.
  for (const m of [...rd1.messages, ...rd2.messages]) net.node(m.to).raw.step(m);
  net.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(net.node(id).applied, ['a', 'b'], `node ${id}`);
});

test('a follower acknowledges each append only after that append is durable', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  const leader = net.node(1).raw;
  const follower = net.node(2).raw;
  const appsTo2 = () => {
    const rd = leader.ready();
    net.node(1).storage.append(rd.entries);
    leader.advance(rd);
    return rd.messages.filter((m) => m.to === 2 && m.type === MessageType.App);
  };
  leader.propose(enc('a'));
  for (const m of appsTo2()) follower.step(m);
  const f1 = follower.ready();
  leader.propose(enc('b'));
  for (const m of appsTo2()) follower.step(m);
  const f2 = follower.ready();
  const acked = (rd: typeof f1) => rd.messagesAfterPersist.filter((m) => m.type === MessageType.AppResp).map((m) => m.index);
  assert.deepEqual(f1.entries.map((e) => dec(e.data)), ['a']);
  assert.deepEqual(f2.entries.map((e) => dec(e.data)), ['b']);
  assert.deepEqual(acked(f1), [f1.entries[0]!.index], 'the first ack covers only the first write');
  assert.deepEqual(acked(f2), [f2.entries[0]!.index]);
  assert.equal(f2.messages.filter((m) => m.type === MessageType.AppResp).length, 0, 'no ack leaves early');
});

/** Three nodes, one group, an asynchronous storage port that completes writes in order when released. */
function pipelinedCluster(turnsInFlightMax: number) {
  const frames: Frame[] = [];
  const nodes = new Map<NodeId, { multi: MultiRaft; storage: MemoryStorage; applied: string[] }>();
  const GROUP: GroupId = 7;
  for (const id of [1, 2, 3]) {
    const storage = new MemoryStorage({ voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false });
    const applied: string[] = [];
    let tail = Promise.resolve();
    const persist = (writes: readonly GroupWrite[]) => {
      for (const w of writes) {
        if (w.entries) storage.append(w.entries);
        if (w.hardState) storage.setHardState(w.hardState);
      }
    };
    const multi = new MultiRaft({
      nodeId: id,
      random: seededRandom(id),
      turnsInFlightMax,
      quiesceAfterTicks: 0,
      storage: { write: (writes) => (tail = tail.then(() => persist(writes))) },
      transport: { send: (f) => frames.push(f) },
      applier: {
        apply: (_g, entries) => {
          for (const e of entries) if (e.data.length > 0) applied.push(dec(e.data));
        },
      },
    });
    multi.createGroup(GROUP, { storage });
    nodes.set(id, { multi, storage, applied });
  }
  const pump = async () => {
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (const n of nodes.values()) {
        for (let i = 0; i < 100 && n.multi.hasWork(); i++) {
          await n.multi.turn();
          moved = true;
        }
      }
      for (const f of frames.splice(0)) {
        nodes.get(f.to)!.multi.receive(f);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('cluster did not settle');
  };
  return { frames, nodes, pump, GROUP };
}

test('the host with two turns in flight sends the next appends before the first write completes', async () => {
  const { frames, nodes, pump, GROUP } = pipelinedCluster(2);
  const n1 = nodes.get(1)!.multi;
  n1.campaign(GROUP);
  await pump();
  assert.equal(n1.basicStatus(GROUP).softState.lead, 1);

  n1.propose(GROUP, enc('a'));
  const p1 = n1.turn();
  n1.propose(GROUP, enc('b'));
  const p2 = n1.turn();
  assert.ok(p1 instanceof Promise && p2 instanceof Promise);
  assert.notEqual(p1, p2, 'the second turn started while the first write is in flight');
  assert.equal(n1.turnsInFlight, 2);
  n1.propose(GROUP, enc('c'));
  assert.equal(n1.turn(), p1, 'a full pipeline starts nothing and returns the oldest turn');
  const sentData = frames.flatMap((f) => f.messages.flatMap((m) => m.message.entries.map((e) => dec(e.data))));
  assert.deepEqual([...new Set(sentData)].sort(), ['a', 'b'], 'both appends left before any write completed');

  let firstDone = false;
  void p1!.then(() => (firstDone = true));
  await p2;
  assert.equal(firstDone, true, 'turns complete in order');
  assert.equal(n1.turnsInFlight, 0);
  await pump();
  for (const [id, n] of nodes) assert.deepEqual(n.applied, ['a', 'b', 'c'], `node ${id} applied each entry once, in order`);
});

test('turnsInFlightMax defaults to one turn at a time and rejects nonsense', () => {
  const { nodes } = pipelinedCluster(1);
  const n1 = nodes.get(1)!.multi;
  const p1 = n1.turn();
  assert.equal(n1.turn(), p1);
  assert.throws(
    () =>
      new MultiRaft({
        nodeId: 1,
        random: seededRandom(1),
        turnsInFlightMax: 0,
        storage: { write: () => undefined },
        transport: { send: () => undefined },
        applier: { apply: () => undefined },
      }),
    /turnsInFlightMax/,
  );
});
