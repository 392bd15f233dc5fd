// The key layout of the node's one LevelDB database, shared by every Raft group on the node. Keys are
// binary and big-endian, so LevelDB's byte order is (kind, group, index) order: a group's entries are one
// contiguous, index-ordered range.
//
//   0x01 group:u32 index:u64   log entry
//   0x02 group:u32             hard state {term, vote, commit}
//   0x03 group:u32             truncated state {index, term}: the last compacted entry (first index - 1)
//   0x04 group:u32             metadata of the group's newest snapshot (its data is in a snapshot file)
//   0x06 name                  node-level records (storage format, sync marker)

import type { GroupId, Index } from '../types.js';

export const enum KeyKind {
  Entry = 0x01,
  HardState = 0x02,
  Truncated = 0x03,
  SnapshotMeta = 0x04,
  Node = 0x06,
}

export const GROUP_ID_MAX = 0xffff_ffff;
const TWO_POW_32 = 0x1_0000_0000;

export function entryKey(group: GroupId, index: Index): Buffer {
  const key = Buffer.allocUnsafe(13);
  writeEntryKey(key, 0, group, index);
  return key;
}

/** Writes an entry key into `out` at `at` (13 bytes), for building many keys in one allocation. */
export function writeEntryKey(out: Buffer, at: number, group: GroupId, index: Index): void {
  out[at] = KeyKind.Entry;
  out.writeUInt32BE(group, at + 1);
  out.writeUInt32BE(Math.floor(index / TWO_POW_32), at + 5);
  out.writeUInt32BE(index % TWO_POW_32, at + 9);
}

export const ENTRY_KEY_BYTES = 13;

export function groupKey(kind: KeyKind, group: GroupId): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = kind;
  key.writeUInt32BE(group, 1);
  return key;
}

export function nodeKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([KeyKind.Node]), Buffer.from(name, 'latin1')]);
}

/** [first, end) of one kind of key, for range scans and deletes. */
export function kindRange(kind: KeyKind): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([kind]), lt: Buffer.from([kind + 1]) };
}

/** The group and index of an entry key, or null if the key has another shape. */
export function parseEntryKey(key: Uint8Array): { group: GroupId; index: Index } | null {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== KeyKind.Entry) return null;
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return { group: b.readUInt32BE(1), index: b.readUInt32BE(5) * TWO_POW_32 + b.readUInt32BE(9) };
}

/** The group of a per-group key of `kind`, or null if the key has another shape. */
export function parseGroupKey(kind: KeyKind, key: Uint8Array): GroupId | null {
  if (key.length !== 5 || key[0] !== kind) return null;
  return Buffer.from(key.buffer, key.byteOffset, key.length).readUInt32BE(1);
}
