// Election safety (Raft §5.2): at most one leader per term, over the whole run, across crashes.

export class ElectionSafety {
  private readonly leaderOf = new Map<number, number>();

  /** Records that `id` is leader in `term`; returns a violation, or null. */
  onLeader(term: number, id: number): string | null {
    const known = this.leaderOf.get(term);
    if (known === undefined) {
      this.leaderOf.set(term, id);
      return null;
    }
    return known === id ? null : `two leaders in term ${term}: ${known} and ${id}`;
  }

  get termsWithLeader(): number {
    return this.leaderOf.size;
  }
}
