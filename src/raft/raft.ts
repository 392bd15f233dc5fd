// One Raft replica as a pure state machine (etcd-io/raft's raft struct). Inputs: step(message) and tick();
// outputs: the two outboxes (`msgs`, `msgsAfterAppend`), `readStates` and the log's unstable tail, which
// RawNode packages into a Ready. No I/O, no clock, no Math.random: `config.random` is the only entropy.

import { assert } from '../assert.js';
import { type ChangeResult, Changer, ConfChangeError, restoreConfig } from './confchange/confchange.js';
import { decodeConfChange } from './confchange/encoding.js';
import {
  ErrCompacted,
  ErrProposalDropped,
  ErrSnapshotTemporarilyUnavailable,
  RaftError,
} from './errors.js';
import { entrySize } from './log-storage.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import type { RaftRole, ReadState, SoftState } from './ready.js';
import type { RaftConfig } from './raw-node.js';
import type { Progress } from './tracker/progress.js';
import { ProgressTracker, type TrackerConfig } from './tracker/tracker.js';
import type { VoteResult } from './quorum/quorum.js';
import {
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
  type Snapshot,
  type Term,
} from './types.js';

/** Context marking a campaign started by a leadership transfer: it bypasses the in-lease vote rule. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

/** Bounds on queues of pending read requests; a request over the limit is dropped (the client retries). */
const MAX_PENDING_READS = 4096;

type CampaignType = 'pre-election' | 'election' | 'transfer';

/** Message types that only ever come from the local node, never over the network. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus ||
    t === MessageType.CheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable ||
    t === MessageType.PreVoteResp
  );
}

function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  assert(t === MessageType.PreVote, `not a vote message: ${t}`);
  return MessageType.PreVoteResp;
}

function bytesEqual(a: Uint8Array | null, b: Uint8Array): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fields of an outgoing message; the rest default to empty. */
type MessageFields = Partial<Message> & { type: MessageType; to: NodeId };

const NO_ENTRIES: readonly Entry[] = [];

/** How far back among unsent messages to look for a MsgApp to extend (peers interleave). */
const APPEND_MERGE_SCAN = 16;

/** Build a message with every field present, in one fixed shape (keeps V8's property access fast). */
export function makeMessage(f: MessageFields): Message {
  return newMessage(f, f.from ?? NONE, f.term ?? 0);
}

function newMessage(f: MessageFields, from: NodeId, term: Term): Message {
  return {
    type: f.type,
    to: f.to,
    from,
    term,
    index: f.index ?? 0,
    logTerm: f.logTerm ?? 0,
    commit: f.commit ?? 0,
    entries: f.entries ?? NO_ENTRIES,
    reject: f.reject ?? false,
    rejectHint: f.rejectHint ?? 0,
    snapshot: f.snapshot ?? null,
    context: f.context ?? null,
  };
}

export class Raft {
  readonly id: NodeId;
  term: Term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  role: RaftRole = 'follower';
  isLearner = false;
  /** Messages that may be sent at once. */
  msgs: Message[] = [];
  /** Messages that may be sent (or stepped, if to self) only once the unstable state is durable. */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = NONE;
  /** The node leadership is being transferred to (leader only), or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change proposed; no new one until it is applied (leader only). */
  pendingConfIndex: Index = 0;
  /** Payload bytes of the uncommitted tail (leader only). */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** ReadIndex requests held until the leader commits an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Per peer, the unsent MsgApp being extended by extendPendingAppend (stale once handed out). */
  private readonly growingAppends = new Map<NodeId, { message: Message; entries: Entry[]; bytes: number }>();
  randomizedElectionTimeout = 0;

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  private readonly random: () => number;

