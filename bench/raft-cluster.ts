// Raft over real processes, disks and loopback TCP: 3 processes, each hosting 1 or 64 Raft groups (all
// with members 1, 2, 3; node 1 leads them all), DiskLog for storage and TcpTransport between them. Node
// 1 proposes 100-byte entries and measures committed entries/s (closed loop, a fixed window of proposals
// in flight) and commit latency, proposal to apply on the leader (open loop at half the median maximum).
// Each configuration runs `--runs` times (median reported), and the CPU time of all three processes
// during the measured window is divided by the entries committed: CPU per entry is the figure that
// stays meaningful on a shared, loaded machine.
//
//   npx tsc -p . && node dist/bench/raft-cluster.js [--seconds 3] [--runs 3] [--only 64:no] [--turns 1]
//                                                   [--open-rate N]   (open-loop entries/s; default half)
//
// Each process runs the Multi-Raft host (src/raft/multi) with DiskLog as its storage port (one LevelDB
// batch per turn for all groups) and TcpTransport as its transport port (one frame per peer per turn).
// `--turns` is the host's turnsInFlightMax (default 1; 2 lets the next turn step and send while a write is
// in flight, which measured slower with 64 groups: the eager second turn is nearly empty and delays the next).
// Every group snapshots (a trivial state) and compacts its log as it goes, as a server would: otherwise the
// in-memory log grows without bound and GC pauses dominate the latency. RAFT_BENCH_DEBUG=1 prints each
// run's raw result (heap, leader turns, LevelDB batches, frames) on stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProposalDropped } from '../src/raft/errors.js';
import { MultiRaft } from '../src/raft/multi/multi-raft.js';
import type { Frame } from '../src/raft/multi/ports.js';
import { DiskLog, type FsyncPolicy } from '../src/raft/storage/disk-log.js';
import { TcpTransport } from '../src/raft/transport-tcp.js';
import type { Entry, GroupId, Index, NodeId, Snapshot } from '../src/raft/types.js';

const ENTRY_BYTES = 100;
const MEMBERS: NodeId[] = [1, 2, 3];
const TICK_MS = 100;
const OUTSTANDING_MAX = 200_000;
/**
 * About how many entries each node keeps in its logs (all groups together) before snapshots let it
 * compact, as a server would; each group snapshots at most every SNAPSHOT_ENTRIES_MIN entries (every
 * snapshot is a synced file).
 */
const LOG_ENTRIES_KEPT = 100_000;
const SNAPSHOT_ENTRIES_MIN = 2_500;
const COMPACT_CHECK_MS = 500;

interface RunResult {
  mode: 'closed' | 'open';
  entriesPerSec: number;
  committed: number;
  p50Ms: number;
  p99Ms: number;
  dropped: number;
  /** CPU time (user + system) of this process during the measured window. */
  cpuMicros: number;
  /** The leader's V8 heap in use at the end of the run. */
  heapMB: number;
}

// ---------------------------------------------------------------- a node (child process)

class Host {
  readonly multi: MultiRaft;
  private scheduled = false;
  private driving = false;
  private readonly proposedAt = new Map<number, number>(); // sequence -> performance.now()
  private nextSeq = 0;
  private nextGroup = 1;
  private latencies: number[] = [];
  private committed = 0;
  private dropped = 0;
  /** Closed loop: proposals kept in flight. */
  window = 0;

  constructor(
    readonly id: NodeId,
    log: DiskLog,
    readonly transport: TcpTransport,
    private readonly groupCount: number,
    private readonly turnsInFlightMax: number,
  ) {
    let seed = id * 7919;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    this.multi = new MultiRaft({
      nodeId: id,
      random,
      storage: log,
      transport,
      applier: { apply: (g, entries) => this.apply(g, entries) },
      raft: { maxSizePerMsg: 1 << 20, maxInflightMsgs: 256 },
      turnsInFlightMax,
    });
    for (let g = 1; g <= groupCount; g++) {
      this.multi.createGroup(g, { storage: log.group(g), bootstrapPeers: MEMBERS });
    }
  }

  receive(frame: Frame): void {
    this.multi.receive(frame);
    this.schedule();
  }

  tick(): void {
    this.multi.tick();
    this.schedule();
  }

  campaignAll(): void {
    for (let g = 1; g <= this.groupCount; g++) this.multi.campaign(g);
    this.schedule();
  }

