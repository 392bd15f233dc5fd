// Test harness for the Raft shard engine: N MultiRaft nodes in one process, an in-memory transport that
// can drop frames or messages, and per node either MemoryStorage (kept across a simulated restart, like
// a disk) or a real DiskLog in a temp dir. Each node hosts one shard group served by a RaftEngine.

import { buildCommandTable } from '../../src/commands/table.js';
import type { CommandSpec, DataCommand } from '../../src/commands/types.js';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { MultiRaft } from '../../src/raft/multi/multi-raft.js';
import type { Frame, GroupMessage, GroupWrite } from '../../src/raft/multi/ports.js';
import { DiskLog } from '../../src/raft/storage/disk-log.js';
import type { GroupId, NodeId, Snapshot } from '../../src/raft/types.js';
import { EngineApplier, RaftEngine, type RaftEngineOptions } from '../../src/server/raft-engine.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { tempDir } from '../raft/fixtures/storage-fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

export const GROUP: GroupId = 7;
export const commands: ReadonlyMap<string, CommandSpec> = buildCommandTable();

export function cmd(name: string): DataCommand {
  const spec = commands.get(name);
  if (spec?.kind !== 'data') throw new Error(`no data command ${name}`);
  return spec;
}

export interface TestNode {
  readonly id: NodeId;
  readonly multi: MultiRaft;
  readonly engine: RaftEngine;
  readonly keyspace: Keyspace;
  readonly applier: EngineApplier;
  readonly memory?: MemoryStorage;
  readonly disk?: DiskLog;
  readIndexCalls: number;
}

export type StorageMode = 'memory' | 'disk';

export class EngineCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  readonly down = new Set<NodeId>();
  /** The fake wall clock every node reads. */
  now = 1_700_000_000_000;
  /** Return false to drop a group message (frames' heartbeats always pass unless the link is cut). */
  allowMessage: (from: NodeId, to: NodeId, m: GroupMessage) => boolean = () => true;
  /** Return false to drop a whole frame (a cut link). */
  allowFrame: (f: Frame) => boolean = () => true;
  private frames: Frame[] = [];
  private seedCounter = 0;
  private readonly memories = new Map<NodeId, MemoryStorage>();
  private readonly dirs = new Map<NodeId, { path: string; remove(): void }>();

  constructor(
    readonly mode: StorageMode,
    readonly ids: NodeId[] = [1, 2, 3],
    readonly engineOptions: Partial<RaftEngineOptions> = {},
  ) {}

  node(id: NodeId): TestNode {
    return this.nodes.get(id)!;
  }

  /** Start (or restart from its storage) node `id`. */
  async start(id: NodeId, options: Partial<RaftEngineOptions> = {}): Promise<TestNode> {
    const fresh = !this.memories.has(id) && !this.dirs.has(id);
    const applier = new EngineApplier();
    const keyspace = new Keyspace();
    let memory: MemoryStorage | undefined;
    let disk: DiskLog | undefined;
    let storagePort: { write(w: readonly GroupWrite[], sync: boolean): Promise<void> | void };
    if (this.mode === 'memory') {
      memory = this.memories.get(id) ?? new MemoryStorage();
      this.memories.set(id, memory);
      const m = memory;
      storagePort = {
        write: (writes) => {
          for (const w of writes) {
            if (w.snapshot) m.applySnapshot(w.snapshot);
            if (w.entries) m.append(w.entries);
            if (w.hardState) m.setHardState(w.hardState);
          }
        },
      };
    } else {
      let dir = this.dirs.get(id);
      if (dir === undefined) {
        dir = tempDir('raft-engine');
        this.dirs.set(id, dir);
      }
      disk = (await DiskLog.open(dir.path, { fsync: 'no' })).log;
      storagePort = disk;
    }
    const multi = new MultiRaft({
      nodeId: id,
      random: seededRandom(id * 101),
      storage: storagePort,
      transport: { send: (f) => this.frames.push(f) },
      applier,
    });
    const storage = memory ?? disk!.group(GROUP);
    const stored: Snapshot = storage.snapshot();
    const engine = new RaftEngine({
      multi,
      groupId: GROUP,
      keyspace,
      commands,
      clock: () => this.now,
      nextSeed: () => ++this.seedCounter * 2654435761,
      sequenceStart: this.now * 1000 + this.seedCounter,
      snapshotData: stored.data,
      ...this.engineOptions,
      ...options,
    });
    applier.register(engine);
    multi.createGroup(GROUP, fresh ? { storage, bootstrapPeers: this.ids } : { storage, applied: engine.appliedIndex });
    const node: TestNode = { id, multi, engine, keyspace, applier, memory, disk, readIndexCalls: 0 };
    const readIndex = multi.readIndex.bind(multi);
    multi.readIndex = (g, ctx) => {
      node.readIndexCalls++;
      readIndex(g, ctx);
    };
    this.nodes.set(id, node);
    this.down.delete(id);
    return node;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
    await this.settle();
  }

  /** Stop node `id` (its storage survives for a restart). */
  async stop(id: NodeId): Promise<void> {
    this.down.add(id);
    await this.nodes.get(id)!.disk?.close();
  }

  live(): TestNode[] {
    return [...this.nodes.values()].filter((n) => !this.down.has(n.id));
  }

  /** Turns and deliveries until nothing moves (bounded). */
  async settle(): Promise<void> {
    for (let round = 0; round < 500; round++) {
      let moved = false;
      for (const n of this.live()) {
        n.applier.flushReads();
        for (let i = 0; i < 100 && n.multi.hasWork(); i++) {
          await n.multi.turn();
          n.applier.flushReads();
          moved = true;
        }
      }
      const frames = this.frames;
      this.frames = [];
      for (const f of frames) {
        if (this.down.has(f.to) || this.down.has(f.from) || !this.allowFrame(f)) continue;
        const messages = f.messages.filter((m) => this.allowMessage(f.from, f.to, m));
        this.nodes.get(f.to)!.multi.receive({ ...f, messages });
      }
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

  /** The live node that leads the group in the highest term, or undefined. */
  leader(): TestNode | undefined {
    let best: TestNode | undefined;
    for (const n of this.live()) {
      const s = n.multi.basicStatus(GROUP);
      if (s.softState.role !== 'leader') continue;
      if (best === undefined || s.hardState.term > best.multi.basicStatus(GROUP).hardState.term) best = n;
    }
    return best;
  }

  /** Elect node `id` and wait until it has committed an entry of its term. */
  async elect(id: NodeId): Promise<TestNode> {
    this.node(id).multi.campaign(GROUP);
    await this.settle();
    if (this.leader()?.id !== id) throw new Error(`node ${id} did not become leader`);
    return this.node(id);
  }

  async close(): Promise<void> {
    for (const n of this.live()) await n.disk?.close();
    this.down.clear();
    for (const d of this.dirs.values()) d.remove();
  }
}

/** Everything a replica holds, as bytes (keyspace + dedup table + applied index). */
export function stateOf(n: TestNode): string {
  return n.engine.stateMachine.snapshot().toString('latin1');
}
