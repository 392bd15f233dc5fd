// Compact binary encoding of Raft's vocabulary (Entry, HardState, ConfState, SnapshotMetadata, Message),
// used by durable storage and the cluster bus. Numbers are unsigned LEB128 varints (up to 2^53 - 1), so
// small terms and indexes take one or two bytes. Every top-level encoding starts with a version byte.
//
// Decoding never trusts a length: every count and length is checked against the bytes that remain, and
// malformed input throws a CodecError naming what was being decoded. Decoded byte fields are copies, so a
// decoded value never pins a large network frame or shares memory with a reused buffer; a caller that
// owns its input outright (e.g. one private copy of a transport frame) may ask for views instead, which
// saves an allocation per field.

import { EntryType, MessageType } from './types.js';
import type { ConfState, Entry, HardState, Message, Snapshot, SnapshotMetadata } from './types.js';

export const CODEC_VERSION = 1;

/** Malformed or truncated input. Never caught to continue with partial data. */
export class CodecError extends Error {
  override name = 'CodecError';
}

const MAX_VARINT_BYTES = 8; // 56 bits, enough for Number.MAX_SAFE_INTEGER
const TWO_POW_32 = 0x1_0000_0000;

/** Bytes a varint of `n` takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Writes a varint into `out` at `pos` (room for 8 bytes is the caller's job); returns the end offset. */
export function writeVarintAt(out: Uint8Array, pos: number, n: number): number {
  checkUnsigned(n);
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}