  leadsAll(): boolean {
    for (let g = 1; g <= this.groupCount; g++) {
      if (this.multi.basicStatus(g).softState.lead !== this.id) return false;
    }
    return true;
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drive();
    });
  }

  /**
   * Runs the host's turns until it is idle; inputs arriving meanwhile are picked up by the next turn.
   * While the pipeline has room, a turn whose write is in flight does not stop the loop: it yields to
   * the event loop (frames, proposals) and starts the next turn; when full, it waits for the oldest.
   */
  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    for (let turns = 0; turns < 1_000_000; turns++) {
      this.refill();
      if (!this.multi.hasWork()) break;
      const starts = this.multi.turnsInFlight < this.turnsInFlightMax;
      const pending = this.multi.turn();
      if (pending === undefined) continue;
      if (starts) {
        void pending.then(() => this.schedule()); // its completion may produce more work
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else {
        await pending;
      }
    }
    this.driving = false;
  }

  /** Per group: the last applied index, and the index of its newest snapshot. */
  private readonly appliedIndex = new Map<GroupId, Index>();
  private readonly snapshotIndex = new Map<GroupId, Index>();

  /**
   * Keeps the in-memory and on-disk logs bounded: a group that applied enough since its last snapshot
   * takes a (trivial) one and compacts up to the PREVIOUS snapshot, so followers slightly behind still
   * get entries rather than a snapshot. Without this the log grows forever and GC dominates.
   */
  async compact(log: DiskLog): Promise<void> {
    const every = Math.max(SNAPSHOT_ENTRIES_MIN, Math.floor(LOG_ENTRIES_KEPT / 2 / this.groupCount));
    for (const [g, applied] of this.appliedIndex) {
      const previous = this.snapshotIndex.get(g) ?? 0;
      if (applied - previous < every) continue;
      const raw = this.multi.rawNode(g);
      const metadata = { index: applied, term: raw.raft.raftLog.term(applied), confState: raw.raft.trk.confState() };
      const snapshot: Snapshot = { metadata, data: new Uint8Array(8) };
      await log.saveSnapshotFile(g, snapshot); // the file first, so the write below does not wait for it
      await log.write([{ groupId: g, snapshotTaken: snapshot, compactTo: previous }]);
      this.snapshotIndex.set(g, applied);
      await log.pruneSnapshots(g, 2);
    }
  }

  private apply(groupId: GroupId, entries: readonly Entry[]): void {
    if (entries.length > 0) this.appliedIndex.set(groupId, entries[entries.length - 1]!.index);
    const now = performance.now();
    for (const e of entries) {
      const d = e.data; // the sequence number in the first 4 bytes (no Buffer copy per entry)
      if (d.length === ENTRY_BYTES) this.applied(((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0, now);
    }
  }

  private applied(seq: number, now: number): void {
    const t0 = this.proposedAt.get(seq);
    if (t0 === undefined) return;
    this.proposedAt.delete(seq);
    this.committed++;
    this.latencies.push(now - t0);
  }

  /** Proposes one 100-byte entry to the next group, round robin. */
  propose(): void {
    if (this.proposedAt.size >= OUTSTANDING_MAX) {
      this.dropped++;
      return;
    }
    const data = Buffer.allocUnsafe(ENTRY_BYTES).fill(0x61, 4);
    const seq = this.nextSeq++ >>> 0;
    data.writeUInt32BE(seq, 0);
    const g = this.nextGroup;
    this.nextGroup = g === this.groupCount ? 1 : g + 1;
    try {
      this.multi.propose(g, data);
      this.proposedAt.set(seq, performance.now());
    } catch (err) {
      if (!isProposalDropped(err)) throw err;
      this.dropped++;
    }
    this.schedule();
  }

  private refill(): void {
    for (let n = this.window - this.proposedAt.size; n > 0; n--) this.propose();
  }

  async measure(mode: 'closed' | 'open', seconds: number, amount: number, onStart: () => void): Promise<RunResult> {
    const warmupMs = 500;
    this.proposedAt.clear();
    let timer: NodeJS.Timeout | null = null;
    const started = performance.now();
    if (mode === 'closed') {
      this.window = amount;
      this.refill();
    } else {
      let proposed = 0;
      timer = setInterval(() => {
        const due = Math.floor(((performance.now() - started) / 1000) * amount) - proposed;
        for (let i = 0; i < due; i++) this.propose();
        proposed += due;
      }, 1);
    }
    await sleep(warmupMs);
    this.latencies = [];
    this.committed = 0;
    this.dropped = 0;
    onStart();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const latencies = this.latencies.slice().sort((a, b) => a - b);
    const result: RunResult = {
      mode,
      entriesPerSec: this.committed / elapsed,
      committed: this.committed,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      dropped: this.dropped,
      cpuMicros: cpu.user + cpu.system,
      heapMB: process.memoryUsage().heapUsed / 1e6,
    };
    this.window = 0;
    if (timer) clearInterval(timer);
    await sleep(300); // let the tail drain before the next run
    return result;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runNode(id: NodeId, groups: number, fsync: FsyncPolicy, dir: string, turns: number): Promise<void> {
  const { log } = await DiskLog.open(dir, { fsync });
  let host: Host | null = null;
  const transport = await TcpTransport.listen({ onFrame: (frame) => host?.receive(frame) });
  host = new Host(id, log, transport, groups, turns);
  let cpuMark = process.cpuUsage();
  const ticker = setInterval(() => host!.tick(), TICK_MS);
  let compaction: Promise<void> | null = null; // one at a time
  const compactor = setInterval(() => {
    compaction ??= host!.compact(log).then(
      () => {
        compaction = null;
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  }, COMPACT_CHECK_MS);
  host.schedule(); // persist and apply the bootstrap entries
  process.stdout.write(`port ${transport.port}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...args] = line.split(' ');
    if (cmd === 'peers') {
      for (const p of args) {
        const [peer, port] = p.split(':').map(Number) as [number, number];
        if (peer !== id) transport.addPeer(peer, '127.0.0.1', port);
      }
    } else if (cmd === 'campaign') {
      await sleep(200);
      host.campaignAll();
      for (let i = 0; i < 100 && !host.leadsAll(); i++) await sleep(50);
      process.stdout.write(host.leadsAll() ? 'leading\n' : 'not-leading\n');
    } else if (cmd === 'run') {
      const mode = args[0] as 'closed' | 'open';
      const before = { turns: host.multi.stats.turns, batches: log.stats.batches, frames: transport.stats.framesSent };
      const result = await host.measure(mode, Number(args[1]), Number(args[2]), () => process.stdout.write('mark\n'));
      const counts = {
        turns: host.multi.stats.turns - before.turns,
        batches: log.stats.batches - before.batches,
        frames: transport.stats.framesSent - before.frames,
      };
      process.stdout.write(`result ${JSON.stringify({ ...result, leaderCounts: counts })}\n`);
    } else if (cmd === 'cpu-start') {
      cpuMark = process.cpuUsage(); // a follower's share of the leader's measured window
    } else if (cmd === 'cpu-stop') {
      const cpu = process.cpuUsage(cpuMark);
      process.stdout.write(`cpu ${cpu.user + cpu.system}\n`);
    } else if (cmd === 'quit') {
      break;
    }
  }
  clearInterval(ticker);
  clearInterval(compactor);
  await compaction; // its writes must not meet a closed log
  await transport.close();
  await log.close();
  process.exit(0);
}

// ---------------------------------------------------------------- the parent

class Child {
  private readonly waiters: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];

  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    proc.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }
}

type MeasuredRun = RunResult & { readonly cpuPerEntryMicros: number };

interface CellResult {
  readonly closed: MeasuredRun[];
  readonly open: MeasuredRun[];
}

/** One measured run: the leader's result, with CPU summed over all three processes per committed entry. */
async function measuredRun(children: Child[], line: string): Promise<MeasuredRun> {
  const [leader, ...followers] = children as [Child, ...Child[]];
  leader.send(line);
  const mark = await leader.next();
  if (mark !== 'mark') throw new Error(`unexpected line from the leader: ${mark}`);
  for (const f of followers) f.send('cpu-start');
  const resultLine = await leader.next();
  if (process.env['RAFT_BENCH_DEBUG']) console.error(resultLine);
  const result = JSON.parse(resultLine.slice('result '.length)) as RunResult;
  let cpu = result.cpuMicros;
  for (const f of followers) {
    f.send('cpu-stop');
    cpu += Number((await f.next()).split(' ')[1]);
  }
  return { ...result, cpuPerEntryMicros: cpu / Math.max(1, result.committed) };
}

interface CellOptions {
  readonly seconds: number;
  readonly runs: number;
  /** The host's turnsInFlightMax. */
  readonly turns: number;
  /** Open-loop rate (entries/s) without the closed-loop runs; default half the median closed-loop rate. */
  readonly openRate?: number;
}

async function cell(groups: number, fsync: FsyncPolicy, o: CellOptions): Promise<CellResult> {
  const { seconds, runs, turns } = o;
  const root = mkdtempSync(join(tmpdir(), 'slotraft-cluster-'));
  const script = fileURLToPath(import.meta.url);
  const children = MEMBERS.map((id) => {
    const args = ['--node', `${id}`, '--groups', `${groups}`, '--fsync', fsync, '--dir', join(root, `n${id}`)];
    args.push('--turns', `${turns}`);
    return new Child(spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: 'pipe' }));
  });
  try {
    const ports = await Promise.all(children.map(async (c) => Number((await c.next()).split(' ')[1])));
    for (const c of children) c.send(`peers ${ports.map((p, i) => `${MEMBERS[i]}:${p}`).join(' ')}`);
    const leader = children[0]!;
    leader.send('campaign');
    const status = await leader.next();
    if (status !== 'leading') throw new Error(`node 1 did not become leader of every group (${status})`);
    const closed: MeasuredRun[] = [];
    const window = groups === 1 ? 4096 : 8192;
    if (o.openRate === undefined) {
      for (let i = 0; i < runs; i++) closed.push(await measuredRun(children, `run closed ${seconds} ${window}`));
    }
    const half = o.openRate ?? Math.max(1000, Math.floor(median(closed.map((r) => r.entriesPerSec)) / 2));
    const open: MeasuredRun[] = [];
    for (let i = 0; i < runs; i++) open.push(await measuredRun(children, `run open ${seconds} ${half}`));
    return { closed, open };
  } finally {
    for (const c of children) c.send('quit');
    await sleep(300);
    for (const c of children) c.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const turns = Number(arg('--turns') ?? 1);
  const node = arg('--node');
  if (node) {
    return runNode(Number(node), Number(arg('--groups')), arg('--fsync') as FsyncPolicy, arg('--dir')!, turns);
  }

  const seconds = Number(arg('--seconds') ?? 3);
  const runs = Number(arg('--runs') ?? 3);
  const only = arg('--only');
  const cpus = availableParallelism();
  console.log(
    `3 processes over loopback TCP on ${cpus} CPUs, ${ENTRY_BYTES}-byte entries, ${seconds} s per run, median of ` +
      `${runs} runs, turnsInFlightMax ${turns}. CPU/entry = user+system CPU of all 3 processes / committed entries.\n`,
  );
  console.log('| groups | fsync | load | committed entries/s (min-max) | commit p50 ms | commit p99 ms | CPU µs/entry | load avg |');
  console.log('|---|---|---|---|---|---|---|---|');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  for (const fsync of ['no', 'always'] as const) {
    for (const groups of [1, 64]) {
      if (only && only !== `${groups}:${fsync}`) continue;
      const loadAvg = loadavg()[0]!.toFixed(1);
      const openRate = arg('--open-rate') === undefined ? undefined : Number(arg('--open-rate'));
      const result = await cell(groups, fsync, { seconds, runs, turns, ...(openRate === undefined ? {} : { openRate }) });
      for (const rs of [result.closed, result.open]) {
        if (rs.length === 0) continue;
        const rates = rs.map((r) => r.entriesPerSec);
        const cpu = rs.map((r) => r.cpuPerEntryMicros);
        const load = rs[0]!.mode === 'closed' ? 'max (closed loop)' : 'half (open loop)';
        const dropped = rs.reduce((n, r) => n + r.dropped, 0);
        console.log(
          `| ${groups} | ${fsync} | ${load} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))})` +
            `${dropped > 0 ? ` ${dropped} dropped` : ''} | ${median(rs.map((r) => r.p50Ms)).toFixed(2)} | ` +
            `${median(rs.map((r) => r.p99Ms)).toFixed(2)} | ${median(cpu).toFixed(1)} | ${loadAvg} |`,
        );
      }
    }
  }
}

await main();
