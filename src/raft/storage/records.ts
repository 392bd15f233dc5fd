// Record values of the durable log. Each value is [crc32:u32][version:u8][body], where the CRC-32 covers
// the record's KEY as well as everything after the CRC: a flipped byte, a truncated value or a value
// found under the wrong key all fail the check. The check runs on every read (recovery reads every record).

import CRC32 from 'crc-32';
import {
  ByteReader,
  ByteWriter,
  CODEC_VERSION,
  readConfState,
  readHardState,
  writeConfState,
  writeHardState,
  writeVarintAt,
} from '../codec.js';
import type { ConfState, Entry, HardState, Index, SnapshotMetadata, Term } from '../types.js';
import { EntryType } from '../types.js';
import { StorageCorruptionError } from './errors.js';

const CRC_BYTES = 4;
/** Bytes a record adds around its body: CRC and version. */
export const RECORD_OVERHEAD = CRC_BYTES + 1;

function crcOf(key: Uint8Array, rest: Uint8Array): number {
  return CRC32.buf(rest, CRC32.buf(key)) >>> 0;
}

/** Fills in the CRC of a record whose body is already at value[4..]. */
export function sealRecord(key: Uint8Array, value: Buffer): Buffer {
  value.writeUInt32BE(crcOf(key, value.subarray(CRC_BYTES)), 0);
  return value;
}

/** Checks the CRC and version; returns a reader positioned at the body. `what` names the record in errors. */
export function openRecord(key: Uint8Array, value: Uint8Array, what: string): ByteReader {
  if (value.length < RECORD_OVERHEAD) {
    throw new StorageCorruptionError(`${what}: record of ${value.length} bytes is too short`);
  }
  const v = Buffer.from(value.buffer, value.byteOffset, value.length);
  const stored = v.readUInt32BE(0);
  const actual = crcOf(key, v.subarray(CRC_BYTES));
  if (stored !== actual) {
    throw new StorageCorruptionError(
      `${what}: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`,
    );
  }
  if (v[CRC_BYTES] !== CODEC_VERSION) {
    throw new StorageCorruptionError(`${what}: unknown record version ${v[CRC_BYTES]}`);
  }
  return new ByteReader(v.subarray(RECORD_OVERHEAD), what);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function small(key: Uint8Array, write: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(64);
  w.u32(0).u8(CODEC_VERSION);
  write(w);
  return sealRecord(key, w.finish());
}

// An entry's index is its key; the body is [term varint][type u8][data to the end of the value].

/** Bytes an entry record takes at most. */
export function entryRecordSizeMax(e: Entry): number {
  return RECORD_OVERHEAD + 8 + 1 + e.data.length;
}

/** Writes the entry record for `key` into out[at..]; returns the end offset. */
export function writeEntryRecord(out: Buffer, at: number, key: Uint8Array, e: Entry): number {
  let pos = at + CRC_BYTES;
  out[pos++] = CODEC_VERSION;
  pos = writeVarintAt(out, pos, e.term);
  out[pos++] = e.type;
  out.set(e.data, pos);
  pos += e.data.length;
  sealRecord(key, out.subarray(at, pos));
  return pos;
}

export function readEntryRecord(key: Uint8Array, value: Uint8Array, index: Index, what: string): Entry {
  const r = openRecord(key, value, what);
  try {
    const term = r.varint('term');
    const type = r.u8('type');
    if (type !== EntryType.Normal && type !== EntryType.ConfChange) r.fail(`unknown entry type ${type}`);
    return { term, index, type, data: r.raw(r.remaining, 'data') };
  } catch (err) {
    throw asCorruption(err, what);
  }
}

export const encodeHardStateRecord = (key: Uint8Array, hs: HardState): Buffer =>
  small(key, (w) => writeHardState(w, hs));

export function readHardStateRecord(key: Uint8Array, value: Uint8Array, what: string): HardState {
  return readWhole(key, value, what, readHardState);
}

export interface TruncatedState {
  readonly index: Index;
  readonly term: Term;
}

export const encodeTruncatedRecord = (key: Uint8Array, t: TruncatedState): Buffer =>
  small(key, (w) => w.varint(t.index).varint(t.term));

export function readTruncatedRecord(key: Uint8Array, value: Uint8Array, what: string): TruncatedState {
  return readWhole(key, value, what, (r) => ({ index: r.varint('index'), term: r.varint('term') }));
}

export const encodeSnapshotMetaRecord = (key: Uint8Array, m: SnapshotMetadata): Buffer =>
  small(key, (w) => {
    w.varint(m.index).varint(m.term);
    writeConfState(w, m.confState);
  });

export function readSnapshotMetaRecord(key: Uint8Array, value: Uint8Array, what: string): SnapshotMetadata {
  return readWhole(key, value, what, (r) => {
    const index = r.varint('index');
    const term = r.varint('term');
    const confState: ConfState = readConfState(r);
    return { index, term, confState };
  });
}

function readWhole<T>(key: Uint8Array, value: Uint8Array, what: string, read: (r: ByteReader) => T): T {
  const r = openRecord(key, value, what);
  try {
    const out = read(r);
    r.end();
    return out;
  } catch (err) {
    throw asCorruption(err, what);
  }
}

function asCorruption(err: unknown, what: string): Error {
  if (err instanceof StorageCorruptionError) return err;
  return new StorageCorruptionError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
}
