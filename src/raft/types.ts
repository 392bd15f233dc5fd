// Raft's vocabulary, after etcd-io/raft's raftpb. Entries carry opaque bytes; the core never looks inside.
// Ids are plain numbers (node ids and group ids are small positive integers; 0 means "none").

export type NodeId = number;
export type GroupId = number;
export type Term = number;
export type Index = number;

export const NONE: NodeId = 0;

export const enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see ConfChange below). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: Term;
  readonly index: Index;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it is sent (Raft paper Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

/** The configuration: voters, plus outgoing voters while a joint change is in progress, and learners. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  /** Non-empty only in a joint configuration (C_old of C_old,new). */
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Learners that become voters when the joint configuration is left. */
  readonly learnersNext: readonly NodeId[];
  /** Leave the joint configuration automatically once it is committed. */
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: Index;
  readonly term: Term;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The state machine's serialized state (opaque to raft). */
  readonly data: Uint8Array;
}

export const enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearner = 2,
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** One change applies simply; several (or transition 'joint') go through joint consensus. */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  /** 'auto': simple if possible, else joint with auto-leave; 'joint-explicit': stay joint until an empty ConfChange. */
  readonly transition: 'auto' | 'joint-implicit' | 'joint-explicit';
}

export const enum MessageType {
  Hup = 0, // local: start an election
  Beat = 1, // local: leader sends heartbeats
  Prop = 2, // proposal (local, or forwarded by a follower)
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  PreVote = 7,
  PreVoteResp = 8,
  Snap = 9,
  SnapStatus = 10, // local: report snapshot send result
  Heartbeat = 11,
  HeartbeatResp = 12,
  Unreachable = 13, // local
  TransferLeader = 14,
  TimeoutNow = 15,
  ReadIndex = 16,
  ReadIndexResp = 17,
  CheckQuorum = 18, // local
  ForgetLeader = 19,
}

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: Term;
  /** For App: index of the entry before `entries`; for AppResp: the index acknowledged or rejected. */
  readonly index: Index;
  /** For App: term of the entry at `index`. For AppResp rejections: the term hint (fast backtracking). */
  readonly logTerm: Term;
  readonly commit: Index;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  /** For AppResp rejections: the follower's last index hint. */
  readonly rejectHint: Index;
  readonly snapshot: Snapshot | null;
  /** Opaque context (ReadIndex request ids, campaign-transfer marker). */
  readonly context: Uint8Array | null;
}
