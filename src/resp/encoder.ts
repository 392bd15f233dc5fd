// Reply -> RESP2 or RESP3 bytes.
//
// Replies are written as bytes straight into a Buffer: keys and values are latin1 strings (one char =
// one byte), copied char by char when short and by Node's latin1Write when longer. The replies to all
// the requests of one input chunk go into one ReplyWriter and leave in one socket write. Measured
// against building one latin1 string per chunk (V8 cons strings, flattened by the socket write), this
// costs about half as much for array replies (LRANGE) and makes no garbage per reply. Large values
// are kept as separate parts so that they are not copied twice.

import {
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK as OK_INSTANCE,
  PushReply,
  RawReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from './reply.js';
import { sanitize } from './errors.js';
import { AssertionError } from '../assert.js';

export type Protocol = 2 | 3;

const CRLF = '\r\n';
/** Strings at least this long are written as their own part instead of being copied into the buffer. */
const PART_CHARS_MIN = 64 * 1024;
/** Size of a writer's buffer; a writer starts a new one (the full one becoming a part) when it is full. */
const BUFFER_BYTES = 16 * 1024;
/** Strings up to this length are copied in JS; crossing into Node's latin1Write costs more for them. */
const JS_COPY_CHARS_MAX = 32;
/** Buffers given back by writers whose socket wrote them at once, for any writer's next replies
 * (bounded; usually one or two are in use at a time, as connections flush at the end of their job). */
const FREE_BUFFERS_MAX = 16;
const freeBuffers: Buffer[] = [];

const BULK_HEADER_CACHE_SIZE = 1024;
const bulkHeaders: string[] = [];
const arrayHeaders: string[] = [];
/** Small integer replies (0/1 of SADD, HSET, EXISTS...) are formatted once. */
const integerReplies: string[] = [];
for (let i = 0; i < BULK_HEADER_CACHE_SIZE; i++) {
  bulkHeaders.push(`$${i}\r\n`);
  arrayHeaders.push(`*${i}\r\n`);
  integerReplies.push(`:${i}\r\n`);
}

/** Encoded constants, for replies that are sent very often. */
export const ENCODED_OK = '+OK\r\n';
export const ENCODED_NULL_RESP2 = '$-1\r\n';
export const ENCODED_NULL_RESP3 = '_\r\n';

/**
 * Collects encoded replies until the connection takes them to write them out. The buffer handed out
 * by take() may still be read by the socket: the writer uses a new one afterwards, unless recycle()
 * says the socket is done with it.
 */
export class ReplyWriter {
  /** Where replies are written: buffer[0..position). Null until something is written. */
  private buffer: Buffer | null = null;
  private position = 0;
  /** Earlier full buffers and large values, in order; null while there are none (the common case). */
  private parts: Buffer[] | null = null;
  /** Total length of `parts`. */
  private partsLength = 0;
  /** The buffer of the last take(), until recycle() or the next take(). */
  private lent: Buffer | null = null;

  /** Appends already encoded bytes (a latin1 string). */
  raw(bytes: string): void {
    const length = bytes.length;
    if (length >= PART_CHARS_MIN) {
      this.pushPart(Buffer.from(bytes, 'latin1'));
      return;
    }
    this.position = copyString(this.room(length), this.position, bytes);
  }

  /** Appends already encoded bytes. */
  rawBytes(bytes: Buffer): void {
    if (bytes.length >= PART_CHARS_MIN) {
      this.pushPart(Buffer.from(bytes));
      return;
    }
    const buffer = this.room(bytes.length);
    this.position += bytes.copy(buffer, this.position);
  }

  /** Appends one reply in the given protocol. */
  reply(reply: Reply, resp: Protocol): void {
    if (typeof reply === 'string') {
      this.bulk(reply);
    } else {
      encodeOther(this, reply, resp);
    }
  }

  bulk(value: string): void {
    const length = value.length;
    if (length <= JS_COPY_CHARS_MAX) {
      // The common short value, byte by byte: `$`, one or two digits, CRLF, the value, CRLF.
      const buffer = this.room(length + 7);
      let p = this.position;
      buffer[p++] = 36; // '$'
      if (length >= 10) buffer[p++] = 48 + Math.floor(length / 10);
      buffer[p++] = 48 + (length % 10);
      buffer[p++] = 13;
      buffer[p++] = 10;
      for (let k = 0; k < length; k++) buffer[p++] = value.charCodeAt(k);
      buffer[p++] = 13;
      buffer[p++] = 10;
      this.position = p;
      return;
    }
    const header = length < BULK_HEADER_CACHE_SIZE ? bulkHeaders[length]! : `$${length}\r\n`;
    if (length >= PART_CHARS_MIN) {
      this.raw(header);
      this.pushPart(Buffer.from(value, 'latin1'));
      this.raw(CRLF);
      return;
    }
    const buffer = this.room(header.length + length + 2);
    let p = copyString(buffer, this.position, header);
    p = copyString(buffer, p, value);
    buffer[p] = 13;
    buffer[p + 1] = 10;
    this.position = p + 2;
  }

  /** An integer reply (`:` prefix) or an aggregate header (`*`, `%`...): prefix, digits, CRLF. */
  integer(prefix: number, value: number): void {
    const buffer = this.room(24);
    let p = this.position;
    buffer[p++] = prefix;
    if (value < 0) {
      buffer[p++] = 45; // '-'
      value = -value;
    }
    if (value > 0x7fffffff) {
      p = copyString(buffer, p, String(value)); // rare: V8 formats it
    } else {
      // int32 arithmetic, digits from the last one.
      const digits = decimalDigits(value);
      for (let k = p + digits - 1; k >= p; k--) {
        const quotient = (value / 10) | 0;
        buffer[k] = 48 + value - quotient * 10;
        value = quotient;
      }
      p += digits;
    }
    buffer[p] = 13;
    buffer[p + 1] = 10;
    this.position = p + 2;
  }

  isEmpty(): boolean {
    return this.position === 0 && this.parts === null;
  }

  /** Bytes written and not yet taken. */
  size(): number {
    return this.position + this.partsLength;
  }

  /**
   * Takes what was written: the parts to write, in order (usually one), or null if nothing. They stay
   * valid until the writer's next take(); call recycle() once the socket no longer needs them.
   * `copy`: the parts will wait in a queue (the socket is backlogged), so the last, partly filled
   * buffer is copied to its exact size rather than lent: a few queued bytes must not hold 16 KiB.
   */
  take(copy = false): Buffer[] | null {
    this.lent = null;
    let parts = this.parts;
    const buffer = this.buffer;
    if (buffer !== null && this.position > 0) {
      const written = copy ? Buffer.from(buffer.subarray(0, this.position)) : buffer.subarray(0, this.position);
      if (parts === null) parts = [written];
      else parts.push(written);
      if (!copy) {
        this.lent = buffer;
        this.buffer = null;
      }
    }
    this.position = 0;
    this.parts = null;
    this.partsLength = 0;
    return parts;
  }

  /**
   * The parts of the last take() were written out (not queued): their buffer may be written again.
   * It goes back to the shared free list rather than staying with this writer, so that idle
   * connections hold no buffer.
   */
  recycle(): void {
    const lent = this.lent;
    this.lent = null;
    if (lent !== null && freeBuffers.length < FREE_BUFFERS_MAX) freeBuffers.push(lent);
  }

  /** The buffer, with at least `bytes` free after `position` (a full one becomes a part). */
  private room(bytes: number): Buffer {
    let buffer = this.buffer;
    if (buffer !== null && this.position + bytes > buffer.length) {
      this.endBuffer();
      buffer = null;
    }
    if (buffer === null) {
      buffer = bytes <= BUFFER_BYTES ? (freeBuffers.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES)) : Buffer.allocUnsafe(bytes);
      this.buffer = buffer;
    }
    return buffer;
  }

  /** Moves what the buffer holds to `parts`; the next write starts a new buffer. */
  private endBuffer(): void {
    if (this.buffer !== null && this.position > 0) {
      (this.parts ??= []).push(this.buffer.subarray(0, this.position));
      this.partsLength += this.position;
    }
    this.buffer = null;
    this.position = 0;
  }

  /** Appends `part` as it is, after what was written. */
  private pushPart(part: Buffer): void {
    this.endBuffer();
    (this.parts ??= []).push(part);
    this.partsLength += part.length;
  }
}

