// Raft over real processes, disks and loopback TCP: 3 processes, each hosting 1 or 64 Raft groups (all
// with members 1, 2, 3; node 1 leads them all), DiskLog for storage and TcpTransport between them. Node
// 1 proposes 100-byte entries and measures committed entries/s (closed loop, a fixed window of proposals
// in flight) and commit latency, proposal to apply on the leader (open loop at half that rate).
//
//   npx tsc -p . && node dist/bench/raft-cluster.js [--seconds 3] [--only 64:no]
//
// Each process runs the Multi-Raft host (src/raft/multi) with DiskLog as its storage port (one LevelDB
// batch per turn for all groups) and TcpTransport as its transport port (one frame per peer per turn).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProposalDropped } from '../src/raft/errors.js';
import { MultiRaft } from '../src/raft/multi/multi-raft.js';
import type { Frame } from '../src/raft/multi/ports.js';
import { DiskLog, type FsyncPolicy } from '../src/raft/storage/disk-log.js';
import { TcpTransport } from '../src/raft/transport-tcp.js';
import type { Entry, NodeId } from '../src/raft/types.js';

const ENTRY_BYTES = 100;
const MEMBERS: NodeId[] = [1, 2, 3];
const TICK_MS = 100;
const OUTSTANDING_MAX = 200_000;

interface RunResult {
  mode: 'closed' | 'open';
  entriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  dropped: number;
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
  ) {
    let seed = id * 7919;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    this.multi = new MultiRaft({
      nodeId: id,
      random,
      storage: log,
      transport,
      applier: { apply: (_g, entries) => this.apply(entries) },
      raft: { maxSizePerMsg: 1 << 20, maxInflightMsgs: 256 },
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

  /** Runs the host's turns until it is idle; inputs arriving meanwhile are picked up by the next turn. */
  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    for (let turns = 0; this.multi.hasWork() && turns < 1_000_000; turns++) {
      const pending = this.multi.turn();
      if (pending) await pending;
      this.refill();
    }
    this.driving = false;
  }

  private apply(entries: readonly Entry[]): void {
    const now = performance.now();
    for (const e of entries) if (e.data.length === ENTRY_BYTES) this.applied(Buffer.from(e.data).readUInt32BE(0), now);
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
    const data = Buffer.alloc(ENTRY_BYTES, 0x61);
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

  async measure(mode: 'closed' | 'open', seconds: number, amount: number): Promise<RunResult> {
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
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const latencies = this.latencies.slice().sort((a, b) => a - b);
    const result: RunResult = {
      mode,
      entriesPerSec: this.committed / elapsed,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      dropped: this.dropped,
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

async function runNode(id: NodeId, groups: number, fsync: FsyncPolicy, dir: string): Promise<void> {
  const { log } = await DiskLog.open(dir, { fsync });
  let host: Host | null = null;
  const transport = await TcpTransport.listen({ onFrame: (frame) => host?.receive(frame) });
  host = new Host(id, log, transport, groups);
  const ticker = setInterval(() => host!.tick(), TICK_MS);
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
      const result = await host.measure(args[0] as 'closed' | 'open', Number(args[1]), Number(args[2]));
      const stats = { turns: host.multi.stats.turns, batches: log.stats.batches, frames: transport.stats.framesSent, bytes: transport.stats.bytesSent, msgs: host.multi.stats.messagesSent, writes: host.multi.stats.writes };
      process.stdout.write(`result ${JSON.stringify({ ...result, ...stats })}\n`);
    } else if (cmd === 'quit') {
      break;
    }
  }
  clearInterval(ticker);
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

async function cell(groups: number, fsync: FsyncPolicy, seconds: number): Promise<RunResult[]> {
  const root = mkdtempSync(join(tmpdir(), 'slotraft-cluster-'));
  const script = fileURLToPath(import.meta.url);
  const children = MEMBERS.map((id) => {
    const args = ['--node', `${id}`, '--groups', `${groups}`, '--fsync', fsync, '--dir', join(root, `n${id}`)];
    return new Child(spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: 'pipe' }));
  });
  try {
    const ports = await Promise.all(children.map(async (c) => Number((await c.next()).split(' ')[1])));
    for (const c of children) c.send(`peers ${ports.map((p, i) => `${MEMBERS[i]}:${p}`).join(' ')}`);
    const leader = children[0]!;
    leader.send('campaign');
    const status = await leader.next();
    if (status !== 'leading') throw new Error(`node 1 did not become leader of every group (${status})`);
    leader.send(`run closed ${seconds} ${groups === 1 ? 4096 : 8192}`);
    const closedLine = await leader.next();
    if (process.env.RAFT_BENCH_DEBUG) console.error(closedLine);
    const closed = JSON.parse(closedLine.slice("result ".length)) as RunResult;
    leader.send(`run open ${seconds} ${Math.max(1000, Math.floor(closed.entriesPerSec / 2))}`);
    const open = JSON.parse((await leader.next()).slice('result '.length)) as RunResult;
    return [closed, open];
  } finally {
    for (const c of children) c.send('quit');
    await sleep(300);
    for (const c of children) c.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const node = arg('--node');
  if (node) return runNode(Number(node), Number(arg('--groups')), arg('--fsync') as FsyncPolicy, arg('--dir')!);

  const seconds = Number(arg('--seconds') ?? 3);
  const only = arg('--only');
  console.log(`3 processes over loopback TCP, ${ENTRY_BYTES}-byte entries, ${seconds} s per run\n`);
  console.log('| groups | fsync | load | committed entries/s | commit p50 ms | commit p99 ms | dropped |');
  console.log('|---|---|---|---|---|---|---|');
  for (const fsync of ['no', 'always'] as const) {
    for (const groups of [1, 64]) {
      if (only && only !== `${groups}:${fsync}`) continue;
      for (const r of await cell(groups, fsync, seconds)) {
        const load = r.mode === 'closed' ? 'max (closed loop)' : 'half (open loop)';
        console.log(
          `| ${groups} | ${fsync} | ${load} | ${Math.round(r.entriesPerSec).toLocaleString('en-US')} | ` +
            `${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.dropped} |`,
        );
      }
    }
  }
}

await main();
