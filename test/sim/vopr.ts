// One simulation run: seed -> swarm options (cluster size, Raft knobs, fault mix) -> safety phase
// (faults on, bounded time) -> liveness phase (faults off, everyone up, network healed: a leader must
// emerge, a probe write and read must succeed, and every member must catch up, in bounded time) ->
// end-of-run checks. The same seed always gives the same run.

import { ConfChangeType, type ConfChange, type ConfChangeSingle } from '../../src/raft/types.js';
import { Cluster, type PlantedBug, type RaftKnobs, type SimNode, type Violation } from './cluster.js';
import { checkNothingLost } from './checkers/leader-completeness.js';
import { checkKvHistory, type CheckOutcome } from './checkers/linearizability.js';
import type { NetworkFaults } from './network.js';
import { Prng } from './prng.js';
import { Workload } from './workload.js';

export interface RunOptions {
  readonly seed: number;
  readonly bugs?: readonly PlantedBug[];
  /** Time units of the safety phase (a Raft tick is 4-6 units). */
  readonly safetyUnits?: number;
  /** Upper bound on the liveness phase. */
  readonly livenessUnits?: number;
}

export interface RunResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly linearizability: CheckOutcome;
  readonly summary: string;
}

/** Per-time-unit probabilities of each fault, chosen per seed (swarm testing: some seeds have none). */
interface FaultMix {
  crash: number;
  pause: number;
  partition: number;
  membership: number;
  transfer: number;
  compact: number;
  networkChange: number;
}

export const DEFAULT_SAFETY_UNITS = 4000;
export const DEFAULT_LIVENESS_UNITS = 2500;

export function runSeed(options: RunOptions): RunResult {
  try {
    return runSeedUnchecked(options);
  } catch (err) {
    // A bug of the harness itself, or an exception the harness did not expect: still a failing seed.
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return {
      seed: options.seed,
      violations: [{ checker: 'harness', detail, time: -1 }],
      linearizability: 'unknown',
      summary: 'harness exception',
    };
  }
}

