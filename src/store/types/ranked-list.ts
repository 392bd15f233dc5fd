// The order of a sorted set: (score, member) pairs sorted by score then member bytes, with O(log n)
// rank lookups. Built as a list of sorted blocks (parallel member/score arrays of at most BLOCK_MAX
// entries) plus a Fenwick tree of block sizes: far fewer pointer hops than a skiplist, which matters
// in V8 (1M random inserts: ~1 s instead of ~7 s for a skiplist of objects). Everything is addressed by
// 0-based rank; ranges are "first rank where a monotone predicate holds".

const BLOCK_MAX = 512;

interface Block {
  members: string[];
  scores: number[];
}

/** A score interval; `minExclusive` means `(min`. */
export interface ScoreRange {
  readonly min: number;
  readonly max: number;
  readonly minExclusive: boolean;
  readonly maxExclusive: boolean;
}

/** A lex interval. `null` bounds are `-` (for min) and `+` (for max). */
export interface LexRange {
  readonly min: string | null;
  readonly max: string | null;
  readonly minExclusive: boolean;
  readonly maxExclusive: boolean;
}

export function scoreAboveMin(score: number, range: ScoreRange): boolean {
  return range.minExclusive ? score > range.min : score >= range.min;
}

export function scoreBelowMax(score: number, range: ScoreRange): boolean {
  return range.maxExclusive ? score < range.max : score <= range.max;
}

export function lexAboveMin(member: string, range: LexRange): boolean {
  if (range.min === null) return true;
  return range.minExclusive ? member > range.min : member >= range.min;
}

export function lexBelowMax(member: string, range: LexRange): boolean {
  if (range.max === null) return true;
  return range.maxExclusive ? member < range.max : member <= range.max;
}

/** (s, m) sorts at or after (score, member). */
function atOrAfter(s: number, m: string, score: number, member: string): boolean {
  return s > score || (s === score && m >= member);
}

export class RankedList {
  private blocks: Block[] = [];
  /** 1-based Fenwick tree over block sizes. */
  private fenwick: number[] = [0];
  length = 0;

  /** Inserts a pair known to be absent. */
  insert(score: number, member: string): void {
    this.length++;
    if (this.blocks.length === 0) {
      this.blocks.push({ members: [member], scores: [score] });
      this.rebuildFenwick();
      return;
    }
    let b = this.firstBlockWhere((s, m) => atOrAfter(s, m, score, member));
    if (b === this.blocks.length) b--;
    const block = this.blocks[b]!;
    const i = firstIndexInBlock(block, (s, m) => atOrAfter(s, m, score, member));
    block.members.splice(i, 0, member);
    block.scores.splice(i, 0, score);
    if (block.members.length > BLOCK_MAX) {
      const half = block.members.length >>> 1;
      this.blocks.splice(b + 1, 0, { members: block.members.splice(half), scores: block.scores.splice(half) });
      this.rebuildFenwick();
    } else {
      this.fenwickAdd(b, 1);
    }
  }

  /** Deletes the pair; false when absent. */
  delete(score: number, member: string): boolean {
    const found = this.find(score, member);
    if (found === null) return false;
    const [b, i] = found;
    const block = this.blocks[b]!;
    block.members.splice(i, 1);
    block.scores.splice(i, 1);
    this.length--;
    if (block.members.length === 0) {
      this.blocks.splice(b, 1);
      this.rebuildFenwick();
    } else {
      this.fenwickAdd(b, -1);
    }
    return true;
  }

  /** 0-based rank of the pair, or -1 when absent. */
  rankOf(score: number, member: string): number {
    const found = this.find(score, member);
    return found === null ? -1 : this.prefix(found[0]) + found[1];
  }

  memberAt(rank: number): string {
    const [b, i] = this.locateRank(rank);
    return this.blocks[b]!.members[i]!;
  }

  scoreAt(rank: number): number {
    const [b, i] = this.locateRank(rank);
    return this.blocks[b]!.scores[i]!;
  }

