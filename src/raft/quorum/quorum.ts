// Quorum arithmetic for majority and joint (two-majority) configurations (etcd's quorum package).

export type VoteResult = 'pending' | 'lost' | 'won';

/** A set of voters deciding by simple majority. An empty set wins every vote and commits everything. */
export class MajorityConfig {
  constructor(readonly ids: ReadonlySet<number> = new Set()) {}

  get size(): number {
    return this.ids.size;
  }

  /** The largest index acknowledged by a majority, given each voter's acked index (missing = 0). */
  committedIndex(acked: (id: number) => number | undefined): number {
    const n = this.ids.size;
    if (n === 0) return Number.MAX_SAFE_INTEGER; // lets a joint config be decided by its other half
    const idx = new Float64Array(n);
    let i = 0;
    for (const id of this.ids) idx[i++] = acked(id) ?? 0;
    idx.sort(); // ascending (typed arrays sort numerically): the (n/2+1)-th largest is acked by a majority
    return idx[n - (Math.floor(n / 2) + 1)]!;
  }

  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    if (this.ids.size === 0) return 'won';
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(this.ids.size / 2) + 1;
    if (yes >= q) return 'won';
    if (yes + missing >= q) return 'pending';
    return 'lost';
  }
}

/** Incoming and outgoing majorities; decisions need both. Outgoing is empty outside a joint change. */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig = new MajorityConfig(),
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** Every voter of either half. */
  ids(): Set<number> {
    return new Set([...this.incoming.ids, ...this.outgoing.ids]);
  }

  committedIndex(acked: (id: number) => number | undefined): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === 'lost' || r2 === 'lost') return 'lost';
    return 'pending';
  }
}
