// Server counters for INFO and /metrics. Plain numbers bumped on the hot path; nothing is computed
// until someone reads them.

import type { ServerStats } from '../commands/server-context.js';
import type { Keyspace } from '../store/keyspace.js';

/** Counters of one command (INFO commandstats). Mutable: dispatch bumps them in place. */
export interface CommandStat {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
}

export class Stats implements ServerStats {
  startedAtMs: number;
  totalConnectionsReceived = 0;
  totalCommandsProcessed = 0;
  rejectedConnections = 0;
  totalNetInputBytes = 0;
  totalNetOutputBytes = 0;
  totalErrorReplies = 0;
  /** Keys deleted by eviction (the engines count them; kept here across engines). */
  evictedKeysCount = 0;
  readonly errorReplies = new Map<string, number>();
  readonly commands = new Map<string, CommandStat>();
  /** Baselines so that CONFIG RESETSTAT can zero the keyspaces' own counters. */
  private hitsBase = 0;
  private missesBase = 0;
  private expiredBase = 0;

  constructor(
    nowMs: number,
    private readonly keyspaces: () => readonly Keyspace[],
  ) {
    this.startedAtMs = nowMs;
  }

  get expiredKeys(): number {
    return this.sum((k) => k.lazyExpired) - this.expiredBase;
  }
  get evictedKeys(): number {
    return this.evictedKeysCount;
  }
  get keyspaceHits(): number {
    return this.sum((k) => k.hits) - this.hitsBase;
  }
  get keyspaceMisses(): number {
    return this.sum((k) => k.misses) - this.missesBase;
  }

  /** The counters of a command, created on first use. */
  command(name: string): CommandStat {
    let stat = this.commands.get(name);
    if (stat === undefined) {
      stat = { calls: 0, usec: 0, rejected: 0, failed: 0 };
      this.commands.set(name, stat);
    }
    return stat;
  }

  /** Counts an error reply by its code (the text up to the first space). */
  countError(message: string): void {
    const space = message.indexOf(' ');
    const code = space === -1 ? message : message.slice(0, space);
    this.totalErrorReplies++;
    this.errorReplies.set(code, (this.errorReplies.get(code) ?? 0) + 1);
  }

  reset(): void {
    this.totalConnectionsReceived = 0;
    this.totalCommandsProcessed = 0;
    this.rejectedConnections = 0;
    this.totalNetInputBytes = 0;
    this.totalNetOutputBytes = 0;
    this.totalErrorReplies = 0;
    this.evictedKeysCount = 0;
    this.errorReplies.clear();
    // Keep the objects (dispatch holds references to them); zero their counts.
    for (const stat of this.commands.values()) {
      stat.calls = 0;
      stat.usec = 0;
      stat.rejected = 0;
      stat.failed = 0;
    }
    this.hitsBase = this.sum((k) => k.hits);
    this.missesBase = this.sum((k) => k.misses);
    this.expiredBase = this.sum((k) => k.lazyExpired);
  }

  private sum(field: (keyspace: Keyspace) => number): number {
    let total = 0;
    for (const keyspace of this.keyspaces()) total += field(keyspace);
    return total;
  }
}
