// The simulated disk of one node. A write is a Ready's batch (snapshot, entries, hard state), applied
// atomically as LevelDB batches are. A write that completes without fsync sits in the page cache
// (`unsynced`) until a later fsync; a crash loses the unsynced writes (or keeps a prefix of them, as a
// page cache might) and, of course, the write still in progress. Nothing that was fsynced is ever
// lost: those are the only faults Raft claims to survive (TigerBeetle's testing/storage.zig rule).

import { type MemoryStorage, EMPTY_HARD_STATE, EMPTY_SNAPSHOT } from '../../src/raft/log-storage.js';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import type { Prng } from './prng.js';

export interface DiskWrite {
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
  readonly sync: boolean;
}

/** Durable contents: what a restarted node reads back. */
export class DurableState {
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: Snapshot = EMPTY_SNAPSHOT;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[] = [];

  apply(w: DiskWrite): void {
    if (w.snapshot) {
      this.snapshot = w.snapshot;
      this.entries = [];
    }
    if (w.entries.length > 0) {
      const first = w.entries[0]!.index;
      const snapIndex = this.snapshot.metadata.index;
      // Keep the stored entries before `first` (an entry at index i replaces every stored entry >= i).
      const keep = Math.max(0, Math.min(this.entries.length, first - snapIndex - 1));
      this.entries.length = keep;
      for (const e of w.entries) if (e.index > snapIndex) this.entries.push(e);
    }
    if (w.hardState) this.hardState = w.hardState;
  }

  /** A local snapshot (log compaction): entries it covers are no longer needed. */
  compact(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((e) => e.index > snapshot.metadata.index);
  }

  /** Loads exactly the durable contents into an empty storage (what a restart reads). */
  load<S extends MemoryStorage>(storage: S): S {
    if (this.snapshot.metadata.index > 0) storage.applySnapshot(this.snapshot);
    storage.append(this.entries);
    storage.setHardState(this.hardState);
    return storage;
  }

  lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : this.snapshot.metadata.index;
  }
}

export class SimDisk {
  readonly durable = new DurableState();
  /** Completed writes not yet fsynced, oldest first. */
  private unsynced: DiskWrite[] = [];

  /** A write has completed: durable at once if synced (an fsync also flushes earlier writes). */
  complete(w: DiskWrite): void {
    this.unsynced.push(w);
    if (w.sync) this.sync();
  }

  sync(): void {
    for (const w of this.unsynced) this.durable.apply(w);
    this.unsynced = [];
  }

  /** A crash: the page cache keeps a random prefix of the unsynced writes, or nothing. */
  crash(rng: Prng): void {
    const kept = rng.int(0, this.unsynced.length);
    for (const w of this.unsynced.slice(0, kept)) this.durable.apply(w);
    this.unsynced = [];
  }
}
