// A Redis hash: a Map in insertion order (the order every replica shares), reporting `listpack` while
// small, by Redis 7.0's thresholds, then `hashtable` for good (Redis never converts back).

import type { CollectionValue } from '../value.js';
import { ScanOrder } from './scan-order.js';

/** Redis 7.0 defaults: hash-max-listpack-entries 512, hash-max-listpack-value 64. */
export const HASH_LISTPACK_ENTRIES_MAX = 512;
export const HASH_LISTPACK_VALUE_MAX = 64;
const VALUE_OVERHEAD_BYTES = 48;
const LISTPACK_ENTRY_OVERHEAD_BYTES = 4;
const HASHTABLE_ENTRY_OVERHEAD_BYTES = 56;

export class HashValue implements CollectionValue {
  readonly type = 'hash' as const;
  accountedBytes = 0;
  readonly fields = new Map<string, string>();
  private hashtable = false;
  private bytes = 0;
  private scanOrder: ScanOrder | null = null;

  get size(): number {
    return this.fields.size;
  }

  encoding(): string {
    return this.hashtable ? 'hashtable' : 'listpack';
  }

  clone(): HashValue {
    const copy = new HashValue();
    for (const [field, value] of this.fields) copy.set(field, value);
    copy.hashtable = this.hashtable;
    return copy;
  }

  memoryBytes(): number {
    const perEntry = this.hashtable ? HASHTABLE_ENTRY_OVERHEAD_BYTES : LISTPACK_ENTRY_OVERHEAD_BYTES;
    return VALUE_OVERHEAD_BYTES + this.bytes + this.fields.size * perEntry;
  }

  get(field: string): string | undefined {
    return this.fields.get(field);
  }

  /** Sets a field; true when it is new. */
  set(field: string, value: string): boolean {
    const old = this.fields.get(field);
    this.fields.set(field, value);
    this.scanOrder = null;
    if (old === undefined) {
      this.bytes += field.length + value.length;
    } else {
      this.bytes += value.length - old.length;
    }
    if (
      !this.hashtable &&
      (this.fields.size > HASH_LISTPACK_ENTRIES_MAX || field.length > HASH_LISTPACK_VALUE_MAX || value.length > HASH_LISTPACK_VALUE_MAX)
    ) {
      this.hashtable = true;
    }
    return old === undefined;
  }

  delete(field: string): boolean {
    const old = this.fields.get(field);
    if (old === undefined) return false;
    this.fields.delete(field);
    this.scanOrder = null;
    this.bytes -= field.length + old.length;
    return true;
  }

  /** HSCAN: a listpack hash answers everything at once with cursor 0, as Redis does. */
  scan(cursor: number, count: number): { cursor: number; fields: string[] } {
    if (!this.hashtable) return { cursor: 0, fields: [...this.fields.keys()] };
    this.scanOrder ??= new ScanOrder(this.fields.keys());
    const { cursor: next, elements } = this.scanOrder.scan(cursor, count);
    return { cursor: next, fields: elements };
  }
}
