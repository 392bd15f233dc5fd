// A small in-process network of RawNodes for scripted scenarios (etcd's newNetwork): every node is
// driven by the same Ready loop a real host uses, with MemoryStorage, and the network can cut links,
// isolate nodes and drop message types. Everything is synchronous and deterministic.

import { decodeConfChange } from '../../src/raft/confchange/encoding.js';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { RawNode, type RaftConfig } from '../../src/raft/raw-node.js';
import type { ReadState } from '../../src/raft/ready.js';
import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
} from '../../src/raft/types.js';

// A seeded PRNG, so election timeouts are reproducible.
import { seededRandom } from '../support/seeded-random.js';
export { seededRandom };

/** A message with the given fields and every other field empty. */
export function message(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return {
    index: 0,
    logTerm: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: null,
    ...fields,
  };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface TestNode {
  readonly id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  /** Data of applied normal, non-empty entries, in order. */
  applied: string[];
  appliedIndex: number;
  confState: ConfState;
  /** Every configuration this node applied, in order. */
  confHistory: ConfState[];
  readStates: ReadState[];
  /** Every message this node sent, for assertions on shapes. */
  sent: Message[];
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export interface NetworkOptions extends NodeOptions {
  seed?: number;
  /** Learners of the initial configuration. */
  learners?: NodeId[];
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cuts = new Set<string>();
  private readonly ignored = new Set<MessageType>();
  /** Messages in flight, delivered by deliver()/stabilize(). */
  queue: Message[] = [];
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null;
  /** Report each MsgSnap's fate to its sender, as a host must (off: the test reports by hand). */
  reportSnapshots = true;
  private seed: number;

  constructor(
    voters: NodeId[],
    private readonly options: NetworkOptions = {},
  ) {
    this.seed = options.seed ?? 1;
    const learners = options.learners ?? [];
    for (const id of [...voters, ...learners]) this.addNode(id, { voters, learners });
  }

  /** Create node `id` with an initial configuration (or empty, for a node joining later). */
  addNode(
    id: NodeId,
    initial: { voters: NodeId[]; learners: NodeId[] } | null,
    extra: NodeOptions = {},
    /** Fill the storage before the node starts (a restart with an existing log). */
    prepare?: (storage: MemoryStorage) => void,
  ): TestNode {
    const confState: ConfState = {
      voters: initial?.voters ?? [],
      votersOutgoing: [],
      learners: initial?.learners ?? [],
      learnersNext: [],
      autoLeave: false,
    };
    const storage = initial === null ? new MemoryStorage() : new MemoryStorage(confState);
    prepare?.(storage);
    const { seed: _seed, learners: _learners, ...rest } = this.options;
    const raw = new RawNode({ ...rest, ...extra, id, storage, random: seededRandom(this.seed++ * 7919 + id) });
    const node: TestNode = {
      id, raw, storage, applied: [], appliedIndex: 0, confState, confHistory: [], readStates: [], sent: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId) {
    return this.node(id).raw.raft;
  }

  /** Handle one Ready of node `id` the way a host does: persist, send, apply, advance. */
  processReady(id: NodeId): boolean {
    const n = this.node(id);
    if (!n.raw.hasReady()) return false;
    const rd = n.raw.ready();
    this.send(n, rd.messages);
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.confState = rd.snapshot.metadata.confState;
      n.appliedIndex = rd.snapshot.metadata.index;
      n.applied = dec(rd.snapshot.data) === '' ? [] : dec(rd.snapshot.data).split('\n');
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    this.send(n, rd.messagesAfterPersist);
    for (const e of rd.committedEntries) this.apply(n, e);
    n.readStates.push(...rd.readStates);
    n.raw.advance(rd);
    return true;
  }

  private apply(n: TestNode, e: Entry): void {
    if (e.index <= n.appliedIndex) throw new Error(`node ${n.id} applies ${e.index} twice`);
    if (e.index !== n.appliedIndex + 1) throw new Error(`node ${n.id} skips from ${n.appliedIndex} to ${e.index}`);
    n.appliedIndex = e.index;
    if (e.type === EntryType.ConfChange) {
      n.confState = n.raw.applyConfChange(decodeConfChange(e.data));
      n.confHistory.push(n.confState);
    } else if (e.data.length > 0) {
      n.applied.push(dec(e.data));
    }
  }

  private send(from: TestNode, msgs: Message[]): void {
    for (const m of msgs) {
      from.sent.push(m);
      this.queue.push(m);
    }
  }

  private deliverable(m: Message): boolean {
    if (!this.nodes.has(m.to)) return false;
    if (this.cuts.has(`${m.from}-${m.to}`)) return false;
    if (this.ignored.has(m.type)) return false;
    return this.filter === null || this.filter(m);
  }

  /** Deliver every queued message once (new ones produced meanwhile wait). Returns how many. */
  deliver(): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of batch) {
      const ok = this.deliverable(m);
      if (ok) {
        this.node(m.to).raw.step(m);
        n++;
      }
      if (m.type === MessageType.Snap && this.reportSnapshots) this.nodes.get(m.from)?.raw.reportSnapshot(m.to, ok);
    }
    return n;
  }

  /** Run Ready loops and deliveries until nothing moves (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) if (this.processReady(id)) moved = true;
      if (this.queue.length > 0) {
        this.deliver();
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('network did not stabilize');
  }

  /** Step a message directly into its recipient, then stabilize. */
  inject(m: Partial<Message> & { type: MessageType; to: NodeId; from: NodeId }): void {
    this.node(m.to).raw.step(message({ term: 0, ...m }));
    this.stabilize();
  }

  campaign(id: NodeId): void {
    this.node(id).raw.campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): void {
    this.node(id).raw.propose(enc(data));
    this.stabilize();
  }

  /** Tick every live node once, then stabilize; `n` times. */
  tick(n = 1, ids?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids ?? [...this.nodes.keys()]) this.node(id).raw.tick();
      this.stabilize();
    }
  }

  /** Tick until some node leads (bounded). Returns its id. */
  electLeader(maxTicks = 200): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const l = this.leader();
      if (l !== 0) return l;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  /** The leader with the highest term, or 0. */
  leader(): NodeId {
    let best = 0;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (n.raw.raft.role === 'leader' && n.raw.raft.term > bestTerm) {
        best = n.id;
        bestTerm = n.raw.raft.term;
      }
    }
    return best;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}-${b}`);
    this.cuts.add(`${b}-${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.cuts.clear();
    this.ignored.clear();
    this.filter = null;
  }

  /**
   * Snapshot node `id`'s state machine at its applied index and compact its log up to there, keeping
   * `keep` entries before it. The snapshot data is the applied list (what processReady restores).
   */
  compact(id: NodeId, keep = 0): void {
    const n = this.node(id);
    n.storage.createSnapshot(n.appliedIndex, n.confState, enc(n.applied.join('\n')));
    if (n.appliedIndex - keep > n.storage.firstIndex() - 1) n.storage.compact(n.appliedIndex - keep);
  }

  /** Terms of the entries in a node's log (storage plus unstable), for comparing logs. */
  logTerms(id: NodeId): number[] {
    const log = this.raft(id).raftLog;
    const out: number[] = [];
    for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i));
    return out;
  }
}
