// Incremental request decoder: bytes from a client -> argv (latin1 strings), one command at a time.
//
// A port of Redis 7.0's processMultibulkBuffer / processInlineBuffer (networking.c), with the same
// limits and the same error texts, so hostile input gets exactly what Redis would answer. It scans
// each chunk in place; only an incomplete tail is kept (and joined to the next chunk). Bulk payloads
// of 32 KiB or more that span chunks are copied once, into a Buffer of their declared length.
//
// The caller feeds a chunk and then calls next() until it returns null, running each command before
// asking for the next one: whether the client is authenticated may change between two commands of one
// chunk, and the limits for unauthenticated clients depend on it (as in Redis).

import { constants as bufferConstants } from 'node:buffer';
import * as errors from './errors.js';

declare global {
  interface Buffer {
    /** Node's fast latin1 decoder (undocumented but stable; what toString('latin1') calls). */
    latin1Slice(start?: number, end?: number): string;
    /** Node's fast latin1 encoder: writes the string's chars as bytes at offset; returns bytes written. */
    latin1Write(value: string, offset?: number, length?: number): number;
  }
}

/** A framing error: the reply is written, then the connection is closed (Redis setProtocolError). */
export class ProtocolError {
  constructor(readonly message: string) {}
}

export interface DecoderLimits {
  /** proto-max-bulk-len: the largest bulk argument, in bytes (Redis default 512 MiB). */
  readonly bulkBytesMax: number;
}

/** Redis PROTO_INLINE_MAX_SIZE: an inline request or a count line longer than this is refused. */
export const INLINE_BYTES_MAX = 64 * 1024;
/** Redis PROTO_MBULK_BIG_ARG: from this size a bulk is read straight into its own Buffer. */
const BIG_BULK_BYTES = 32 * 1024;
/** Most arguments a request may have to take the fast path. */
const WHOLE_ARGS_MAX = 1024;
/** Arguments up to this length are compared with the previous request's to reuse its string. */
const REUSE_CHARS_MAX = 64;
/** A request is kept for that comparison only if its arguments hold at most this many bytes. */
const REUSE_KEPT_BYTES_MAX = 4096;
const NO_ARGS: readonly string[] = [];
/** Redis's limits before AUTH when a password is required (networking.c authRequired). */
const UNAUTH_ARGS_MAX = 10;
const UNAUTH_BULK_BYTES_MAX = 16384;
/** processMultibulkBuffer refuses counts above INT_MAX. */
const MULTIBULK_COUNT_MAX = 2147483647;
/** V8 cannot make a longer string; a larger bulk is refused as an invalid length. */
const STRING_CHARS_MAX = bufferConstants.MAX_STRING_LENGTH;

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

export class RequestDecoder {
  /** Bytes not yet consumed are buffer[position..]. */
  private buffer: Buffer = EMPTY;
  private position = 0;
  /** Arguments still to read of the open multibulk request (0: none open). */
  private argsLeft = 0;
  private args: string[] = [];
  /** Payload bytes of `args` so far (counted against the query buffer limit). */
  private argsBytes = 0;
  /** Declared length of the bulk whose `$len` line was read and whose payload is awaited; -1: none. */
  private bulkLength = -1;
  /** For a big bulk spanning chunks: its payload plus CRLF, filled as chunks arrive. */
  private bigBulk: Buffer | null = null;
  private bigBulkFilled = 0;
  /** The previous request of the fast path: pipelines repeat its command name, keys and values. */
  private lastArgv: readonly string[] = NO_ARGS;

  constructor(private readonly limits: DecoderLimits) {}

  /** Adds a chunk read from the socket. */
  feed(chunk: Buffer): void {
    if (this.position < this.buffer.length) {
      this.buffer = Buffer.concat([this.buffer.subarray(this.position), chunk]);
    } else {
      this.buffer = chunk;
    }
    this.position = 0;
  }

