// A Redis sorted set: member -> score in a Map plus a RankedList ordered by (score, member) for ranks and
// ranges, all O(log n). Encodings as Redis 7.0: `listpack` while at most 128 members of at most 64
// bytes, then `skiplist` for good.

import type { CollectionValue } from '../value.js';
import { ScanOrder } from './scan-order.js';
import { RankedList } from './ranked-list.js';

/** Redis 7.0 defaults: zset-max-listpack-entries 128, zset-max-listpack-value 64. */
export const ZSET_LISTPACK_ENTRIES_MAX = 128;
export const ZSET_LISTPACK_VALUE_MAX = 64;
const VALUE_OVERHEAD_BYTES = 48;
const LISTPACK_ENTRY_OVERHEAD_BYTES = 12;
const SKIPLIST_ENTRY_OVERHEAD_BYTES = 80;

export class ZSetValue implements CollectionValue {
  readonly type = 'zset' as const;
  accountedBytes = 0;
  readonly scores = new Map<string, number>();
  readonly list = new RankedList();
  private skiplist = false;
  private bytes = 0;
  private scanOrder: ScanOrder | null = null;

  get size(): number {
    return this.scores.size;
  }

  encoding(): string {
    return this.skiplist ? 'skiplist' : 'listpack';
  }

  clone(): ZSetValue {
    const copy = new ZSetValue();
    for (const [member, score] of this.scores) copy.set(member, score);
    copy.skiplist = this.skiplist;
    return copy;
  }

  memoryBytes(): number {
    const perEntry = this.skiplist ? SKIPLIST_ENTRY_OVERHEAD_BYTES : LISTPACK_ENTRY_OVERHEAD_BYTES;
    return VALUE_OVERHEAD_BYTES + this.bytes + this.scores.size * perEntry;
  }

  score(member: string): number | undefined {
    return this.scores.get(member);
  }

  /** Sets a member's score (adding it when absent); true when it is new. */
  set(member: string, score: number): boolean {
    const old = this.scores.get(member);
    if (old === undefined) {
      this.scores.set(member, score);
      this.list.insert(score, member);
      this.bytes += member.length;
      this.scanOrder = null;
      if (!this.skiplist && (this.scores.size > ZSET_LISTPACK_ENTRIES_MAX || member.length > ZSET_LISTPACK_VALUE_MAX)) {
        this.skiplist = true;
      }
      return true;
    }
    if (old !== score) {
      this.list.delete(old, member);
      this.list.insert(score, member);
      this.scores.set(member, score);
    }
    return false;
  }

  delete(member: string): boolean {
    const score = this.scores.get(member);
    if (score === undefined) return false;
    this.scores.delete(member);
    this.list.delete(score, member);
    this.bytes -= member.length;
    this.scanOrder = null;
    return true;
  }

  /** 0-based rank in ascending order (descending when reverse), or undefined when absent. */
  rank(member: string, reverse = false): number | undefined {
    const score = this.scores.get(member);
    if (score === undefined) return undefined;
    const rank = this.list.rankOf(score, member);
    return reverse ? this.scores.size - 1 - rank : rank;
  }

  /** ZSCAN: a listpack zset answers everything at once with cursor 0, as Redis does. */
  scan(cursor: number, count: number): { cursor: number; members: string[] } {
    if (!this.skiplist) {
      const members: string[] = [];
      this.list.forEachRank(0, this.list.length - 1, (member) => members.push(member));
      return { cursor: 0, members };
    }
    this.scanOrder ??= new ScanOrder(this.scores.keys());
    const { cursor: next, elements } = this.scanOrder.scan(cursor, count);
    return { cursor: next, members: elements };
  }
}
