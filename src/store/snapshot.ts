// The keyspace as bytes, for Raft snapshots of a shard group: a stream of chunks, each holding whole
// records, so a snapshot can be written and sent chunk by chunk with bounded memory per chunk.
//
//   chunk  := record*            (the first chunk starts with MAGIC and the version byte)
//   record := key (RDB string) | flags (1 byte: 1 = has expiry) | [expiry ms, 8-byte LE double]
//             | value (RDB type byte + body, as in a DUMP payload without its footer)
//
// Expiries are absolute, and keys whose time has passed are included: they are part of the state
// (they disappear through replicated deletes like on every other replica).

import type { Keyspace } from './keyspace.js';
import { RdbFormatError, RdbReader, RdbWriter, readValue, writeValue } from './dump.js';
import { SLOT_COUNT } from '../cluster/slot.js';
// Registers the RDB codecs of hashes, lists, sets and sorted sets: a snapshot carries every type.
import './types/rdb.js';

const MAGIC = 'SRKS';
const VERSION = 1;
const HAS_EXPIRY = 1;

/**
 * Encodes `keyspace` as latin1 chunks of about `chunkBytes` each (a single larger record gets a
 * chunk of its own). The keyspace must not change until the generator is exhausted: the caller
 * serializes the state at one log index. Throws RdbFormatError for a collection type without a
 * registered RDB codec.
 */
export function* encodeSnapshot(keyspace: Keyspace, chunkBytes = 1 << 20): Generator<string> {
  let writer = new RdbWriter();
  writer.writeBytes(MAGIC);
  writer.writeByte(VERSION);
  let size = MAGIC.length + 1;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    for (const [key, value, expireAt] of keyspace.entriesInSlot(slot)) {
      const record = new RdbWriter();
      record.writeString(key);
      record.writeByte(expireAt === undefined ? 0 : HAS_EXPIRY);
      if (expireAt !== undefined) record.writeBinaryDouble(expireAt);
      writeValue(record, value);
      const bytes = record.toString();
      if (size > 0 && size + bytes.length > chunkBytes) {
        yield writer.toString();
        writer = new RdbWriter();
        size = 0;
      }
      writer.writeBytes(bytes);
      size += bytes.length;
    }
  }
  yield writer.toString();
}

/** Fills an empty keyspace from the chunks of `encodeSnapshot`, in order. */
export class SnapshotLoader {
  private first = true;
  private keys = 0;

  constructor(private readonly keyspace: Keyspace) {
    if (keyspace.size() !== 0) throw new Error('a snapshot loads into an empty keyspace');
  }

  /** Loads one chunk; throws RdbFormatError on malformed data. */
  push(chunk: string): void {
    let start = 0;
    if (this.first) {
      if (chunk.slice(0, MAGIC.length) !== MAGIC) throw new RdbFormatError('not a keyspace snapshot');
      const version = chunk.charCodeAt(MAGIC.length);
      if (version !== VERSION) throw new RdbFormatError(`unknown keyspace snapshot version ${version}`);
      start = MAGIC.length + 1;
      this.first = false;
    }
    const reader = new RdbReader(chunk);
    reader.readBytes(start);
    while (reader.remaining() > 0) {
      const key = reader.readString();
      const flags = reader.readByte();
      const expireAt = flags & HAS_EXPIRY ? reader.readBinaryDouble() : undefined;
      const value = readValue(reader);
      this.keyspace.set(key, value, 0, expireAt);
      this.keys++;
    }
  }

  /** Number of keys loaded so far. */
  loadedKeys(): number {
    return this.keys;
  }
}
