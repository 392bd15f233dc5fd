// The leader's bookkeeping of the configuration, each peer's Progress and the votes of an election
// (etcd's tracker.ProgressTracker).

import { JointConfig, MajorityConfig, type VoteResult } from '../quorum/quorum.js';
import type { ConfState, NodeId } from '../types.js';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';

/** A configuration. Learners and voters never overlap; learnersNext are outgoing voters to demote. */
export interface TrackerConfig {
  readonly voters: JointConfig;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export function emptyConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function confStateOf(c: TrackerConfig): ConfState {
  const sorted = (s: Iterable<NodeId>) => [...s].sort((a, b) => a - b);
  return {
    voters: sorted(c.voters.incoming.ids),
    votersOutgoing: sorted(c.voters.outgoing.ids),
    learners: sorted(c.learners),
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export class ProgressTracker {
  config: TrackerConfig = emptyConfig();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return confStateOf(this.config);
  }

  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && !this.config.voters.isJoint();
  }

  /** The largest index committed by the voters, according to their Match. */
  committed(): number {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** Every voter heard from recently (for CheckQuorum), counting self as active. */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) if (!pr.isLearner) votes.set(id, pr.recentActive);
    return this.config.voters.voteResult(votes) === 'won';
  }

  /** Voters (not learners), sorted. */
  voterIds(): NodeId[] {
    return [...this.config.voters.ids()].sort((a, b) => a - b);
  }

  /** Every peer with a Progress, sorted, so that message order is deterministic. */
  sortedIds(): readonly NodeId[] {
    // Cached per progress map: the set of peers changes only when a new map is installed.
    if (this.sortedFor !== this.progress || this.sortedCache.length !== this.progress.size) {
      this.sortedCache = [...this.progress.keys()].sort((a, b) => a - b);
      this.sortedFor = this.progress;
    }
    return this.sortedCache;
  }
  private sortedCache: NodeId[] = [];
  private sortedFor: Map<NodeId, Progress> | null = null;

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }

  newProgress(match: number, next: number, isLearner: boolean): Progress {
    return new Progress(match, next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
  }
}

export { MajorityConfig, JointConfig };