/** Number of decimal digits of 0 <= value <= 2^31 - 1. */
function decimalDigits(value: number): number {
  let digits = 1;
  for (let bound = 10; value >= bound && digits < 10; bound *= 10) digits++;
  return digits;
}

/** Copies the latin1 string `s` into buffer[p..]; returns the position after it. */
function copyString(buffer: Buffer, p: number, s: string): number {
  const length = s.length;
  if (length > JS_COPY_CHARS_MAX) return p + buffer.latin1Write(s, p, length);
  for (let k = 0; k < length; k++) buffer[p + k] = s.charCodeAt(k);
  return p + length;
}

/** An aggregate's header: `kind` is the type byte ('*' array, '%' map, '~' set, '>' push). */
function aggregateHeader(writer: ReplyWriter, kind: number, count: number): void {
  if (kind === 42 /* '*' */ && count < BULK_HEADER_CACHE_SIZE) writer.raw(arrayHeaders[count]!);
  else writer.integer(kind, count);
}

function encodeItems(writer: ReplyWriter, items: readonly Reply[], resp: Protocol): void {
  for (const item of items) writer.reply(item, resp);
}

function encodeOther(writer: ReplyWriter, reply: Exclude<Reply, string>, resp: Protocol): void {
  if (reply === null) {
    writer.raw(resp === 2 ? ENCODED_NULL_RESP2 : ENCODED_NULL_RESP3);
  } else if (typeof reply === 'number') {
    if (reply >= 0 && reply < BULK_HEADER_CACHE_SIZE && (reply | 0) === reply) {
      writer.raw(integerReplies[reply]!);
      return;
    }
    if (Number.isSafeInteger(reply)) writer.integer(58 /* ':' */, reply);
    else if (Number.isInteger(reply)) writer.raw(`:${reply}\r\n`);
    else throw new AssertionError(`integer reply is not an integer: ${reply}`);
  } else if (Array.isArray(reply)) {
    aggregateHeader(writer, 42 /* '*' */, reply.length);
    encodeItems(writer, reply, resp);
  } else if (reply instanceof SimpleString) {
    writer.raw(reply === OK_INSTANCE ? ENCODED_OK : `+${reply.value}\r\n`);
  } else if (reply instanceof ErrorReply) {
    writer.raw(`-${sanitize(reply.message)}\r\n`);
  } else if (typeof reply === 'bigint') {
    writer.raw(`:${reply}\r\n`);
  } else if (Buffer.isBuffer(reply)) {
    writer.raw(reply.length < BULK_HEADER_CACHE_SIZE ? bulkHeaders[reply.length]! : `$${reply.length}\r\n`);
    writer.rawBytes(reply);
    writer.raw(CRLF);
  } else if (reply instanceof MapReply) {
    const count = reply.entries.length;
    if (resp === 3) aggregateHeader(writer, 37 /* '%' */, count / 2);
    else aggregateHeader(writer, 42 /* '*' */, count);
    encodeItems(writer, reply.entries, resp);
  } else if (reply instanceof SetReply) {
    aggregateHeader(writer, resp === 3 ? 126 /* '~' */ : 42, reply.items.length);
    encodeItems(writer, reply.items, resp);
  } else if (reply instanceof PushReply) {
    aggregateHeader(writer, resp === 3 ? 62 /* '>' */ : 42, reply.items.length);
    encodeItems(writer, reply.items, resp);
  } else if (reply instanceof DoubleReply) {
    const text = formatDouble(reply.value);
    if (resp === 3) writer.raw(`,${text}\r\n`);
    else writer.bulk(text);
  } else if (reply instanceof BoolReply) {
    if (resp === 3) writer.raw(reply.value ? '#t\r\n' : '#f\r\n');
    else writer.raw(reply.value ? ':1\r\n' : ':0\r\n');
  } else if (reply instanceof VerbatimReply) {
    if (resp === 3) {
      writer.raw(`=${reply.text.length + 4}\r\n${reply.format}:`);
      writer.raw(reply.text);
      writer.raw(CRLF);
    } else {
      writer.bulk(reply.text);
    }
  } else if (reply instanceof RawReply) {
    writer.rawBytes(reply.bytes);
  } else if (reply instanceof NullArray) {
    writer.raw(resp === 2 ? '*-1\r\n' : ENCODED_NULL_RESP3);
  } else {
    throw new AssertionError(`not a reply value: ${String(reply)}`);
  }
}

/** Encodes one reply to a latin1 string (for tests and one-off uses; connections use ReplyWriter). */
export function encodeReply(reply: Reply, resp: Protocol): string {
  const writer = new ReplyWriter();
  writer.reply(reply, resp);
  const parts = writer.take() ?? [];
  const text = parts.length === 1 ? parts[0]!.latin1Slice(0, parts[0]!.length) : Buffer.concat(parts).toString('latin1');
  writer.recycle();
  return text;
}

/**
 * A double as C's `%.17g` prints it (Redis 7.0 addReplyDouble): 17 significant digits, trailing zeros
 * dropped, exponent form when the exponent is < -4 or >= 17, `inf`, `-inf`, `nan`.
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exponential = value.toExponential(16); // d.dddddddddddddddde±X
  const ePos = exponential.indexOf('e');
  const exponent = Number(exponential.slice(ePos + 1));
  if (exponent < -4 || exponent >= 17) {
    const mantissa = stripZeros(exponential.slice(0, ePos));
    const sign = exponent < 0 ? '-' : '+';
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  return stripZeros(value.toFixed(16 - exponent));
}

function stripZeros(text: string): string {
  if (text.indexOf('.') === -1) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end--;
  return text.slice(0, end);
}
