// Durable Raft log throughput: appends of 100-byte entries through DiskLog (one chained LevelDB batch per
// write) with fsync 'always' and 'no', at 1/16/256 entries per write. Prints a table; asserts nothing.
//
//   npx tsc -p . && node dist/bench/raft-storage.js [--seconds 2]
//
// "serial" awaits each write before the next (one Raft round at a time). "pipelined" keeps 8 writes in
// flight: DiskLog merges the writes that wait behind the batch in flight into the next batch (group
// commit), which is what the Multi-Raft host gets when many groups write during one fsync.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskLog, type FsyncPolicy } from '../src/raft/storage/disk-log.js';
import type { Entry } from '../src/raft/types.js';

const ENTRY_BYTES = 100;
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;

interface Result {
  entriesPerSec: number;
  batchesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerEntry: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function run(fsync: FsyncPolicy, batch: number, inFlight: number, groups: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'slotraft-bench-'));
  const { log } = await DiskLog.open(dir, { fsync });
  const data = Buffer.alloc(ENTRY_BYTES, 0x61);
  const next = new Array<number>(groups + 1).fill(1);
  const latencies: number[] = [];
  let entries = 0;
  const makeWrite = () => {
    const perGroup = Math.max(1, Math.floor(batch / groups));
    return Array.from({ length: Math.min(groups, batch) }, (_, k) => {
      const g = k + 1;
      const ents: Entry[] = [];
      for (let i = 0; i < perGroup; i++) ents.push({ term: 1, index: next[g]!++, type: 0, data });
      entries += perGroup;
      return { groupId: g, entries: ents, hardState: { term: 1, vote: 1, commit: next[g]! - 1 } };
    });
  };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  const pending = new Set<Promise<void>>();
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const p: Promise<void> = log.write(makeWrite()).then(() => {
      latencies.push(performance.now() - t0);
      pending.delete(p);
    });
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
    // Keep memory bounded: compaction is not the point here, so start over when a log grows large.
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const batches = log.stats.batches;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    entriesPerSec: entries / elapsed,
    batchesPerSec: batches / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    cpuUsPerEntry: (cpu.user + cpu.system) / entries,
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`DiskLog append, ${ENTRY_BYTES}-byte entries, ${SECONDS} s per cell\n`);
console.log(
  '| fsync | mode | groups | entries/write | entries/s | LevelDB batches/s ' +
    '| write p50 ms | write p99 ms | CPU µs/entry |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const fsync of ['always', 'no'] as const) {
  for (const [mode, inFlight] of [['serial', 1], ['pipelined', 8]] as const) {
    for (const [batch, groups] of [[1, 1], [16, 1], [256, 1], [256, 64]] as const) {
      const r = await run(fsync, batch, inFlight, groups);
      console.log(
        `| ${fsync} | ${mode} | ${groups} | ${batch} | ${fmt(r.entriesPerSec)} | ${fmt(r.batchesPerSec)} | ` +
          `${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.cpuUsPerEntry, 2)} |`,
      );
    }
  }
}