  /**
   * The next complete request, null when more bytes are needed, or a ProtocolError (after which the
   * decoder must not be used again). `authRequired`: the client must still authenticate.
   */
  next(authRequired: boolean): string[] | ProtocolError | null {
    for (;;) {
      if (this.argsLeft === 0) {
        if (this.position >= this.buffer.length) return null;
        if (this.buffer[this.position] !== 42 /* '*' */) {
          const argv = this.nextInline();
          if (argv === null || argv instanceof ProtocolError) return argv;
          if (argv.length === 0) continue; // empty lines are ignored
          return argv;
        }
        if (!authRequired) {
          const argv = this.nextWhole();
          if (argv !== null) return argv;
        }
        const opened = this.openMultibulk(authRequired);
        if (opened !== true) return opened;
        if (this.argsLeft === 0) continue; // `*0` and `*-1` are ignored
      }
      const done = this.readArgs(authRequired);
      if (done !== true) return done;
      const argv = this.args;
      this.args = [];
      this.argsBytes = 0;
      return argv;
    }
  }

  /**
   * The fast path: a well-formed multibulk request of small arguments entirely in the buffer, parsed
   * with locals only. Anything else (incomplete, big, unusual or invalid) returns null and goes
   * through the general state machine, which has every rule and error text.
   */
  private nextWhole(): string[] | null {
    const b = this.buffer;
    const end = b.length;
    let i = this.position + 1;
    let c = b[i]!;
    if (c < 49 || c > 57) return null;
    let count = c - 48;
    for (i++; i < end && (c = b[i]!) !== CR; i++) {
      if (c < 48 || c > 57 || count > WHOLE_ARGS_MAX) return null;
      count = count * 10 + (c - 48);
    }
    if (i + 1 >= end || count > WHOLE_ARGS_MAX) return null;
    i += 2;
    const argv = new Array<string>(count);
    const last = this.lastArgv;
    let payload = 0;
    for (let a = 0; a < count; a++) {
      if (i + 1 >= end || b[i] !== 36 /* '$' */) return null;
      c = b[++i]!;
      if (c < 48 || c > 57) return null;
      let length = c - 48;
      for (i++; i < end && (c = b[i]!) !== CR; i++) {
        if (c < 48 || c > 57 || length === 0 || length >= BIG_BULK_BYTES) return null;
        length = length * 10 + (c - 48);
      }
      i += 2;
      if (length >= BIG_BULK_BYTES || i + length + 2 > end) return null;
      const previous = a < last.length ? last[a]! : '';
      argv[a] = previous.length === length && sameBytes(previous, b, i) ? previous : latin1String(b, i, i + length);
      i += length + 2;
      payload += length;
    }
    this.position = i;
    // Bounded: an idle connection keeps at most one small request alive.
    this.lastArgv = payload <= REUSE_KEPT_BYTES_MAX ? argv : NO_ARGS;
    return argv;
  }

  /** Bytes held for the request being received (Redis's query buffer length, for limits and CLIENT LIST). */
  bufferedBytes(): number {
    return this.buffer.length - this.position + this.argsBytes + this.bigBulkFilled;
  }

  /** Reads `*<count>\r\n`. True when done (argsLeft set), else null (need more) or an error. */
  private openMultibulk(authRequired: boolean): true | ProtocolError | null {
    const buffer = this.buffer;
    const start = this.position;
    const cr = findCR(buffer, start);
    if (cr === -1) {
      if (buffer.length - start > INLINE_BYTES_MAX) return new ProtocolError(errors.PROTO_TOO_BIG_MBULK_COUNT);
      return null;
    }
    if (cr + 1 >= buffer.length) return null; // the LF is not here yet
    const count = parseInteger(buffer, start + 1, cr);
    if (Number.isNaN(count) || count > MULTIBULK_COUNT_MAX) {
      return new ProtocolError(errors.PROTO_INVALID_MULTIBULK_LENGTH);
    }
    if (count > UNAUTH_ARGS_MAX && authRequired) return new ProtocolError(errors.PROTO_UNAUTH_MULTIBULK_LENGTH);
    this.position = cr + 2;
    this.argsLeft = count > 0 ? count : 0;
    return true;
  }

