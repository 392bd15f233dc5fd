// Simulated clients: each runs one operation at a time (put, get, append, cas on a few keys) through a
// node that believes it is leader, retries on another leader until its deadline, and records the
// outcome in a history for the linearizability checker:
//   ok            a reply came (a write's reply is its apply result; a read's comes via ReadIndex);
//   fail          a write was refused by every leader it tried (ProposalDropped: certainly not applied);
//   indeterminate a write was accepted somewhere but no reply came before the deadline (it may apply
//                 later or never); an unanswered read tells nothing and is left out.
// A retried write keeps its (client, seq), so the state machine's sessions apply it at most once.
//
// The simulator also sees every apply, which sharpens the history without trusting any reply: a write
// took effect no later than the first time any node applied it (it was committed before), so its return
// time is at most that moment and its output is that apply's result, even if the client never heard
// back. And once the run has converged (every member applied the final leader's committed log), an
// accepted write that no node ever applied never took effect: it is left out, like a failed one.

import type { Cluster, ClientCallbacks } from './cluster.js';
import type { KvInput, KvOutput, Operation } from './checkers/linearizability.js';
import { encodeCommand, type KvCommand } from './kv.js';
import type { Prng } from './prng.js';
import type { NodeId } from '../../src/raft/types.js';

export type HistoryOp = Operation<KvInput, KvOutput>;

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  /** Probability per time unit that an idle client starts an operation. */
  readonly opRate: number;
  /** Time units before an operation gives up. */
  readonly opTimeout: number;
  /** Time units before an attempt at one leader is abandoned for another. */
  readonly attemptTimeout: number;
}

interface ActiveOp {
  readonly seq: number;
  readonly input: KvInput;
  readonly call: number;
  deadline: number;
  attempt: number;
  nextAttemptAt: number;
  /** A proposal of this write was appended by some leader: it can no longer be reported as failed. */
  accepted: boolean;
  readContext: string | null;
}

interface Client {
  readonly id: number;
  seq: number;
  op: ActiveOp | null;
  /** Last value this client saw per key (to make some cas operations succeed). */
  readonly seen: Map<string, string | null>;
}

interface PendingHistoryOp {
  readonly client: number;
  readonly seq: number;
  readonly input: KvInput;
  readonly call: number;
  /** The client's reply, if one came. */
  readonly reply: { output: KvOutput; at: number } | null;
}

