// The replicated state machine of one shard group: applies committed entries (src/server/proposal.ts) to
// a Keyspace, in log order, on every replica alike. Pure and synchronous.
//
// Dedup: each proposer numbers its proposals with an increasing sequence, so the table keeps, per
// proposing node, the last sequence applied; an entry whose sequence is not above it is a re-proposal
// (or a stale duplicate) and is skipped. The table is bounded (least recently updated proposer dropped
// first, in apply order, so every replica drops the same one).
//
// Snapshot (bytes): MAGIC 'SRSM' | version | applied index (f64 LE) | dedup count (u32 LE)
//   | (node u32 LE, seq f64 LE){count} | chunk count (u32 LE) | (length u32 LE | keyspace chunk){n}
// where the chunks are those of src/store/snapshot.ts.

import type { CommandSpec, DataCommand } from '../commands/types.js';
import { ErrorReply } from '../resp/reply.js';
import type { Keyspace } from '../store/keyspace.js';
import { SnapshotLoader, encodeSnapshot } from '../store/snapshot.js';
import type { Entry, Index } from '../raft/types.js';
import { LocalEngine, type BatchCommand, type EngineResult } from './engine.js';
import { EntryKind, ProposalFormatError, decodeProposal, type Proposal } from './proposal.js';

/** What applying one entry produced, for the proposer to answer its client. */
export interface ApplyOutcome {
  readonly proposal: Proposal;
  /** Skipped: the same proposal id (or a later one of its proposer) was applied before. */
  readonly duplicate: boolean;
  /** Commands: one result per argv. Expire/Evict: [deleted count]. Flush: []. Empty when duplicate. */
  readonly results: readonly (EngineResult | number)[];
}

export interface ShardStateMachineOptions {
  /** The command table, to find each argv's command by name (lower case). */
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** Proposers remembered by the dedup table. Default 4096. */
  readonly maxProposers?: number;
}

const MAGIC = 'SRSM';
const SNAPSHOT_VERSION = 1;

export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

export class ShardStateMachine {
  /** Index of the last entry applied (or of the snapshot restored). */
  appliedIndex: Index = 0;
  /** Entries whose data could not be decoded (a bug elsewhere); skipped so the replica keeps going. */
  malformedEntries = 0;
  /** Keys deleted by eviction entries (INFO evicted_keys). */
  evictedKeys = 0;
  private readonly lastSeq = new Map<number, number>();
  private readonly maxProposers: number;
  /** Runs commands deterministically (its clock and seed source are never used here). */
  private readonly runner: LocalEngine;

  constructor(
    readonly keyspace: Keyspace,
    private readonly options: ShardStateMachineOptions,
  ) {
    this.maxProposers = options.maxProposers ?? 4096;
    const unused = (): number => {
      throw new Error('the state machine takes time and seeds from entries only');
    };
    this.runner = new LocalEngine(keyspace, unused, unused);
  }

  /** Last sequence applied for `node` (0 if none remembered). */
  lastSequence(node: number): number {
    return this.lastSeq.get(node) ?? 0;
  }

  /**
   * Applies one committed normal entry (entries must come in index order). Returns undefined for an
   * empty entry (a new leader's no-op) or a malformed one.
   */
  apply(entry: Entry): ApplyOutcome | undefined {
    if (entry.index <= this.appliedIndex) return undefined; // already in the state (restored snapshot)
    this.appliedIndex = entry.index;
    if (entry.data.length === 0) return undefined;
    let proposal: Proposal;
    try {
      proposal = decodeProposal(entry.data);
    } catch (err) {
      if (!(err instanceof ProposalFormatError)) throw err;
      this.malformedEntries++;
      return undefined;
    }
    const { node, seq } = proposal.id;
    if (seq <= this.lastSequence(node)) return { proposal, duplicate: true, results: [] };
    this.remember(node, seq);
    return { proposal, duplicate: false, results: this.run(proposal) };
  }

  private remember(node: number, seq: number): void {
    this.lastSeq.delete(node); // re-insert: Map order is update order
    this.lastSeq.set(node, seq);
    if (this.lastSeq.size > this.maxProposers) this.lastSeq.delete(this.lastSeq.keys().next().value!);
  }

