// DiskLog as the Multi-Raft host's storage port, with frames going through the TCP transport's codec:
// 3 nodes x 8 groups elect and replicate; node 3 stops; node 1 snapshots and compacts every group; node
// 3 restarts from its disk, receives the snapshots (DiskLog writes their files), and catches up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiRaft } from '../../src/raft/multi/multi-raft.js';
import type { Frame } from '../../src/raft/multi/ports.js';
import { DiskLog } from '../../src/raft/storage/disk-log.js';
import { decodeFrameBody, encodeFrame } from '../../src/raft/transport-tcp.js';
import type { ConfState, GroupId, NodeId, Snapshot } from '../../src/raft/types.js';
import { Rand, tempDir } from './fixtures/storage-fixtures.js';

const NODES: NodeId[] = [1, 2, 3];
const GROUPS: GroupId[] = [1, 2, 3, 4, 5, 6, 7, 8];

interface Node {
  readonly id: NodeId;
  readonly dir: string;
  log: DiskLog;
  multi: MultiRaft;
  applied: Map<GroupId, string[]>;
  confStates: Map<GroupId, ConfState>;
}

class Cluster {
  readonly nodes = new Map<NodeId, Node>();
  readonly down = new Set<NodeId>();
  private frames: Frame[] = [];
  private readonly rand = new Rand(5);

  async start(id: NodeId, dir: string, fresh: boolean): Promise<Node> {
    const { log } = await DiskLog.open(dir, { fsync: 'no' });
    const node: Node = { id, dir, log, multi: null as unknown as MultiRaft, applied: new Map(), confStates: new Map() };
    node.multi = new MultiRaft({
      nodeId: id,
      random: () => this.rand.next(),
      storage: log,
      // Every frame goes through the wire encoding.
      transport: { send: (f) => this.frames.push(decodeFrameBody(encodeFrame(f).subarray(4))) },
      applier: {
        apply: (g, entries) => {
          const list = node.applied.get(g)!;
          for (const e of entries) if (e.data.length > 0) list.push(Buffer.from(e.data).toString('latin1'));
        },
        applySnapshot: (g, snap) => node.applied.set(g, JSON.parse(Buffer.from(snap.data).toString('latin1'))),
        confChanged: (g, _e, cs) => node.confStates.set(g, cs),
      },
    });
    for (const g of GROUPS) {
      const storage = log.group(g);
      // A restarted node rebuilds its state machine from the snapshot and replays the log after it.
      const snap = storage.snapshot();
      node.applied.set(g, snap.metadata.index > 0 ? JSON.parse(Buffer.from(snap.data).toString('latin1')) : []);
      node.multi.createGroup(g, fresh ? { storage, bootstrapPeers: NODES } : { storage, applied: snap.metadata.index });
    }
    this.nodes.set(id, node);
    this.down.delete(id);
    return node;
  }

  async stop(id: NodeId): Promise<void> {
    this.down.add(id);
    await this.nodes.get(id)!.log.close();
  }

  live(): Node[] {
    return [...this.nodes.values()].filter((n) => !this.down.has(n.id));
  }

  /** Turns and deliveries until nothing moves (bounded). */
  async settle(): Promise<void> {
    for (let round = 0; round < 500; round++) {
      let moved = false;
      for (const n of this.live()) {
        for (let i = 0; i < 100 && n.multi.hasWork(); i++) {
          await n.multi.turn();
          moved = true;
        }
      }
      const frames = this.frames;
      this.frames = [];
      for (const f of frames) if (!this.down.has(f.to)) this.nodes.get(f.to)!.multi.receive(f);
      if (!moved && frames.length === 0) return;
    }
    throw new Error('cluster did not settle');
  }

  async ticks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      for (const node of this.live()) node.multi.tick();
      await this.settle();
    }
  }
}

test('Multi-Raft on DiskLog: a node restarts from disk and catches up through snapshots', async () => {
  const dirs = NODES.map(() => tempDir('multi'));
  const c = new Cluster();
  try {
    for (const [i, id] of NODES.entries()) await c.start(id, dirs[i]!.path, true);
    await c.settle();
    for (const g of GROUPS) c.nodes.get(1)!.multi.campaign(g);
    await c.settle();
    for (const g of GROUPS) assert.equal(c.nodes.get(1)!.multi.basicStatus(g).softState.lead, 1, `group ${g} leader`);

    const propose = async (from: number, to: number) => {
      const multi = c.nodes.get(1)!.multi;
      for (let i = from; i < to; i++) for (const g of GROUPS) multi.propose(g, Buffer.from(`g${g}-${i}`));
      await c.settle();
    };
    await propose(0, 20);
    for (const n of c.live()) for (const g of GROUPS) assert.equal(n.applied.get(g)!.length, 20);

    await c.stop(3);
    await propose(20, 40);

    // Node 1 snapshots every group at its applied index and compacts the whole log.
    const leader = c.nodes.get(1)!;
    for (const g of GROUPS) {
      const applied = leader.multi.basicStatus(g).applied;
      const snap: Snapshot = {
        metadata: { index: applied, term: leader.log.group(g).term(applied), confState: leader.confStates.get(g)! },
        data: Buffer.from(JSON.stringify(leader.applied.get(g)), 'latin1'),
      };
      await leader.log.write([{ groupId: g, snapshotTaken: snap, compactTo: applied }]);
    }
    await propose(40, 45);

    const restarted = await c.start(3, dirs[2]!.path, false);
    for (const g of GROUPS) assert.equal(restarted.applied.get(g)!.length, 0, 'no snapshot on disk yet');
    await c.ticks(5); // heartbeats find the node again; the leader sends snapshots, then the tail
    for (const g of GROUPS) {
      assert.deepEqual(restarted.applied.get(g), leader.applied.get(g), `group ${g} caught up`);
      assert.equal(restarted.applied.get(g)!.length, 45);
      assert.ok(restarted.log.group(g).firstIndex() > 20, `group ${g} log starts after the snapshot`);
    }

    // And once more from disk: node 3 restarts from the snapshots it received.
    await c.stop(3);
    const again = await c.start(3, dirs[2]!.path, false);
    await c.ticks(3);
    for (const g of GROUPS) assert.deepEqual(again.applied.get(g), leader.applied.get(g), `group ${g} after restart`);
  } finally {
    for (const n of c.live()) await n.log.close();
    for (const d of dirs) d.remove();
  }
});