/** An append-only byte buffer that grows by doubling. */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(n: number): this {
    this.ensure(1);
    this.buf[this.pos++] = n;
    return this;
  }

  /** Fixed 4 bytes, big-endian. */
  u32(n: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(n >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  /** Fixed 8 bytes, big-endian (ordered like the number, for keys). */
  u64(n: number): this {
    checkUnsigned(n);
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(n / TWO_POW_32), this.pos);
    this.buf.writeUInt32BE(n % TWO_POW_32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  varint(n: number): this {
    checkUnsigned(n);
    this.ensure(MAX_VARINT_BYTES);
    const buf = this.buf;
    let pos = this.pos;
    if (n < 0x8000_0000) {
      while (n >= 0x80) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
    } else {
      while (n >= 0x80) {
        buf[pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
    }
    buf[pos++] = n;
    this.pos = pos;
    return this;
  }

  /** Raw bytes, no length. */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes);
  }

  /** The bytes written so far (a view: valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** A right-sized copy of the bytes written. */
  finish(): Buffer {
    return Buffer.from(this.view());
  }
}

function checkUnsigned(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CodecError(`cannot encode ${n}: not an unsigned safe integer`);
}

/** Reads what ByteWriter wrote; every read is bounds-checked. `what` names the value in errors. */
export class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
    /** Return byte fields as views of `buf` (which the caller must never modify) instead of copies. */
    private readonly views = false,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(reason: string): never {
    throw new CodecError(`malformed ${this.what}: ${reason} (at byte ${this.pos} of ${this.buf.length})`);
  }

  private need(n: number, field: string): void {
    if (n > this.buf.length - this.pos) this.fail(`truncated ${field}`);
  }

  u8(field = 'byte'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u32(field = 'u32'): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  u64(field = 'u64'): number {
    const hi = this.u32(field);
    const lo = this.u32(field);
    const n = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(n)) this.fail(`${field} ${hi}:${lo} exceeds 2^53`);
    return n;
  }

  /** `suffix` is appended to `field` in error messages (built only on failure: this is the hot path). */
  varint(field = 'varint', suffix = ''): number {
    const pos = this.pos;
    if (pos < this.buf.length && this.buf[pos]! < 0x80) {
      this.pos = pos + 1; // one-byte varints: most counts, lengths, types, small terms
      return this.buf[pos]!;
    }
    return this.varintSlow(suffix === '' ? field : field + suffix);
  }

  private varintSlow(field: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      this.need(1, field);
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(n)) this.fail(`${field} exceeds 2^53`);
        return n;
      }
      scale *= 0x80;
    }
    return this.fail(`${field} varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) this.fail(`${field} is ${b}, not 0 or 1`);
    return b === 1;
  }

  /** `n` raw bytes, copied (or a view, if the reader was made with `views`). */
  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return this.views ? view : Buffer.from(view); // Buffer.from(Uint8Array) copies
  }

  /** Length-prefixed bytes, copied. */
  bytes(field: string): Uint8Array {
    return this.raw(this.varint(field, ' length'), field);
  }

  /** A count of items that each take at least `minItemBytes`, so a bogus count cannot allocate. */
  count(field: string, minItemBytes: number): number {
    const n = this.varint(field, ' count');
    if (n * minItemBytes > this.remaining) this.fail(`${field} count ${n} runs past the end`);
    return n;
  }

  version(): void {
    const v = this.u8('version');
    if (v !== CODEC_VERSION) this.fail(`unknown version ${v}`);
  }

  /** Every byte must have been consumed: trailing garbage is corruption too. */
  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}

// ---- building blocks (no version byte; composed by the top-level functions below) ----

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.varint(e.term).varint(e.index).u8(e.type).bytes(e.data);
}

export function readEntry(r: ByteReader): Entry {
  const term = r.varint('entry term');
  const index = r.varint('entry index');
  const type = r.u8('entry type');
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) r.fail(`unknown entry type ${type}`);
  const data = r.bytes('entry data');
  return { term, index, type, data };
}

/** Upper bound of writeEntry's output, for sizing buffers up front. */
export function entryEncodedSizeMax(e: Entry): number {
  return MAX_VARINT_BYTES * 3 + 1 + e.data.length;
}

export function writeHardState(w: ByteWriter, hs: HardState): void {
  w.varint(hs.term).varint(hs.vote).varint(hs.commit);
}

export function readHardState(r: ByteReader): HardState {
  return { term: r.varint('term'), vote: r.varint('vote'), commit: r.varint('commit') };
}

function writeIds(w: ByteWriter, ids: readonly number[]): void {
  w.varint(ids.length);
  for (const id of ids) w.varint(id);
}

function readIds(r: ByteReader, field: string): number[] {
  const n = r.count(field, 1);
  const ids = new Array<number>(n);
  for (let i = 0; i < n; i++) ids[i] = r.varint(field);
  return ids;
}

export function writeConfState(w: ByteWriter, cs: ConfState): void {
  writeIds(w, cs.voters);
  writeIds(w, cs.votersOutgoing);
  writeIds(w, cs.learners);
  writeIds(w, cs.learnersNext);
  w.u8(cs.autoLeave ? 1 : 0);
}

export function readConfState(r: ByteReader): ConfState {
  return {
    voters: readIds(r, 'voters'),
    votersOutgoing: readIds(r, 'votersOutgoing'),
    learners: readIds(r, 'learners'),
    learnersNext: readIds(r, 'learnersNext'),
    autoLeave: r.bool('autoLeave'),
  };
}

export function writeSnapshotMetadata(w: ByteWriter, m: SnapshotMetadata): void {
  w.varint(m.index).varint(m.term);
  writeConfState(w, m.confState);
}

export function readSnapshotMetadata(r: ByteReader): SnapshotMetadata {
  const index = r.varint('snapshot index');
  const term = r.varint('snapshot term');
  return { index, term, confState: readConfState(r) };
}

const MESSAGE_TYPE_MAX = MessageType.ForgetLeader;
const FLAG_REJECT = 1;
const FLAG_SNAPSHOT = 2;
const FLAG_CONTEXT = 4;
const MIN_ENTRY_BYTES = 4; // term, index, type, data length: one byte each at least

export function writeMessage(w: ByteWriter, m: Message): void {
  const flags = (m.reject ? FLAG_REJECT : 0) | (m.snapshot ? FLAG_SNAPSHOT : 0) | (m.context ? FLAG_CONTEXT : 0);
  w.u8(m.type).varint(m.to).varint(m.from).varint(m.term).varint(m.index).varint(m.logTerm);
  w.varint(m.commit).varint(m.rejectHint).u8(flags);
  w.varint(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot) {
    writeSnapshotMetadata(w, m.snapshot.metadata);
    w.bytes(m.snapshot.data);
  }
  if (m.context) w.bytes(m.context);
}

export function readMessage(r: ByteReader): Message {
  const type = r.u8('message type');
  if (type > MESSAGE_TYPE_MAX) r.fail(`unknown message type ${type}`);
  const to = r.varint('to');
  const from = r.varint('from');
  const term = r.varint('term');
  const index = r.varint('index');
  const logTerm = r.varint('logTerm');
  const commit = r.varint('commit');
  const rejectHint = r.varint('rejectHint');
  const flags = r.u8('flags');
  if (flags & ~(FLAG_REJECT | FLAG_SNAPSHOT | FLAG_CONTEXT)) r.fail(`unknown flags ${flags}`);
  const n = r.count('entries', MIN_ENTRY_BYTES);
  const entries = new Array<Entry>(n);
  for (let i = 0; i < n; i++) entries[i] = readEntry(r);
  let snapshot: Snapshot | null = null;
  if (flags & FLAG_SNAPSHOT) {
    const metadata = readSnapshotMetadata(r);
    snapshot = { metadata, data: r.bytes('snapshot data') };
  }
  const context = flags & FLAG_CONTEXT ? r.bytes('context') : null;
  return {
    type: type as MessageType,
    to,
    from,
    term,
    index,
    logTerm,
    commit,
    entries,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
    snapshot,
    context,
  };
}

// ---- top-level encodings: a version byte, the value, nothing after ----

function encode<T>(value: T, write: (w: ByteWriter, v: T) => void, sizeHint = 64): Buffer {
  const w = new ByteWriter(sizeHint);
  w.u8(CODEC_VERSION);
  write(w, value);
  return w.finish();
}

function decode<T>(bytes: Uint8Array, what: string, read: (r: ByteReader) => T): T {
  const r = new ByteReader(bytes, what);
  r.version();
  const value = read(r);
  r.end();
  return value;
}

export const encodeEntry = (e: Entry): Buffer => encode(e, writeEntry, entryEncodedSizeMax(e) + 1);
export const decodeEntry = (b: Uint8Array): Entry => decode(b, 'entry', readEntry);
export const encodeHardState = (hs: HardState): Buffer => encode(hs, writeHardState);
export const decodeHardState = (b: Uint8Array): HardState => decode(b, 'hard state', readHardState);
export const encodeConfState = (cs: ConfState): Buffer => encode(cs, writeConfState);
export const decodeConfState = (b: Uint8Array): ConfState => decode(b, 'conf state', readConfState);
export const encodeSnapshotMetadata = (m: SnapshotMetadata): Buffer => encode(m, writeSnapshotMetadata);
export const decodeSnapshotMetadata = (b: Uint8Array): SnapshotMetadata =>
  decode(b, 'snapshot metadata', readSnapshotMetadata);
export const encodeMessage = (m: Message): Buffer => encode(m, writeMessage, 256);
export const decodeMessage = (b: Uint8Array): Message => decode(b, 'message', readMessage);
