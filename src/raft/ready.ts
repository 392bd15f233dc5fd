// What one RawNode hands its driver per turn, and the rules for handling it.

import type { Entry, HardState, Index, Message, NodeId, Snapshot } from './types.js';

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state, for information only (never persisted). */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: RaftRole;
}

/** A completed ReadIndex request: once applied >= index, a read for `context` is linearizable. */
export interface ReadState {
  readonly index: Index;
  readonly context: Uint8Array;
}

/**
 * A batch of work produced by RawNode.ready(). Handle Readys one at a time, in order:
 *
 *   1. Send `messages` (they may go out at once, even while step 2 is still writing).
 *   2. Persist, atomically if the store allows: `snapshot` (install), then `entries` (an entry at index i
 *      replaces any stored entry >= i), then `hardState`. fsync if `mustSync`.
 *   3. Only once step 2 is durable, send `messagesAfterPersist`.
 *   4. Apply `snapshot` (if any) then `committedEntries` to the state machine, in order, exactly once.
 *      For each ConfChange entry call RawNode.applyConfChange(). Serve `readStates` whose index is applied.
 *   5. Call RawNode.advance(ready). This must happen after step 2 (it tells the core the writes are
 *      stable and steps the node's own acknowledgements and votes back into it).
 *
 * Why the split is safe (Raft thesis §10.2.1, etcd's msgs / msgsAfterAppend): `messages` never carry a
 * promise about this node's own disk. They are the leader's MsgApp/MsgSnap/heartbeats (the leader counts
 * itself toward commit only through its own acknowledgement, which arrives at advance()), campaign
 * requests (a candidate's vote for itself is likewise counted only after advance()), heartbeat responses,
 * read-index traffic and transfer messages. Every message that acknowledges durable state (MsgAppResp,
 * MsgVoteResp, MsgPreVoteResp) is in `messagesAfterPersist`. Previous Readys are durable by the time this
 * one exists, because advance() is called only after step 2.
 */
export interface Ready {
  /** Present when the leader or role changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed since the previous Ready. */
  readonly hardState?: HardState;
  readonly readStates: ReadState[];
  /** Entries to append to durable storage (not yet committed, or not known to be durable). */
  readonly entries: Entry[];
  /** A snapshot received from the leader, to persist and install. */
  readonly snapshot?: Snapshot;
  /** Entries to apply to the state machine: committed and already durable. */
  readonly committedEntries: Entry[];
  /** Outbound messages that may be sent at once, in parallel with persisting this Ready. */
  readonly messages: Message[];
  /** Outbound messages to send only after this Ready's snapshot, entries and hard state are durable. */
  readonly messagesAfterPersist: Message[];
  /** Whether the write in step 2 needs an fsync (new entries, or a term or vote change). */
  readonly mustSync: boolean;
}

/** Whether a write of this Ready must be synced: a commit-only change need not be (it can be recomputed). */
export function mustSync(hs: HardState, prev: HardState, entryCount: number): boolean {
  return entryCount !== 0 || hs.vote !== prev.vote || hs.term !== prev.term;
}
