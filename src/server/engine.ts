// Where data commands run: one ShardEngine per shard this node serves.
//
// The LocalEngine runs a command at once on its in-memory keyspace (the one-node, non-replicated
// path). A write is a single call of `applyWrite({argv, nowMs, seed})`: the leader's timestamp and
// a random seed are fixed before the command runs, so a Raft engine can instead propose that same
// value and call the same function when the entry is applied, on every replica, with equal results.
// Expiry and eviction deletions are such writes too (decided by the leader only).

import type { DataCommand, DataContext, WouldBlock } from '../commands/types.js';
import type { Reply } from '../resp/reply.js';
import type { Keyspace } from '../store/keyspace.js';

/** A write as it would travel through a Raft log: everything needed to run it deterministically. */
export interface WriteEntry {
  readonly command: DataCommand;
  readonly argv: readonly string[];
  readonly nowMs: number;
  readonly seed: number;
}

export type EngineResult = Reply | WouldBlock;

/** One command of a transaction. */
export interface BatchCommand {
  readonly command: DataCommand;
  readonly argv: readonly string[];
}

/** A transaction (EXEC) as one log entry: its commands run one after the other with nothing between. */
export interface BatchEntry {
  readonly commands: readonly BatchCommand[];
  readonly nowMs: number;
  readonly seed: number;
}

export interface ShardEngine {
  readonly keyspace: Keyspace;
  /**
   * Runs a read-only command (after a ReadIndex on a replicated engine; at once on a follower when
   * `options.follower`, for READONLY connections).
   */
  read(command: DataCommand, argv: readonly string[], resp: 2 | 3, options?: { readonly follower?: boolean }): EngineResult | Promise<EngineResult>;
  /** Runs a write (through the log on a replicated engine). */
  write(command: DataCommand, argv: readonly string[], resp: 2 | 3): EngineResult | Promise<EngineResult>;
  /** Runs the commands of a transaction atomically, as one write (one Raft entry on a replicated engine). */
  writeBatch(commands: readonly BatchCommand[], resp: 2 | 3): EngineResult[] | Promise<EngineResult[]>;
  /** Deletes the keys whose time has passed at nowMs, among `keys` (active expiry). Returns how many. */
  expireKeys(keys: readonly string[]): number | Promise<number>;
  /** Deletes `keys` chosen by the eviction policy. Returns how many. */
  evictKeys(keys: readonly string[]): number | Promise<number>;
  /** Deletes every key (FLUSHALL). */
  flush(): void | Promise<void>;
}

/**
 * The DataContext given to commands. One instance per engine is reused for every command: the
 * engine runs one command at a time, synchronously. `random` is a splitmix32 generator started from
 * the command's seed, so replicas given the same seed draw the same numbers.
 */
class CommandContext implements DataContext {
  nowMs = 0;
  resp: 2 | 3 = 2;
  private state = 0;

  constructor(readonly db: Keyspace) {}

  reset(nowMs: number, seed: number, resp: 2 | 3): void {
    this.nowMs = nowMs;
    this.state = seed | 0;
    this.resp = resp;
  }

  readonly random = (): number => {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

export class LocalEngine implements ShardEngine {
  private readonly context: CommandContext;
  /** Keys deleted by eviction (INFO evicted_keys). */
  evictedKeys = 0;
  /** The clock as read by the current synchronous job (-1: not read yet), see now(). */
  private jobNowMs = -1;
  private readonly endJob = (): void => {
    this.jobNowMs = -1;
  };

  /**
   * `clock`: the leader's time in ms since epoch. `nextSeed`: a 32-bit random seed per command;
   * both come from the composition root.
   */
  constructor(
    readonly keyspace: Keyspace,
    private readonly clock: () => number,
    private readonly nextSeed: () => number,
  ) {
    this.context = new CommandContext(keyspace);
  }

  read(command: DataCommand, argv: readonly string[], resp: 2 | 3): EngineResult {
    this.context.reset(this.now(), this.nextSeed(), resp);
    return command.run(this.context, argv);
  }

  write(command: DataCommand, argv: readonly string[], resp: 2 | 3): EngineResult {
    // What applyWrite does with the entry { command, argv, nowMs: clock(), seed: nextSeed() },
    // without making the entry object on this hot path.
    this.context.reset(this.now(), this.nextSeed(), resp);
    return command.run(this.context, argv);
  }

  /** Runs a write entry: the function a replicated engine calls when the entry is applied. */
  applyWrite(entry: WriteEntry, resp: 2 | 3): EngineResult {
    this.context.reset(entry.nowMs, entry.seed, resp);
    return entry.command.run(this.context, entry.argv);
  }

  writeBatch(commands: readonly BatchCommand[], resp: 2 | 3): EngineResult[] {
    return this.applyBatch({ commands, nowMs: this.now(), seed: this.nextSeed() }, resp);
  }

  /** Runs a transaction entry: one timestamp and one random sequence for all its commands. */
  applyBatch(entry: BatchEntry, resp: 2 | 3): EngineResult[] {
    this.context.reset(entry.nowMs, entry.seed, resp);
    return entry.commands.map(({ command, argv }) => command.run(this.context, argv));
  }

  expireKeys(keys: readonly string[]): number {
    return this.applyExpire(keys, this.now());
  }

  /** The expiry effect: a key is deleted only if its time has still passed when this is applied. */
  applyExpire(keys: readonly string[], nowMs: number): number {
    const before = this.keyspace.lazyExpired;
    for (const key of keys) this.keyspace.getForWrite(key, nowMs);
    return this.keyspace.lazyExpired - before;
  }

  evictKeys(keys: readonly string[]): number {
    const deleted = this.applyEvict(keys, this.now());
    this.evictedKeys += deleted;
    return deleted;
  }

  /** The eviction effect: deletes the keys still present at `nowMs`; returns how many. */
  applyEvict(keys: readonly string[], nowMs: number): number {
    let deleted = 0;
    for (const key of keys) {
      if (this.keyspace.getForWrite(key, nowMs) === undefined) continue; // expired meanwhile: counted as expired
      this.keyspace.delete(key, nowMs);
      deleted++;
    }
    return deleted;
  }

  flush(): void {
    this.keyspace.flush();
  }

  /**
   * The time for a command: the clock is read once per synchronous job (the commands of one input
   * chunk, a cron tick) and reused until the job's microtasks run. Reading it costs ~50 ns here, as
   * much as a small command; the commands of a job run within microseconds of each other.
   */
  private now(): number {
    if (this.jobNowMs < 0) {
      this.jobNowMs = this.clock();
      queueMicrotask(this.endJob);
    }
    return this.jobNowMs;
  }
}