export class Workload implements ClientCallbacks {
  private readonly records: PendingHistoryOp[] = [];
  /** The first apply of each client write anywhere, by "client:seq". */
  private readonly firstApplied = new Map<string, { result: KvOutput; at: number }>();
  readonly counts = { ok: 0, fail: 0, indeterminate: 0, readsLost: 0 };
  private readonly clients: Client[] = [];
  private readonly keys: string[];
  /** Logical time: every call and return gets the next number, so real-time order is exact. */
  private clock = 0;
  private probeClient: Client | null = null;
  private probeOps: KvInput[] = [];
  /** The probe's operations never expire before the liveness phase ends. */
  private probeDeadline = 0;
  probeDone = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Prng,
    private readonly options: WorkloadOptions,
  ) {
    for (let i = 0; i < options.clients; i++) this.clients.push(newClient(i));
    this.keys = Array.from({ length: options.keys }, (_, i) => `k${i}`);
    cluster.callbacks = this;
  }

  get pending(): number {
    return this.clients.filter((c) => c.op !== null).length;
  }

  /** One time unit: start new operations (if `issue`), retry, and expire. */
  step(issue: boolean): void {
    const now = this.cluster.now;
    for (const client of this.clients) {
      if (client.op === null) {
        if (client === this.probeClient) this.nextProbe(client);
        else if (issue && this.rng.chance(this.options.opRate)) this.begin(client, this.randomInput(client));
      }
      const op = client.op;
      if (op === null) continue;
      if (now >= op.deadline) this.expire(client, op);
      else if (now >= op.nextAttemptAt) this.attempt(client, op);
    }
  }

  /**
   * Liveness probe: a new client reads every key (so an acknowledged write that was lost shows up in
   * the history), then writes and reads one key; all must succeed before `deadline`.
   */
  startProbe(deadline: number): void {
    const client = newClient(this.clients.length);
    this.clients.push(client);
    this.probeClient = client;
    const key = this.keys[0]!;
    this.probeOps = [
      ...this.keys.map((k): KvInput => ({ op: 'get', key: k })),
      { op: 'put', key, value: 'probe' },
      { op: 'get', key },
    ];
    this.probeDeadline = deadline;
  }

  private nextProbe(client: Client): void {
    const input = this.probeOps.shift();
    if (input === undefined) {
      this.probeDone = true;
      return;
    }
    this.begin(client, input, this.probeDeadline);
  }

  private randomInput(client: Client): KvInput {
    const key = this.rng.pick(this.keys);
    const tag = `${client.id}.${client.seq + 1}`;
    switch (this.rng.int(0, 5)) {
      case 0:
      case 1:
        return { op: 'get', key };
      case 2:
        return { op: 'put', key, value: tag };
      case 3:
        return { op: 'append', key, value: String.fromCharCode(97 + client.id) };
      default: {
        const expect = this.rng.chance(0.7) ? client.seen.get(key) ?? null : tag;
        return { op: 'cas', key, expect, value: tag };
      }
    }
  }

  private begin(client: Client, input: KvInput, deadline?: number): void {
    const now = this.cluster.now;
    client.seq++;
    client.op = {
      seq: client.seq,
      input,
      call: ++this.clock,
      deadline: deadline ?? now + this.options.opTimeout,
      attempt: 0,
      nextAttemptAt: now,
      accepted: false,
      readContext: null,
    };
  }

  private attempt(client: Client, op: ActiveOp): void {
    const now = this.cluster.now;
    // Some reads go to any node: a follower forwards its ReadIndex request to the leader.
    const followerRead = op.input.op === 'get' && this.rng.chance(0.3);
    const candidates = followerRead ? this.cluster.activeNodes() : this.cluster.leaders();
    if (candidates.length === 0) {
      op.nextAttemptAt = now + 5; // no leader known yet: look again soon
      return;
    }
    const node = this.rng.pick(candidates);
    op.attempt++;
    op.nextAttemptAt = now + this.options.attemptTimeout;
    if (op.input.op === 'get') {
      op.readContext = `${client.id}:${op.seq}:${op.attempt}`;
      this.cluster.read(node, op.readContext, op.input.key);
      return;
    }
    const cmd: KvCommand = { client: client.id, seq: op.seq, input: op.input };
    if (this.cluster.propose(node, cmd, encodeCommand(cmd)) === 'accepted') op.accepted = true;
    else op.nextAttemptAt = now + 5; // refused: certainly not appended; try again shortly
  }

  private expire(client: Client, op: ActiveOp): void {
    client.op = null;
    if (op.input.op === 'get') {
      this.counts.readsLost++;
    } else if (op.accepted) {
      this.counts.indeterminate++;
      this.records.push({ client: client.id, seq: op.seq, input: op.input, call: op.call, reply: null });
    } else {
      this.counts.fail++;
    }
  }

  private complete(client: Client, output: KvOutput): void {
    const op = client.op!;
    client.op = null;
    this.counts.ok++;
    this.records.push({ client: client.id, seq: op.seq, input: op.input, call: op.call, reply: { output, at: ++this.clock } });
    if (op.input.op === 'get') client.seen.set(op.input.key, output as string | null);
    else if (op.input.op === 'put' || (op.input.op === 'cas' && output === true)) client.seen.set(op.input.key, op.input.value);
  }

  writeApplied(_node: NodeId, cmd: KvCommand, result: KvOutput, reply: boolean): void {
    const key = `${cmd.client}:${cmd.seq}`;
    if (!this.firstApplied.has(key)) this.firstApplied.set(key, { result, at: ++this.clock });
    const client = this.clients[cmd.client];
    if (reply && client?.op && client.op.seq === cmd.seq && client.op.input.op !== 'get') this.complete(client, result);
  }

  /**
   * The history to check. Writes that were applied return no later than their first apply, with its
   * result; with `converged`, accepted writes never applied are left out (they never took effect).
   */
  history(converged: boolean): HistoryOp[] {
    const out: HistoryOp[] = [];
    for (const r of this.records) {
      const applied = r.input.op === 'get' ? undefined : this.firstApplied.get(`${r.client}:${r.seq}`);
      if (applied) {
        const ret = r.reply ? Math.min(r.reply.at, applied.at) : applied.at;
        out.push({ client: r.client, input: r.input, output: r.reply ? r.reply.output : applied.result, call: r.call, ret });
      } else if (r.reply) {
        out.push({ client: r.client, input: r.input, output: r.reply.output, call: r.call, ret: r.reply.at });
      } else if (!converged) {
        out.push({ client: r.client, input: r.input, output: undefined, call: r.call, ret: Infinity });
      }
    }
    return out;
  }

  readServed(_node: NodeId, context: string, value: string | null): void {
    const client = this.clients[Number(context.slice(0, context.indexOf(':')))];
    if (client?.op && client.op.readContext === context) this.complete(client, value);
  }
}

function newClient(id: number): Client {
  return { id, seq: 0, op: null, seen: new Map() };
}
