// RDB forms of hashes, lists, sets and sorted sets, for DUMP/RESTORE (and snapshots): registered with
// src/store/dump.ts when this module is loaded. We write Redis's plain encodings, which Redis 7.0
// loads (list 1, set 2, zset_2 5, hash 4), and read those plus the compact encodings Redis 7.0 writes
// (quicklist 2 of listpacks 18, intset 11, hash listpack 16, zset listpack 17).

import { RdbFormatError, registerRdbType, type RdbReader, type RdbWriter } from '../dump.js';
import type { CollectionValue } from '../value.js';
import { HashValue } from './hash.js';
import { ListValue } from './list.js';
import { SetValue } from './set.js';
import { ZSetValue } from './zset.js';

const RDB_TYPE_LIST = 1;
const RDB_TYPE_SET = 2;
const RDB_TYPE_ZSET_2 = 5;
const RDB_TYPE_HASH = 4;
const RDB_TYPE_SET_INTSET = 11;
const RDB_TYPE_HASH_LISTPACK = 16;
const RDB_TYPE_ZSET_LISTPACK = 17;
const RDB_TYPE_LIST_QUICKLIST_2 = 18;
const QUICKLIST_NODE_PLAIN = 1;
const QUICKLIST_NODE_PACKED = 2;
/** Upper bound on element counts read from a payload, so a corrupt length cannot loop for ages. */
const ELEMENTS_MAX = 2 ** 32;

function fail(message: string): never {
  throw new RdbFormatError(message);
}

function readCount(reader: RdbReader): number {
  const n = reader.readLength();
  if (n === 0 || n > ELEMENTS_MAX) fail('bad collection length');
  return n;
}

function uintLE(s: string, at: number, bytes: number): number {
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = v * 256 + s.charCodeAt(at + i);
  return v;
}

function intLE(s: string, at: number, bytes: number): string {
  if (at + bytes > s.length) fail('truncated integer');
  const buf = Buffer.from(s.slice(at, at + bytes), 'latin1');
  if (bytes === 8) return buf.readBigInt64LE(0).toString();
  return String(buf.readIntLE(0, bytes));
}

/** The entries of a listpack blob (lpNext/lpGet of listpack.c), integers as decimal strings. */
export function readListpack(blob: string): string[] {
  if (blob.length < 7 || uintLE(blob, 0, 4) !== blob.length) fail('bad listpack header');
  const out: string[] = [];
  let p = 6;
  for (;;) {
    if (p >= blob.length) fail('listpack without end');
    const b = blob.charCodeAt(p);
    if (b === 0xff) break;
    let entryBytes: number;
    if ((b & 0x80) === 0) {
      out.push(String(b));
      entryBytes = 1;
    } else if ((b & 0xc0) === 0x80) {
      const len = b & 0x3f;
      out.push(blob.slice(p + 1, p + 1 + len));
      entryBytes = 1 + len;
    } else if ((b & 0xe0) === 0xc0) {
      let v = ((b & 0x1f) << 8) | blob.charCodeAt(p + 1);
      if (v >= 1 << 12) v -= 1 << 13;
      out.push(String(v));
      entryBytes = 2;
    } else if ((b & 0xf0) === 0xe0) {
      const len = ((b & 0x0f) << 8) | blob.charCodeAt(p + 1);
      out.push(blob.slice(p + 2, p + 2 + len));
      entryBytes = 2 + len;
    } else if (b === 0xf0) {
      const len = uintLE(blob, p + 1, 4);
      out.push(blob.slice(p + 5, p + 5 + len));
      entryBytes = 5 + len;
    } else if (b >= 0xf1 && b <= 0xf4) {
      const bytes = [2, 3, 4, 8][b - 0xf1]!;
      out.push(intLE(blob, p + 1, bytes));
      entryBytes = 1 + bytes;
    } else {
      fail('bad listpack entry encoding');
    }
    const backlenBytes = entryBytes <= 127 ? 1 : entryBytes < 16383 ? 2 : entryBytes < 2097151 ? 3 : entryBytes < 268435455 ? 4 : 5;
    p += entryBytes + backlenBytes;
    if (p > blob.length) fail('truncated listpack');
  }
  return out;
}

function readIntset(blob: string): string[] {
  if (blob.length < 8) fail('bad intset');
  const width = uintLE(blob, 0, 4);
  const count = uintLE(blob, 4, 4);
  if ((width !== 2 && width !== 4 && width !== 8) || blob.length !== 8 + width * count || count === 0) fail('bad intset');
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(intLE(blob, 8 + i * width, width));
  return out;
}

/** A score as listpacks store it: an integer, or text as Redis's d2string prints it. */
function parseStoredScore(text: string): number {
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  const score = Number(text);
  if (text === '' || Number.isNaN(score)) fail('bad score');
  return score;
}

