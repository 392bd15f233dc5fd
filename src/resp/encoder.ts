// Reply -> RESP2 or RESP3 bytes.
//
// Replies are built as latin1 JS strings (one char = one byte): keys and values already are such
// strings, V8 concatenates small strings cheaply, and a socket writes a one-byte string without an
// intermediate Buffer. The replies to all the requests of one input chunk go into one ReplyWriter and
// leave in one socket write. Large strings are kept as separate parts so that no single string grows
// past V8's limit and big values are not copied into a concatenation.

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
/** Strings at least this long are written as their own part instead of being concatenated. */
const PART_CHARS_MIN = 64 * 1024;

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

/** Collects encoded replies until the connection writes them out. */
export class ReplyWriter {
  /** Small encoded replies not yet moved to `parts`. */
  private text = '';
  /** Earlier text and large values, in order; null while there are none (the common case). */
  private parts: string[] | null = null;
  /** Total length of `parts`. */
  private partsLength = 0;

  /** Appends already encoded bytes. */
  raw(bytes: string): void {
    if (bytes.length >= PART_CHARS_MIN) {
      this.pushPart(bytes);
      return;
    }
    this.text += bytes;
    if (this.text.length >= PART_CHARS_MIN) {
      const text = this.text;
      this.text = '';
      this.pushPart(text);
    }
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
    const header = length < BULK_HEADER_CACHE_SIZE ? bulkHeaders[length]! : `$${length}\r\n`;
    if (length >= PART_CHARS_MIN) {
      this.raw(header);
      this.pushPart(value);
      this.raw(CRLF);
    } else {
      this.raw(header + value + CRLF);
    }
  }

  isEmpty(): boolean {
    return this.text.length === 0 && this.parts === null;
  }

  /** Bytes written and not yet taken. */
  size(): number {
    return this.text.length + this.partsLength;
  }

  /** Takes what was written: the parts to write, in order (usually one), or null if nothing. */
  take(): string[] | null {
    let parts = this.parts;
    if (parts === null) {
      if (this.text.length === 0) return null;
      parts = [this.text];
    } else if (this.text.length > 0) {
      parts.push(this.text);
    }
    this.text = '';
    this.parts = null;
    this.partsLength = 0;
    return parts;
  }

  private pushPart(part: string): void {
    if (this.parts === null) this.parts = [];
    if (this.text.length > 0) {
      this.parts.push(this.text);
      this.partsLength += this.text.length;
      this.text = '';
    }
    this.parts.push(part);
    this.partsLength += part.length;
  }
}

function aggregateHeader(kind: string, count: number): string {
  if (kind === '*' && count < BULK_HEADER_CACHE_SIZE) return arrayHeaders[count]!;
  return `${kind}${count}\r\n`;
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
    if (!Number.isInteger(reply)) throw new AssertionError(`integer reply is not an integer: ${reply}`);
    writer.raw(`:${reply}\r\n`);
  } else if (Array.isArray(reply)) {
    writer.raw(aggregateHeader('*', reply.length));
    encodeItems(writer, reply, resp);
  } else if (reply instanceof SimpleString) {
    writer.raw(reply === OK_INSTANCE ? ENCODED_OK : `+${reply.value}\r\n`);
  } else if (reply instanceof ErrorReply) {
    writer.raw(`-${sanitize(reply.message)}\r\n`);
  } else if (typeof reply === 'bigint') {
    writer.raw(`:${reply}\r\n`);
  } else if (Buffer.isBuffer(reply)) {
    writer.bulk(reply.latin1Slice(0, reply.length));
  } else if (reply instanceof MapReply) {
    const count = reply.entries.length;
    writer.raw(resp === 3 ? aggregateHeader('%', count / 2) : aggregateHeader('*', count));
    encodeItems(writer, reply.entries, resp);
  } else if (reply instanceof SetReply) {
    writer.raw(aggregateHeader(resp === 3 ? '~' : '*', reply.items.length));
    encodeItems(writer, reply.items, resp);
  } else if (reply instanceof PushReply) {
    writer.raw(aggregateHeader(resp === 3 ? '>' : '*', reply.items.length));
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
    writer.raw(reply.bytes.latin1Slice(0, reply.bytes.length));
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
  return (writer.take() ?? []).join('');
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
