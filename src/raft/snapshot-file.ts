// Snapshot files: a Raft group's snapshot (metadata + state machine bytes) as LZ4-compressed chunks, each
// with its own CRC-32, between a header and a trailer. This module is about disk (node:fs), like the
// durable log; the rest of src/raft stays pure.
//
//   header   magic "SRSNAP\r\n" | version u8 | body length u32 | body | crc32(version..body) u32
//            body = group, index, term (varints), conf state (codec.ts)
//   chunk    'C' | raw length u32 | compressed length u32 | crc32(raw len, comp len, compressed) u32 | compressed
//   trailer  'T' | chunk count u32 | total raw length u64 | file crc u32 | crc32('T'..file crc) u32
//            file crc = CRC-32 chained over the header's and every chunk's CRC
//
// Writing goes to a temporary name, is fsynced, renamed, and the directory fsynced: a crash leaves either
// the complete new file or none (stray *.tmp files are deleted at start). Reading checks every length
// against the file size and every CRC before using a byte; memory is bounded by one chunk. A corrupt or
// truncated file is reported with its path; the loader then falls back to an older valid snapshot.

import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import CRC32 from 'crc-32';
import { compress, uncompress } from 'lz4-napi';
import { ByteReader, ByteWriter, CodecError, readConfState, writeConfState } from './codec.js';
import type { GroupId, Snapshot, SnapshotMetadata } from './types.js';

const MAGIC = Buffer.from('SRSNAP\r\n', 'latin1');
export const SNAPSHOT_FORMAT_VERSION = 1;
const TAG_CHUNK = 0x43; // 'C'
const TAG_TRAILER = 0x54; // 'T'
const CHUNK_HEAD_BYTES = 13;
const TRAILER_BYTES = 1 + 4 + 8 + 4 + 4;
const HEADER_BODY_MAX = 1 << 20;
const LZ4_SIZE_PREFIX = 4; // lz4-napi's block format prepends the raw length (u32 little-endian)

/** Raw bytes per chunk when writing. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;
/** Largest raw chunk a reader accepts (bounds memory per chunk whatever the file claims). */
export const SNAPSHOT_CHUNK_BYTES_MAX = 16 << 20;

/** The file is corrupt, truncated, or not the snapshot it claims to be. */
export class SnapshotCorruptionError extends Error {
  override name = 'SnapshotCorruptionError';
}

/** No usable snapshot for a group: the node must not start that group on bad data. */
export class SnapshotUnavailableError extends Error {
  override name = 'SnapshotUnavailableError';
}

const crc = (bytes: Uint8Array, seed?: number): number => CRC32.buf(bytes, seed) >>> 0;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `snap-<group>-<index>-<term>.snap` in fixed-width hex, so names sort by group then index. */
export function snapshotFileName(group: GroupId, meta: Pick<SnapshotMetadata, 'index' | 'term'>): string {
  return `snap-${hex(group, 8)}-${hex(meta.index, 14)}-${hex(meta.term, 14)}.snap`;
}

const NAME_PATTERN = /^snap-([0-9a-f]{8})-([0-9a-f]{14})-([0-9a-f]{14})\.snap$/;

export interface SnapshotFileInfo {
  readonly path: string;
  readonly group: GroupId;
  readonly index: number;
  readonly term: number;
}