  constructor(c: RaftConfig) {
    this.id = c.id;
    this.electionTimeout = c.electionTick ?? 10;
    this.heartbeatTimeout = c.heartbeatTick ?? 1;
    this.maxMsgSize = c.maxSizePerMsg ?? 1 << 20;
    const maxUncommitted = c.maxUncommittedEntriesSize ?? 0;
    this.maxUncommittedSize = maxUncommitted === 0 ? Infinity : maxUncommitted;
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? true;
    this.random = c.random;
    const maxInflight = c.maxInflightMsgs ?? 256;
    const maxInflightBytes = c.maxInflightBytes ?? 0;
    const readOnlyOption = c.readOnlyOption ?? 'safe';
    validate(c.id, this.electionTimeout, this.heartbeatTimeout, maxInflight, maxInflightBytes, this.maxMsgSize);
    if (readOnlyOption === 'lease-based' && !this.checkQuorum) {
      throw new RaftError('InvalidConfig', 'CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
    }
    this.readOnly = new ReadOnly(readOnlyOption);
    this.trk = new ProgressTracker(maxInflight, maxInflightBytes);
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 64 << 20);

    const { hardState: hs, confState: cs } = c.storage.initialState();
    const restored = restoreConfig(this.trk, this.raftLog.lastIndex(), cs);
    this.switchToConfig(restored);
    if (hs.term !== 0 || hs.vote !== 0 || hs.commit !== 0) this.loadState(hs);
    if ((c.applied ?? 0) > 0) this.raftLog.appliedTo(c.applied!, 0);
    this.becomeFollower(this.term, NONE);
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- Sending ----

  private send(f: MessageFields): void {
    const t = f.type;
    const isVoteTraffic =
      t === MessageType.Vote ||
      t === MessageType.VoteResp ||
      t === MessageType.PreVote ||
      t === MessageType.PreVoteResp;
    let term: Term;
    if (isVoteTraffic) {
      // Vote traffic carries its own term (a pre-vote's is in our future).
      assert(f.term !== undefined && f.term !== 0, 'term should be set when sending a vote message');
      term = f.term;
    } else {
      assert(f.term === undefined || f.term === 0, 'term should not be set when sending this message');
      // Proposals and read requests forwarded to the leader carry no term: they are local to the leader.
      term = t === MessageType.Prop || t === MessageType.ReadIndex ? 0 : this.term;
    }
    const out = newMessage(f, f.from === undefined || f.from === NONE ? this.id : f.from, term);
    // A vote or an append acknowledgement is a promise about our disk: it waits for the write.
    if (t === MessageType.AppResp || t === MessageType.VoteResp || t === MessageType.PreVoteResp) {
      this.msgsAfterAppend.push(out);
    } else {
      assert(out.to !== this.id, 'message should not be self-addressed when sending');
      this.msgs.push(out);
    }
  }

  /** Send a MsgApp (or a MsgSnap if the entries are compacted) to `to`. Returns whether one was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)!;
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrUndefined(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let ents: Entry[] = [];
    if (pr.state !== 'replicate' || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch (err) {
        if (err === ErrCompacted) return this.maybeSendSnapshot(to, pr);
        throw err;
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    // Extend only the MsgApp that the newest inflight slot stands for (it ends at prevIndex).
    const extendable = ents.length > 0 && pr.state === 'replicate' && pr.inflights.newest() === prevIndex;
    if (extendable && this.extendPendingAppend(to, prevIndex, ents, bytes)) {
      pr.sentMoreEntries(ents.length, bytes);
      return true;
    }
    this.send({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    });
    pr.sentEntries(ents.length, bytes);
    return true;
  }

  /**
   * A leader that takes proposals one at a time would send one MsgApp per proposal per follower. When the
   * newest unsent message to `to` is a MsgApp whose entries end just before `ents`, extend it instead
   * (within maxSizePerMsg): one message, one encoding, one acknowledgement. Only the newest message to
   * that peer is extended, so the per-peer order of messages is unchanged. A message is never changed
   * once handed out: only `msgs` (not yet taken by a Ready) is searched.
   */
  private extendPendingAppend(to: NodeId, prevIndex: Index, ents: readonly Entry[], bytes: number): boolean {
    const msgs = this.msgs;
    for (let i = msgs.length - 1, scanned = 0; i >= 0 && scanned < APPEND_MERGE_SCAN; i--, scanned++) {
      const m = msgs[i]!;
      if (m.to !== to) continue;
      if (m.type !== MessageType.App || m.term !== this.term || m.index + m.entries.length !== prevIndex) return false;
      if (m.entries.length === 0) return false;
      // The growing message's entry array is ours alone (a copy made at the first extension): append in
      // place, so n proposals cost O(n), not O(n^2).
      let grown = this.growingAppends.get(to);
      if (grown === undefined || grown.message !== m) {
        let size = 0;
        for (const e of m.entries) size += entrySize(e);
        grown = { message: m, entries: m.entries.slice(), bytes: size };
      }
      if (grown.bytes + bytes > this.maxMsgSize) return false;
      for (const e of ents) grown.entries.push(e);
      grown.bytes += bytes;
      const commit = this.raftLog.committed;
      if (grown.message === m && m.commit === commit && m.entries === grown.entries) return true;
      grown.message = msgs[i] = { ...m, entries: grown.entries, commit };
      this.growingAppends.set(to, grown);
      return true;
    }
    return false;
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // do not send a snapshot into the void
    let snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err === ErrSnapshotTemporarilyUnavailable) return false;
      throw err;
    }
    assert(snapshot.metadata.index !== 0, 'need non-empty snapshot');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: MessageType.Snap, to, snapshot });
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | null): void {
    // Never tell a follower a commit index beyond what it is known to hold (it could not check it).
    const commit = Math.min(this.trk.progress.get(to)!.match, this.raftLog.committed);
    this.send({ type: MessageType.Heartbeat, to, commit, context: ctx });
  }

  private bcastAppend(): void {
    for (const id of this.trk.sortedIds()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    const last = this.readOnly.lastPendingRequestCtx();
    this.bcastHeartbeatWithCtx(last === undefined ? null : Buffer.from(last, 'latin1'));
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | null): void {
    for (const id of this.trk.sortedIds()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  // ---- Commit, apply ----

  /** Advance the commit index to what a quorum acknowledged, if that entry is of the current term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /** The application applied up to `index` (`size` bytes of entries handed out by the last Ready). */
  appliedTo(index: Index, size: number): void {
    const newApplied = Math.max(index, this.raftLog.applied);
    this.raftLog.appliedTo(newApplied, size);
    this.reduceUncommittedSize(size);
    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.role === 'leader') {
      // The joint configuration is applied: propose leaving it. Empty entries are never refused for
      // size; a refusal here (e.g. during a transfer) is retried on the next apply.
      try {
        this.step(makeMessage({ type: MessageType.Prop, to: this.id, from: this.id, entries: [leaveJointEntry()] }));
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    }
  }

  /** A received snapshot is durable and installed in the state machine. */
  appliedSnapshot(index: Index): void {
    this.raftLog.stableSnapshotTo(index);
    this.appliedTo(index, 0);
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += entrySize(e);
    // An empty tail accepts any proposal; empty entries (new leader, auto-leave) are always accepted.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  private reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** Append entries as the leader (assigning term and index). Returns false if over the size limit. */
  private appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const ents = es.map((e, i): Entry => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) return false;
    const last = this.raftLog.append(ents);
    // The leader acknowledges its own entries only once they are durable (stepped at advance()).
    this.send({ type: MessageType.AppResp, to: this.id, index: last });
    return true;
  }

  // ---- Roles ----

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.Hup, to: this.id, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(makeMessage({ type: MessageType.CheckQuorum, to: this.id, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.Beat, to: this.id, from: this.id }));
    }
  }

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
    assert(
      this.randomizedElectionTimeout >= this.electionTimeout &&
        this.randomizedElectionTimeout < 2 * this.electionTimeout,
      'random() must return a number in [0, 1)',
    );
    this.abortLeaderTransfer();
    this.growingAppends.clear(); // drop references to messages of the previous term
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(id === this.id ? last : 0, last + 1, pr.isLearner);
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote, and keeps its election timer.
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.role !== 'follower', 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    // Conservatively: no conf change until everything in the log (which may hold one) is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry of our term: commits the previous terms' entries and enables ReadIndex.
    const empty: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    assert(this.appendEntry([empty]), 'empty entry refused');
  }

  /** Whether this node may campaign: a voter, not installing a snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  private hup(t: CampaignType): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return; // the config we would campaign in may be stale
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      const page = this.raftLog.slice(lo, hi, this.maxMsgSize);
      for (const e of page) if (e.type === EntryType.ConfChange) return true;
      lo += page.length;
    }
    return false;
  }

  private campaign(t: CampaignType): void {
    let term: Term;
    let voteMsg: MessageType;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in; ours does not change yet
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    for (const id of this.trk.voterIds()) {
      if (id === this.id) {
        // Our own vote counts once it is durable (stepped back at advance()).
        this.send({ type: voteRespType(voteMsg), to: id, term });
        continue;
      }
      this.send({
        type: voteMsg,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
        context: t === 'transfer' ? CAMPAIGN_TRANSFER : null,
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- Step ----

  /** Feed one message. Throws ProposalDroppedError for a refused proposal; other refusals are silent. */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // We heard from a leader recently: do not let a (possibly partitioned) node depose it.
        if (!force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; we move there on winning.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. after a partition): our higher term in the reply makes it step down.
        // Without this, with pre-vote on, it could keep us from ever campaigning successfully.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        // Reject explicitly so that the pre-candidate learns our term and cannot deadlock.
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return; // otherwise ignore messages of a lower term
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'pre-election' : 'election');
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from || // a repeat of our vote
          (this.vote === NONE && this.lead === NONE) || // no vote and no leader in this term yet
          (m.type === MessageType.PreVote && m.term > this.term); // a pre-vote for a future term
        // Learners vote too when asked: they may have been promoted without knowing it yet.
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send({ type: voteRespType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0; // only real votes reset the timer and are recorded
            this.vote = m.from;
          }
        } else {
          this.send({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
        }
        return;
      }
      default:
        if (this.role === 'leader') this.stepLeader(m);
        else if (this.role === 'follower') this.stepFollower(m);
        else this.stepCandidate(m);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, NONE);
        // Everyone but us must prove to be active again before the next check.
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.Prop:
        this.leaderPropose(m);
        return;
      case MessageType.ReadIndex:
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed); // a quorum of one: nothing to confirm
          return;
        }
        // Our commit index may lag the old leader's until an entry of our term commits (etcd #7331).
        if (!this.committedEntryInCurrentTerm()) {
          if (this.pendingReadIndexMessages.length < MAX_PENDING_READS) this.pendingReadIndexMessages.push(m);
          return;
        }
        this.handleReadIndex(m);
        return;
      case MessageType.ForgetLeader:
        return;
      default:
        break;
    }

    // Everything else comes from a peer we must track.
    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // If all MsgApps of a full window were lost, free one slot so replication can recover.
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
        if (this.readOnly.option !== 'safe' || m.context === null || m.context.length === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined || this.trk.config.voters.voteResult(acks) !== 'won') return;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return;
      }
      case MessageType.SnapStatus:
        if (pr.state !== 'snapshot') return;
        if (m.reject) pr.pendingSnapshot = 0; // probe from match, not from a snapshot never applied
        pr.becomeProbe();
        // Success: wait for the follower's MsgAppResp. Failure: wait a heartbeat before retrying.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        // In replicate state a MsgApp was probably lost: fall back to probing.
        if (pr.state === 'replicate') pr.becomeProbe();
        return;
      case MessageType.TransferLeader: {
        if (pr.isLearner) return; // learners cannot lead
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return; // already under way
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return; // already the leader
        this.electionElapsed = 0; // the transfer must finish within one election timeout
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee); // catch it up first; the ack triggers MsgTimeoutNow
        return;
      }
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
    if (!this.trk.progress.has(this.id)) throw ErrProposalDropped['not-in-config']; // removed
    if (this.leadTransferee !== NONE) throw ErrProposalDropped['leader-transfer'];
    const ents = m.entries.slice();
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      const cc = decodeConfChange(e.data);
      const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
      const alreadyJoint = this.trk.config.voters.isJoint();
      const wantsLeaveJoint = cc.changes.length === 0;
      // An illegal change becomes an empty normal entry, so the caller's index bookkeeping still holds.
      const refused =
        alreadyPending || alreadyJoint !== wantsLeaveJoint || !this.validChange(cc); // one at a time, legal
      if (refused) {
        ents[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(ents)) throw ErrProposalDropped['uncommitted-size-limit'];
    this.bcastAppend();
  }

  /** Whether applying cc to the current config would succeed (so applyConfChange never fails later). */
  private validChange(cc: ConfChange): boolean {
    try {
      new Changer(this.trk, this.raftLog.lastIndex()).change(cc);
      return true;
    } catch (err) {
      if (err instanceof ConfChangeError) return false;
      throw err;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    // Also reached at advance(), when the leader acknowledges its own durable entries.
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: skip, in one round trip, every index of the follower's conflicting term.
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // A probing peer that confirms its match moves back to replicate even if match did not change.
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower caught up (by the snapshot or otherwise) and the log can take it from here.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      // An entry of our term committed: held read requests can be served now.
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
    if (m.from !== this.id) {
      // Fill the window the ack just opened, without empty commit-only messages.
      while (this.maybeSendAppend(m.from, false)) {
        // keeps sending while entries remain and flow control allows (each send advances pr.next)
      }
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === 'pre-candidate' ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw ErrProposalDropped['no-leader'];
      case MessageType.App:
        this.becomeFollower(m.term, m.from); // a leader of our term exists: concede
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const res = this.poll(m.from, !m.reject);
        if (res === 'won') {
          if (this.role === 'pre-candidate') {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === 'lost') {
          // A pre-vote response carries a future term: stay in our own.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return; // e.g. TimeoutNow: a candidate is already campaigning
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) throw ErrProposalDropped['no-leader'];
        if (this.disableProposalForwarding) throw ErrProposalDropped['forwarding-disabled'];
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.ForgetLeader:
        if (this.readOnly.option === 'lease-based') return; // the lease would be unsafe
        this.lead = NONE;
        return;
      case MessageType.TimeoutNow:
        // A transfer campaign skips pre-vote: we know the leader is alive and wants us to lead.
        this.hup('transfer');
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) return; // dropped: the caller retries with a new context
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.ReadIndexResp:
        if (m.entries.length !== 1) return;
        this.readStates.push({ index: m.index, context: m.entries[0]!.data });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Our log does not match at m.index. Hint the largest (index, term) that may match: the last
    // index <= m.index whose term <= m.logTerm, skipping our whole tail of newer conflicting terms.
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: MessageType.HeartbeatResp, to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    if (m.snapshot !== null && this.restore(m.snapshot)) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Install a snapshot from the leader. Returns false if it is stale or already covered by our log. */
  private restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    // Entries handed out for applying may hold conf changes the host will still apply; installing the
    // snapshot's configuration now would let them land on top of it. The leader retries later.
    if (this.raftLog.applying > this.raftLog.applied) return false;
    if (this.role !== 'follower') {
      // Defense in depth: only a follower installs snapshots.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (![...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(this.id)) return false; // not for us
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(restoreConfig(this.trk, this.raftLog.lastIndex(), cs));
    return true;
  }

  // ---- Reads ----

  private committedEntryInCurrentTerm(): boolean {
    return (this.raftLog.termOrUndefined(this.raftLog.committed) ?? 0) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.handleReadIndex(m);
  }

  private handleReadIndex(m: Message): void {
    if (this.readOnly.option === 'lease-based') {
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    if (this.readOnly.readIndexQueue.length >= MAX_PENDING_READS) return; // dropped: caller retries
    const ctx = m.entries[0]!.data;
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, ctx); // the leader acks its own request
    this.bcastHeartbeatWithCtx(ctx);
  }

  private respondToReadIndex(req: Message, index: Index): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: req.entries[0]!.data });
      return;
    }
    this.send({ type: MessageType.ReadIndexResp, to: req.from, index, entries: req.entries });
  }

  // ---- Transfer ----

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: MessageType.TimeoutNow, to });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- Membership ----

  /** Apply a committed conf change. It was validated when proposed, so failure here is a bug. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.switchToConfig(new Changer(this.trk, this.raftLog.lastIndex()).change(cc));
  }

  private switchToConfig(res: ChangeResult): ConfState {
    this.trk.config = res.config;
    this.trk.progress = res.progress;
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.role === 'leader') {
      // Removed or demoted while leading.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== 'leader' || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      this.bcastAppend(); // a smaller quorum may commit more now
    } else {
      for (const id of this.trk.sortedIds()) if (id !== this.id) this.maybeSendAppend(id, false); // probe new peers
    }
    if (this.leadTransferee !== NONE && !this.trk.config.voters.ids().has(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    return cs;
  }

  /** The current configuration, for tests and status. */
  config(): TrackerConfig {
    return this.trk.config;
  }
}

/** The empty conf change entry that leaves a joint configuration (decodes as an empty 'auto' change). */
function leaveJointEntry(): Entry {
  return { term: 0, index: 0, type: EntryType.ConfChange, data: new Uint8Array(0) };
}

function validate(
  id: NodeId,
  electionTick: number,
  heartbeatTick: number,
  maxInflight: number,
  maxInflightBytes: number,
  maxMsgSize: number,
): void {
  const fail = (msg: string) => {
    throw new RaftError('InvalidConfig', msg);
  };
  if (!Number.isSafeInteger(id) || id <= 0) fail('cannot use none as id');
  if (heartbeatTick <= 0) fail('heartbeat tick must be greater than 0');
  if (electionTick <= heartbeatTick) fail('election tick must be greater than heartbeat tick');
  if (maxInflight <= 0) fail('max inflight messages must be greater than 0');
  if (maxInflightBytes !== 0 && maxInflightBytes < maxMsgSize) fail('max inflight bytes must be >= max message size');
}
