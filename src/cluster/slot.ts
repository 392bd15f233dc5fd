// Hash slots as Redis Cluster computes them: CRC16/XMODEM of the key (or of its hash tag) mod 16384.
//
// Keys are latin1 strings (one char = one byte), so we hash char codes directly. We do not call the
// cluster-key-slot package on the hot path: it hashes JS strings as UTF-8 (wrong for bytes >= 0x80
// unless given a Buffer) and it mishandles an empty first tag (`foo{}{bar}` gives the slot of `{bar`,
// Redis hashes the whole key). The tests cross-check against it where it agrees with Redis.

export const SLOT_COUNT = 16384;
/** Highest slot number. */
export const MAX_SLOT = SLOT_COUNT - 1;

const CRC16_TABLE = buildCrc16Table();

function buildCrc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = crc & 0xffff;
  }
  return table;
}

/** CRC16/XMODEM (poly 0x1021, init 0) of the latin1 bytes key[start..end). */
export function crc16(key: string, start = 0, end = key.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff]!;
  }
  return crc;
}

// A command's key is hashed by routing and again by the keyspace: remember the last one (same string).
let lastKey = '';
let lastSlot = 0;

/**
 * The hash slot of a key. Hash tag rule of Redis's keyHashSlot: if the key has a `{` and a `}` after
 * the first `{` with at least one byte between them, only those bytes are hashed.
 */
export function keySlot(key: string): number {
  if (key === lastKey) return lastSlot;
  let start = 0;
  let end = key.length;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  lastKey = key;
  lastSlot = crc16(key, start, end) & MAX_SLOT;
  return lastSlot;
}

/** True when value is a slot number (an integer in 0..16383). */
export function isSlotNumber(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_SLOT;
}
