// The simulated cluster: N RawNodes in one process, each with its own simulated disk and key-value state
// machine, wired to one simulated network. Everything is synchronous; the run loop (vopr.ts) decides
// what happens in each time unit. The harness follows the Ready contract of src/raft/ready.ts exactly:
// `messages` leave at once (the leader replicates while its own write is in progress),
// `messagesAfterPersist` and advance() wait for the write to complete, one Ready at a time per node.
//
// Every observation the checkers need is taken here: leaders (after every step), each node's log (from
// the entries its Readys hand out), every apply and every snapshot.

import { RawNode, type RaftConfig } from '../../src/raft/raw-node.js';
import type { Ready } from '../../src/raft/ready.js';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { decodeConfChange } from '../../src/raft/confchange/encoding.js';
import { ErrSnapshotTemporarilyUnavailable, ErrStepPeerNotFound, isProposalDropped } from '../../src/raft/errors.js';
import {
  EntryType,
  MessageType,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Snapshot,
} from '../../src/raft/types.js';
import { SimDisk, type DiskWrite } from './disk.js';
import { KvStateMachine, decodeCommand, type KvCommand } from './kv.js';
import { SimNetwork } from './network.js';
import type { Prng } from './prng.js';
import { ElectionSafety } from './checkers/election-safety.js';
import { LogView, checkLogMatching, payloadKey } from './checkers/log-matching.js';
import { StateMachineSafety } from './checkers/state-machine.js';
import { checkLeaderCompleteness } from './checkers/leader-completeness.js';
import type { KvOutput } from './checkers/linearizability.js';

/**
 * Deliberate bugs, planted from outside the core, to show each checker catches what it claims to.
 * - count-stale-votes: a candidate is handed vote grants it received in an older term, relabelled with
 *   its current term (a leader that counts votes of an older term).
 * - ack-before-durable: `messagesAfterPersist` (acks, votes) leave before the write is durable.
 * - forget-vote-on-crash: a restart loses the durable vote (a disk that loses synced data).
 * - lose-synced-entries: a restart loses the last durable entries (a disk that loses synced data).
 * - apply-twice: a node's state machine applies some entries twice.
 * - stale-read: reads are served from any node's local state, without ReadIndex.
 * - corrupt-entry: a restart reads back one entry with a changed payload (a disk bit flip).
 */
export type PlantedBug =
  | 'count-stale-votes'
  | 'ack-before-durable'
  | 'forget-vote-on-crash'
  | 'lose-synced-entries'
  | 'apply-twice'
  | 'stale-read'
  | 'corrupt-entry';

export const PLANTED_BUGS: readonly PlantedBug[] = [
  'count-stale-votes',
  'ack-before-durable',
  'forget-vote-on-crash',
  'lose-synced-entries',
  'apply-twice',
  'stale-read',
  'corrupt-entry',
];

export type CheckerName =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'committed-not-lost'
  | 'linearizability'
  | 'liveness'
  | 'core-error'
  | 'harness';

export interface Violation {
  readonly checker: CheckerName;
  readonly detail: string;
  readonly time: number;
}

/** Raft knobs a seed may vary (swarm testing). */
export type RaftKnobs = Pick<
  RaftConfig,
  | 'electionTick'
  | 'heartbeatTick'
  | 'maxSizePerMsg'
  | 'maxInflightMsgs'
  | 'maxInflightBytes'
  | 'maxUncommittedEntriesSize'
  | 'maxCommittedSizePerReady'
  | 'preVote'
  | 'checkQuorum'
>;

/** What the workload hears back from nodes. */
export interface ClientCallbacks {
  /** Node `node` applied a client command; `reply` if this node had accepted its proposal. */
  writeApplied(node: NodeId, cmd: KvCommand, result: KvOutput, reply: boolean): void;
  /** Node `node` served the read registered under `context`. */
  readServed(node: NodeId, context: string, value: string | null): void;
}

type NodeStatus = 'up' | 'down' | 'retired';

interface PendingRead {
  readonly key: string;
  index: number; // -1 until the ReadState arrives
}

/**
 * The storage a node's core reads. When the core needs a snapshot to send, it gets one taken at the
 * node's applied index (as CockroachDB does), so it always carries the current configuration; now and
 * then the snapshot is "temporarily unavailable" and the core must retry later.
 */
export class SimStorage extends MemoryStorage {
  constructor(
    private readonly node: SimNode,
    private readonly rng: Prng,
  ) {
    super();
  }