function pairs(entries: string[]): [string, string][] {
  if (entries.length === 0 || entries.length % 2 !== 0) fail('odd listpack entries');
  const out: [string, string][] = [];
  for (let i = 0; i < entries.length; i += 2) out.push([entries[i]!, entries[i + 1]!]);
  return out;
}

/** The element count, then that many (string, second) pairs: the plain zset and hash encodings. */
function readPairs<T>(reader: RdbReader, readSecond: () => T): [string, T][] {
  const n = readCount(reader);
  const out: [string, T][] = [];
  for (let i = 0; i < n; i++) out.push([reader.readString(), readSecond()]);
  return out;
}

/** The count, then each string: the plain list and set encodings. */
function writeStrings(writer: RdbWriter, items: readonly string[]): void {
  writer.writeLength(items.length);
  for (const item of items) writer.writeString(item);
}

function hashFrom(entries: Iterable<[string, string]>): HashValue {
  const hash = new HashValue();
  for (const [field, value] of entries) hash.set(field, value);
  return hash;
}

function zsetFrom(entries: Iterable<[string, number]>): ZSetValue {
  const zset = new ZSetValue();
  for (const [member, score] of entries) {
    if (Number.isNaN(score)) fail('NaN score');
    zset.set(member, score);
  }
  return zset;
}

registerRdbType('list', {
  loadTypes: [RDB_TYPE_LIST, RDB_TYPE_LIST_QUICKLIST_2],
  load(type: number, reader: RdbReader): CollectionValue {
    const list = new ListValue();
    const n = readCount(reader);
    for (let i = 0; i < n; i++) {
      if (type === RDB_TYPE_LIST) {
        list.pushBack(reader.readString());
        continue;
      }
      const container = reader.readLength();
      const blob = reader.readString();
      if (container === QUICKLIST_NODE_PLAIN) list.pushBack(blob);
      else if (container === QUICKLIST_NODE_PACKED) for (const e of readListpack(blob)) list.pushBack(e);
      else fail('bad quicklist container');
    }
    if (list.length === 0) fail('empty list');
    return list;
  },
  save(value: CollectionValue, writer: RdbWriter): number {
    writeStrings(writer, (value as ListValue).toArray());
    return RDB_TYPE_LIST;
  },
});

registerRdbType('set', {
  loadTypes: [RDB_TYPE_SET, RDB_TYPE_SET_INTSET],
  load(type: number, reader: RdbReader): CollectionValue {
    if (type === RDB_TYPE_SET_INTSET) return SetValue.from(readIntset(reader.readString()));
    const n = readCount(reader);
    const set = new SetValue();
    for (let i = 0; i < n; i++) if (!set.add(reader.readString())) fail('duplicate set member');
    return set;
  },
  save(value: CollectionValue, writer: RdbWriter): number {
    writeStrings(writer, (value as SetValue).members());
    return RDB_TYPE_SET;
  },
});

registerRdbType('zset', {
  loadTypes: [RDB_TYPE_ZSET_2, RDB_TYPE_ZSET_LISTPACK],
  load(type: number, reader: RdbReader): CollectionValue {
    if (type === RDB_TYPE_ZSET_LISTPACK) {
      return zsetFrom(pairs(readListpack(reader.readString())).map(([m, s]): [string, number] => [m, parseStoredScore(s)]));
    }
    const entries = readPairs(reader, () => reader.readBinaryDouble());
    const zset = zsetFrom(entries);
    if (zset.size !== entries.length) fail('duplicate zset member');
    return zset;
  },
  save(value: CollectionValue, writer: RdbWriter): number {
    const zset = value as ZSetValue;
    writer.writeLength(zset.size);
    // Highest first, as Redis writes a skiplist (it loads fastest that way).
    if (zset.size > 0) {
      zset.list.forEachRank(zset.size - 1, 0, (m, s) => {
        writer.writeString(m);
        writer.writeBinaryDouble(s);
      });
    }
    return RDB_TYPE_ZSET_2;
  },
});

registerRdbType('hash', {
  loadTypes: [RDB_TYPE_HASH, RDB_TYPE_HASH_LISTPACK],
  load(type: number, reader: RdbReader): CollectionValue {
    if (type === RDB_TYPE_HASH_LISTPACK) return hashFrom(pairs(readListpack(reader.readString())));
    const entries = readPairs(reader, () => reader.readString());
    const hash = hashFrom(entries);
    if (hash.size !== entries.length) fail('duplicate hash field');
    return hash;
  },
  save(value: CollectionValue, writer: RdbWriter): number {
    const hash = value as HashValue;
    writer.writeLength(hash.size);
    for (const [field, v] of hash.fields) {
      writer.writeString(field);
      writer.writeString(v);
    }
    return RDB_TYPE_HASH;
  },
});