function runSeedUnchecked(options: RunOptions): RunResult {
  const rng = new Prng(options.seed);
  const safetyUnits = options.safetyUnits ?? DEFAULT_SAFETY_UNITS;
  const livenessUnits = options.livenessUnits ?? DEFAULT_LIVENESS_UNITS;
  const maxSizePerMsg = rng.pick([0, 200, 1 << 20]);
  const knobs: RaftKnobs = {
    electionTick: 10,
    heartbeatTick: 1,
    maxSizePerMsg,
    maxInflightMsgs: rng.pick([1, 4, 256]),
    // A byte window of a few messages, or none (it must be at least one message).
    maxInflightBytes: rng.pick([0, Math.max(400, maxSizePerMsg * 2)]),
    maxUncommittedEntriesSize: rng.pick([0, 0, 2000]),
    maxCommittedSizePerReady: rng.pick([1, 1 << 20]),
    preVote: rng.chance(0.8),
    checkQuorum: rng.chance(0.8),
  };
  const cluster = new Cluster(rng.fork(), {
    voters: rng.pick([3, 3, 5]),
    knobs,
    bugs: new Set(options.bugs ?? []),
    diskLatency: rng.pick([[0, 0], [0, 3], [1, 8]] as const),
    diskSpike: rng.pick([0, 0.02]),
  });
  const faults: FaultMix = {
    crash: rng.pick([0, 0.002, 0.006]),
    pause: rng.pick([0, 0.002, 0.006]),
    partition: rng.pick([0, 0.003, 0.01]),
    membership: rng.pick([0, 0.002, 0.006]),
    transfer: rng.pick([0, 0.002, 0.006]),
    compact: rng.pick([0, 0.002, 0.01]),
    networkChange: rng.pick([0, 0.002]),
  };
  cluster.network.faults = randomNetwork(rng);
  const workload = new Workload(cluster, rng.fork(), {
    clients: rng.int(2, 5),
    keys: rng.int(1, 3),
    opRate: rng.pick([0.02, 0.05, 0.1]),
    opTimeout: 400,
    attemptTimeout: rng.pick([60, 150]),
  });
  const faultRng = rng.fork();
  let healAt = Infinity;
  let addedNodes = 0;

  // Safety phase: faults on.
  for (let t = 0; t < safetyUnits && !cluster.stopped; t++) {
    if (cluster.now >= healAt) {
      cluster.network.heal();
      healAt = Infinity;
    }
    const nodes = [...cluster.nodes.values()];
    const up = nodes.filter((n) => n.isUp);
    if (up.length > 0 && faultRng.chance(faults.crash)) cluster.crash(faultRng.pick(up), faultRng.int(10, 400));
    if (up.length > 0 && faultRng.chance(faults.pause)) cluster.pause(faultRng.pick(up), faultRng.int(10, 200));
    if (healAt === Infinity && faultRng.chance(faults.partition)) {
      partition(cluster, faultRng);
      healAt = cluster.now + faultRng.int(20, 500);
    }
    if (faultRng.chance(faults.networkChange)) cluster.network.faults = randomNetwork(faultRng);
    const leaders = cluster.leaders();
    if (leaders.length > 0 && faultRng.chance(faults.membership)) {
      if (changeMembership(cluster, faultRng.pick(leaders), faultRng, addedNodes < 4)) addedNodes++;
    }
    if (leaders.length > 0 && faultRng.chance(faults.transfer)) {
      const leader = faultRng.pick(leaders);
      const voters = leader.raw!.status().config.voters;
      if (voters.length > 0) cluster.transferLeader(leader, faultRng.pick(voters));
    }
    if (up.length > 0 && faultRng.chance(faults.transfer / 2)) {
      cluster.disrupt(faultRng.pick(up), faultRng.chance(0.5) ? 'campaign' : 'forget-leader');
    }
    for (const node of up) if (faultRng.chance(faults.compact)) cluster.compact(node, faultRng.int(0, 30));
    workload.step(true);
    cluster.step();
    if (t % 250 === 249) cluster.checkAllLogs();
  }

  // Liveness phase: faults off, everyone up, network healed and reliable.
  let converged = false;
  if (!cluster.stopped) {
    cluster.network.heal();
    cluster.network.faults = { loss: 0, duplicate: 0, reorder: 0, minDelay: 1, maxDelay: 3 };
    for (const node of cluster.nodes.values()) {
      cluster.restart(node);
      node.pausedUntil = 0;
    }
    const start = cluster.now;
    workload.startProbe(start + livenessUnits);
    for (let t = 0; t < livenessUnits && !cluster.stopped; t++) {
      workload.step(false);
      cluster.step();
      if (t % 20 === 0 && (converged = isConverged(cluster, workload))) break;
    }
    if (!cluster.stopped && !converged) converged = isConverged(cluster, workload);
    if (!cluster.stopped && !converged) {
      cluster.violate('liveness', `not converged ${livenessUnits} units after faults stopped: ${describe(cluster, workload)}`);
    }
  }

  // End-of-run checks.
  let linearizability: CheckOutcome = 'unknown';
  if (!cluster.stopped) {
    cluster.checkAllLogs();
    const leader = cluster.leaders()[0];
    if (leader) {
      const v = checkNothingLost(cluster.oracle, leader.id, leader.raw!.basicStatus().hardState.commit, leader.log);
      if (v) cluster.violate('committed-not-lost', v);
    }
    const history = workload.history(converged);
    const result = checkKvHistory(history, 500_000);
    linearizability = result.outcome;
    if (result.outcome === 'illegal') {
      cluster.violate('linearizability', `history of key ${result.partition} is not linearizable (${history.length} ops)`);
    }
  }
  const c = workload.counts;
  const s = cluster.stats;
  const summary =
    `nodes=${cluster.nodes.size} terms=${cluster.electionSafety.termsWithLeader} applied=${cluster.oracle.highestApplied} ` +
    `ops ok=${c.ok} fail=${c.fail} info=${c.indeterminate} readsLost=${c.readsLost} lin=${linearizability} ` +
    `crashes=${s.crashes} snaps=${s.snapshotsSent} compactions=${s.compactions} confApplies=${s.confApplies} msgs=${s.messages} trace=${cluster.traceHash.toString(16)}`;
  return { seed: options.seed, violations: cluster.violations, linearizability, summary };
}