/** Snapshot files in `dir` (of one group if given), newest (highest index) first. */
export async function listSnapshotFiles(dir: string, group?: GroupId): Promise<SnapshotFileInfo[]> {
  const out: SnapshotFileInfo[] = [];
  for (const name of await readdirOrEmpty(dir)) {
    const m = NAME_PATTERN.exec(name);
    if (!m) continue;
    const [g, index, term] = [m[1], m[2], m[3]].map((h) => parseInt(h!, 16));
    const info = { path: join(dir, name), group: g!, index: index!, term: term! };
    if (group === undefined || info.group === group) out.push(info);
  }
  return out.sort((a, b) => a.group - b.group || b.index - a.index);
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Deletes temporary files a crash left behind mid-write. */
export async function removeTemporarySnapshotFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdirOrEmpty(dir)) {
    if (name.startsWith('snap-') && name.endsWith('.tmp')) {
      await rm(join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Keeps the `keep` newest snapshot files of `group`, deletes the older ones. Returns the deleted paths. */
export async function pruneSnapshotFiles(dir: string, group: GroupId, keep = 2): Promise<string[]> {
  const old = (await listSnapshotFiles(dir, group)).slice(keep);
  for (const f of old) await rm(f.path, { force: true });
  if (old.length > 0) await syncDirectory(dir);
  return old.map((f) => f.path);
}

export async function syncDirectory(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

function encodeHeader(group: GroupId, meta: SnapshotMetadata): Buffer {
  const body = new ByteWriter(64);
  body.varint(group).varint(meta.index).varint(meta.term);
  writeConfState(body, meta.confState);
  const w = new ByteWriter(body.length + 32);
  w.raw(MAGIC).u8(SNAPSHOT_FORMAT_VERSION).u32(body.length).raw(body.view());
  const out = w.view();
  w.u32(crc(out.subarray(MAGIC.length)));
  return w.finish();
}

/**
 * Writes one snapshot file, streaming: call write() with the state machine bytes in any pieces (memory
 * stays at about one chunk), then finish() to make it durable under its final name.
 */
export class SnapshotFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0;
  private fileCrc: number;
  private chunkCount = 0;
  private totalRaw = 0;
  private done = false;

  private constructor(
    private readonly fd: FileHandle,
    private readonly tmpPath: string,
    readonly path: string,
    private readonly dir: string,
    header: Buffer,
    private readonly chunkBytes: number,
  ) {
    this.offset = header.length;
    this.fileCrc = crc(header.subarray(header.length - 4));
  }

  static async create(
    dir: string,
    group: GroupId,
    meta: SnapshotMetadata,
    chunkBytes = SNAPSHOT_CHUNK_BYTES,
  ): Promise<SnapshotFileWriter> {
    if (chunkBytes < 1 || chunkBytes > SNAPSHOT_CHUNK_BYTES_MAX) throw new RangeError(`chunk size ${chunkBytes}`);
    const name = snapshotFileName(group, meta);
    const tmpPath = join(dir, `${name}.tmp`);
    const fd = await open(tmpPath, 'w');
    const header = encodeHeader(group, meta);
    try {
      await fd.write(header, 0, header.length, 0);
    } catch (err) {
      await fd.close();
      await rm(tmpPath, { force: true });
      throw err;
    }
    return new SnapshotFileWriter(fd, tmpPath, join(dir, name), dir, header, chunkBytes);
  }

  /** Adds state machine bytes; full chunks are compressed and written as they fill. */
  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const take = Math.min(this.chunkBytes - this.pendingBytes, data.length - at);
      this.pending.push(Buffer.from(data.subarray(at, at + take))); // a copy: the caller may reuse `data`
      this.pendingBytes += take;
      at += take;
      if (this.pendingBytes === this.chunkBytes) await this.writeChunk();
    }
  }

  private async writeChunk(): Promise<void> {
    const raw = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const compressed = await compress(raw);
    const head = Buffer.allocUnsafe(CHUNK_HEAD_BYTES);
    head[0] = TAG_CHUNK;
    head.writeUInt32BE(raw.length, 1);
    head.writeUInt32BE(compressed.length, 5);
    const chunkCrc = crc(compressed, crc(head.subarray(1, 9)));
    head.writeUInt32BE(chunkCrc, 9);
    await this.fd.writev([head, compressed], this.offset);
    this.offset += head.length + compressed.length;
    this.fileCrc = crc(head.subarray(9, 13), this.fileCrc);
    this.chunkCount++;
    this.totalRaw += raw.length;
  }

  /** Writes the trailer, fsyncs, renames to the final name, fsyncs the directory. Returns the path. */
  async finish(): Promise<string> {
    if (this.done) throw new Error('snapshot file already finished');
    this.done = true;
    try {
      if (this.pendingBytes > 0) await this.writeChunk();
      const t = new ByteWriter(TRAILER_BYTES);
      t.u8(TAG_TRAILER).u32(this.chunkCount).u64(this.totalRaw).u32(this.fileCrc);
      t.u32(crc(t.view()));
      const trailer = t.finish();
      await this.fd.write(trailer, 0, trailer.length, this.offset);
      await this.fd.sync();
      await this.fd.close();
    } catch (err) {
      await this.fd.close().catch(() => undefined);
      await rm(this.tmpPath, { force: true });
      throw err;
    }
    await rename(this.tmpPath, this.path);
    await syncDirectory(this.dir);
    return this.path;
  }

  /** Gives up: closes and deletes the temporary file. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.fd.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}

/** Writes a whole in-memory snapshot durably; returns the file's path. */
export async function writeSnapshotFile(
  dir: string,
  group: GroupId,
  snapshot: Snapshot,
  chunkBytes = SNAPSHOT_CHUNK_BYTES,
): Promise<string> {
  const w = await SnapshotFileWriter.create(dir, group, snapshot.metadata, chunkBytes);
  try {
    await w.write(snapshot.data);
  } catch (err) {
    await w.abort();
    throw err;
  }
  return w.finish();
}

/**
 * Reads one snapshot file, streaming and verifying. open() checks the header and the trailer's own CRC;
 * chunks() yields each chunk's raw bytes after checking its CRC, and at the end checks the chunk count,
 * the total length and the whole-file CRC. Until chunks() has finished, the data is not known complete.
 */
export class SnapshotFileReader {
  private constructor(
    private readonly fd: FileHandle,
    readonly path: string,
    readonly group: GroupId,
    readonly metadata: SnapshotMetadata,
    private readonly dataStart: number,
    private readonly trailerStart: number,
    private readonly headerCrc: number,
    private readonly trailer: { chunkCount: number; totalRaw: number; fileCrc: number },
  ) {}

  get totalBytes(): number {
    return this.trailer.totalRaw;
  }

  static async open(path: string): Promise<SnapshotFileReader> {
    const fd = await open(path, 'r');
    try {
      return await SnapshotFileReader.readFrame(fd, path);
    } catch (err) {
      await fd.close();
      throw err;
    }
  }

  private static async readFrame(fd: FileHandle, path: string): Promise<SnapshotFileReader> {
    const fail = (why: string): never => {
      throw new SnapshotCorruptionError(`snapshot file ${path}: ${why}`);
    };
    const size = (await fd.stat()).size;
    const fixedHead = MAGIC.length + 1 + 4;
    if (size < fixedHead + 4 + TRAILER_BYTES) fail(`truncated: ${size} bytes`);
    const head = await readAt(fd, 0, fixedHead);
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) fail('bad magic (not a snapshot file)');
    const version = head[MAGIC.length]!;
    if (version !== SNAPSHOT_FORMAT_VERSION) fail(`unknown format version ${version}`);
    const bodyLength = head.readUInt32BE(MAGIC.length + 1);
    if (bodyLength > HEADER_BODY_MAX || fixedHead + bodyLength + 4 + TRAILER_BYTES > size) {
      fail(`header length ${bodyLength} runs past the end (file is ${size} bytes)`);
    }
    const rest = await readAt(fd, fixedHead, bodyLength + 4);
    const body = rest.subarray(0, bodyLength);
    const headerCrc = rest.readUInt32BE(bodyLength);
    if (crc(body, crc(head.subarray(MAGIC.length))) !== headerCrc) fail('header checksum mismatch');
    let group: GroupId;
    let metadata: SnapshotMetadata;
    try {
      const r = new ByteReader(body, 'snapshot header');
      group = r.varint('group');
      const index = r.varint('index');
      const term = r.varint('term');
      metadata = { index, term, confState: readConfState(r) };
      r.end();
    } catch (err) {
      if (err instanceof CodecError) return fail(err.message);
      throw err;
    }
    const trailerStart = size - TRAILER_BYTES;
    const t = await readAt(fd, trailerStart, TRAILER_BYTES);
    if (t[0] !== TAG_TRAILER) fail('missing trailer (truncated file?)');
    if (crc(t.subarray(0, TRAILER_BYTES - 4)) !== t.readUInt32BE(TRAILER_BYTES - 4)) fail('trailer checksum mismatch');
    const tr = new ByteReader(t.subarray(1), 'snapshot trailer');
    const trailer = { chunkCount: tr.u32(), totalRaw: tr.u64(), fileCrc: tr.u32() };
    const dataStart = fixedHead + bodyLength + 4;
    return new SnapshotFileReader(fd, path, group, metadata, dataStart, trailerStart, headerCrc, trailer);
  }

  /** Each chunk's raw bytes, verified. Throws SnapshotCorruptionError at the first bad byte. */
  async *chunks(): AsyncGenerator<Buffer> {
    const fail = (why: string): never => {
      throw new SnapshotCorruptionError(`snapshot file ${this.path}: ${why}`);
    };
    let pos = this.dataStart;
    let fileCrc = crc(u32be(this.headerCrc));
    let count = 0;
    let total = 0;
    while (pos < this.trailerStart) {
      if (pos + CHUNK_HEAD_BYTES > this.trailerStart) fail(`truncated chunk header at byte ${pos}`);
      const head = await readAt(this.fd, pos, CHUNK_HEAD_BYTES);
      if (head[0] !== TAG_CHUNK) fail(`bad chunk tag at byte ${pos}`);
      const rawLength = head.readUInt32BE(1);
      const compLength = head.readUInt32BE(5);
      if (rawLength > SNAPSHOT_CHUNK_BYTES_MAX || compLength > lz4Bound(rawLength)) {
        fail(`chunk ${count} claims ${rawLength} raw / ${compLength} compressed bytes`);
      }
      if (pos + CHUNK_HEAD_BYTES + compLength > this.trailerStart) fail(`chunk ${count} runs past the end`);
      const compressed = await readAt(this.fd, pos + CHUNK_HEAD_BYTES, compLength);
      const chunkCrc = head.readUInt32BE(9);
      if (crc(compressed, crc(head.subarray(1, 9))) !== chunkCrc) fail(`chunk ${count} checksum mismatch`);
      if (compLength < LZ4_SIZE_PREFIX || compressed.readUInt32LE(0) !== rawLength) {
        fail(`chunk ${count} compressed length prefix disagrees`);
      }
      let raw: Buffer;
      try {
        raw = await uncompress(compressed);
      } catch (err) {
        return fail(`chunk ${count} does not decompress: ${(err as Error).message}`);
      }
      if (raw.length !== rawLength) fail(`chunk ${count} decompressed to ${raw.length} bytes, not ${rawLength}`);
      fileCrc = crc(head.subarray(9, 13), fileCrc);
      pos += CHUNK_HEAD_BYTES + compLength;
      count++;
      total += rawLength;
      yield raw;
    }
    const t = this.trailer;
    if (count !== t.chunkCount) fail(`${count} chunks, trailer says ${t.chunkCount}`);
    if (total !== t.totalRaw) fail(`${total} bytes, trailer says ${t.totalRaw}`);
    if (fileCrc !== t.fileCrc) fail('file checksum mismatch');
  }

  async close(): Promise<void> {
    await this.fd.close();
  }
}

function u32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** LZ4's worst case for incompressible input, plus lz4-napi's size prefix. */
function lz4Bound(raw: number): number {
  return raw + Math.floor(raw / 255) + 16 + LZ4_SIZE_PREFIX;
}

async function readAt(fd: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fd.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new SnapshotCorruptionError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return buf;
}

/** Reads and verifies a whole snapshot file into memory. */
export async function readSnapshotFile(path: string): Promise<{ group: GroupId; snapshot: Snapshot }> {
  const reader = await SnapshotFileReader.open(path);
  try {
    const parts: Buffer[] = [];
    for await (const chunk of reader.chunks()) parts.push(chunk);
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return { group: reader.group, snapshot: { metadata: reader.metadata, data } };
  } finally {
    await reader.close();
  }
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly path: string;
  /** Newer files that were refused, with why. Non-empty means we fell back to an older snapshot. */
  readonly rejected: readonly { path: string; error: Error }[];
}

/**
 * The newest valid snapshot of `group` whose index is in [minIndex, maxIndex]: minIndex is the log's
 * compaction point (an older snapshot cannot be completed by the log), maxIndex the snapshot recorded as
 * newest. Corrupt files are skipped and listed in `rejected`. Throws SnapshotUnavailableError if none is
 * usable: the group must not start on bad data.
 */
export async function loadNewestValidSnapshot(
  dir: string,
  group: GroupId,
  minIndex: number,
  maxIndex: number,
): Promise<LoadedSnapshot> {
  const rejected: { path: string; error: Error }[] = [];
  for (const f of await listSnapshotFiles(dir, group)) {
    if (f.index > maxIndex || f.index < minIndex) continue;
    try {
      const { group: g, snapshot } = await readSnapshotFile(f.path);
      const m = snapshot.metadata;
      if (g !== group || m.index !== f.index || m.term !== f.term) {
        throw new SnapshotCorruptionError(
          `snapshot file ${f.path}: header says group ${g} index ${m.index} term ${m.term}, the name disagrees`,
        );
      }
      return { snapshot, path: f.path, rejected };
    } catch (err) {
      if (!(err instanceof SnapshotCorruptionError)) throw err;
      rejected.push({ path: f.path, error: err });
    }
  }
  const why = rejected.length ? `: ${rejected.map((r) => r.error.message).join('; ')}` : ' (no file)';
  throw new SnapshotUnavailableError(
    `group ${group}: no valid snapshot with index in [${minIndex}, ${maxIndex}]${why}; refusing to start the group`,
  );
}