  /** Reads the arguments of the open multibulk. True when all are read, else null or an error. */
  private readArgs(authRequired: boolean): true | ProtocolError | null {
    while (this.argsLeft > 0) {
      if (this.bulkLength === -1) {
        const header = this.readBulkHeader(authRequired);
        if (header !== true) return header;
      }
      const length = this.bulkLength;
      let arg: string;
      if (this.bigBulk !== null) {
        if (!this.fillBigBulk()) return null;
        arg = this.bigBulk.latin1Slice(0, length);
        this.bigBulk = null;
        this.bigBulkFilled = 0;
      } else {
        const available = this.buffer.length - this.position;
        if (available < length + 2) {
          if (length >= BIG_BULK_BYTES) {
            this.bigBulk = Buffer.allocUnsafe(length + 2);
            this.fillBigBulk();
          }
          return null;
        }
        arg = latin1String(this.buffer, this.position, this.position + length);
        this.position += length + 2; // like Redis, the CRLF after a payload is skipped unchecked
      }
      this.args.push(arg);
      this.argsBytes += length;
      this.bulkLength = -1;
      this.argsLeft--;
    }
    return true;
  }

  /** Reads `$<len>\r\n` into bulkLength. True when done, else null or an error. */
  private readBulkHeader(authRequired: boolean): true | ProtocolError | null {
    const buffer = this.buffer;
    const start = this.position;
    const cr = findCR(buffer, start);
    if (cr === -1) {
      if (buffer.length - start > INLINE_BYTES_MAX) return new ProtocolError(errors.PROTO_TOO_BIG_BULK_COUNT);
      return null;
    }
    if (cr + 1 >= buffer.length) return null;
    if (buffer[start] !== 36 /* '$' */) {
      return new ProtocolError(errors.protoExpectedDollar(String.fromCharCode(buffer[start]!)));
    }
    const length = parseInteger(buffer, start + 1, cr);
    if (Number.isNaN(length) || length < 0 || length > this.limits.bulkBytesMax || length > STRING_CHARS_MAX) {
      return new ProtocolError(errors.PROTO_INVALID_BULK_LENGTH);
    }
    if (length > UNAUTH_BULK_BYTES_MAX && authRequired) return new ProtocolError(errors.PROTO_UNAUTH_BULK_LENGTH);
    this.position = cr + 2;
    this.bulkLength = length;
    return true;
  }

  /** Copies available bytes into the big bulk; true once it holds its payload and CRLF. */
  private fillBigBulk(): boolean {
    const big = this.bigBulk!;
    const copied = this.buffer.copy(big, this.bigBulkFilled, this.position);
    this.bigBulkFilled += copied;
    this.position += copied;
    return this.bigBulkFilled === big.length;
  }

  /** An inline request: one line split as sdssplitargs does. */
  private nextInline(): string[] | ProtocolError | null {
    const buffer = this.buffer;
    const start = this.position;
    const lf = buffer.indexOf(LF, start);
    if (lf === -1) {
      if (buffer.length - start > INLINE_BYTES_MAX) return new ProtocolError(errors.PROTO_TOO_BIG_INLINE);
      return null;
    }
    const end = lf > start && buffer[lf - 1] === CR ? lf - 1 : lf;
    this.position = lf + 1;
    const argv = splitArgs(buffer.latin1Slice(start, end));
    return argv === null ? new ProtocolError(errors.PROTO_UNBALANCED_QUOTES) : argv;
  }
}

const fromCharCode = String.fromCharCode;

/**
 * Whether b[start..] holds the chars of `s` (whose length the caller checked). Reusing an equal
 * string saves its allocation, its hashing in Map lookups (V8 caches the hash in the string), and,
 * for values kept in collections (LPUSH, HSET...), one heap object per element. Long strings are
 * not compared: a mismatch late in them would cost more than making a new one.
 */
function sameBytes(s: string, b: Buffer, start: number): boolean {
  const length = s.length;
  if (length > REUSE_CHARS_MAX || length === 0) return false;
  // The last char first: keys and values that differ often share a prefix ("key:000123").
  if (s.charCodeAt(length - 1) !== b[start + length - 1]) return false;
  for (let k = 0; k < length - 1; k++) if (s.charCodeAt(k) !== b[start + k]) return false;
  return true;
}

