// A Redis set: an array of members plus a member -> position index, so membership is O(1) and a random
// member (SPOP, SRANDMEMBER) is O(1); deleting swaps the last member into the hole. The order depends
// only on the set's own history. Encodings as Redis 7.0: `intset` while every member is a canonical
// int64 and there are at most 512, listed in numeric order like a real intset; then `hashtable` for good.

import type { CollectionValue } from '../value.js';
import { ScanOrder } from './scan-order.js';

/** Redis 7.0 default set-max-intset-entries. */
export const SET_INTSET_ENTRIES_MAX = 512;
const VALUE_OVERHEAD_BYTES = 48;
const INTSET_ENTRY_BYTES = 8;
const HASHTABLE_ENTRY_OVERHEAD_BYTES = 40;
const INT64_MAX_DIGITS = '9223372036854775807';
const INT64_MIN_DIGITS = '9223372036854775808';

/** True when Redis would store s as an integer (string2ll: canonical form, int64 range). */
export function isCanonicalInt64(s: string): boolean {
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return false;
  const negative = s.charCodeAt(0) === 45;
  const digits = negative ? s.slice(1) : s;
  if (digits.length < 19) return true;
  return digits <= (negative ? INT64_MIN_DIGITS : INT64_MAX_DIGITS);
}

/** Numeric order of two canonical integer strings, without parsing. */
function compareCanonicalInts(a: string, b: string): number {
  const aNeg = a.charCodeAt(0) === 45;
  const bNeg = b.charCodeAt(0) === 45;
  if (aNeg !== bNeg) return aNeg ? -1 : 1;
  const magnitude = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return aNeg ? -magnitude : magnitude;
}

export class SetValue implements CollectionValue {
  readonly type = 'set' as const;
  accountedBytes = 0;
  private readonly items: string[] = [];
  private readonly index = new Map<string, number>();
  private intset = true;
  private bytes = 0;
  private scanOrder: ScanOrder | null = null;

  static from(members: Iterable<string>): SetValue {
    const set = new SetValue();
    for (const m of members) set.add(m);
    return set;
  }

  get size(): number {
    return this.items.length;
  }

  encoding(): string {
    return this.intset ? 'intset' : 'hashtable';
  }

  clone(): SetValue {
    const copy = SetValue.from(this.items);
    copy.intset = this.intset;
    return copy;
  }

  memoryBytes(): number {
    if (this.intset) return VALUE_OVERHEAD_BYTES + this.items.length * INTSET_ENTRY_BYTES;
    return VALUE_OVERHEAD_BYTES + this.bytes + this.items.length * HASHTABLE_ENTRY_OVERHEAD_BYTES;
  }

  has(member: string): boolean {
    return this.index.has(member);
  }

  /** Adds a member; true when it is new. */
  add(member: string): boolean {
    if (this.index.has(member)) return false;
    this.index.set(member, this.items.length);
    this.items.push(member);
    this.bytes += member.length;
    this.scanOrder = null;
    if (this.intset && (this.items.length > SET_INTSET_ENTRIES_MAX || !isCanonicalInt64(member))) this.intset = false;
    return true;
  }

  delete(member: string): boolean {
    const position = this.index.get(member);
    if (position === undefined) return false;
    const last = this.items.pop()!;
    if (last !== member) {
      this.items[position] = last;
      this.index.set(last, position);
    }
    this.index.delete(member);
    this.bytes -= member.length;
    this.scanOrder = null;
    return true;
  }

  /** Member at 0 <= position < size (for random picks). */
  at(position: number): string {
    return this.items[position]!;
  }

  /** Every member, in the order SMEMBERS lists them. */
  members(): string[] {
    const all = this.items.slice();
    if (this.intset) all.sort(compareCanonicalInts);
    return all;
  }

  /** SSCAN: an intset answers everything at once with cursor 0, as Redis does. */
  scan(cursor: number, count: number): { cursor: number; members: string[] } {
    if (this.intset) return { cursor: 0, members: this.members() };
    this.scanOrder ??= new ScanOrder(this.items);
    const { cursor: next, elements } = this.scanOrder.scan(cursor, count);
    return { cursor: next, members: elements };
  }
}
