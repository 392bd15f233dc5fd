// Cursor scans over a collection (HSCAN, SSCAN, ZSCAN on the big encodings) in the order of a 32-bit
// hash of each element, so a cursor is just "the next hash to visit". Like Redis's reverse-binary
// cursor it guarantees that an element present for the whole scan is returned at least once however
// the collection changes between calls, and the result depends only on the collection's contents (the
// same on every replica, and after a leader change). The sorted order is cached until the next change.

/** FNV-1a over the latin1 bytes. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The largest cursor a scan hands out (one past the largest 32-bit hash). */
export const SCAN_CURSOR_MAX = 0x1_0000_0000;

export class ScanOrder {
  private readonly hashes: Uint32Array;
  private readonly keys: string[];

  constructor(elements: Iterable<string>) {
    const pairs: [number, string][] = [];
    for (const e of elements) pairs.push([hash32(e), e]);
    pairs.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    this.hashes = Uint32Array.from(pairs, (p) => p[0]);
    this.keys = pairs.map((p) => p[1]);
  }

  /**
   * About `count` elements whose hash is >= cursor (all elements sharing the last hash are included, so
   * the next cursor never splits them), and the next cursor (0 when the scan is complete).
   */
  scan(cursor: number, count: number): { cursor: number; elements: string[] } {
    let lo = 0;
    let hi = this.hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid]! < cursor) lo = mid + 1;
      else hi = mid;
    }
    let end = Math.min(lo + Math.max(count, 1), this.hashes.length);
    while (end < this.hashes.length && this.hashes[end] === this.hashes[end - 1]) end++;
    const elements = this.keys.slice(lo, end);
    const next = end < this.hashes.length ? this.hashes[end - 1]! + 1 : 0;
    return { cursor: next, elements };
  }
}
