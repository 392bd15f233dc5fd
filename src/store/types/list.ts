// A Redis list: a ring-buffer deque. O(1) push and pop at both ends and O(1) access by index; inserts
// and removals in the middle are O(n), as in Redis. Redis 7.0 always reports `quicklist`.

import type { CollectionValue } from '../value.js';

const CAPACITY_MIN = 8;
/** Rough per-element overhead of a quicklist entry (listpack header bytes and node share). */
const ELEMENT_OVERHEAD_BYTES = 11;
const VALUE_OVERHEAD_BYTES = 48;

export class ListValue implements CollectionValue {
  readonly type = 'list' as const;
  accountedBytes = 0;
  private items: (string | undefined)[] = new Array(CAPACITY_MIN);
  private head = 0;
  private count = 0;
  private elementBytes = 0;

  static from(elements: Iterable<string>): ListValue {
    const list = new ListValue();
    for (const e of elements) list.pushBack(e);
    return list;
  }

  get length(): number {
    return this.count;
  }

  encoding(): string {
    return 'quicklist';
  }

  clone(): ListValue {
    return ListValue.from(this.toArray());
  }

  memoryBytes(): number {
    return VALUE_OVERHEAD_BYTES + this.elementBytes + this.count * ELEMENT_OVERHEAD_BYTES;
  }

  pushBack(value: string): void {
    if (this.count === this.items.length) this.resize(this.items.length * 2);
    this.items[(this.head + this.count) & (this.items.length - 1)] = value;
    this.count++;
    this.elementBytes += value.length;
  }

  pushFront(value: string): void {
    if (this.count === this.items.length) this.resize(this.items.length * 2);
    this.head = (this.head - 1) & (this.items.length - 1);
    this.items[this.head] = value;
    this.count++;
    this.elementBytes += value.length;
  }

  popFront(): string | undefined {
    if (this.count === 0) return undefined;
    const value = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.afterRemove(value);
    return value;
  }

  popBack(): string | undefined {
    if (this.count === 0) return undefined;
    const slot = (this.head + this.count - 1) & (this.items.length - 1);
    const value = this.items[slot]!;
    this.items[slot] = undefined;
    this.afterRemove(value);
    return value;
  }

  /** Element at 0 <= index < length. */
  at(index: number): string {
    return this.items[(this.head + index) & (this.items.length - 1)]!;
  }

  /** Replaces the element at 0 <= index < length. */
  set(index: number, value: string): void {
    const slot = (this.head + index) & (this.items.length - 1);
    this.elementBytes += value.length - this.items[slot]!.length;
    this.items[slot] = value;
  }

  /** Elements from start to stop inclusive, both within 0..length-1. */
  range(start: number, stop: number): string[] {
    const out = new Array<string>(Math.max(0, stop - start + 1));
    const items = this.items;
    const mask = items.length - 1;
    for (let i = start; i <= stop; i++) out[i - start] = items[(this.head + i) & mask]!;
    return out;
  }

  toArray(): string[] {
    return this.count === 0 ? [] : this.range(0, this.count - 1);
  }

  /** Inserts so that the new element ends up at `index` (0 <= index <= length). */
  insertAt(index: number, value: string): void {
    const all = this.toArray();
    all.splice(index, 0, value);
    this.replaceAll(all);
  }

  /** Keeps only start..stop inclusive (indexes within range; start > stop empties the list). */
  trim(start: number, stop: number): void {
    const keepTail = this.count - 1 - stop;
    for (let i = 0; i < start && this.count > 0; i++) this.popFront();
    for (let i = 0; i < keepTail && this.count > 0; i++) this.popBack();
    if (start > stop) while (this.count > 0) this.popBack();
  }

  /** LREM: removes up to `limit` elements equal to value (0: all) from the head, or from the tail when fromTail. */
  remove(value: string, limit: number, fromTail: boolean): number {
    const all = this.toArray();
    let removed = 0;
    const kept: string[] = [];
    if (fromTail) {
      for (let i = all.length - 1; i >= 0; i--) {
        if (all[i] === value && (limit === 0 || removed < limit)) removed++;
        else kept.push(all[i]!);
      }
      kept.reverse();
    } else {
      for (const e of all) {
        if (e === value && (limit === 0 || removed < limit)) removed++;
        else kept.push(e);
      }
    }
    if (removed > 0) this.replaceAll(kept);
    return removed;
  }

  private replaceAll(elements: string[]): void {
    let capacity = CAPACITY_MIN;
    while (capacity < elements.length) capacity *= 2;
    this.items = new Array(capacity);
    this.head = 0;
    this.count = 0;
    this.elementBytes = 0;
    for (const e of elements) this.pushBack(e);
  }

  private afterRemove(value: string): void {
    this.count--;
    this.elementBytes -= value.length;
    if (this.items.length > CAPACITY_MIN && this.count < this.items.length / 4) this.resize(this.items.length / 2);
  }

  private resize(capacity: number): void {
    const items: (string | undefined)[] = new Array(capacity);
    for (let i = 0; i < this.count; i++) items[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = items;
    this.head = 0;
  }
}
