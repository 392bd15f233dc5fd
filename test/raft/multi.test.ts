// The Multi-Raft host with in-memory ports: 3 nodes x 64 groups elect, replicate, coalesce heartbeats
// into one frame per peer per turn, quiesce when idle, and recover when a node stops.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { MultiRaft, type MultiRaftOptions } from '../../src/raft/multi/multi-raft.js';
import type { Frame, GroupWrite } from '../../src/raft/multi/ports.js';
import { MessageType, type GroupId, type NodeId } from '../../src/raft/types.js';
import { dec, enc, seededRandom } from './harness.js';

interface SimNode {
  multi: MultiRaft;
  storages: Map<GroupId, MemoryStorage>;
  applied: Map<GroupId, string[]>;
  writes: number;
}

class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  frames: Frame[] = [];
  readonly stopped = new Set<NodeId>();
  /** Every frame ever sent, for counting. */
  readonly sent: Frame[] = [];

  constructor(
    readonly nodeIds: NodeId[],
    readonly groupIds: GroupId[],
    options: Partial<MultiRaftOptions> = {},
    asyncStorage = false,
  ) {
    for (const id of nodeIds) {
      const storages = new Map<GroupId, MemoryStorage>();
      const applied = new Map<GroupId, string[]>();
      const node: SimNode = { multi: null as unknown as MultiRaft, storages, applied, writes: 0 };
      const persist = (writes: readonly GroupWrite[]) => {
        node.writes++;
        for (const w of writes) {
          const st = storages.get(w.groupId)!;
          if (w.snapshot) st.applySnapshot(w.snapshot);
          if (w.entries) st.append(w.entries);
          if (w.hardState) st.setHardState(w.hardState);
        }
      };
      node.multi = new MultiRaft({
        nodeId: id,
        random: seededRandom(id * 31),
        storage: {
          write: (writes) => {
            if (!asyncStorage) return persist(writes);
            return Promise.resolve().then(() => persist(writes));
          },
        },
        transport: {
          send: (f) => {
            this.frames.push(f);
            this.sent.push(f);
          },
        },
        applier: {
          apply: (g, entries) => {
            for (const e of entries) if (e.data.length > 0) applied.get(g)!.push(dec(e.data));
          },
          applySnapshot: (g, snap) => {
            applied.set(g, JSON.parse(dec(snap.data)) as string[]);
          },
        },
        ...options,
      });
      for (const g of groupIds) {
        const cs = { voters: nodeIds, votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
        const storage = new MemoryStorage(cs);
        storages.set(g, storage);
        applied.set(g, []);
        node.multi.createGroup(g, { storage });
      }
      this.nodes.set(id, node);
    }
  }

  live(): SimNode[] {
    return [...this.nodes.entries()].filter(([id]) => !this.stopped.has(id)).map(([, n]) => n);
  }

  /** Turns and deliveries until quiet (synchronous storage). */
  pump(): void {
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (const n of this.live()) if (n.multi.runUntilIdle() > 0) moved = true;
      const frames = this.frames;
      this.frames = [];
      for (const f of frames) {
        const ok = !this.stopped.has(f.to) && !this.stopped.has(f.from);
        if (ok) this.nodes.get(f.to)!.multi.receive(f);
        // The transport reports every snapshot it carried (or lost), as a host must.
        for (const { groupId, message } of f.messages) {
          if (message.type === MessageType.Snap) this.nodes.get(f.from)!.multi.reportSnapshot(groupId, f.to, ok);
        }
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('cluster did not settle');
  }

  /** Snapshot every group of node `id` at its applied index and drop the log before it. */
  compact(id: NodeId): void {
    const n = this.nodes.get(id)!;
    for (const g of this.groupIds) {
      const st = n.multi.status(g);
      n.storages.get(g)!.createSnapshot(st.applied, st.config, enc(JSON.stringify(n.applied.get(g))));
      n.storages.get(g)!.compact(st.applied);
    }
  }

  /** Same with an asynchronous storage port. */
  async pumpAsync(): Promise<void> {
    for (let round = 0; round < 400; round++) {
      let moved = false;
      for (const n of this.live()) {
        for (let i = 0; i < 100 && n.multi.hasWork(); i++) {
          await n.multi.turn();
          moved = true;
        }
      }
      const frames = this.frames;
      this.frames = [];
      for (const f of frames) {
        if (this.stopped.has(f.to)) continue;
        this.nodes.get(f.to)!.multi.receive(f);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('cluster did not settle');
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.live()) node.multi.tick();
      this.pump();
    }
  }

  /** The node leading group g (highest term among live leaders), or 0. */
  leader(g: GroupId): NodeId {
    let best = 0;
    let term = -1;
    for (const [id, n] of this.nodes) {
      if (this.stopped.has(id)) continue;
      const st = n.multi.basicStatus(g);
      if (st.softState.role === 'leader' && st.hardState.term > term) {
        best = id;
        term = st.hardState.term;
      }
    }
    return best;
  }
}

const GROUPS = Array.from({ length: 64 }, (_, i) => i + 1);

function electSpread(c: Cluster): void {
  // Spread leadership: group g campaigns on node (g % 3) + 1.
  for (const g of c.groupIds) c.nodes.get(c.nodeIds[g % c.nodeIds.length]!)!.multi.campaign(g);
  c.pump();
}

test('3 nodes x 64 groups elect and replicate', () => {
  const c = new Cluster([1, 2, 3], GROUPS);
  electSpread(c);
  for (const g of GROUPS) assert.equal(c.leader(g), c.nodeIds[g % 3], `group ${g}`);
  for (const g of GROUPS) c.nodes.get(c.leader(g))!.multi.propose(g, enc(`value-${g}`));
  c.pump();
  for (const n of c.nodes.values()) {
    for (const g of GROUPS) assert.deepEqual(n.applied.get(g), [`value-${g}`]);
  }
  // A proposal to a follower is forwarded to the leader.
  c.nodes.get(1)!.multi.propose(2, enc('via follower'));
  c.pump();
  assert.deepEqual(c.nodes.get(3)!.applied.get(2), ['value-2', 'via follower']);
});

test('one storage write per turn for all groups, and one frame per peer per turn', () => {
  const c = new Cluster([1, 2, 3], GROUPS, { quiesceAfterTicks: 0 });
  electSpread(c);
  const n1 = c.nodes.get(1)!;
  // Node 1 proposes to every group it leads in one go: one turn, one write, one frame per peer.
  const led = GROUPS.filter((g) => c.leader(g) === 1);
  assert.ok(led.length >= 20);
  for (const g of led) n1.multi.propose(g, enc('batch'));
  const writesBefore = n1.writes;
  const sentBefore = c.sent.length;
  n1.multi.turn();
  assert.equal(n1.writes - writesBefore, 1, 'one write for all groups');
  const frames = c.sent.slice(sentBefore);
  assert.deepEqual(frames.map((f) => f.to).sort(), [2, 3]);
  for (const f of frames) assert.equal(f.messages.length, led.length, 'one MsgApp per group, in one frame');
  c.pump();

  // Heartbeats of every group led by node 1 travel as compact tuples in one frame per peer.
  const before = c.sent.length;
  n1.multi.tick();
  n1.multi.turn();
  const hbFrames = c.sent.slice(before);
  assert.deepEqual(hbFrames.map((f) => f.to).sort(), [2, 3]);
  for (const f of hbFrames) {
    assert.equal(f.heartbeats.length, led.length);
    assert.equal(f.messages.length, 0);
  }
  c.pump();
  // The answers come back coalesced too: one frame from each follower node.
  const resps = c.sent.slice(before).filter((f) => f.to === 1 && f.heartbeatResps.length > 0);
  assert.deepEqual(resps.map((f) => f.from).sort(), [2, 3]);
  for (const f of resps) assert.equal(f.heartbeatResps.length, led.length);
});

test('idle groups quiesce: no heartbeats, only node liveness frames', () => {
  const c = new Cluster([1, 2, 3], GROUPS);
  electSpread(c);
  for (const g of GROUPS) c.nodes.get(c.leader(g))!.multi.propose(g, enc('x'));
  c.pump();
  c.tick(6);
  for (const [id, n] of c.nodes) {
    for (const g of GROUPS) assert.equal(n.multi.isQuiesced(g), true, `node ${id} group ${g}`);
  }
  const before = c.sent.length;
  c.tick(5);
  const frames = c.sent.slice(before);
  const heartbeats = frames.reduce((s, f) => s + f.heartbeats.length + f.heartbeatResps.length + f.messages.length, 0);
  assert.equal(heartbeats, 0, 'quiesced groups exchange nothing');
  assert.ok(frames.length > 0 && frames.length <= 5 * 6, 'at most one liveness frame per peer pair per tick');
  // A proposal wakes its group, commits, and the group quiesces again.
  const g = 5;
  const leader = c.leader(g);
  c.nodes.get(leader)!.multi.propose(g, enc('wake'));
  assert.equal(c.nodes.get(leader)!.multi.isQuiesced(g), false);
  c.pump();
  for (const n of c.nodes.values()) assert.deepEqual(n.applied.get(g), ['x', 'wake']);
  c.tick(6);
  for (const n of c.nodes.values()) assert.equal(n.multi.isQuiesced(g), true);
});

test('when a node stops, quiesced groups it led elect new leaders and keep committing', () => {
  const c = new Cluster([1, 2, 3], GROUPS);
  electSpread(c);
  for (const g of GROUPS) c.nodes.get(c.leader(g))!.multi.propose(g, enc('before'));
  c.pump();
  c.tick(6);
  const ledBy1 = GROUPS.filter((g) => c.leader(g) === 1);
  assert.ok(ledBy1.length > 0);
  c.stopped.add(1);
  let ticks = 0;
  while (GROUPS.some((g) => c.leader(g) === 0) && ticks < 100) {
    c.tick();
    ticks++;
  }
  for (const g of GROUPS) assert.ok([2, 3].includes(c.leader(g)), `group ${g} has leader ${c.leader(g)}`);
  assert.ok(ticks <= 30, `failover took ${ticks} ticks`);
  for (const g of GROUPS) c.nodes.get(c.leader(g))!.multi.propose(g, enc('after'));
  c.pump();
  for (const id of [2, 3]) {
    for (const g of GROUPS) {
      assert.deepEqual(c.nodes.get(id)!.applied.get(g), ['before', 'after'], `node ${id} group ${g}`);
    }
  }
  // Nodes 2 and 3 compact their logs; node 1 comes back and catches up by snapshots.
  c.compact(2);
  c.compact(3);
  c.stopped.delete(1);
  c.tick(3);
  for (const g of GROUPS) assert.deepEqual(c.nodes.get(1)!.applied.get(g), ['before', 'after'], `group ${g}`);
  const snapsTo1 = (f: Frame) => (f.to === 1 ? f.messages.filter((m) => m.message.type === MessageType.Snap).length : 0);
  const snaps = c.sent.reduce((s, f) => s + snapsTo1(f), 0);
  assert.equal(snaps, GROUPS.length, 'one snapshot per group');
});

test('a quiesced leader that loses its majority wakes up and steps down (check-quorum)', () => {
  const c = new Cluster([1, 2, 3], GROUPS, { raft: { checkQuorum: true } });
  electSpread(c);
  for (const g of GROUPS) c.nodes.get(c.leader(g))!.multi.propose(g, enc('x'));
  c.pump();
  c.tick(6);
  const ledBy1 = GROUPS.filter((g) => c.nodes.get(1)!.multi.basicStatus(g).softState.role === 'leader');
  assert.ok(ledBy1.length > 0);
  for (const g of ledBy1) assert.equal(c.nodes.get(1)!.multi.isQuiesced(g), true);
  c.stopped.add(2);
  c.stopped.add(3);
  c.tick(40);
  for (const g of ledBy1) {
    assert.notEqual(c.nodes.get(1)!.multi.basicStatus(g).softState.role, 'leader', `group ${g} still led without a majority`);
  }
});

test('a quiescing leader never tells a follower that was down to commit entries it lacks', () => {
  const c = new Cluster([1, 2, 3], GROUPS);
  electSpread(c);
  c.pump();
  c.stopped.add(3);
  const ledBy1 = GROUPS.filter((g) => c.leader(g) === 1);
  assert.ok(ledBy1.length > 0);
  for (const g of ledBy1) for (let i = 0; i < 5; i++) c.nodes.get(1)!.multi.propose(g, enc(`w${i}`));
  c.pump();
  const before = c.sent.length;
  c.tick(15); // node 3 is declared down, the leaders quiesce without it
  const lastOf3 = new Map(ledBy1.map((g) => [g, c.nodes.get(3)!.storages.get(g)!.lastIndex()]));
  const quiesceTo3 = c.sent
    .slice(before)
    .filter((f) => f.from === 1 && f.to === 3)
    .flatMap((f) => f.heartbeats.filter((hb) => hb.quiesce && lastOf3.has(hb.groupId)));
  assert.ok(quiesceTo3.length > 0, 'the leader quiesced its groups while node 3 was down');
  for (const hb of quiesceTo3) {
    assert.ok(hb.commit <= lastOf3.get(hb.groupId)!, `group ${hb.groupId}: commit ${hb.commit} > node 3's last index`);
  }
  // Node 3 comes back and catches up without any assertion firing.
  c.stopped.delete(3);
  c.tick(3);
  for (const g of ledBy1) assert.equal(c.nodes.get(3)!.applied.get(g)!.length, 5);
});

test('an asynchronous storage port: one turn in flight at a time', async () => {
  const c = new Cluster([1, 2, 3], [1, 2, 3, 4], { quiesceAfterTicks: 0 }, true);
  for (const g of [1, 2, 3, 4]) c.nodes.get(1)!.multi.campaign(g);
  await c.pumpAsync();
  const n1 = c.nodes.get(1)!.multi;
  n1.propose(1, enc('a'));
  const p1 = n1.turn();
  assert.ok(p1 instanceof Promise);
  assert.equal(n1.turn(), p1, 'a second turn waits for the first');
  await p1;
  await c.pumpAsync();
  for (const n of c.nodes.values()) assert.deepEqual(n.applied.get(1), ['a']);
});
