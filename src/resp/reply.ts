// Reply values: what a command returns, independent of the protocol version.
// The encoder (src/resp/encoder.ts) turns one into RESP2 or RESP3 bytes. Strings hold raw bytes as
// latin1 (one char per byte), which is how every key and value travels inside slotraft.

/** `+OK`: a status line. Never contains CR or LF. */
export class SimpleString {
  constructor(readonly value: string) {}
}

/** `-ERR ...`: the full text after the dash, e.g. `ERR unknown command 'x'` or `MOVED 3999 1.2.3.4:6381`. */
export class ErrorReply {
  constructor(readonly message: string) {}
}

/** RESP3 `,1.5`; RESP2 a bulk string. Formatted as Redis 7.0 does (`%.17g`, `inf`, `-inf`, `nan`). */
export class DoubleReply {
  constructor(readonly value: number) {}
}

/** RESP3 `%`: flat key, value, key, value...; RESP2 a flat array of the same items. */
export class MapReply {
  constructor(readonly entries: Reply[]) {}
}

/** RESP3 `~`; RESP2 an array. */
export class SetReply {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 `#t`/`#f`; RESP2 the integer 1/0. */
export class BoolReply {
  constructor(readonly value: boolean) {}
}

/** RESP3 `=` verbatim string with a 3-letter format (`txt`); RESP2 a bulk string of the text. */
export class VerbatimReply {
  constructor(
    readonly format: string,
    readonly text: string,
  ) {}
}

/** RESP3 `>` push (Pub/Sub messages, invalidations); RESP2 a plain array. */
export class PushReply {
  constructor(readonly items: Reply[]) {}
}

/** Already encoded bytes, sent unchanged whatever the protocol. For hot constant replies. */
export class RawReply {
  constructor(readonly bytes: Buffer) {}
}

/** The null array: RESP2 `*-1`, RESP3 `_`. (A plain `null` is the null bulk string: `$-1` / `_`.) */
export class NullArray {
  private constructor() {}
  static readonly instance = new NullArray();
}

/**
 * A reply value.
 * - `null`: null bulk string (RESP2 `$-1`, RESP3 `_`)
 * - `number`: integer reply (must be an integer); `bigint` for integers beyond 2^53
 * - `string`: bulk string of latin1 bytes; `Buffer`: bulk string of those bytes
 * - `Reply[]`: array
 */
export type Reply =
  | null
  | number
  | bigint
  | string
  | Buffer
  | Reply[]
  | SimpleString
  | ErrorReply
  | DoubleReply
  | MapReply
  | SetReply
  | BoolReply
  | VerbatimReply
  | PushReply
  | RawReply
  | NullArray;

export const OK = new SimpleString('OK');
export const QUEUED = new SimpleString('QUEUED');
export const PONG = new SimpleString('PONG');

export function isError(reply: Reply): reply is ErrorReply {
  return reply instanceof ErrorReply;
}
