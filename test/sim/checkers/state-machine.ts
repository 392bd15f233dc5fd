// State machine safety (Raft §5.4.3), after TigerBeetle's state_checker: every node applies one
// canonical sequence of entries. The first node to apply index i fixes what index i is (term, payload,
// the apply result, and a fingerprint of the state after it); every later apply anywhere must agree,
// and a snapshot installed at index i must carry the canonical state at i.

export interface CanonicalEntry {
  readonly term: number;
  readonly payload: string;
  /** JSON of the state machine's result for this entry. */
  readonly result: string;
  /** The highest term any node had when this entry was first seen applied (for leader completeness). */
  readonly maxTermWhenObserved: number;
}

export class StateMachineSafety {
  readonly entries = new Map<number, CanonicalEntry>();
  /** State fingerprints at some indexes (those where one was taken). */
  private readonly states = new Map<number, string>();
  /** Highest index ever applied anywhere. */
  highestApplied = 0;

  onApply(
    node: number,
    index: number,
    term: number,
    payload: string,
    result: string,
    maxTerm: number,
  ): string | null {
    const known = this.entries.get(index);
    if (!known) {
      this.entries.set(index, { term, payload, result, maxTermWhenObserved: maxTerm });
      if (index > this.highestApplied) this.highestApplied = index;
      return null;
    }
    if (known.term !== term || known.payload !== payload) {
      return `node ${node} applied a different entry at index ${index}: term ${term} vs canonical term ${known.term}${known.term === term ? ' (different payload)' : ''}`;
    }
    if (known.result !== result) {
      return `node ${node} got result ${result} at index ${index}, canonical ${known.result}`;
    }
    return null;
  }

  /** The state after `index` (after applying it, or as a snapshot at it) must be the canonical one. */
  onState(node: number, index: number, fingerprint: string, what: string): string | null {
    const known = this.states.get(index);
    if (known === undefined) {
      this.states.set(index, fingerprint);
      return null;
    }
    return known === fingerprint ? null : `node ${node}: ${what} at index ${index} differs from the canonical state`;
  }
}
