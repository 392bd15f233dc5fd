// A checker for the histories of the end-to-end cluster tests (pure: no I/O, no clock; times are inputs).
//
// The workload: each writer owns its keys and writes strictly increasing integer values to them, one
// operation at a time. A write whose outcome is not a success (an error, `ERR write outcome unknown...`,
// a timeout) may or may not have taken effect, so the writer never writes that key again (it moves on to
// a fresh key name): a pending write can then never be overtaken by a later one on the same key.
//
// Rules, per key (a read that failed is not checked):
// - a read returns a value that was attempted, and whose write started before the read ended;
// - a read never returns less than the last acknowledged write that completed before the read started
//   (null counts as less than anything): an acknowledged write is never lost;
// - a read never returns less than a read that completed before it started (no going back in time).
// The longest gap between successive acknowledged writes (over all keys) is reported.

export type WriteOutcome = 'ok' | 'error' | 'unknown' | 'timeout';

export interface WriteOp {
  kind: 'write';
  key: string;
  value: number;
  start: number;
  end: number;
  outcome: WriteOutcome;
  /** The error text, when not ok. */
  error?: string;
}

export interface ReadOp {
  kind: 'read';
  key: string;
  start: number;
  end: number;
  /** The value read (null: no such key); undefined when the read failed. */
  value: number | null | undefined;
  error?: string;
}

export type Op = WriteOp | ReadOp;

export interface HistoryReport {
  ok: boolean;
  /** One line per violated rule, at most `maxViolations`. */
  violations: string[];
  writes: Record<WriteOutcome, number>;
  reads: { ok: number; failed: number };
  /** The longest time between two successive acknowledged writes, and when it began. */
  longestWriteGap: { ms: number; from: number };
  /** Error texts seen, with counts (writes and reads). */
  errors: Record<string, number>;
}

/** Classifies a client error text as a write outcome. */
export function writeOutcomeOf(message: string): Exclude<WriteOutcome, 'ok'> {
  if (/^ERR write outcome unknown/.test(message)) return 'unknown';
  if (/timed? ?out/i.test(message)) return 'timeout';
  return 'error';
}

/** Keeps the first words of an error text, so that counts group alike errors (MOVED 123 host:port). */
function errorClass(message: string): string {
  return message.split(' ').slice(0, message.startsWith('MOVED') || message.startsWith('ASK') ? 1 : 4).join(' ');
}

export function checkHistory(ops: readonly Op[], options: { maxViolations?: number } = {}): HistoryReport {
  const maxViolations = options.maxViolations ?? 20;
  const violations: string[] = [];
  const violate = (text: string) => {
    if (violations.length < maxViolations) violations.push(text);
  };
  const writes: Record<WriteOutcome, number> = { ok: 0, error: 0, unknown: 0, timeout: 0 };
  const reads = { ok: 0, failed: 0 };
  const errors: Record<string, number> = {};
  const countError = (message: string | undefined) => {
    const name = errorClass(message ?? '(no text)');
    errors[name] = (errors[name] ?? 0) + 1;
  };

  const byKey = new Map<string, { writes: WriteOp[]; reads: ReadOp[] }>();
  const entry = (key: string) => {
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { writes: [], reads: [] }));
    return e;
  };
  for (const op of ops) {
    if (op.kind === 'write') {
      writes[op.outcome] += 1;
      if (op.outcome !== 'ok') countError(op.error);
      entry(op.key).writes.push(op);
    } else if (op.value === undefined) {
      reads.failed += 1;
      countError(op.error);
    } else {
      reads.ok += 1;
      entry(op.key).reads.push(op);
    }
  }

  for (const [key, { writes: keyWrites, reads: keyReads }] of byKey) {
    const written = new Map<number, WriteOp>();
    for (const w of keyWrites) {
      if (written.has(w.value)) violate(`${key}: value ${w.value} written twice (a workload bug)`);
      written.set(w.value, w);
    }
    const acked = new MaxEndedBefore(keyWrites.filter((w) => w.outcome === 'ok'));
    const completedReads = new MaxEndedBefore(
      keyReads.flatMap((r) => (typeof r.value === 'number' ? [{ value: r.value, end: r.end }] : [])));
    for (const read of keyReads) {
      const value = read.value ?? null;
      if (value !== null) {
        const write = written.get(value);
        if (!write) violate(`${key}: read [${read.start}, ${read.end}] returned ${value}, never written`);
        else if (write.start > read.end) violate(`${key}: read [${read.start}, ${read.end}] returned ${value}, written only at ${write.start}`);
      }
      const lastAck = acked.query(read.start);
      if (lastAck && (value === null || value < lastAck.value)) {
        violate(`${key}: read [${read.start}, ${read.end}] returned ${value}, but ${lastAck.value} was acknowledged at ${lastAck.end}`);
      }
      const lastRead = completedReads.query(read.start);
      if (lastRead !== null && (value === null || value < lastRead.value)) {
        violate(`${key}: read [${read.start}, ${read.end}] returned ${value}, but an earlier read (ended ${lastRead.end}) returned ${lastRead.value}`);
      }
    }
  }

  const ackEnds = ops.filter((op): op is WriteOp => op.kind === 'write' && op.outcome === 'ok').map((op) => op.end).sort((a, b) => a - b);
  const longestWriteGap = { ms: 0, from: ackEnds[0] ?? 0 };
  for (let i = 1; i < ackEnds.length; i++) {
    const gap = ackEnds[i]! - ackEnds[i - 1]!;
    if (gap > longestWriteGap.ms) {
      longestWriteGap.ms = gap;
      longestWriteGap.from = ackEnds[i - 1]!;
    }
  }
  return { ok: violations.length === 0, violations, writes, reads, longestWriteGap, errors };
}

/** Answers "the largest value among the items that ended strictly before time t" by binary search. */
class MaxEndedBefore {
  private readonly ends: number[] = [];
  /** best[i]: the item with the largest value among the first i + 1 items by end time. */
  private readonly best: Array<{ value: number; end: number }> = [];

  constructor(items: ReadonlyArray<{ value: number; end: number }>) {
    for (const item of [...items].sort((a, b) => a.end - b.end)) {
      const previous = this.best[this.best.length - 1];
      this.ends.push(item.end);
      this.best.push(previous && previous.value >= item.value ? previous : { value: item.value, end: item.end });
    }
  }

  query(time: number): { value: number; end: number } | null {
    let lo = 0;
    let hi = this.ends.length; // the first index whose end >= time
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! < time) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : this.best[lo - 1]!;
  }
}