  /** The snapshot held, without taking a new one. */
  stored(): Snapshot {
    return super.snapshot();
  }

  override snapshot(): Snapshot {
    const current = super.snapshot();
    if (this.node.raw === null || this.node.applied <= current.metadata.index) return current;
    if (this.rng.chance(0.1)) throw ErrSnapshotTemporarilyUnavailable;
    return this.createSnapshot(this.node.applied, this.node.confState ?? undefined, this.node.sm.snapshot());
  }
}

export class SimNode {
  status: NodeStatus = 'up';
  pausedUntil = 0;
  raw: RawNode | null = null;
  storage!: SimStorage;
  readonly disk = new SimDisk();
  sm = new KvStateMachine();
  confState: ConfState | null = null;
  applied = 0;
  log = new LogView();
  incarnation = 0;
  /** The Ready being persisted, and when its write completes. */
  inflight: { ready: Ready; completesAt: number; incarnation: number } | null = null;
  restartAt = 0;
  /** Client writes this node accepted, by "client:seq". */
  readonly acceptedWrites = new Set<string>();
  /** Client reads in progress at this node, by context. */
  readonly reads = new Map<string, PendingRead>();
  /** The last term this node was checked as a new leader in (leader completeness). */
  lastLeaderTermChecked = 0;

  constructor(
    readonly id: NodeId,
    readonly tickPeriod: number,
    readonly tickPhase: number,
  ) {}

  get isUp(): boolean {
    return this.status === 'up' && this.raw !== null;
  }
}

export interface ClusterOptions {
  readonly voters: number;
  readonly knobs: RaftKnobs;
  readonly bugs: ReadonlySet<PlantedBug>;
  /** Disk write latency in time units, inclusive bounds. */
  readonly diskLatency: readonly [number, number];
  /** Probability that a write is slow (a latency spike of 20-60 units). */
  readonly diskSpike: number;
}

interface Wire {
  readonly message: Message;
  /** The sender's incarnation (snapshot reports go only to the incarnation that sent). */
  readonly incarnation: number;
}

