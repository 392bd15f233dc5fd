// The configuration-change calculator (etcd's confchange.Changer): from the current configuration and
// progress map, compute the next ones for a simple change, entering a joint configuration, or leaving
// it. Pure: it never mutates its inputs. Illegal changes throw ConfChangeError.

import { JointConfig, MajorityConfig } from '../quorum/quorum.js';
import type { Progress } from '../tracker/progress.js';
import type { ProgressTracker, TrackerConfig } from '../tracker/tracker.js';
import { ConfChangeType, type ConfChange, type ConfChangeSingle, type ConfState, type NodeId } from '../types.js';

export class ConfChangeError extends Error {
  override name = 'ConfChangeError';
}

export type ProgressMap = Map<NodeId, Progress>;

export interface ChangeResult {
  readonly config: TrackerConfig;
  readonly progress: ProgressMap;
}

/** An empty 'auto' change: leave the joint configuration. */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0 && cc.transition === 'auto';
}

/** Whether the change needs joint consensus, and if so whether to leave it automatically. */
export function enterJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== 'joint-explicit' };
  }
  return { joint: false, autoLeave: false };
}

/** Mutable working copy of a configuration. */
interface Working {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export class Changer {
  constructor(
    private readonly tracker: ProgressTracker,
    /** The leader's last index: new peers start probing from here. */
    private readonly lastIndex: number,
  ) {}

  /** Apply a ConfChange as etcd's raft.applyConfChange does (leave, enter joint, or simple). */
  change(cc: ConfChange): ChangeResult {
    if (isLeaveJoint(cc)) return this.leaveJoint();
    const { joint, autoLeave } = enterJoint(cc);
    return joint ? this.enterJoint(autoLeave, cc.changes) : this.simple(cc.changes);
  }

  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError('config is already joint');
    if (cfg.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    cfg.outgoing = new Set(cfg.incoming);
    this.apply(cfg, trk, ccs);
    cfg.autoLeave = autoLeave;
    return checkAndReturn(cfg, trk);
  }

  leaveJoint(): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (cfg.outgoing.size === 0) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      trk.get(id)!.isLearner = true;
    }
    cfg.learnersNext = new Set();
    for (const id of cfg.outgoing) {
      if (!cfg.incoming.has(id) && !cfg.learners.has(id)) trk.delete(id);
    }
    cfg.outgoing = new Set();
    cfg.autoLeave = false;
    return checkAndReturn(cfg, trk);
  }

  /** A change of at most one voter, applied directly (no joint state). */
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    this.apply(cfg, trk, ccs);
    const before = this.tracker.config.voters.incoming.ids;
    let diff = 0;
    for (const id of before) if (!cfg.incoming.has(id)) diff++;
    for (const id of cfg.incoming) if (!before.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    return checkAndReturn(cfg, trk);
  }

  private apply(cfg: Working, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0) continue; // etcd: a zero id is a no-op
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.AddLearner:
          this.makeLearner(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          remove(cfg, trk, cc.nodeId);
          break;
        default:
          throw new ConfChangeError(`unexpected conf type ${String(cc.type)}`);
      }
    }
    if (cfg.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(cfg: Working, trk: ProgressMap, id: NodeId): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.incoming.add(id);
  }

  private makeLearner(cfg: Working, trk: ProgressMap, id: NodeId): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, true);
      return;
    }
    if (pr.isLearner) return;
    remove(cfg, trk, id);
    trk.set(id, pr); // keep its progress
    // A voter still in the outgoing half becomes a learner only when the joint config is left.
    if (cfg.outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private initProgress(cfg: Working, trk: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) cfg.learners.add(id);
    else cfg.incoming.add(id);
    const pr = this.tracker.newProgress(0, Math.max(this.lastIndex, 1), isLearner);
    pr.recentActive = true; // a new peer gets a grace period before CheckQuorum counts it as silent
    trk.set(id, pr);
  }

  private checkAndCopy(): [Working, ProgressMap] {
    const c = this.tracker.config;
    const cfg: Working = {
      incoming: new Set(c.voters.incoming.ids),
      outgoing: new Set(c.voters.outgoing.ids),
      learners: new Set(c.learners),
      learnersNext: new Set(c.learnersNext),
      autoLeave: c.autoLeave,
    };
    const trk: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) trk.set(id, pr.clone());
    checkInvariants(cfg, trk);
    return [cfg, trk];
  }
}

function remove(cfg: Working, trk: ProgressMap, id: NodeId): void {
  if (!trk.has(id)) return;
  cfg.incoming.delete(id);
  cfg.learners.delete(id);
  cfg.learnersNext.delete(id);
  if (!cfg.outgoing.has(id)) trk.delete(id); // still an outgoing voter: keep its progress
}

function checkInvariants(cfg: Working, trk: ProgressMap): void {
  for (const ids of [cfg.incoming, cfg.outgoing, cfg.learners, cfg.learnersNext]) {
    for (const id of ids) if (!trk.has(id)) throw new ConfChangeError(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.outgoing.has(id)) throw new ConfChangeError(`${id} is in LearnersNext, but not Voters[1]`);
    if (trk.get(id)!.isLearner) throw new ConfChangeError(`${id} is in LearnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.outgoing.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[1]`);
    if (cfg.incoming.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[0]`);
    if (!trk.get(id)!.isLearner) throw new ConfChangeError(`${id} is in Learners, but is not marked as learner`);
  }
  if (cfg.outgoing.size === 0) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('cfg.LearnersNext must be nil when not joint');
    if (cfg.autoLeave) throw new ConfChangeError('AutoLeave must be false when not joint');
  }
}

function checkAndReturn(cfg: Working, trk: ProgressMap): ChangeResult {
  checkInvariants(cfg, trk);
  return {
    config: {
      voters: new JointConfig(new MajorityConfig(cfg.incoming), new MajorityConfig(cfg.outgoing)),
      learners: cfg.learners,
      learnersNext: cfg.learnersNext,
      autoLeave: cfg.autoLeave,
    },
    progress: trk,
  };
}

/**
 * Rebuild a configuration from a ConfState (after a restart or snapshot), by replaying it as changes
 * onto `tracker`'s (empty) configuration: etcd's confchange.Restore.
 */
export function restoreConfig(tracker: ProgressTracker, lastIndex: number, cs: ConfState): ChangeResult {
  const add = (id: NodeId): ConfChangeSingle => ({ type: ConfChangeType.AddNode, nodeId: id });
  const addLearner = (id: NodeId): ConfChangeSingle => ({ type: ConfChangeType.AddLearner, nodeId: id });
  const outgoing = cs.votersOutgoing.map(add);
  const incoming = [
    ...cs.votersOutgoing.map((id): ConfChangeSingle => ({ type: ConfChangeType.RemoveNode, nodeId: id })),
    ...cs.voters.map(add),
    ...cs.learners.map(addLearner),
    ...cs.learnersNext.map(addLearner),
  ];
  const step = (op: (c: Changer) => ChangeResult): void => {
    const res = op(new Changer(tracker, lastIndex));
    tracker.config = res.config;
    tracker.progress = res.progress;
  };
  if (outgoing.length === 0) {
    for (const cc of incoming) step((c) => c.simple([cc]));
  } else {
    for (const cc of outgoing) step((c) => c.simple([cc]));
    step((c) => c.enterJoint(cs.autoLeave, incoming));
  }
  return { config: tracker.config, progress: tracker.progress };
}
