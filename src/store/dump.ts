// DUMP / RESTORE payloads in Redis's real format, so a payload from Redis 7 restores here and ours
// restores there: <RDB type byte><RDB-encoded value><RDB version, 2 bytes LE><CRC64 Jones, 8 bytes LE>.
// Strings are handled here (raw, integer and LZF-compressed encodings are read; we write raw and
// integer encodings, which Redis accepts). Collections plug in through `registerRdbType`.
// Payloads are latin1 strings (bytes), like every value in slotraft.

import type { CollectionType, CollectionValue, Value } from './value.js';

/** Redis 7.0's RDB_VERSION: the version we write, and the highest we accept. */
export const RDB_VERSION = 10;
export const RDB_TYPE_STRING = 0;

const RDB_6BITLEN = 0;
const RDB_14BITLEN = 1;
const RDB_32BITLEN = 0x80;
const RDB_64BITLEN = 0x81;
const RDB_ENCVAL = 3;
const RDB_ENC_INT8 = 0;
const RDB_ENC_INT16 = 1;
const RDB_ENC_INT32 = 2;
const RDB_ENC_LZF = 3;

/** Thrown by readers on malformed input; RESTORE answers `ERR Bad data format`. */
export class RdbFormatError extends Error {
  override name = 'RdbFormatError';
}

/** Builds an RDB byte string. */
export class RdbWriter {
  private readonly parts: string[] = [];

  writeByte(byte: number): void {
    this.parts.push(String.fromCharCode(byte & 0xff));
  }

  /** Raw latin1 bytes. */
  writeBytes(bytes: string): void {
    this.parts.push(bytes);
  }

  /** rdbSaveLen. */
  writeLength(n: number): void {
    if (n < 1 << 6) {
      this.writeByte((RDB_6BITLEN << 6) | n);
    } else if (n < 1 << 14) {
      this.writeByte((RDB_14BITLEN << 6) | (n >> 8));
      this.writeByte(n & 0xff);
    } else if (n <= 0xffffffff) {
      this.writeByte(RDB_32BITLEN);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      this.parts.push(b.latin1Slice());
    } else {
      this.writeByte(RDB_64BITLEN);
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      this.parts.push(b.latin1Slice());
    }
  }

  /** rdbSaveRawString without LZF: the integer encoding when it round-trips, else length + bytes. */
  writeString(s: string): void {
    if (s.length <= 11 && this.writeIntegerEncoded(s)) return;
    this.writeLength(s.length);
    this.parts.push(s);
  }

  /** An 8-byte little-endian IEEE double (rdbSaveBinaryDoubleValue, ZSET_2 scores). */
  writeBinaryDouble(value: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b.latin1Slice());
  }

  toString(): string {
    return this.parts.join('');
  }

  private writeIntegerEncoded(s: string): boolean {
    if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return false;
    const v = Number(s);
    if (v >= -128 && v <= 127) {
      this.writeByte((RDB_ENCVAL << 6) | RDB_ENC_INT8);
      this.writeByte(v);
    } else if (v >= -32768 && v <= 32767) {
      this.writeByte((RDB_ENCVAL << 6) | RDB_ENC_INT16);
      this.writeByte(v);
      this.writeByte(v >> 8);
    } else if (v >= -2147483648 && v <= 2147483647) {
      this.writeByte((RDB_ENCVAL << 6) | RDB_ENC_INT32);
      for (let i = 0; i < 4; i++) this.writeByte(v >> (8 * i));
    } else {
      return false;
    }
    return true;
  }
}

/** Reads an RDB byte string; every read is bounds-checked (RdbFormatError). */
export class RdbReader {
  private pos = 0;

  constructor(
    private readonly data: string,
    private readonly end = data.length,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  readByte(): number {
    if (this.pos >= this.end) throw new RdbFormatError('unexpected end of payload');
    return this.data.charCodeAt(this.pos++);
  }

  readBytes(n: number): string {
    if (n < 0 || this.pos + n > this.end) throw new RdbFormatError('unexpected end of payload');
    const s = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** rdbLoadLen for a plain length (an encoded value here is a format error). */
  readLength(): number {
    const { value, encoded } = this.readLengthOrEncoding();
    if (encoded) throw new RdbFormatError('unexpected encoded value');
    return value;
  }

  /** rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed. */
  readString(): string {
    const { value, encoded } = this.readLengthOrEncoding();
    if (!encoded) return this.readBytes(value);
    switch (value) {
      case RDB_ENC_INT8:
        return String((this.readByte() << 24) >> 24);
      case RDB_ENC_INT16: {
        const v = this.readByte() | (this.readByte() << 8);
        return String((v << 16) >> 16);
      }
      case RDB_ENC_INT32: {
        let v = 0;
        for (let i = 0; i < 4; i++) v |= this.readByte() << (8 * i);
        return String(v | 0);
      }
      case RDB_ENC_LZF: {
        const compressedLength = this.readLength();
        const length = this.readLength();
        return lzfDecompress(this.readBytes(compressedLength), length);
      }
      default:
        throw new RdbFormatError('unknown string encoding');
    }
  }

  readBinaryDouble(): number {
    return Buffer.from(this.readBytes(8), 'latin1').readDoubleLE(0);
  }

  private readLengthOrEncoding(): { value: number; encoded: boolean } {
    const first = this.readByte();
    const kind = (first & 0xc0) >> 6;
    if (kind === RDB_ENCVAL) return { value: first & 0x3f, encoded: true };
    if (kind === RDB_6BITLEN) return { value: first & 0x3f, encoded: false };
    if (kind === RDB_14BITLEN) return { value: ((first & 0x3f) << 8) | this.readByte(), encoded: false };
    if (first === RDB_32BITLEN) return { value: Buffer.from(this.readBytes(4), 'latin1').readUInt32BE(0), encoded: false };
    if (first === RDB_64BITLEN) {
      const big = Buffer.from(this.readBytes(8), 'latin1').readBigUInt64BE(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbFormatError('length too large');
      return { value: Number(big), encoded: false };
    }
    throw new RdbFormatError('unknown length encoding');
  }
}

/** LZF decompression (lzf_d.c): literal runs and back references. */
export function lzfDecompress(input: string, outLength: number): string {
  const out = new Uint8Array(outLength);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input.charCodeAt(ip++);
    if (ctrl < 32) {
      const run = ctrl + 1;
      if (op + run > outLength || ip + run > input.length) throw new RdbFormatError('bad LZF data');
      for (let i = 0; i < run; i++) out[op++] = input.charCodeAt(ip++);
    } else {
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= input.length) throw new RdbFormatError('bad LZF data');
        len += input.charCodeAt(ip++);
      }
      if (ip >= input.length) throw new RdbFormatError('bad LZF data');
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input.charCodeAt(ip++);
      len += 2;
      if (ref < 0 || op + len > outLength) throw new RdbFormatError('bad LZF data');
      for (let i = 0; i < len; i++) out[op++] = out[ref++]!;
    }
  }
  if (op !== outLength) throw new RdbFormatError('bad LZF length');
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).latin1Slice();
}

