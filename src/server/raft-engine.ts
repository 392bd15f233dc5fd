// A ShardEngine over one Raft group of a MultiRaft: writes go through the group's log, reads are
// linearizable. Cluster mode (cluster-runtime.ts) hosts one per shard group; see the "Wiring" notes below.
//
// Writes (write, writeBatch, expireKeys, evictKeys, flush) on the leader: the command line(s), the
// leader's nowMs, a seed and a proposal id are encoded as ONE entry (src/server/proposal.ts, a MULTI/EXEC
// is one entry) and proposed; the promise settles with the reply when this node applies the entry. Every
// replica applies it alike through ShardStateMachine, which skips a proposal id applied before, so a
// re-proposal is never applied twice.
//
// Outcomes a caller must handle:
// - NotLeaderError, THROWN synchronously (nothing was proposed) or a read's promise REJECTED with it:
//   this node does not lead the group. `leader` is the known leader (0 if none): the dispatcher renders
//   MOVED (or TRYAGAIN/CLUSTERDOWN when no leader is known) from its cluster view.
// - WRITE_OUTCOME_UNKNOWN (`ERR write outcome unknown: leader changed before commit`) as the reply of a
//   write made here that lost its leader before this node saw it applied. The write may or may not be
//   applied (a later leader may commit it): it is never reported as a plain failure. Also the reply of a
//   re-proposal that was already applied (the original reply is gone).
// - PENDING_WRITES_FULL / PENDING_READS_FULL (`TRYAGAIN ...`) at once when the bounded queues are full:
//   nothing was proposed, retrying is safe.
// For writeBatch every element is then that same error reply; flush() rejects with an EngineWriteError.
//
// Reads: `readindex` (default) collects reads into a batch; flushReads() (called by the host before each
// MultiRaft turn) issues ONE ReadIndex for the batch; the reads run once the read state arrives and the
// applied index reaches it. `lease` serves on a leader that committed an entry in its term (needs
// checkQuorum, etcd's lease-based read) as soon as applied reaches the commit index, without a round
// trip. `read(..., { follower: true })` (READONLY connections) runs at once on any replica (may be stale).
//
// Wiring (for the server): give the MultiRaft `new EngineApplier()` as its applier and register each
// engine; call `applier.flushReads()` before every `multi.turn()`; create a restarted engine with the
// group's stored snapshot data and pass `applied: engine.appliedIndex` to createGroup; snapshot with
// `engine.createSnapshot()` and persist it ({ snapshotTaken, compactTo }) through the DiskLog.

import { ProposalDroppedError } from '../raft/errors.js';
import type { MultiRaft } from '../raft/multi/multi-raft.js';
import type { ApplierPort } from '../raft/multi/ports.js';
import type { ReadState, SoftState } from '../raft/ready.js';
import type { ConfState, Entry, GroupId, Index, NodeId, Snapshot, Term } from '../raft/types.js';
import type { CommandSpec, DataCommand } from '../commands/types.js';
import { ErrorReply } from '../resp/reply.js';
import type { Keyspace } from '../store/keyspace.js';
import { LocalEngine, type BatchCommand, type EngineResult, type ShardEngine } from './engine.js';
import { EntryKind, encodeProposal } from './proposal.js';
import { ShardStateMachine, type ApplyOutcome } from './shard-state-machine.js';

export const WRITE_OUTCOME_UNKNOWN = new ErrorReply('ERR write outcome unknown: leader changed before commit');
export const PENDING_WRITES_FULL = new ErrorReply('TRYAGAIN too many pending writes on this shard');
export const PENDING_READS_FULL = new ErrorReply('TRYAGAIN too many pending reads on this shard');

/** This node does not lead the group (nothing was proposed or read). */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  constructor(
    readonly groupId: GroupId,
    /** The leader this node knows of, 0 if none. */
    readonly leader: NodeId,
  ) {
    super(`not the leader of group ${groupId}${leader === 0 ? '' : ` (leader: node ${leader})`}`);
  }
}

/** A write without a reply value (flush) that did not certainly succeed. */
export class EngineWriteError extends Error {
  override name = 'EngineWriteError';
  constructor(readonly reply: ErrorReply) {
    super(reply.message);
  }
}

export type ReadConsistency = 'readindex' | 'lease';

