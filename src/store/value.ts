// What a key holds. A Redis string is a plain JS string of latin1 bytes (one char = one byte), so the
// common case costs no wrapper object. Hashes, lists, sets and sorted sets are objects implementing
// CollectionValue (classes in src/store/types/, owned by the data-type engineer).

/** The four collection types, as TYPE names them. */
export type CollectionType = 'hash' | 'list' | 'set' | 'zset';

/** What TYPE answers; 'none' for a missing key. */
export type TypeName = 'string' | CollectionType | 'none';

/**
 * A collection value. Collection commands mutate it in place and then call `Keyspace.touched(key)`,
 * so that memory accounting and change listeners (WATCH, blocked clients) stay right. A key never
 * holds an empty collection: the command that empties one deletes the key instead.
 */
export interface CollectionValue {
  readonly type: CollectionType;
  /** OBJECT ENCODING answer, e.g. 'listpack', 'hashtable', 'quicklist', 'intset', 'skiplist'. */
  encoding(): string;
  /**
   * Deterministic estimate of the bytes this value uses (elements plus structure overhead).
   * Must be O(1): keep a running total while mutating. Called on every `touched` and write.
   */
  memoryBytes(): number;
  /**
   * The memoryBytes() figure the keyspace last accounted for this value, kept on the value itself
   * (no side map keyed by the key): only the Keyspace writes it. 0 while the value is not stored.
   */
  accountedBytes: number;
  /** A deep copy with the same contents and iteration order (COPY; snapshots). */
  clone(): CollectionValue;
}

/** A stored value: a Redis string (latin1) or a collection. */
export type Value = string | CollectionValue;

export function typeOf(value: Value): 'string' | CollectionType {
  return typeof value === 'string' ? 'string' : value.type;
}

/** OBJECT ENCODING of a string: `int`, `embstr` (<= 44 bytes) or `raw`. */
export type StringEncoding = 'int' | 'embstr' | 'raw';

/**
 * The encoding Redis's tryObjectEncoding gives a string set by SET/MSET/...: `int` for a canonical
 * int64 of at most 20 chars, `embstr` up to 44 bytes, else `raw`. (Keyspace keeps exceptions, such
 * as strings grown by APPEND, which Redis keeps `raw`.)
 */
export function stringEncoding(value: string): StringEncoding {
  if (value.length <= 20 && /^(0|-?[1-9][0-9]*)$/.test(value)) {
    const n = BigInt(value);
    if (n >= -(2n ** 63n) && n < 2n ** 63n) return 'int';
  }
  return value.length <= 44 ? 'embstr' : 'raw';
}

/** Redis's proto-max-bulk-len default: the largest string a command may build (512 MiB). */
export const STRING_MAX_BYTES = 512 * 1024 * 1024;