  private run(p: Proposal): (EngineResult | number)[] {
    switch (p.kind) {
      case EntryKind.Commands: {
        const commands: BatchCommand[] = [];
        const results: (EngineResult | number)[] = [];
        for (const argv of p.argvs) {
          const command = this.dataCommand(argv[0]!);
          if (command === undefined) break;
          commands.push({ command, argv });
        }
        if (commands.length !== p.argvs.length) {
          // Cannot happen with a proposer of the same version: refuse the whole entry, change nothing.
          const name = p.argvs[commands.length]![0]!;
          return p.argvs.map(() => new ErrorReply(`ERR unknown command '${name}' in replicated entry`));
        }
        results.push(...this.runner.applyBatch({ commands, nowMs: p.nowMs, seed: p.seed }, p.resp));
        return results;
      }
      case EntryKind.Expire:
        return [this.runner.applyExpire(p.argvs[0] ?? [], p.nowMs)];
      case EntryKind.Evict: {
        const deleted = this.runner.applyEvict(p.argvs[0] ?? [], p.nowMs);
        this.evictedKeys += deleted;
        return [deleted];
      }
      case EntryKind.Flush:
        this.keyspace.flush();
        return [];
    }
  }

  private dataCommand(name: string): DataCommand | undefined {
    const spec = this.options.commands.get(name.toLowerCase());
    return spec?.kind === 'data' ? spec : undefined;
  }

  // ---- Snapshots ----

  /** The whole state (keyspace, dedup table, applied index) as bytes, at appliedIndex. */
  snapshot(): Buffer {
    const parts: Buffer[] = [];
    const head = Buffer.allocUnsafe(4 + 1 + 8 + 4 + this.lastSeq.size * 12);
    let at = head.latin1Write(MAGIC, 0);
    head[at++] = SNAPSHOT_VERSION;
    at = head.writeDoubleLE(this.appliedIndex, at);
    at = head.writeUInt32LE(this.lastSeq.size, at);
    for (const [node, seq] of this.lastSeq) {
      at = head.writeUInt32LE(node, at);
      at = head.writeDoubleLE(seq, at);
    }
    parts.push(head);
    const chunks = [...encodeSnapshot(this.keyspace)];
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32LE(chunks.length, 0);
    parts.push(count);
    for (const chunk of chunks) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(chunk.length, 0);
      parts.push(len, Buffer.from(chunk, 'latin1'));
    }
    return Buffer.concat(parts);
  }

  /**
   * Replaces the whole state with a snapshot's. Throws SnapshotFormatError (or the keyspace loader's
   * RdbFormatError) on malformed data; the state is then undefined and the replica must not serve.
   */
  restore(data: Uint8Array): void {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    const need = (n: number) => {
      if (at + n > buf.length) throw new SnapshotFormatError('shard snapshot truncated');
    };
    need(5);
    if (buf.latin1Slice(0, 4) !== MAGIC) throw new SnapshotFormatError('not a shard snapshot');
    if (buf[4] !== SNAPSHOT_VERSION) throw new SnapshotFormatError(`unknown shard snapshot version ${buf[4]}`);
    at = 5;
    need(12);
    const applied = buf.readDoubleLE(at);
    const proposers = buf.readUInt32LE(at + 8);
    at += 12;
    need(proposers * 12);
    const table: [number, number][] = [];
    for (let i = 0; i < proposers; i++, at += 12) table.push([buf.readUInt32LE(at), buf.readDoubleLE(at + 4)]);
    need(4);
    const chunks = buf.readUInt32LE(at);
    at += 4;
    this.keyspace.flush();
    const loader = new SnapshotLoader(this.keyspace);
    for (let i = 0; i < chunks; i++) {
      need(4);
      const len = buf.readUInt32LE(at);
      at += 4;
      need(len);
      loader.push(buf.latin1Slice(at, at + len));
      at += len;
    }
    if (at !== buf.length) throw new SnapshotFormatError('trailing bytes after shard snapshot');
    this.lastSeq.clear();
    for (const [node, seq] of table) this.lastSeq.set(node, seq);
    this.appliedIndex = applied;
  }
}