export interface RaftEngineOptions {
  readonly multi: MultiRaft;
  readonly groupId: GroupId;
  readonly keyspace: Keyspace;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** This node's time (ms since epoch): the nowMs of proposals and of reads. */
  readonly clock: () => number;
  /** A 32-bit random seed per proposal or read. */
  readonly nextSeed: () => number;
  /**
   * Start of this node's proposal sequence: above any sequence it used before (e.g. the wall clock in
   * ms times 1000 at startup), so a restarted node's proposals are not taken for duplicates.
   */
  readonly sequenceStart: number;
  readonly readConsistency?: ReadConsistency;
  /** Writes proposed and not yet answered. Default 10000. */
  readonly maxPendingWrites?: number;
  /** Reads waiting for their ReadIndex or for the applied index. Default 10000. */
  readonly maxPendingReads?: number;
  /** State to start from (a restarted replica): the data of the group's stored snapshot. */
  readonly snapshotData?: Uint8Array;
  readonly maxProposers?: number;
  /** Called after a proposal or a read was queued: the host should run a turn soon. */
  readonly onWork?: () => void;
}

export interface ReadOptions {
  /** READONLY connection: read this replica's state at once (possibly stale), leader or not. */
  readonly follower?: boolean;
}

interface PendingWrite {
  readonly term: Term;
  readonly settle: (outcome: ApplyOutcome | ErrorReply) => void;
}

/** Single writes waiting for the next turn, proposed together as one entry (per protocol). */
interface QueuedWrites {
  readonly argvs: (readonly string[])[];
  readonly settles: ((r: EngineResult) => void)[];
  readonly rejects: ((e: Error) => void)[];
}

interface PendingRead {
  readonly command: DataCommand;
  readonly argv: readonly string[];
  readonly resp: 2 | 3;
  readonly resolve: (r: EngineResult) => void;
  readonly reject: (e: Error) => void;
}

export class RaftEngine implements ShardEngine {
  readonly keyspace: Keyspace;
  readonly stateMachine: ShardStateMachine;
  readonly groupId: GroupId;
  private readonly multi: MultiRaft;
  private readonly reader: LocalEngine;
  private readonly clock: () => number;
  private readonly nextSeed: () => number;
  private readonly readConsistency: ReadConsistency;
  private readonly maxPendingWrites: number;
  private readonly maxPendingReads: number;
  private readonly onWork: () => void;
  private seq: number;
  private readonly pendingWrites = new Map<number, PendingWrite>();
  /** Reads that will share the next ReadIndex. */
  private nextReadBatch: PendingRead[] = [];
  /** Reads whose ReadIndex is under way, by request context number. */
  private readonly issuedReads = new Map<number, { afterSeq: number; reads: PendingRead[] }>();
  private readContextCounter = 0;
  /**
   * Reads with a known read index, waiting for the applied index (ascending index) and for every write
   * proposed here up to `afterSeq` to settle: a client's read sees the writes it sent before it.
   */
  private readonly waitingReads: { index: Index; afterSeq: number; reads: PendingRead[] }[] = [];
  /** Single writes of this event-loop job, by protocol: one entry each at the next flush. */
  private readonly queuedWrites: { 2: QueuedWrites | null; 3: QueuedWrites | null } = { 2: null, 3: null };
  private queuedWriteCount = 0;
  private pendingReadCount = 0;

  constructor(options: RaftEngineOptions) {
    this.multi = options.multi;
    this.groupId = options.groupId;
    this.keyspace = options.keyspace;
    this.stateMachine = new ShardStateMachine(options.keyspace, {
      commands: options.commands,
      maxProposers: options.maxProposers,
    });
    if (options.snapshotData !== undefined && options.snapshotData.length > 0) {
      this.stateMachine.restore(options.snapshotData);
    }
    this.reader = new LocalEngine(options.keyspace, options.clock, options.nextSeed);
    this.clock = options.clock;
    this.nextSeed = options.nextSeed;
    this.readConsistency = options.readConsistency ?? 'readindex';
    this.maxPendingWrites = options.maxPendingWrites ?? 10000;
    this.maxPendingReads = options.maxPendingReads ?? 10000;
    this.seq = options.sequenceStart;
    this.onWork = options.onWork ?? (() => {});
  }

