// The MsgApps sent to one follower and not yet acknowledged, limited by count and by bytes (etcd's
// Inflights). Each element is the last index of a sent MsgApp; acks free a prefix.

export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  count = 0;
  bytes = 0;

  constructor(
    readonly maxCount: number,
    /** 0 = no byte limit. */
    readonly maxBytes: number,
  ) {}

  clone(): Inflights {
    const c = new Inflights(this.maxCount, this.maxBytes);
    for (let i = 0; i < this.count; i++) c.add(this.at(i), this.sizes[(this.head + i) % this.maxCount]!);
    return c;
  }

  private at(i: number): number {
    return this.indexes[(this.head + i) % this.maxCount]!;
  }

  /** Record a MsgApp whose last entry is `index` carrying `bytes` of payload. Caller checks full() first. */
  add(index: number, bytes: number): void {
    if (this.count >= this.maxCount) throw new Error('cannot add into a full inflights');
    const slot = (this.head + this.count) % this.maxCount;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** The last index of the newest MsgApp in flight, or undefined if none is. */
  newest(): number | undefined {
    return this.count === 0 ? undefined : this.indexes[(this.head + this.count - 1) % this.maxCount];
  }

  /** The newest MsgApp grew: it now ends at `index` and carries `bytes` more. */
  extendLast(index: number, bytes: number): void {
    if (this.count === 0) throw new Error('no inflight MsgApp to extend');
    const slot = (this.head + this.count - 1) % this.maxCount;
    this.indexes[slot] = index;
    this.sizes[slot]! += bytes;
    this.bytes += bytes;
  }

  /** Free every MsgApp whose last index is <= `to`. */
  freeLE(to: number): void {
    while (this.count > 0 && this.indexes[this.head]! <= to) {
      this.bytes -= this.sizes[this.head]!;
      this.head = (this.head + 1) % this.maxCount;
      this.count--;
    }
    if (this.count === 0) this.head = 0;
  }

  /** Free the oldest MsgApp (a heartbeat response lets a full window make progress). */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.indexes[this.head]!);
  }

  full(): boolean {
    return this.count === this.maxCount || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  reset(): void {
    this.count = 0;
    this.bytes = 0;
    this.head = 0;
  }
}
