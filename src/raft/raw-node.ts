// RawNode: the façade over one Raft replica (etcd-io/raft's RawNode). Not thread-safe, not asynchronous:
// a driver calls tick/step/propose, then ready() -> persist/send/apply -> advance(), over and over.
// Pure: no clock, no timers, no randomness except `config.random`, no I/O except through `config.storage`.

import { assert } from '../assert.js';
import { ProposalDroppedError } from './errors.js';
import { encodeConfChange } from './confchange/encoding.js';
import { EMPTY_HARD_STATE, type LogStorage } from './log-storage.js';
import { Raft, isLocalMessage, isResponseMessage } from './raft.js';
import { mustSync, type RaftRole, type Ready, type SoftState } from './ready.js';
import type { ProgressState } from './tracker/progress.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Index,
  type Message,
  type NodeId,
} from './types.js';

export interface RaftConfig {
  /** This replica's id (never 0, never reused after removal). */
  readonly id: NodeId;
  /** Ticks without word from a leader before a follower campaigns. Randomized in [e, 2e). Default 10. */
  readonly electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. Must be < electionTick. */
  readonly heartbeatTick?: number;
  readonly storage: LogStorage;
  /** Last applied index when restarting (entries up to it are not handed out again). Default 0. */
  readonly applied?: Index;
  /** Max payload bytes of entries per MsgApp (at least one entry is always sent). Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Max MsgApps in flight per follower in replicate state. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Max payload bytes in flight per follower (0 = no byte limit). Default 0. */
  readonly maxInflightBytes?: number;
  /** The leader refuses proposals once its uncommitted tail exceeds this many bytes (0 = no limit). */
  readonly maxUncommittedEntriesSize?: number;
  /** Max payload bytes of committed entries handed out for applying and not yet advanced. Default 64 MiB. */
  readonly maxCommittedSizePerReady?: number;
  /** Pre-vote before campaigning (Raft thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Leader steps down without a quorum heard from in an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /** 'safe' = ReadIndex with a heartbeat round (default); 'lease-based' needs checkQuorum. */
  readonly readOnlyOption?: 'safe' | 'lease-based';
  /** Seeded uniform random in [0, 1), used only for the randomized election timeout. */
  readonly random: () => number;
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  readonly disableProposalForwarding?: boolean;
  /** A leader removed from (or demoted in) the configuration steps down. Default true. */
  readonly stepDownOnRemoval?: boolean;
}

/** Replication progress of one peer, as the leader sees it. */
export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflights: number;
}

export interface BasicStatus {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: Index;
  readonly leadTransferee: NodeId;
}

export interface Status extends BasicStatus {
  readonly config: ConfState;
  /** Only on the leader. */
  readonly progress: Map<NodeId, ProgressStatus>;
}

/** What one outstanding Ready asked to persist and apply, settled by its advance(). */
interface PendingReady {
  readonly ready: Ready;
  readonly lastEntry: Entry | null;
  readonly snapshotIndex: Index;
  readonly lastApplied: Entry | null;
  readonly appliedSize: number;
  /** Messages to self (acknowledgements, votes) that may only be stepped once this Ready is durable. */
  readonly steps: Message[];
}

/** Outstanding Readys allowed at once: a driver that never advances fails fast instead of growing a queue. */
const READYS_IN_FLIGHT_MAX = 64;