  get appliedIndex(): Index {
    return this.stateMachine.appliedIndex;
  }

  /** Writes queued or proposed and not yet answered. */
  get pendingWriteCount(): number {
    return this.pendingWrites.size + this.queuedWriteCount;
  }

  get pendingReads(): number {
    return this.pendingReadCount;
  }

  /** Read straight from the core: this runs on every write, and a status object per call is garbage. */
  isLeader(): boolean {
    return this.multi.rawNode(this.groupId).raft.role === 'leader';
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.groupId, this.multi.basicStatus(this.groupId).softState.lead);
  }

  // ---- Writes ----

  /**
   * Queues a write; the writes queued until the host's next flush (before its next turn) become ONE
   * entry, so that the log, the disk and the network handle a batch instead of each command. Replicas
   * run them one after the other, like a transaction, with one timestamp and one seed.
   */
  write(command: DataCommand, argv: readonly string[], resp: 2 | 3): Promise<EngineResult> {
    void command; // replicas find the command again by name when they apply
    if (!this.isLeader()) throw this.notLeader();
    if (this.pendingWrites.size + this.queuedWriteCount >= this.maxPendingWrites) return Promise.resolve(PENDING_WRITES_FULL);
    let queue = this.queuedWrites[resp];
    if (queue === null) {
      queue = this.queuedWrites[resp] = { argvs: [], settles: [], rejects: [] };
      if (this.queuedWriteCount === 0) this.onWork();
    }
    this.queuedWriteCount++;
    queue.argvs.push(argv);
    return new Promise((resolve, reject) => {
      queue.settles.push(resolve);
      queue.rejects.push(reject);
    });
  }

  /** Proposes the queued single writes (one entry per protocol). Called before any other proposal or read. */
  flushWrites(): void {
    if (this.queuedWriteCount === 0) return;
    this.queuedWriteCount = 0;
    for (const resp of [2, 3] as const) {
      const queue = this.queuedWrites[resp];
      if (queue === null) continue;
      this.queuedWrites[resp] = null;
      let proposed: Promise<ApplyOutcome | ErrorReply>;
      try {
        proposed = this.proposeNow(EntryKind.Commands, queue.argvs, resp);
      } catch (err) {
        for (const reject of queue.rejects) reject(err as Error);
        continue;
      }
      void proposed.then((r) => {
        for (let i = 0; i < queue.settles.length; i++) {
          queue.settles[i]!(r instanceof ErrorReply ? r : (r.results[i] as EngineResult));
        }
      });
    }
  }

  writeBatch(commands: readonly BatchCommand[], resp: 2 | 3): Promise<EngineResult[]> {
    return this.propose(
      EntryKind.Commands,
      commands.map((c) => c.argv),
      resp,
    ).then((r) => (r instanceof ErrorReply ? commands.map(() => r) : (r.results as EngineResult[])));
  }

  /** Proposes the deletion of those of `keys` whose time has passed (at apply, with the leader's time). */
  expireKeys(keys: readonly string[]): Promise<number> {
    return this.propose(EntryKind.Expire, [keys], 2).then((r) => (r instanceof ErrorReply ? 0 : (r.results[0] as number)));
  }

  evictKeys(keys: readonly string[]): Promise<number> {
    return this.propose(EntryKind.Evict, [keys], 2).then((r) => (r instanceof ErrorReply ? 0 : (r.results[0] as number)));
  }

  flush(): Promise<void> {
    return this.propose(EntryKind.Flush, [], 2).then((r) => {
      if (r instanceof ErrorReply) throw new EngineWriteError(r);
    });
  }

  /**
   * Proposes one entry. Throws NotLeaderError when this node is not the leader (nothing proposed).
   * Resolves with the apply outcome, or with an error reply (queue full, outcome unknown).
   */
  private propose(kind: EntryKind, argvs: readonly (readonly string[])[], resp: 2 | 3): Promise<ApplyOutcome | ErrorReply> {
    this.flushWrites(); // writes queued before this one go first
    return this.proposeNow(kind, argvs, resp);
  }

  private proposeNow(kind: EntryKind, argvs: readonly (readonly string[])[], resp: 2 | 3): Promise<ApplyOutcome | ErrorReply> {
    if (!this.isLeader()) throw this.notLeader();
    if (this.pendingWrites.size >= this.maxPendingWrites) return Promise.resolve(PENDING_WRITES_FULL);
    const node = this.multi.nodeId;
    this.seq = Math.max(this.seq, this.stateMachine.lastSequence(node)) + 1;
    const seq = this.seq;
    const data = encodeProposal({ kind, id: { node, seq }, nowMs: this.clock(), seed: this.nextSeed(), resp, argvs });
    try {
      this.multi.propose(this.groupId, data);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      // Certainly not appended: a safe, retryable refusal.
      if (err.reason === 'uncommitted-size-limit') return Promise.resolve(PENDING_WRITES_FULL);
      throw this.notLeader();
    }
    this.onWork();
    return new Promise((settle) => {
      this.pendingWrites.set(seq, { term: this.multi.rawNode(this.groupId).raft.term, settle });
    });
  }

  // ---- Reads ----

  read(command: DataCommand, argv: readonly string[], resp: 2 | 3, options?: ReadOptions): EngineResult | Promise<EngineResult> {
    if (options?.follower) return this.reader.read(command, argv, resp);
    const raft = this.multi.rawNode(this.groupId).raft;
    if (raft.role !== 'leader') throw this.notLeader();
    if (this.pendingReadCount >= this.maxPendingReads) return PENDING_READS_FULL;
    const writesInFlight = this.queuedWriteCount > 0 || this.pendingWrites.size > 0;
    if (this.readConsistency === 'lease' && raft.checkQuorum && raft.leadTransferee === 0 && !writesInFlight) {
      const committed = raft.raftLog.committed;
      if (raft.raftLog.termOrUndefined(committed) === raft.term) {
        if (this.appliedIndex >= committed) return this.reader.read(command, argv, resp);
        return new Promise((resolve, reject) => {
          this.pendingReadCount++;
          this.waitForApplied(committed, this.seq, [{ command, argv, resp, resolve, reject }]);
        });
      }
      // No entry of this term committed yet: the lease proves nothing; fall back to a ReadIndex.
    }
    if (this.nextReadBatch.length === 0) this.onWork();
    return new Promise((resolve, reject) => {
      this.pendingReadCount++;
      this.nextReadBatch.push({ command, argv, resp, resolve, reject });
    });
  }

  /** Issues one ReadIndex for the reads collected since the last call. The host calls it before each turn. */
  flushReads(): void {
    this.flushWrites();
    if (this.nextReadBatch.length === 0) return;
    const batch = this.nextReadBatch;
    this.nextReadBatch = [];
    if (!this.isLeader()) {
      this.rejectReads(batch, this.notLeader());
      return;
    }
    const id = ++this.readContextCounter;
    const context = Buffer.allocUnsafe(8);
    context.writeDoubleLE(id, 0);
    this.issuedReads.set(id, { afterSeq: this.seq, reads: batch });
    this.multi.readIndex(this.groupId, context);
  }

  private waitForApplied(index: Index, afterSeq: number, reads: PendingRead[]): void {
    if (index <= this.appliedIndex && this.writesSettled(afterSeq)) {
      this.runReads(reads);
      return;
    }
    let i = this.waitingReads.length;
    while (i > 0 && this.waitingReads[i - 1]!.index > index) i--;
    this.waitingReads.splice(i, 0, { index, afterSeq, reads });
  }

  /** Every write proposed here with a sequence up to `seq` has been answered. */
  private writesSettled(seq: number): boolean {
    const first = this.pendingWrites.keys().next();
    return first.done === true || first.value > seq;
  }

  private runReads(reads: readonly PendingRead[]): void {
    for (const r of reads) {
      this.pendingReadCount--;
      try {
        r.resolve(this.reader.read(r.command, r.argv, r.resp));
      } catch (err) {
        r.reject(err as Error);
      }
    }
  }

  private rejectReads(reads: readonly PendingRead[], err: Error): void {
    for (const r of reads) {
      this.pendingReadCount--;
      r.reject(err);
    }
  }

  private serveWaitingReads(): void {
    while (
      this.waitingReads.length > 0 &&
      this.waitingReads[0]!.index <= this.appliedIndex &&
      this.writesSettled(this.waitingReads[0]!.afterSeq)
    ) {
      this.runReads(this.waitingReads.shift()!.reads);
    }
  }

  // ---- Applier callbacks (through EngineApplier) ----

  apply(entries: readonly Entry[]): void {
    const self = this.multi.nodeId;
    for (const entry of entries) {
      const outcome = this.stateMachine.apply(entry);
      if (outcome === undefined || outcome.proposal.id.node !== self) continue;
      const pending = this.pendingWrites.get(outcome.proposal.id.seq);
      if (pending === undefined) continue;
      this.pendingWrites.delete(outcome.proposal.id.seq);
      pending.settle(outcome.duplicate ? WRITE_OUTCOME_UNKNOWN : outcome);
    }
    this.serveWaitingReads();
  }

  applySnapshot(snapshot: Snapshot): void {
    this.stateMachine.restore(snapshot.data);
    this.serveWaitingReads();
  }

  /** A conf change entry was applied by the host: the state now corresponds to its index. */
  confChanged(entry: Entry, _confState: ConfState): void {
    this.stateMachine.appliedIndex = Math.max(this.stateMachine.appliedIndex, entry.index);
    this.serveWaitingReads();
  }

  readStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      if (rs.context.length !== 8) continue;
      const id = Buffer.from(rs.context.buffer, rs.context.byteOffset, 8).readDoubleLE(0);
      const issued = this.issuedReads.get(id);
      if (issued === undefined) continue;
      this.issuedReads.delete(id);
      this.waitForApplied(rs.index, issued.afterSeq, issued.reads);
    }
  }

  softStateChanged(softState: SoftState, term: Term): void {
    if (softState.role === 'leader') {
      // Writes of an earlier term (this node lost and regained leadership): their outcome is unknown.
      this.failWrites((w) => w.term < term);
      return;
    }
    this.failWrites(() => true);
    // ReadIndex requests still under way die with the leadership; reads with a confirmed index stay.
    const err = new NotLeaderError(this.groupId, softState.lead);
    for (const issued of this.issuedReads.values()) this.rejectReads(issued.reads, err);
    this.issuedReads.clear();
    this.rejectReads(this.nextReadBatch, err);
    this.nextReadBatch = [];
  }

  private failWrites(which: (w: PendingWrite) => boolean): void {
    for (const [seq, w] of this.pendingWrites) {
      if (!which(w)) continue;
      this.pendingWrites.delete(seq);
      w.settle(WRITE_OUTCOME_UNKNOWN);
    }
    this.serveWaitingReads(); // reads that waited for those writes
  }

  // ---- Snapshots ----

  /** The group's state at its applied index, ready to persist (DiskLog `snapshotTaken`) and send. */
  createSnapshot(): Snapshot {
    const status = this.multi.status(this.groupId);
    const index = this.appliedIndex;
    const term = this.multi.rawNode(this.groupId).raft.raftLog.term(index);
    return { metadata: { index, term, confState: status.config }, data: this.stateMachine.snapshot() };
  }
}