function randomNetwork(rng: Prng): NetworkFaults {
  const maxDelay = rng.pick([2, 5, 12, 30]);
  return {
    loss: rng.pick([0, 0.01, 0.05, 0.2]),
    duplicate: rng.pick([0, 0.02, 0.1]),
    reorder: rng.pick([0, 0.05, 0.3]),
    minDelay: 1,
    maxDelay,
  };
}

/** Full (split in two), single-node isolation, one-way, and partial ("bridge") partitions. */
function partition(cluster: Cluster, rng: Prng): void {
  const ids = rng.shuffle([...cluster.nodes.values()].filter((n) => n.status !== 'retired').map((n) => n.id));
  if (ids.length < 2) return;
  switch (rng.int(0, 3)) {
    case 0: {
      const cut = rng.int(1, ids.length - 1);
      cluster.network.separate(ids.slice(0, cut), ids.slice(cut));
      break;
    }
    case 1:
      cluster.network.separate([ids[0]!], ids.slice(1));
      break;
    case 2: // one-way: some links lose one direction only
      for (let i = rng.int(1, ids.length); i > 0; i--) {
        const from = rng.pick(ids);
        const to = rng.pick(ids);
        if (from !== to) cluster.network.cutLink(from, to);
      }
      break;
    default: {
      // Partial: the bridge node sees both sides, the sides do not see each other.
      if (ids.length < 3) return;
      const rest = ids.slice(1);
      const cut = rng.int(1, rest.length - 1);
      cluster.network.separate(rest.slice(0, cut), rest.slice(cut));
      break;
    }
  }
}

/** Proposes one membership change at `leader`; returns true if it created a node. */
function changeMembership(cluster: Cluster, leader: SimNode, rng: Prng, mayAdd: boolean): boolean {
  const config = leader.raw!.status().config;
  const voters = config.voters;
  const learners = config.learners;
  const choices: (() => ConfChange | null)[] = [];
  const simple = (changes: ConfChangeSingle[]): ConfChange => ({ changes, transition: 'auto' });
  let created = false;
  if (config.votersOutgoing.length > 0) {
    if (!config.autoLeave) choices.push(() => simple([])); // leave an explicit joint configuration
  } else {
    if (mayAdd && voters.length + learners.length < 7) {
      choices.push(() => {
        created = true;
        return simple([{ type: ConfChangeType.AddLearner, nodeId: cluster.addEmptyNode().id }]);
      });
    }
    if (learners.length > 0 && voters.length < 5) {
      choices.push(() => simple([{ type: ConfChangeType.AddNode, nodeId: rng.pick(learners) }]));
    }
    if (voters.length > 3) choices.push(() => simple([{ type: ConfChangeType.RemoveNode, nodeId: rng.pick(voters) }]));
    if (learners.length > 0) {
      choices.push(() => simple([{ type: ConfChangeType.RemoveNode, nodeId: rng.pick(learners) }]));
      // Replace a voter by a learner in one joint change.
      choices.push(() => ({
        changes: [
          { type: ConfChangeType.AddNode, nodeId: rng.pick(learners) },
          { type: ConfChangeType.RemoveNode, nodeId: rng.pick(voters) },
        ],
        transition: rng.pick(['auto', 'joint-implicit', 'joint-explicit'] as const),
      }));
    }
  }
  if (choices.length === 0) return false;
  const cc = rng.pick(choices)();
  if (cc) cluster.proposeConfChange(leader, cc);
  return created;
}

function isConverged(cluster: Cluster, workload: Workload): boolean {
  if (!workload.probeDone || workload.pending > 0) return false;
  const leaders = cluster.leaders();
  if (leaders.length !== 1) return false;
  const leader = leaders[0]!;
  const commit = leader.raw!.basicStatus().hardState.commit;
  // Everything in the leader's log is committed: nothing that is not applied now can ever be.
  return leader.log.lastIndex === commit && cluster.members().every((n) => n.isUp && n.applied === commit);
}

function describe(cluster: Cluster, workload: Workload): string {
  const nodes = [...cluster.nodes.values()].map((n) => {
    if (!n.raw) return `${n.id}:${n.status}`;
    const st = n.raw.basicStatus();
    return `${n.id}:${st.softState.role[0]}${st.hardState.term}/c${st.hardState.commit}/a${n.applied}`;
  });
  return `probeDone=${workload.probeDone} pendingOps=${workload.pending} nodes=[${nodes.join(' ')}]`;
}