  /** Calls visit for ranks from..to inclusive (ascending, or descending when from > to). */
  forEachRank(from: number, to: number, visit: (member: string, score: number) => void): void {
    if (this.length === 0) return;
    let [b, i] = this.locateRank(from);
    const step = from <= to ? 1 : -1;
    for (let n = Math.abs(to - from) + 1; n > 0; n--) {
      const block = this.blocks[b]!;
      visit(block.members[i]!, block.scores[i]!);
      i += step;
      if (i === block.members.length) {
        b++;
        i = 0;
      } else if (i < 0) {
        b--;
        if (b >= 0) i = this.blocks[b]!.members.length - 1;
      }
    }
  }

  /**
   * The first rank at which `holds(score, member)` is true, for a predicate that is false then true
   * along the order; `length` when it never holds.
   */
  firstRankWhere(holds: (score: number, member: string) => boolean): number {
    const b = this.firstBlockWhere(holds);
    if (b === this.blocks.length) return this.length;
    return this.prefix(b) + firstIndexInBlock(this.blocks[b]!, holds);
  }

  /** First rank with a score in range, and last rank (inclusive); first > last when none. */
  scoreRangeRanks(range: ScoreRange): [first: number, last: number] {
    const first = this.firstRankWhere((s) => scoreAboveMin(s, range));
    const last = this.firstRankWhere((s) => !scoreBelowMax(s, range)) - 1;
    return [first, last];
  }

  /** First and last rank (inclusive) of members in a lex range; first > last when none. */
  lexRangeRanks(range: LexRange): [first: number, last: number] {
    const first = this.firstRankWhere((_, m) => lexAboveMin(m, range));
    const last = this.firstRankWhere((_, m) => !lexBelowMax(m, range)) - 1;
    return [first, last];
  }

  private find(score: number, member: string): [block: number, index: number] | null {
    const b = this.firstBlockWhere((s, m) => atOrAfter(s, m, score, member));
    if (b === this.blocks.length) return null;
    const block = this.blocks[b]!;
    const i = firstIndexInBlock(block, (s, m) => atOrAfter(s, m, score, member));
    return block.scores[i] === score && block.members[i] === member ? [b, i] : null;
  }

  /** First block whose LAST entry satisfies the monotone predicate. */
  private firstBlockWhere(holds: (score: number, member: string) => boolean): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      const last = block.members.length - 1;
      if (holds(block.scores[last]!, block.members[last]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private locateRank(rank: number): [block: number, index: number] {
    // Fenwick descent: the block holding the (rank+1)-th entry.
    let pos = 0;
    let remaining = rank;
    let bit = 1;
    while (bit * 2 < this.fenwick.length) bit *= 2;
    for (; bit > 0; bit >>= 1) {
      const next = pos + bit;
      if (next < this.fenwick.length && this.fenwick[next]! <= remaining) {
        pos = next;
        remaining -= this.fenwick[next]!;
      }
    }
    return [pos, remaining];
  }

  /** Number of entries in blocks before block b. */
  private prefix(b: number): number {
    let sum = 0;
    for (let i = b; i > 0; i -= i & -i) sum += this.fenwick[i]!;
    return sum;
  }

  private fenwickAdd(b: number, delta: number): void {
    for (let i = b + 1; i < this.fenwick.length; i += i & -i) this.fenwick[i]! += delta;
  }

  private rebuildFenwick(): void {
    const tree = new Array<number>(this.blocks.length + 1).fill(0);
    for (let i = 1; i <= this.blocks.length; i++) {
      tree[i]! += this.blocks[i - 1]!.members.length;
      const parent = i + (i & -i);
      if (parent <= this.blocks.length) tree[parent]! += tree[i]!;
    }
    this.fenwick = tree;
  }
}

function firstIndexInBlock(block: Block, holds: (score: number, member: string) => boolean): number {
  let lo = 0;
  let hi = block.members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (holds(block.scores[mid]!, block.members[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