// ---------------------------------------------------------------- CRC64 (Jones, reflected; crc64.c)

const CRC64_TABLE_LO = new Uint32Array(256);
const CRC64_TABLE_HI = new Uint32Array(256);
(function buildCrc64Table(): void {
  // 0xad93d23594c935a9 bit-reversed, for the reflected (LSB-first) algorithm.
  const polyHi = 0x95ac9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    CRC64_TABLE_LO[n] = lo;
    CRC64_TABLE_HI[n] = hi;
  }
})();

/** Redis's crc64(0, data): returns the 8 little-endian bytes as a latin1 string. */
export function crc64(data: string, start = 0, end = data.length): string {
  let lo = 0;
  let hi = 0;
  for (let i = start; i < end; i++) {
    const index = (lo ^ data.charCodeAt(i)) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_TABLE_LO[index]!) >>> 0;
    hi = ((hi >>> 8) ^ CRC64_TABLE_HI[index]!) >>> 0;
  }
  const b = Buffer.alloc(8);
  b.writeUInt32LE(lo, 0);
  b.writeUInt32LE(hi, 4);
  return b.latin1Slice();
}

// ---------------------------------------------------------------- collection extension point

/** How a collection type is written to and read from RDB (registered by src/store/types/). */
export interface RdbTypeCodec {
  /** RDB type bytes this codec loads (e.g. 4 and 16 for hashes). */
  readonly loadTypes: readonly number[];
  /** Reads the value after its type byte. Throws RdbFormatError on bad data. Must not be empty. */
  load(type: number, reader: RdbReader): CollectionValue;
  /** Writes the value after the type byte; returns the RDB type byte to put before it. */
  save(value: CollectionValue, writer: RdbWriter): number;
}

const codecsByKind = new Map<CollectionType, RdbTypeCodec>();
const codecsByType = new Map<number, RdbTypeCodec>();

export function registerRdbType(kind: CollectionType, codec: RdbTypeCodec): void {
  codecsByKind.set(kind, codec);
  for (const type of codec.loadTypes) codecsByType.set(type, codec);
}

/** Whether `value` can be written in RDB form (strings always; collections once registered). */
export function canSerialize(value: Value): boolean {
  return typeof value === 'string' || codecsByKind.has(value.type);
}

/** Writes a value's RDB type byte and body. The value must pass `canSerialize`. */
export function writeValue(writer: RdbWriter, value: Value): void {
  if (typeof value === 'string') {
    writer.writeByte(RDB_TYPE_STRING);
    writer.writeString(value);
    return;
  }
  const codec = codecsByKind.get(value.type);
  if (codec === undefined) throw new RdbFormatError(`no RDB codec registered for ${value.type}`);
  const body = new RdbWriter();
  const type = codec.save(value, body);
  writer.writeByte(type);
  writer.writeBytes(body.toString());
}

/** Reads a value written by `writeValue` (or by Redis): type byte, then body. */
export function readValue(reader: RdbReader): Value {
  const type = reader.readByte();
  if (type === RDB_TYPE_STRING) return reader.readString();
  const codec = codecsByType.get(type);
  if (codec === undefined) throw new RdbFormatError(`unsupported RDB type ${type}`);
  return codec.load(type, reader);
}

/** DUMP: the payload for a value, or null when its type has no registered codec. */
export function dumpValue(value: Value): string | null {
  if (!canSerialize(value)) return null;
  const writer = new RdbWriter();
  writeValue(writer, value);
  const payload = writer.toString() + String.fromCharCode(RDB_VERSION & 0xff, RDB_VERSION >> 8);
  return payload + crc64(payload);
}

/** verifyDumpPayload: length, RDB version not newer than ours, and the CRC64. */
export function verifyDumpPayload(payload: string): boolean {
  if (payload.length < 10) return false;
  const footer = payload.length - 10;
  const version = payload.charCodeAt(footer) | (payload.charCodeAt(footer + 1) << 8);
  if (version > RDB_VERSION) return false;
  return crc64(payload, 0, payload.length - 8) === payload.slice(payload.length - 8);
}

/** RESTORE: the value of a verified payload; throws RdbFormatError when it cannot be loaded. */
export function loadDumpPayload(payload: string): Value {
  const reader = new RdbReader(payload, payload.length - 10);
  const value = readValue(reader);
  if (reader.remaining() !== 0) throw new RdbFormatError('trailing bytes');
  return value;
}