/** Index of the next CR from `start`, or -1. A JS loop: count lines are a few bytes long, and a call
 * into Buffer.indexOf costs more than scanning them. */
function findCR(buffer: Buffer, start: number): number {
  const end = buffer.length;
  for (let i = start; i < end; i++) if (buffer[i] === CR) return i;
  return -1;
}

/**
 * The latin1 string of buffer[start..end). Strings up to 16 bytes (command names, most keys, small
 * values) are made in JS: for them crossing into Node's latin1Slice costs about twice as much (~65 ns
 * against ~30 ns for 16 bytes). Each call yields one flat string (no concatenation), which matters
 * for strings kept as keys.
 */
export function latin1String(b: Buffer, s: number, end: number): string {
  switch (end - s) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[s]!);
    case 2:
      return fromCharCode(b[s]!, b[s + 1]!);
    case 3:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!,
      );
    case 10:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!,
      );
    case 11:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!,
      );
    case 12:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!,
      );
    case 13:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!,
      );
    case 14:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!,
      );
    case 15:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!,
      );
    case 16:
      return fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!,
        b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!,
      );
    default:
      return b.latin1Slice(s, end);
  }
}

/**
 * Redis's string2ll over buffer[start..end): optional '-', no '+', no leading zeros, no spaces, at
 * most 20 chars. NaN when invalid. Beyond 2^53 the value is approximate, which no limit here minds.
 */
export function parseInteger(buffer: Buffer, start: number, end: number): number {
  const length = end - start;
  if (length === 0 || length > 20) return NaN;
  if (length === 1 && buffer[start] === 48) return 0;
  let i = start;
  let negative = false;
  if (buffer[i] === 45 /* '-' */) {
    negative = true;
    i++;
    if (i === end) return NaN;
  }
  let c = buffer[i]!;
  if (c < 49 || c > 57) return NaN; // first digit 1-9
  let value = c - 48;
  for (i++; i < end; i++) {
    c = buffer[i]!;
    if (c < 48 || c > 57) return NaN;
    value = value * 10 + (c - 48);
  }
  if (value > 9223372036854775807) return NaN; // int64 overflow
  return negative ? -value : value;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13); // C isspace: space \t \n \v \f \r
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

/**
 * Redis's sdssplitargs: words split on spaces; "double quotes" with \xHH and \n \r \t \b \a escapes;
 * 'single quotes' with \' only; a closing quote must be followed by a space or the end. A NUL byte
 * ends the line (it is a C string in Redis). Returns null for unbalanced quotes.
 */
export function splitArgs(line: string): string[] | null {
  const n = line.length;
  const at = (i: number): number => (i < n ? line.charCodeAt(i) : 0);
  const args: string[] = [];
  let p = 0;
  for (;;) {
    while (p < n && isSpace(at(p))) p++;
    if (at(p) === 0) return args;
    let inDouble = false;
    let inSingle = false;
    let current = '';
    for (let done = false; !done; ) {
      const c = at(p);
      if (inDouble) {
        if (c === 0) return null;
        if (c === 92 && at(p + 1) === 120 && isHexDigit(at(p + 2)) && isHexDigit(at(p + 3))) {
          current += String.fromCharCode(hexValue(at(p + 2)) * 16 + hexValue(at(p + 3)));
          p += 3;
        } else if (c === 92 && at(p + 1) !== 0) {
          p++;
          const escaped = line[p]!;
          current += ESCAPES[escaped] ?? escaped;
        } else if (c === 34) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return null;
          done = true;
        } else {
          current += line[p];
        }
      } else if (inSingle) {
        if (c === 0) return null;
        if (c === 92 && at(p + 1) === 39) {
          p++;
          current += "'";
        } else if (c === 39) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return null;
          done = true;
        } else {
          current += line[p];
        }
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0) {
        done = true;
      } else if (c === 34) {
        inDouble = true;
      } else if (c === 39) {
        inSingle = true;
      } else {
        current += line[p];
      }
      if (c !== 0) p++;
    }
    args.push(current);
  }
}