export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly network: SimNetwork<Wire>;
  readonly initialVoters: NodeId[];
  now = 0;
  /** First violation of each checker, in order of discovery. */
  readonly violations: Violation[] = [];
  stopped = false;
  readonly electionSafety = new ElectionSafety();
  readonly oracle = new StateMachineSafety();
  maxTerm = 0;
  private nextNodeId: NodeId;
  callbacks: ClientCallbacks | null = null;
  /** For count-stale-votes: vote grants each node received, by receiver. */
  private readonly oldGrants = new Map<NodeId, Message[]>();
  stats = { messages: 0, readys: 0, crashes: 0, snapshotsSent: 0, compactions: 0, confApplies: 0 };
  /** A running hash of what happened (deliveries and applies), to check that a seed replays exactly. */
  traceHash = 0x811c9dc5;

  private trace(a: number, b: number, c: number): void {
    let h = this.traceHash;
    for (const x of [this.now, a, b, c]) h = Math.imul(h ^ (x | 0), 0x01000193);
    this.traceHash = h >>> 0;
  }

  constructor(
    readonly rng: Prng,
    readonly options: ClusterOptions,
  ) {
    this.network = new SimNetwork<Wire>(rng.fork());
    this.initialVoters = Array.from({ length: options.voters }, (_, i) => i + 1);
    this.nextNodeId = options.voters + 1;
    for (const id of this.initialVoters) this.start(this.createNode(id), true);
  }

  private createNode(id: NodeId): SimNode {
    const period = this.rng.int(4, 6); // per-node clock rate: a little drift between nodes
    const node = new SimNode(id, period, this.rng.int(0, period - 1));
    this.nodes.set(id, node);
    return node;
  }

  // --- Checkers' plumbing ---------------------------------------------------------------------

  violate(checker: CheckerName, detail: string): void {
    if (this.violations.some((v) => v.checker === checker)) return;
    this.violations.push({ checker, detail, time: this.now });
    if (checker === 'core-error' || checker === 'harness') this.stopped = true;
  }

  private observe(node: SimNode): void {
    const raw = node.raw;
    if (!raw) return;
    const status = raw.basicStatus();
    const term = status.hardState.term;
    if (term > this.maxTerm) this.maxTerm = term;
    if (status.softState.role === 'leader') {
      const v = this.electionSafety.onLeader(term, node.id);
      if (v) this.violate('election-safety', v);
    }
  }

  /** Runs one interaction with a node's core; an exception from the core is a violation. */
  private withCore(node: SimNode, what: string, fn: (raw: RawNode) => void): void {
    const raw = node.raw;
    if (!raw || this.stopped) return;
    try {
      fn(raw);
    } catch (err) {
      if (err === ErrStepPeerNotFound) return; // a response from a node no longer in the config
      this.violate('core-error', `node ${node.id} ${what}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return;
    }
    this.observe(node);
  }

  checkAllLogs(): void {
    const live = [...this.nodes.values()].filter((n) => n.status !== 'retired');
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        const v = checkLogMatching(live[i]!.id, live[i]!.log, live[j]!.id, live[j]!.log);
        if (v) this.violate('log-matching', v);
      }
    }
  }

  // --- Node lifecycle ------------------------------------------------------------------------

  private raftConfig(node: SimNode): RaftConfig {
    const random = this.rng.fork();
    return {
      ...this.options.knobs,
      id: node.id,
      storage: node.storage,
      applied: node.applied,
      random: () => random.float(),
      disableProposalForwarding: true, // a client's proposal is either appended by the leader or refused
      stepDownOnRemoval: true,
      readOnlyOption: 'safe',
    };
  }

  /** (Re)starts a node from its durable state. */
  private start(node: SimNode, initialVoter: boolean): void {
    const durable = node.disk.durable;
    if (this.options.bugs.has('corrupt-entry') && durable.entries.length > 0 && this.rng.chance(0.5)) {
      // Flip one digit of a client command (the JSON stays valid: the damage is silent).
      const i = this.rng.int(0, durable.entries.length - 1);
      const e = durable.entries[i]!;
      const text = Buffer.from(e.data).toString('latin1');
      const digit = text.search(/[0-9](?=[^0-9]*$)/);
      if (e.type === EntryType.Normal && digit >= 0) {
        const changed = text.slice(0, digit) + String((Number(text[digit]) + 1) % 10) + text.slice(digit + 1);
        durable.entries[i] = { ...e, data: Buffer.from(changed, 'latin1') };
      }
    }
    node.storage = durable.load(new SimStorage(node, this.rng));
    node.sm = KvStateMachine.restore(durable.snapshot.data);
    node.confState = durable.snapshot.metadata.index > 0 ? durable.snapshot.metadata.confState : null;
    node.applied = durable.snapshot.metadata.index;
    node.log.resetTo(durable.snapshot.metadata.index, durable.snapshot.metadata.term);
    node.log.append(durable.entries);
    node.inflight = null;
    node.incarnation++;
    node.status = 'up';
    node.pausedUntil = 0;
    node.lastLeaderTermChecked = 0;
    try {
      node.raw = new RawNode(this.raftConfig(node));
    } catch (err) {
      node.raw = null;
      this.violate('core-error', `node ${node.id} restart: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return;
    }
    if (initialVoter && durable.lastIndex() === 0) {
      this.withCore(node, 'bootstrap', (raw) => raw.bootstrap(this.initialVoters));
    }
  }

  crash(node: SimNode, downtime: number): void {
    if (!node.isUp) return;
    this.stats.crashes++;
    // A write in progress either reached the disk just before the crash or did not.
    if (node.inflight && this.rng.chance(0.5)) node.disk.complete(diskWrite(node.inflight.ready));
    node.disk.crash(this.rng);
    const durable = node.disk.durable;
    if (this.options.bugs.has('forget-vote-on-crash')) {
      durable.hardState = { ...durable.hardState, vote: 0 };
    }
    if (this.options.bugs.has('lose-synced-entries') && durable.entries.length > 0) {
      const lost = this.rng.int(1, Math.min(3, durable.entries.length));
      durable.entries.length -= lost;
      const last = durable.lastIndex();
      if (durable.hardState.commit > last) durable.hardState = { ...durable.hardState, commit: last };
    }
    node.raw = null;
    node.inflight = null;
    node.status = 'down';
    node.restartAt = this.now + downtime;
    node.acceptedWrites.clear();
    node.reads.clear();
    for (const e of this.network.dropNode(node.id)) this.onDropped(e.message, 'down');
  }

  restart(node: SimNode): void {
    if (node.status !== 'down') return;
    this.start(node, this.initialVoters.includes(node.id));
  }

  pause(node: SimNode, duration: number): void {
    if (node.isUp) node.pausedUntil = Math.max(node.pausedUntil, this.now + duration);
  }

  isActive(node: SimNode): boolean {
    return node.isUp && node.pausedUntil <= this.now;
  }

  /** A new, empty node (for adding as a learner); ids are never reused. */
  addEmptyNode(): SimNode {
    const node = this.createNode(this.nextNodeId++);
    this.start(node, false);
    return node;
  }

  private retire(node: SimNode): void {
    node.status = 'retired';
    node.raw = null;
    node.inflight = null;
    node.acceptedWrites.clear();
    node.reads.clear();
    for (const e of this.network.dropNode(node.id)) this.onDropped(e.message, 'down');
  }

  // --- Driving -------------------------------------------------------------------------------

  /** Advances one time unit: deliveries, ticks, disk completions, Ready handling. */
  step(): void {
    const now = this.now;
    this.retirePending();
    for (const node of this.nodes.values()) {
      if (node.status === 'down' && node.restartAt <= now) this.restart(node);
    }
    const { delivered, dropped } = this.network.takeDue(now, (to) => {
      const n = this.nodes.get(to);
      return n !== undefined && n.isUp && n.pausedUntil > now;
    });
    for (const e of dropped) this.onDropped(e.message, 'partition');
    for (const e of delivered) this.deliver(e.message);
    for (const node of this.nodes.values()) {
      if (!this.isActive(node)) continue;
      if ((now + node.tickPhase) % node.tickPeriod === 0) this.withCore(node, 'tick', (raw) => raw.tick());
    }
    for (const node of this.nodes.values()) {
      if (!this.isActive(node)) continue;
      // Bounded: a write with zero latency completes at once, letting the next Ready through.
      for (let round = 0; round < 4 && !this.stopped; round++) {
        if (node.inflight && node.inflight.completesAt <= now) this.completeWrite(node);
        if (node.inflight || !node.raw?.hasReady()) break;
        this.handleReady(node);
      }
    }
    this.now++;
  }

  private deliver(w: Wire): void {
    const m = w.message;
    const node = this.nodes.get(m.to);
    if (!node || !node.isUp) {
      this.onDropped(w, 'down');
      return;
    }
    this.stats.messages++;
    this.trace(m.to, m.type, m.term);
    if (m.type === MessageType.Snap) {
      const sender = this.nodes.get(m.from);
      if (sender && sender.incarnation === w.incarnation) {
        this.withCore(sender, 'reportSnapshot', (raw) => raw.reportSnapshot(m.to, true));
      }
    }
    let message = m;
    if (this.options.bugs.has('count-stale-votes')) message = this.relabelStaleVotes(node, m);
    this.withCore(node, `step type ${m.type} from ${m.from}`, (raw) => raw.step(message));
  }


  /** The planted bug: remember vote grants, and replay old ones to a later candidacy as if current. */
  private relabelStaleVotes(node: SimNode, m: Message): Message {
    const grants = this.oldGrants.get(node.id) ?? [];
    this.oldGrants.set(node.id, grants);
    if (m.type === MessageType.VoteResp && !m.reject) {
      grants.push(m);
      if (grants.length > 50) grants.shift();
    }
    if (m.type === MessageType.VoteResp && m.reject && node.raw) {
      const stale = grants.find((g) => g.from === m.from && g.term < m.term);
      if (stale) return { ...stale, term: m.term };
    }
    return m;
  }

  private onDropped(w: Wire, _cause: string): void {
    const m = w.message;
    const sender = this.nodes.get(m.from);
    if (!sender || sender.incarnation !== w.incarnation) return;
    if (m.type === MessageType.Snap) {
      this.withCore(sender, 'reportSnapshot', (raw) => raw.reportSnapshot(m.to, false));
    }
  }

  private send(node: SimNode, messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
      const cause = this.network.send(this.now, node.id, m.to, { message: m, incarnation: node.incarnation });
      if (cause === null) continue;
      this.onDropped({ message: m, incarnation: node.incarnation }, cause);
      // A cut connection is visible to the transport: tell the core, as a real transport would.
      if (cause === 'partition' && m.type === MessageType.App) {
        this.withCore(node, 'reportUnreachable', (raw) => raw.reportUnreachable(m.to));
      }
    }
  }

  private handleReady(node: SimNode): void {
    const raw = node.raw!;
    const holder: { ready?: Ready } = {};
    this.withCore(node, 'ready', () => (holder.ready = raw.ready()));
    const ready = holder.ready;
    if (!ready) return;
    this.stats.readys++;
    if (ready.snapshot) node.log.resetTo(ready.snapshot.metadata.index, ready.snapshot.metadata.term);
    node.log.append(ready.entries);
    this.checkNewLeader(node);
    for (const rs of ready.readStates) {
      const ctx = Buffer.from(rs.context).toString('latin1');
      const read = node.reads.get(ctx);
      if (read) read.index = rs.index;
    }
    this.send(node, ready.messages);
    if (this.options.bugs.has('ack-before-durable')) this.send(node, ready.messagesAfterPersist);
    const latency = this.rng.chance(this.options.diskSpike)
      ? this.rng.int(20, 60)
      : this.rng.int(this.options.diskLatency[0], this.options.diskLatency[1]);
    node.inflight = { ready, completesAt: this.now + latency, incarnation: node.incarnation };
    if (latency === 0) this.completeWrite(node);
  }

  private checkNewLeader(node: SimNode): void {
    const status = node.raw!.basicStatus();
    if (status.softState.role !== 'leader' || status.hardState.term === node.lastLeaderTermChecked) return;
    node.lastLeaderTermChecked = status.hardState.term;
    const v = checkLeaderCompleteness(this.oracle, node.id, status.hardState.term, node.log);
    if (v) this.violate('leader-completeness', v);
  }

  private completeWrite(node: SimNode): void {
    const { ready } = node.inflight!;
    node.inflight = null;
    node.disk.complete(diskWrite(ready));
    if (ready.snapshot) {
      const snap = ready.snapshot;
      node.storage.applySnapshot(snap);
      node.sm = KvStateMachine.restore(snap.data);
      node.confState = snap.metadata.confState;
      node.applied = snap.metadata.index;
      const v = this.oracle.onState(node.id, snap.metadata.index, node.sm.fingerprint(), 'installed snapshot');
      if (v) this.violate('state-machine-safety', v);
    }
    node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    if (!this.options.bugs.has('ack-before-durable')) this.send(node, ready.messagesAfterPersist);
    for (const e of ready.committedEntries) {
      if (this.stopped || node.raw === null) return;
      this.apply(node, e);
    }
    this.serveReads(node);
    this.withCore(node, 'advance', (raw) => raw.advance(ready));
  }

  private apply(node: SimNode, e: Entry): void {
    if (e.index !== node.applied + 1) {
      this.violate('state-machine-safety', `node ${node.id} applied index ${e.index} after ${node.applied}`);
      return;
    }
    node.applied = e.index;
    this.trace(node.id, e.index, e.term);
    let result: KvOutput = null;
    if (e.type === EntryType.ConfChange) {
      let cc: ConfChange | null = null;
      this.withCore(node, 'applyConfChange', (raw) => {
        cc = decodeConfChange(e.data);
        node.confState = raw.applyConfChange(cc);
      });
      if (cc) this.onConfApplied(node, e.index);
    } else if (e.data.length > 0) {
      const cmd = decodeCommand(e.data);
      result = node.sm.apply(cmd);
      if (this.options.bugs.has('apply-twice') && node.id === 1 && e.index % 5 === 0) result = node.sm.apply({ ...cmd, seq: cmd.seq + 0.5 });
      const reply = node.acceptedWrites.delete(`${cmd.client}:${cmd.seq}`);
      this.callbacks?.writeApplied(node.id, cmd, result, reply);
    }
    const v = this.oracle.onApply(node.id, e.index, e.term, payloadKey(e), JSON.stringify(result), this.maxTerm);
    if (v) this.violate('state-machine-safety', v);
    if (e.index % 8 === 0) {
      const s = this.oracle.onState(node.id, e.index, node.sm.fingerprint(), 'state after applying');
      if (s) this.violate('state-machine-safety', s);
    }
  }

  /**
   * The first time any node applies a configuration newer than every one applied before, it is the
   * newest committed one: nodes that were members and are no longer in it are shut down for good.
   */
  private onConfApplied(node: SimNode, index: number): void {
    this.stats.confApplies++;
    const cs = node.confState;
    if (!cs || index <= this.newestConfIndex) return;
    this.newestConfIndex = index;
    const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
    for (const id of members) this.everMember.add(id);
    if (index <= this.initialVoters.length) return; // bootstrap entries: the config is still being built
    for (const other of this.nodes.values()) {
      if (other.status === 'retired' || members.has(other.id) || !this.everMember.has(other.id)) continue;
      if (other === node) this.retireSoon.add(node.id); // it is still applying: retire it next time unit
      else this.retire(other);
    }
  }

  private newestConfIndex = 0;
  private readonly everMember = new Set<NodeId>();
  private readonly retireSoon = new Set<NodeId>();

  /** Retires nodes that applied their own removal. */
  private retirePending(): void {
    for (const id of this.retireSoon) {
      const node = this.nodes.get(id);
      if (node && node.status !== 'retired') this.retire(node);
    }
    this.retireSoon.clear();
  }

  /** Ids in the newest committed configuration that are not retired. */
  members(): SimNode[] {
    return [...this.nodes.values()].filter((n) => this.everMember.has(n.id) && n.status !== 'retired');
  }

  private serveReads(node: SimNode): void {
    for (const [ctx, read] of node.reads) {
      if (read.index < 0 || read.index > node.applied) continue;
      node.reads.delete(ctx);
      this.callbacks?.readServed(node.id, ctx, node.sm.read(read.key));
    }
  }

  // --- Client entry points -----------------------------------------------------------------

  /** Nodes that currently believe they are leader (possibly stale ones). */
  leaders(): SimNode[] {
    const out: SimNode[] = [];
    for (const node of this.nodes.values()) {
      if (this.isActive(node) && node.raw!.basicStatus().softState.role === 'leader') out.push(node);
    }
    return out;
  }

  activeNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => this.isActive(n));
  }

  /** Proposes a client command at `node`: 'accepted', or 'dropped' (certainly not appended). */
  propose(node: SimNode, cmd: KvCommand, data: Uint8Array): 'accepted' | 'dropped' {
    let outcome: 'accepted' | 'dropped' = 'dropped';
    const raw = node.raw;
    if (!raw || !this.isActive(node)) return outcome;
    try {
      raw.propose(data);
      outcome = 'accepted';
      node.acceptedWrites.add(`${cmd.client}:${cmd.seq}`);
    } catch (err) {
      if (!isProposalDropped(err)) {
        this.violate('core-error', `node ${node.id} propose: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
    this.observe(node);
    return outcome;
  }

  /** Starts a linearizable read of `key` at `node`, answered through callbacks.readServed. */
  read(node: SimNode, context: string, key: string): void {
    if (!this.isActive(node)) return;
    if (this.options.bugs.has('stale-read')) {
      this.callbacks?.readServed(node.id, context, node.sm.read(key));
      return;
    }
    node.reads.set(context, { key, index: -1 });
    this.withCore(node, 'readIndex', (raw) => raw.readIndex(Buffer.from(context, 'latin1')));
  }

  proposeConfChange(node: SimNode, cc: ConfChange): void {
    if (!this.isActive(node)) return;
    try {
      node.raw!.proposeConfChange(cc);
    } catch (err) {
      if (!isProposalDropped(err)) {
        this.violate('core-error', `node ${node.id} proposeConfChange: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
    this.observe(node);
  }

  transferLeader(node: SimNode, to: NodeId): void {
    if (this.isActive(node)) this.withCore(node, 'transferLeader', (raw) => raw.transferLeader(to));
  }

  /** An operator's nudge: campaign now, or forget the leader (as if told its node is dead). */
  disrupt(node: SimNode, how: 'campaign' | 'forget-leader'): void {
    if (!this.isActive(node)) return;
    this.withCore(node, how, (raw) => (how === 'campaign' ? raw.campaign() : raw.forgetLeader()));
  }

  /** Log compaction: snapshot the state machine at the applied index and drop older entries. */
  compact(node: SimNode, keep: number): void {
    if (!this.isActive(node) || node.inflight || node.applied <= node.storage.stored().metadata.index) return;
    const data = node.sm.snapshot();
    const snap = node.storage.createSnapshot(node.applied, node.confState ?? undefined, data);
    const v = this.oracle.onState(node.id, node.applied, node.sm.fingerprint(), 'snapshot taken');
    if (v) this.violate('state-machine-safety', v);
    const compactTo = Math.max(node.storage.firstIndex(), node.applied - keep);
    if (compactTo < node.applied) node.storage.compact(compactTo);
    else node.storage.compact(node.applied);
    // The snapshot and the hard state it needs are made durable together (snapshot files are fsynced).
    node.disk.sync();
    node.disk.durable.compact(snap);
    this.stats.compactions++;
  }
}

function diskWrite(ready: Ready): DiskWrite {
  return {
    ...(ready.snapshot ? { snapshot: ready.snapshot } : {}),
    entries: ready.entries,
    ...(ready.hardState ? { hardState: ready.hardState } : {}),
    sync: ready.mustSync || ready.snapshot !== undefined,
  };
}