/** The MultiRaft applier port for a node's shard engines: routes each callback to its group's engine. */
export class EngineApplier implements ApplierPort {
  private readonly engines = new Map<GroupId, RaftEngine>();

  register(engine: RaftEngine): void {
    this.engines.set(engine.groupId, engine);
  }

  unregister(groupId: GroupId): void {
    this.engines.delete(groupId);
  }

  engine(groupId: GroupId): RaftEngine | undefined {
    return this.engines.get(groupId);
  }

  /** Issue every engine's batched ReadIndex: call before each MultiRaft turn. */
  flushReads(): void {
    for (const e of this.engines.values()) e.flushReads();
  }

  apply(groupId: GroupId, entries: readonly Entry[]): void {
    this.engines.get(groupId)?.apply(entries);
  }

  applySnapshot(groupId: GroupId, snapshot: Snapshot): void {
    this.engines.get(groupId)?.applySnapshot(snapshot);
  }

  confChanged(groupId: GroupId, entry: Entry, confState: ConfState): void {
    this.engines.get(groupId)?.confChanged(entry, confState);
  }

  readStates(groupId: GroupId, readStates: readonly ReadState[]): void {
    this.engines.get(groupId)?.readStates(readStates);
  }

  softStateChanged(groupId: GroupId, softState: SoftState, term: Term): void {
    this.engines.get(groupId)?.softStateChanged(softState, term);
  }
}
