// The simulated network: every message waits in flight until its delivery time, chosen from the PRNG.
// Paths (from -> to) are FIFO unless a message is picked for reordering; messages can be lost or
// duplicated; links can be cut one way or both ways, which gives full, partial and one-way partitions.

import type { Prng } from './prng.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Probability that a message ignores its path's FIFO order. */
  reorder: number;
  /** Delivery delay in time units, inclusive bounds. */
  minDelay: number;
  maxDelay: number;
}

export const RELIABLE: NetworkFaults = { loss: 0, duplicate: 0, reorder: 0, minDelay: 1, maxDelay: 3 };

interface Envelope<M> {
  readonly from: number;
  readonly to: number;
  readonly message: M;
}

/** Why a message did not arrive: the transport reports the first two to the sender (reportUnreachable). */
export type DropCause = 'loss' | 'partition' | 'overflow';

export class SimNetwork<M> {
  faults: NetworkFaults = { ...RELIABLE };
  private readonly inFlight = new Map<number, Envelope<M>[]>();
  private readonly lastDelivery = new Map<string, number>();
  /** Cut directed links, as "from>to". */
  private readonly cut = new Set<string>();
  private count = 0;

  constructor(
    private readonly rng: Prng,
    /** Bound on messages in flight: past it, new messages are dropped (a full socket buffer). */
    private readonly capacity = 20_000,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Queues a message; returns why it was dropped, or null if it is in flight. */
  send(now: number, from: number, to: number, message: M): DropCause | null {
    if (this.isCut(from, to)) return 'partition';
    if (this.count >= this.capacity) return 'overflow';
    if (this.rng.chance(this.faults.loss)) return 'loss';
    const copies = this.rng.chance(this.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.enqueue(now, { from, to, message });
    return null;
  }

  private enqueue(now: number, envelope: Envelope<M>): void {
    const path = `${envelope.from}>${envelope.to}`;
    let at = now + this.rng.int(this.faults.minDelay, this.faults.maxDelay);
    if (!this.rng.chance(this.faults.reorder)) at = Math.max(at, this.lastDelivery.get(path) ?? 0);
    this.lastDelivery.set(path, Math.max(at, this.lastDelivery.get(path) ?? 0));
    let bucket = this.inFlight.get(at);
    if (!bucket) this.inFlight.set(at, (bucket = []));
    bucket.push(envelope);
    this.count++;
  }

  /**
   * Messages due at `now`, in send order. A link cut while a message was in flight drops it.
   * `hold(to)` true keeps a message for a later time unit (its receiver is paused).
   */
  takeDue(now: number, hold: (to: number) => boolean): { delivered: Envelope<M>[]; dropped: Envelope<M>[] } {
    const bucket = this.inFlight.get(now);
    const delivered: Envelope<M>[] = [];
    const dropped: Envelope<M>[] = [];
    if (!bucket) return { delivered, dropped };
    this.inFlight.delete(now);
    this.count -= bucket.length;
    const held: Envelope<M>[] = [];
    for (const e of bucket) {
      if (this.isCut(e.from, e.to)) dropped.push(e);
      else if (hold(e.to)) held.push(e);
      else delivered.push(e);
    }
    if (held.length > 0) {
      this.inFlight.set(now + 1, [...held, ...(this.inFlight.get(now + 1) ?? [])]);
      this.count += held.length;
    }
    return { delivered, dropped };
  }

  /** Drops everything in flight to or from `node` (a crash closes its connections); returns what it dropped. */
  dropNode(node: number): Envelope<M>[] {
    const dropped: Envelope<M>[] = [];
    for (const [at, bucket] of this.inFlight) {
      const kept: Envelope<M>[] = [];
      for (const e of bucket) (e.from !== node && e.to !== node ? kept : dropped).push(e);
      this.count -= bucket.length - kept.length;
      this.inFlight.set(at, kept);
    }
    return dropped;
  }

  isCut(from: number, to: number): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  cutLink(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  separate(a: readonly number[], b: readonly number[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }
}