export class RawNode {
  /** The replica itself; exposed for tests and the simulator's checkers. Treat as read-only. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** Readys handed out and not yet advanced, oldest first (more than one with asynchronous writes). */
  private readonly pending: PendingReady[] = [];

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Start a brand-new group whose members are `peers` (same list, same order, on every member). Appends
   * and commits one AddNode ConfChange entry per peer at term 1; they come out of the next Ready as entries
   * to persist and committed entries to apply (applyConfChange on them is harmless). Storage must be empty.
   */
  bootstrap(peers: readonly NodeId[]): void {
    assert(peers.length > 0, 'must provide at least one peer to bootstrap');
    assert(this.raft.raftLog.lastIndex() === 0, "can't bootstrap a nonempty Storage");
    this.prevHardState = EMPTY_HARD_STATE;
    this.raft.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: id }], transition: 'auto' }),
    }));
    this.raft.raftLog.append(ents);
    this.raft.raftLog.committed = ents.length;
    for (const id of peers) {
      this.raft.applyConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: id }], transition: 'auto' });
    }
  }

  /** Advance logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Campaign now (skipping the election timeout; pre-vote still applies if enabled). */
  campaign(): void {
    this.raft.step(localMessage(MessageType.Hup, this.raft.id));
  }

  /** Propose data to be appended. Throws a ProposalDroppedError if it certainly will not be. */
  propose(data: Uint8Array): void {
    // No spread: this is the hottest entry point.
    this.raft.step(localMessage(MessageType.Prop, this.raft.id, [{ term: 0, index: 0, type: EntryType.Normal, data }]));
  }

  /** Propose a membership change. It takes effect on each replica when applied (applyConfChange). */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step({
      ...localMessage(MessageType.Prop, this.raft.id),
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
    });
  }

  /** Apply a committed conf change (call for every ConfChange entry applied). Returns the new config. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feed a message received from a peer. Never throws for bad input from the network: a local message
   * type, a response from a peer not in the configuration, or a forwarded proposal the leader cannot
   * take are ignored, and false is returned.
   */
  step(m: Message): boolean {
    if (isLocalMessage(m.type)) return false;
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return false;
    try {
      this.raft.step(m);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
    return true;
  }

  /**
   * Ask for a linearizable read point. The answer arrives as a ReadState with the same context in a later
   * Ready (or never, if leadership is lost: retry with a NEW context, never reuse one).
   */
  readIndex(requestContext: Uint8Array): void {
    this.raft.step({
      ...localMessage(MessageType.ReadIndex, this.raft.id),
      entries: [{ term: 0, index: 0, type: EntryType.Normal, data: requestContext }],
    });
  }

  /** Ask the leader to hand leadership to `to` (ignored unless `to` is a voter and not the leader). */
  transferLeader(to: NodeId): void {
    this.raft.step({ ...localMessage(MessageType.TransferLeader, to), from: to });
  }

  /** Forget the current leader (a follower told the leader's node is dead), without campaigning. */
  forgetLeader(): void {
    this.raft.step(localMessage(MessageType.ForgetLeader, this.raft.id));
  }

  /** The transport could not deliver to `id`: replicate to it by probing again. */
  reportUnreachable(id: NodeId): void {
    this.raft.step({ ...localMessage(MessageType.Unreachable, this.raft.id), from: id });
  }

  /** The snapshot sent to `id` was delivered (ok) or not; the leader resumes probing it. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step({ ...localMessage(MessageType.SnapStatus, this.raft.id), from: id, reject: !ok });
  }

  hasReady(): boolean {
    // Compares fields in place: the host asks this of every busy group several times per turn.
    const r = this.raft;
    if (r.lead !== this.prevSoftState.lead || r.role !== this.prevSoftState.role) return true;
    const prev = this.prevHardState;
    const commit = r.raftLog.committed;
    const hsEmpty = r.term === 0 && r.vote === NONE && commit === 0;
    if (!hsEmpty && (r.term !== prev.term || r.vote !== prev.vote || commit !== prev.commit)) return true;
    if (r.raftLog.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.hasNextUnstableEntries() || r.raftLog.hasNextCommittedEntries()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Collect the work to do, then call advance(ready) once it is persisted. ready() may be called again
   * before that (asynchronous storage writes, etcd's AsyncStorageWrites): each Ready holds only what the
   * earlier ones did not, its writes must be issued after theirs and become durable in the same order,
   * and the Readys must be advanced in the order they were handed out.
   */
  ready(): Ready {
    assert(this.pending.length < READYS_IN_FLIGHT_MAX, 'too many Readys outstanding: advance() them');
    const r = this.raft;
    const entries = r.raftLog.nextUnstableEntries();
    const committedEntries = r.raftLog.nextCommittedEntries();
    const softState = r.softState();
    const hardState = r.hardState();
    // Durable state only moves forward: a bug here would make a replica forget a vote or a commit.
    const prev = this.prevHardState;
    if (hardState.term < prev.term) assert(false, `term went back from ${prev.term} to ${hardState.term}`);
    if (hardState.commit < prev.commit) assert(false, `commit went back from ${prev.commit} to ${hardState.commit}`);
    if (hardState.term === prev.term && prev.vote !== NONE && hardState.vote !== prev.vote) {
      assert(false, `vote changed within term ${hardState.term}`);
    }
    const snapshot = r.raftLog.hasNextUnstableSnapshot() ? r.raftLog.unstable.snapshot! : undefined;
    const messagesAfterPersist: Message[] = [];
    const steps: Message[] = [];
    for (const m of r.msgsAfterAppend) {
      if (m.to === r.id) steps.push(m);
      else messagesAfterPersist.push(m);
    }
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      messagesAfterPersist,
      mustSync: mustSync(hardState, this.prevHardState, entries.length),
    };
    if (!softStateEqual(softState, this.prevSoftState)) rd.softState = softState;
    if (!hardStateEqual(hardState, this.prevHardState)) rd.hardState = hardState;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    // Accept: nothing above is handed out twice.
    this.prevSoftState = softState;
    this.prevHardState = hardState;
    r.readStates = [];
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.raftLog.acceptUnstable();
    let appliedSize = 0;
    for (const e of committedEntries) appliedSize += e.data.length;
    if (committedEntries.length > 0) {
      r.raftLog.acceptApplying(committedEntries[committedEntries.length - 1]!.index, appliedSize);
    }
    this.pending.push({
      ready: rd,
      lastEntry: entries.length > 0 ? entries[entries.length - 1]! : null,
      snapshotIndex: snapshot?.metadata.index ?? 0,
      lastApplied: committedEntries.length > 0 ? committedEntries[committedEntries.length - 1]! : null,
      appliedSize,
      steps,
    });
    return rd;
  }

  /** Readys handed out and not yet advanced. */
  readysInFlight(): number {
    return this.pending.length;
  }

  /**
   * The oldest outstanding Ready has been persisted (and its committed entries applied, or at least
   * handed to the state machine in order). Steps the node's own acks and votes back in. If `rd` is
   * given it must be that oldest Ready.
   */
  advance(rd?: Ready): void {
    const p = this.pending[0];
    assert(p !== undefined, 'advance() without an outstanding ready()');
    assert(rd === undefined || rd === p.ready, 'advance() out of order: advance Readys in the order handed out');
    this.pending.shift();
    const r = this.raft;
    for (const m of p.steps) r.step(m);
    if (p.snapshotIndex > 0) r.appliedSnapshot(p.snapshotIndex);
    if (p.lastEntry !== null) r.raftLog.stableTo(p.lastEntry.index, p.lastEntry.term);
    if (p.lastApplied !== null) r.appliedTo(p.lastApplied.index, p.appliedSize);
  }

  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
    };
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.role === 'leader') {
      for (const [id, pr] of r.trk.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflights: pr.inflights.count,
        });
      }
    }
    return { ...this.basicStatus(), config: r.trk.confState(), progress };
  }
}

function localMessage(type: MessageType, to: NodeId, entries: readonly Entry[] = []): Message {
  return {
    type,
    to,
    from: NONE,
    term: 0,
    index: 0,
    logTerm: 0,
    commit: 0,
    entries,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: null,
  };
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export type { RaftRole, Ready };
