// Named errors of the Raft core. Each is a value: compare with `err === ErrCompacted` or by `code`.
// Storage errors are thrown by a LogStorage's read methods; proposal errors by RawNode.propose*.

export type RaftErrorCode =
  | 'Compacted'
  | 'SnapshotOutOfDate'
  | 'Unavailable'
  | 'SnapshotTemporarilyUnavailable'
  | 'ProposalDropped'
  | 'StepLocalMsg'
  | 'StepPeerNotFound'
  | 'InvalidConfig';

export class RaftError extends Error {
  override name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The requested index precedes the first retained entry (it was compacted into a snapshot). */
export const ErrCompacted = new RaftError('Compacted', 'requested index is unavailable due to compaction');
/** A snapshot older than the one already held was offered. */
export const ErrSnapshotOutOfDate = new RaftError(
  'SnapshotOutOfDate',
  'requested index is older than the existing snapshot',
);
/** The requested index is past the last entry of the log. */
export const ErrUnavailable = new RaftError('Unavailable', 'requested entry at index is unavailable');
/** The storage cannot produce a snapshot right now; the leader retries later. */
export const ErrSnapshotTemporarilyUnavailable = new RaftError(
  'SnapshotTemporarilyUnavailable',
  'snapshot is temporarily unavailable',
);

/** A local message (Hup, Beat, ...) arrived from the network. RawNode.step ignores it and returns false. */
export const ErrStepLocalMsg = new RaftError('StepLocalMsg', 'raft: cannot step raft local message');
/** A response from a node not in the configuration. RawNode.step ignores it and returns false. */
export const ErrStepPeerNotFound = new RaftError('StepPeerNotFound', 'raft: cannot step as peer not found');

/** Why a proposal was refused. The caller knows for sure the proposal was NOT appended. */
export type DropReason =
  | 'no-leader'
  | 'leader-transfer'
  | 'uncommitted-size-limit'
  | 'forwarding-disabled'
  | 'not-in-config';

export class ProposalDroppedError extends RaftError {
  override name = 'ProposalDroppedError';
  constructor(readonly reason: DropReason) {
    super('ProposalDropped', `raft proposal dropped: ${reason}`);
  }
}

/** The five drop reasons, one shared value each (no allocation on the refusal path). */
export const ErrProposalDropped: Readonly<Record<DropReason, ProposalDroppedError>> = {
  'no-leader': new ProposalDroppedError('no-leader'),
  'leader-transfer': new ProposalDroppedError('leader-transfer'),
  'uncommitted-size-limit': new ProposalDroppedError('uncommitted-size-limit'),
  'forwarding-disabled': new ProposalDroppedError('forwarding-disabled'),
  'not-in-config': new ProposalDroppedError('not-in-config'),
};

export function isProposalDropped(err: unknown): err is ProposalDroppedError {
  return err instanceof ProposalDroppedError;
}
