// Cluster benchmark (issue 4): a 3-node slotraft cluster and a real Redis Cluster of 3 masters and 3
// replicas, side by side on this machine, driven by `redis-benchmark --cluster` (SET and GET, `-P 1` and
// `-P 16`), alternating the two clusters run by run; medians of the runs, ratios slotraft/Redis, p50/p99.
// Then the failover time of slotraft: SIGKILL the node leading a key's slot and time the first SET of
// that key that succeeds, through a client that follows MOVED and retries every ~10 ms.
// The clusters are started by test/support/cluster-procs.ts (the end-to-end tests' harness), then pinned.
// Writes its own section of docs/benchmarks.md (between the cluster-bench markers) and keeps the rest.
//
//   npx tsc -p . && node dist/bench/cluster.js        full run: 5 rounds, 20 failovers, writes the docs
//   node dist/bench/cluster.js --quick                1 round, 5 failovers, shorter runs, stdout only
//   options: --runs N, --failovers N, --write (with --quick), --out PATH (- for stdout only),
//   --failover-redis (also time Redis Cluster's failover, with cluster-node-timeout REDIS_NODE_TIMEOUT_MS),
//   --no-failover, --no-throughput, --no-pin (no taskset), --candidate redis (a second Redis Cluster in
//   place of slotraft, to check the method: ratios should be ~1)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { CAN_PIN, CLIENT_CPU, SERVER_CPU, pinned } from './pinning.js';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, ROOT, runTool, sendCommand, type ToolResult } from '../compat/harness.js';
import { keySlot } from '../src/cluster/slot.js';
import { startCluster, type ClusterOptions, type ProcCluster } from '../test/support/cluster-procs.js';

type Kind = 'redis' | 'slotraft';
/** The two clusters compared: Redis Cluster (the baseline) and the candidate (slotraft, or Redis again). */
type Side = 'redis' | 'candidate';
const SIDES: readonly Side[] = ['redis', 'candidate'];

interface Options {
  quick: boolean;
  runs: number;
  failovers: number;
  write: boolean;
  out: string;
  failoverRedis: boolean;
  throughput: boolean;
  candidate: Kind;
  pin: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    quick: false, runs: 5, failovers: 20, write: true, out: join(ROOT, 'docs', 'benchmarks.md'),
    failoverRedis: false, throughput: true, candidate: 'slotraft', pin: true,
  };
  let write = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--failovers') options.failovers = Number(argv[++i]);
    else if (arg === '--write') write = true;
    else if (arg === '--out') options.out = argv[++i] ?? '';
    else if (arg === '--failover-redis') options.failoverRedis = true;
    else if (arg === '--no-failover') options.failovers = 0;
    else if (arg === '--no-throughput') options.throughput = false;
    else if (arg === '--no-pin') options.pin = false;
    else if (arg === '--candidate') options.candidate = argv[++i] as Kind;
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.quick) {
    if (!argv.includes('--runs')) options.runs = 1;
    if (!argv.includes('--failovers') && !argv.includes('--no-failover')) options.failovers = 5;
    options.write = write;
  }
  if (options.candidate !== 'redis' && options.candidate !== 'slotraft') throw new Error('--candidate redis|slotraft');
  if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 50) throw new Error('--runs must be 1..50');
  if (!Number.isInteger(options.failovers) || options.failovers < 0 || options.failovers > 200) {
    throw new Error('--failovers must be 0..200');
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is registered here so that an error, Ctrl-C or SIGTERM kills them all.

/** Cleared by --no-pin. */
let pinning = CAN_PIN;
const pin = (cpu: string, command: string, args: string[]): [string, string[]] => pinned(pinning, cpu, command, args);

/** The client tools started here. */
const liveChildren = new Set<ChildProcess>();
/** The clusters running; test/support/cluster-procs also kills their processes when this process exits. */
const liveClusters = new Set<Cluster>();

function killEverything(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const cluster of liveClusters) cluster.killNow();
  liveClusters.clear();
}
process.once('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping every process started\n`);
    killEverything();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/** Runs a client tool (redis-benchmark, taskset) with a time limit, registered to be killed with the rest. */
function runClient(command: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({ code, stdout: Buffer.concat(stdout).toString('latin1'), stderr: Buffer.concat(stderr).toString('latin1') });
    });
  });
}

/** Server CPU time (user + system, all threads) of a process in seconds, from /proc/<pid>/stat; 0 if gone. */
function cpuSeconds(pid: number | null): number {
  if (pid === null) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime); the slice starts at field 3. 100 ticks/s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * A redis-server's settings that matter here, read back with CONFIG GET, as a command line (Redis
 * rewrites its own /proc cmdline). The harness also sets bind, dir, cluster-config-file and
 * cluster-announce-ip, and a redis-cli --cluster create with --cluster-replicas 1 joins the nodes.
 */
async function redisSettings(port: number): Promise<string> {
  const names = ['port', 'cluster-port', 'cluster-enabled', 'cluster-node-timeout', 'save', 'appendonly'];
  const reply = (await sendCommand(port, ['CONFIG', 'GET', ...names], 2_000)) as string[];
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) values.set(reply[i]!, reply[i + 1]!);
  return `redis-server ${names.map((name) => `--${name} ${shellQuote(values.get(name) ?? '?')}`).join(' ')} ...`;
}

/** A process's exact command line, from /proc/<pid>/cmdline, for the report. */
function commandLine(pid: number | null): string {
  if (pid === null) return '?';
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
    return argv.map(shellQuote).join(' ');
  } catch {
    return '?';
  }
}

function shellQuote(arg: string): string {
  return arg === '' ? "''" : /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

const STABLE_MS = 2_000;
const STABLE_POLL_MS = 200;
const STABLE_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

/**
 * One of the two clusters: processes started by test/support/cluster-procs (the harness of the
 * end-to-end tests), each pinned to SERVER_CPU once started.
 */
class Cluster {
  /** How the servers were started, with this run's ports, for the report. */
  commandLines: string[] = [];

  private constructor(readonly label: string, readonly procs: ProcCluster, private readonly root: string) {}

  static async start(label: string, options: ClusterOptions): Promise<Cluster> {
    const procs = await startCluster({ ...options, readyTimeoutMs: READY_TIMEOUT_MS });
    const cluster = new Cluster(label, procs, dirname(procs.nodes[0]!.dir));
    liveClusters.add(cluster);
    try {
      for (let i = 0; i < procs.nodes.length; i++) await cluster.pin(i);
      cluster.commandLines = procs.kind === 'redis'
        ? await Promise.all(procs.nodes.map((node) => redisSettings(node.port)))
        : procs.nodes.map((node) => commandLine(node.pid).replaceAll(cluster.root, 'DIR').replace(ROOT + '/', '').replace(/^\S*node /, 'node '));
      if (procs.kind === 'redis') await cluster.waitReplicasInSync();
      await cluster.waitStable();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get kind(): Kind {
    return this.procs.kind;
  }

  get ports(): number[] {
    return this.procs.nodes.map((node) => node.port);
  }

  nodeLabel(i: number): string {
    return `${this.procs.kind} node ${i + 1} (:${this.procs.nodes[i]!.port})`;
  }

  /** Pins every thread of node i to SERVER_CPU; threads it starts later inherit that. */
  private async pin(i: number): Promise<void> {
    const pid = this.procs.nodes[i]!.pid;
    if (!pinning || pid === null) return;
    const result = await runClient('taskset', ['-a', '-p', '-c', SERVER_CPU, String(pid)], 10_000);
    if (result.code !== 0) throw new Error(`taskset on ${this.nodeLabel(i)} failed: ${result.stderr}`);
  }

  /** Starts node i again with the same command line and dir, and waits until every node says ok. */
  async restart(i: number): Promise<void> {
    this.procs.restart(i);
    await this.pin(i);
    await this.procs.waitClusterOk();
  }

  /** Redis replicas do a full sync after `--cluster create` or a restart; waits for every link to be up. */
  async waitReplicasInSync(): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (const node of this.procs.nodes) {
      for (;;) {
        const info = String(await sendCommand(node.port, ['INFO', 'replication'], 1_000).catch((err: Error) => err.message));
        if (info.includes('role:master') || info.includes('master_link_status:up')) break;
        if (performance.now() > deadline) throw new Error(`redis on port ${node.port}: replica not in sync: ${info}`);
        await sleep(POLL_MS);
      }
    }
  }

  /**
   * Resolves once CLUSTER SLOTS has not changed for STABLE_MS (at most STABLE_TIMEOUT_MS): slotraft
   * balances its shard leaders after it says cluster_state:ok, and again when a restarted node is back,
   * which would move slots under a run or under the next failover round.
   */
  async waitStable(): Promise<void> {
    const deadline = performance.now() + STABLE_TIMEOUT_MS;
    let last = '';
    let since = performance.now();
    while (performance.now() < deadline) {
      const live = this.procs.nodes.find((node) => node.running);
      const slots = live ? JSON.stringify(await sendCommand(live.port, ['CLUSTER', 'SLOTS'], 1_000).catch(() => null)) : '';
      if (slots !== last) {
        last = slots;
        since = performance.now();
      } else if (performance.now() - since >= STABLE_MS) {
        return;
      }
      await sleep(STABLE_POLL_MS);
    }
    progress(`${this.label}: CLUSTER SLOTS still changing after ${STABLE_TIMEOUT_MS} ms; going on`);
  }

  /** CPU seconds used so far by all the cluster's processes. */
  cpuSeconds(): number {
    return this.procs.nodes.reduce((sum, node) => sum + cpuSeconds(node.pid), 0);
  }

  async stop(): Promise<void> {
    liveClusters.delete(this);
    await this.procs.stop();
  }

  /** On Ctrl-C or exit: SIGKILL every node at once and remove the dirs, synchronously. */
  killNow(): void {
    for (const node of this.procs.nodes) {
      try {
        if (node.pid !== null) process.kill(node.pid, 'SIGKILL');
      } catch {
        // It has just exited.
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Redis's failover waits for cluster-node-timeout (default 15000 ms) before a replica takes over; with
 * --failover-redis the baseline gets this shorter one, to keep its failover timing short. Otherwise
 * Redis keeps its default.
 */
const REDIS_NODE_TIMEOUT_MS = 2_000;
const REDIS_DEFAULT_NODE_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Throughput and latency

interface Workload {
  name: string;
  pipeline: number;
  /** Requests of the warm-up run that sizes the measured runs (halved by --quick). */
  warmupRequests: number;
}

const WORKLOADS: Workload[] = [
  { name: '`-c 50 -P 1`', pipeline: 1, warmupRequests: 20_000 },
  { name: '`-c 50 -P 16`', pipeline: 16, warmupRequests: 200_000 },
];
const TESTS = ['set', 'get'] as const;
type Test = (typeof TESTS)[number];
const CLIENTS = 50;
/** Issue 4's targets: slotraft's throughput as a share of Redis Cluster's. */
const TARGETS: Record<Test, number> = { set: 0.4, get: 0.6 };

/** Each measured run is sized to last about this long, from a warm-up run of the same workload. */
const RUN_SECONDS = { full: 7, quick: 3 };
const REQUESTS_MIN = 20_000;
const REQUESTS_MAX = 20_000_000;

interface Sample {
  ops: number;
  p50: number;
  p99: number;
  cpuUsPerOp: number;
}

function benchmarkArgs(cluster: Cluster, pipeline: number, requests: number, test: Test): string[] {
  return ['-h', HOST, '-p', String(cluster.ports[0]), '--cluster', '-c', String(CLIENTS), '-P', String(pipeline),
    '-n', String(requests), '-t', test, '--csv'];
}

/** One redis-benchmark run of one test; CPU per op counts every server process of the cluster. */
async function benchmark(cluster: Cluster, pipeline: number, requests: number, test: Test): Promise<Sample> {
  const [command, args] = pin(CLIENT_CPU, 'redis-benchmark', benchmarkArgs(cluster, pipeline, requests, test));
  const cpuBefore = cluster.cpuSeconds();
  const result = await runClient(command, args, 300_000);
  const cpu = cluster.cpuSeconds() - cpuBefore;
  const output = result.stdout + result.stderr;
  // In cluster mode redis-benchmark prints the masters it found before the CSV; the CSV starts at "test".
  const lines = result.stdout.split('\n').filter((line) => line.startsWith('"'));
  const header = (lines[0] ?? '').split(',').map((cell) => cell.replace(/"/g, ''));
  const row = (lines[lines.length - 1] ?? '').split(',').map((cell) => cell.replace(/"/g, ''));
  if (result.code !== 0 || /error/i.test(output) || header[0] !== 'test' || lines.length < 2) {
    throw new Error(`redis-benchmark against ${cluster.label} failed (${result.code}): ${output.slice(0, 2_000)}`);
  }
  const column = (name: string) => Number(row[header.indexOf(name)]);
  return { ops: column('rps'), p50: column('p50_latency_ms'), p99: column('p99_latency_ms'), cpuUsPerOp: (cpu * 1e6) / requests };
}

/** Runs that failed (errors from the servers) and were redone, per cluster, with their first error line. */
const redoneRuns: Array<{ cluster: string; error: string }> = [];
const REDO_MAX = 2;

/**
 * A run in which the servers answered errors (slotraft's CLUSTERDOWN during a leader change, say) is
 * redone, at most REDO_MAX times, once the cluster is ready again, and reported as redone.
 */
async function benchmarkOrRedo(cluster: Cluster, pipeline: number, requests: number, test: Test): Promise<Sample> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await benchmark(cluster, pipeline, requests, test);
    } catch (err) {
      if (attempt >= REDO_MAX) throw err;
      const message = (err as Error).message;
      const error = message.split('\n').find((line) => /error/i.test(line)) ?? message.split('\n')[0] ?? '';
      redoneRuns.push({ cluster: cluster.label, error: error.slice(0, 200) });
      progress(`${cluster.label}: run failed (${error.slice(0, 200)}); redoing it once the cluster is ready`);
      await cluster.procs.waitClusterOk();
      await cluster.waitStable();
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianSample(samples: Sample[]): Sample {
  return {
    ops: median(samples.map((s) => s.ops)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuUsPerOp: median(samples.map((s) => s.cpuUsPerOp)),
  };
}

interface Row {
  workload: Workload;
  test: Test;
  requests: Record<Side, number>;
  redis: Sample;
  candidate: Sample;
}

/**
 * A warm-up run of each workload on each cluster (it also warms Node's JIT) sizes the measured runs to
 * about RUN_SECONDS each; then `runs` rounds, in which the two clusters alternate (and which goes first
 * alternates too), so that noise from the shared machine hits both alike.
 */
async function measure(clusters: Record<Side, Cluster>, runs: number, quick: boolean): Promise<Row[]> {
  const seconds = quick ? RUN_SECONDS.quick : RUN_SECONDS.full;
  const rows: Array<Row & { samples: Record<Side, Sample[]> }> = [];
  for (const workload of WORKLOADS) {
    for (const test of TESTS) {
      const requests = { redis: 0, candidate: 0 };
      for (const kind of SIDES) {
        const warm = await benchmarkOrRedo(clusters[kind], workload.pipeline, workload.warmupRequests / (quick ? 2 : 1), test);
        requests[kind] = Math.min(REQUESTS_MAX, Math.max(REQUESTS_MIN, Math.round((warm.ops * seconds) / 10_000) * 10_000));
        progress(`warm-up ${workload.name} ${test.toUpperCase()} ${clusters[kind].label}: ${Math.round(warm.ops)} ops/s -> -n ${requests[kind]}`);
      }
      rows.push({ workload, test, requests, redis: emptySample(), candidate: emptySample(), samples: { redis: [], candidate: [] } });
    }
  }
  for (let run = 0; run < runs; run++) {
    for (const row of rows) {
      const order: Side[] = run % 2 === 0 ? ['redis', 'candidate'] : ['candidate', 'redis'];
      for (const kind of order) {
        const sample = await benchmarkOrRedo(clusters[kind], row.workload.pipeline, row.requests[kind], row.test);
        row.samples[kind].push(sample);
        progress(`run ${run + 1}/${runs} ${row.workload.name} ${row.test.toUpperCase()} ${clusters[kind].label}: ` +
          `${Math.round(sample.ops)} ops/s p50 ${sample.p50} ms p99 ${sample.p99} ms ${sample.cpuUsPerOp.toFixed(2)} us/op`);
      }
    }
  }
  return rows.map(({ samples, ...row }) => ({ ...row, redis: medianSample(samples.redis), candidate: medianSample(samples.candidate) }));
}

const emptySample = (): Sample => ({ ops: NaN, p50: NaN, p99: NaN, cpuUsPerOp: NaN });

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Failover: from SIGKILL of the node serving a key's slot to the first successful SET of that key

const RETRY_MS = 10;
/** One SET attempt's limit. A request that hangs longer is abandoned and sent again. */
const ATTEMPT_TIMEOUT_MS = 2_000;
const FAILOVER_GIVE_UP_MS = 60_000;

interface FailoverResult {
  ms: number;
  slot: number;
  killed: string;
  attempts: number;
  /** From restarting the killed node to every node saying cluster_state:ok again. */
  rejoinMs: number;
  /** What the failed attempts got, by kind of answer (ECONNREFUSED, MOVED, CLUSTERDOWN...). */
  errors: Map<string, number>;
}

/** The port of the node serving `slot` according to CLUSTER SLOTS as `askPort` sees it. */
async function slotOwnerPort(askPort: number, slot: number): Promise<number | undefined> {
  const slots = (await sendCommand(askPort, ['CLUSTER', 'SLOTS'], 2_000)) as Array<[number, number, [string, number, ...unknown[]]]>;
  const range = slots.find(([start, end]) => start <= slot && slot <= end);
  return range?.[2][1];
}

/**
 * Sends SET key value until one succeeds, as a cluster client would: start at the node last known to
 * serve the slot, follow MOVED at once, and after any other failure (refused connection, CLUSTERDOWN,
 * TRYAGAIN, time-out) wait RETRY_MS and try the next node of the seed list.
 */
async function setUntilSuccess(
  key: string, value: string, firstPort: number, seedPorts: number[], since: number,
): Promise<{ ms: number; attempts: number; errors: Map<string, number> }> {
  const errors = new Map<string, number>();
  let port = firstPort;
  let seed = Math.max(0, seedPorts.indexOf(firstPort));
  for (let attempts = 1; ; attempts++) {
    try {
      const reply = await sendCommand(port, ['SET', key, value], ATTEMPT_TIMEOUT_MS);
      if (reply === 'OK') return { ms: performance.now() - since, attempts, errors };
      throw new Error(`unexpected reply ${String(reply)}`);
    } catch (err) {
      const error = err as Error & { code?: string };
      const text = error.code ?? error.message;
      const kind = text.startsWith('no reply') ? 'time-out' : (text.split(' ')[0] ?? text);
      errors.set(kind, (errors.get(kind) ?? 0) + 1);
      const moved = /^MOVED \d+ [\d.]+:(\d+)$/.exec(text);
      if (moved && attempts % 16 !== 0) {
        // Follow at once, but not forever: a redirect loop falls through to the pause below.
        port = Number(moved[1]);
        continue;
      }
      if (performance.now() - since > FAILOVER_GIVE_UP_MS) {
        throw new Error(`no successful SET within ${FAILOVER_GIVE_UP_MS} ms; answers seen: ${[...errors].join(' ')}`);
      }
      await sleep(RETRY_MS);
      seed = (seed + 1) % seedPorts.length;
      port = seedPorts[seed]!;
    }
  }
}

async function timeFailovers(cluster: Cluster, count: number): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];
  const seedPorts = cluster.ports;
  for (let i = 0; i < count; i++) {
    // Keys spread over the slots, so that over the rounds different shards (and leaders) are killed.
    const key = `failover:${process.pid}:${i}`;
    const slot = keySlot(key);
    const live = cluster.procs.nodes.find((node) => node.running)!;
    const ownerPort = await slotOwnerPort(live.port, slot);
    const victim = cluster.ports.indexOf(ownerPort ?? -1);
    if (victim < 0) throw new Error(`${cluster.label}: no node serves slot ${slot} (CLUSTER SLOTS on port ${live.port})`);
    // The key's slot takes writes before the kill.
    await setUntilSuccess(key, 'before', ownerPort!, seedPorts, performance.now());
    const killedAt = performance.now();
    const killed = cluster.procs.kill(victim, 'SIGKILL');
    const result = await setUntilSuccess(key, 'after', ownerPort!, seedPorts, killedAt);
    await killed;
    const restartedAt = performance.now();
    await cluster.restart(victim);
    const rejoinMs = performance.now() - restartedAt;
    results.push({ ...result, slot, killed: cluster.nodeLabel(victim), rejoinMs });
    progress(`failover ${i + 1}/${count} ${cluster.label}: slot ${slot}, killed ${cluster.nodeLabel(victim)}: ` +
      `${result.ms.toFixed(1)} ms, ${result.attempts} attempts (${[...result.errors].map(([k, n]) => `${k}×${n}`).join(' ')}); ` +
      `rejoined in ${rejoinMs.toFixed(0)} ms`);
    if (cluster.kind === 'redis') await cluster.waitReplicasInSync();
    await cluster.waitStable();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const load = () => loadavg()[0]!.toFixed(2);

/** Share of one core that each cluster burns when idle, measured together over IDLE_SECONDS. */
const IDLE_SECONDS = 3;

async function idleCpu(clusters: Record<Side, Cluster>): Promise<Record<Side, number>> {
  const before = { redis: clusters.redis.cpuSeconds(), candidate: clusters.candidate.cpuSeconds() };
  await sleep(IDLE_SECONDS * 1000);
  return {
    redis: (clusters.redis.cpuSeconds() - before.redis) / IDLE_SECONDS,
    candidate: (clusters.candidate.cpuSeconds() - before.candidate) / IDLE_SECONDS,
  };
}

interface Results {
  idle: Record<Side, number>;
  options: Options;
  rows: Row[];
  failovers: Partial<Record<Side, FailoverResult[]>>;
  clusters: Record<Side, Cluster>;
  versions: string;
  loadAtStart: string;
  startedAt: Date;
}

const BEGIN_MARKER = '<!-- cluster-bench:begin -->';
const END_MARKER = '<!-- cluster-bench:end -->';
/** bench/run.ts rewrites everything above this marker and keeps everything below it. */
const KEEP_MARKER = '<!-- other benchmarks below: kept when bench/run.ts rewrites this file -->';

function report(results: Results): string {
  const { options, rows, failovers, clusters } = results;
  const name = clusters.candidate.label;
  const lines: string[] = [BEGIN_MARKER, ''];
  lines.push(options.candidate === 'slotraft'
    ? '# Cluster: 3-node slotraft vs Redis Cluster (3 masters + 3 replicas)'
    : '# Cluster: Redis Cluster vs a second Redis Cluster (`--candidate redis`: a check of the method)', '');
  const flags = [options.quick ? ' --quick' : '', options.quick && options.write ? ' --write' : '',
    options.candidate === 'redis' ? ' --candidate redis' : ''].join('');
  lines.push(`Generated by \`node dist/bench/cluster.js${flags}\` (\`bench/cluster.ts\`), started ${results.startedAt.toISOString()}.`);
  if (options.quick) {
    lines.push('', `**Quick run**: ${options.runs} round(s), ~${RUN_SECONDS.quick} s runs, ${options.failovers} failover(s). ` +
      'It checks that the benchmark works; its figures are indicative only.');
  }
  const busiest = Math.max(Number(results.loadAtStart), Number(load()));
  if (busiest > 1) {
    lines.push('', `**Preliminary figures**: the machine was busy with other work (load average up to ${busiest.toFixed(1)} on ` +
      `${cpus().length} CPUs), so ops/s and latencies are noisy; rerun on a quiet machine for reference figures.`);
  }
  lines.push('', '## Machine and method', '');
  lines.push(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; ` +
    `${results.versions}. Load average (1 min) ${results.loadAtStart} at the start, ${load()} at the end ` +
    '(above ~1, other work shared the 2 CPUs and ops/s and latencies are noisy).');
  lines.push('- Redis Cluster: 6 `redis-server` processes (`--save \'\' --appendonly no`), made 3 masters + 3 replicas by ' +
    '`redis-cli --cluster create ... --cluster-replicas 1`; its replication is asynchronous.');
  if (options.candidate === 'slotraft') {
    lines.push('- slotraft: 3 `slotraft server` processes started with the same `--cluster-init` list: 16 shard Raft groups, ' +
      'each slot range replicated on the 3 nodes, leaders balanced; a write is acknowledged once a majority has it.');
  } else {
    lines.push('- Candidate: a second, identical Redis Cluster (ratios should be ~1; how far they are from 1 is the noise of the method).');
  }
  lines.push(pinning
    ? `- Pinned: every server process of both clusters on CPU ${SERVER_CPU} and redis-benchmark on CPU ${CLIENT_CPU} (\`taskset -a -p -c 0 PID\` once started, \`taskset -c 1\` for the client), as in \`bench/run.ts\`.`
    : '- Not pinned (`--no-pin`, or fewer than 2 CPUs): servers and redis-benchmark share the CPUs.');
  lines.push(`- \`redis-benchmark --cluster -c ${CLIENTS}\`: it reads CLUSTER NODES and spreads the clients over the masters; ` +
    'each pipeline goes to a random slot of its node (the key is `key:{tag}:__rand_int__`, 3-byte values). GET runs after SET.');
  lines.push(`- Before measuring, each cluster is ready (every node says \`cluster_state:ok\`) and settled (CLUSTER SLOTS unchanged ` +
    `for ${STABLE_MS / 1000} s: slotraft balances its shard leaders after it says ok).`);
  lines.push(`- A warm-up run of each workload on each cluster sizes \`-n\` so that a run lasts ~${options.quick ? RUN_SECONDS.quick : RUN_SECONDS.full} s ` +
    `on that cluster; then ${options.runs} round(s), in which the two clusters alternate (and which goes first alternates). Medians are shown.`);
  lines.push(`- Both clusters run all the time; idle, over ${IDLE_SECONDS} s before the runs, Redis Cluster used ` +
    `${fmt(results.idle.redis * 100, 1)}% of a core and ${name} ${fmt(results.idle.candidate * 100, 1)}% (heartbeats, ticks).`);
  lines.push('- ops/s and client-observed p50/p99 come from redis-benchmark `--csv`; server CPU per op is Δ(utime+stime) summed over ' +
    'all the cluster\'s processes (`/proc/<pid>/stat`) ÷ requests: steadier than ops/s on a shared machine.');

  if (redoneRuns.length > 0) {
    lines.push(`- Redone runs (a run with error replies is redone once the cluster is ready, at most ${REDO_MAX} times): ` +
      redoneRuns.map((r) => `${r.cluster}: \`${r.error.replace(/`/g, "'")}\``).join('; ') + '.');
  }

  if (rows.length > 0) {
    lines.push('', '## Throughput and latency', '');
    lines.push(`| workload | test | Redis Cluster ops/s | ${name} ops/s | ratio | target | met | Redis p50 / p99 ms | ` +
      `${name} p50 / p99 ms | Redis CPU µs/op | ${name} CPU µs/op |`);
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) {
      const r = row.redis;
      const c = row.candidate;
      const ratio = c.ops / r.ops;
      const target = TARGETS[row.test];
      lines.push(`| ${row.workload.name} | ${row.test.toUpperCase()} | ${fmtInt(r.ops)} | ${fmtInt(c.ops)} | **${fmt(ratio, 3)}** | ` +
        `≥ ${target} | ${ratio >= target ? 'yes' : '**no**'} | ${fmt(r.p50, 3)} / ${fmt(r.p99, 3)} | ${fmt(c.p50, 3)} / ${fmt(c.p99, 3)} | ` +
        `${fmt(r.cpuUsPerOp)} | ${fmt(c.cpuUsPerOp)} |`);
    }
  }

  const timed = SIDES.filter((side) => (failovers[side]?.length ?? 0) > 0);
  if (timed.length > 0) {
    lines.push('', '## Failover: SIGKILL of the node serving a slot → first successful write to that slot', '');
    lines.push('Each round picks a new key, finds the node serving its slot with CLUSTER SLOTS (for slotraft: the leader ' +
      'of the slot\'s shard), checks that a SET of the key succeeds, SIGKILLs that node and times, from the kill, the first SET of ' +
      'the key that succeeds. The client starts at the killed node, follows MOVED at once, and after any other failure ' +
      `(refused connection, CLUSTERDOWN, TRYAGAIN, a ${ATTEMPT_TIMEOUT_MS} ms time-out) waits ${RETRY_MS} ms and tries the next node; ` +
      'so the figure is the servers\' failover time plus at most ~10 ms. The killed node is then restarted with the same ' +
      'command line and dir, and the next round waits until every node says `cluster_state:ok` again and CLUSTER SLOTS ' +
      `is unchanged for ${STABLE_MS / 1000} s. "restart → all ok" is the time from that restart until every node says ` +
      '`cluster_state:ok` (for slotraft: the node is back and has caught up enough to serve).', '');
    lines.push('| cluster | failovers | median ms | max ms | min ms | restart → all ok, median ms | answers seen while waiting (all rounds) |',
      '|---|---|---|---|---|---|---|');
    for (const side of timed) {
      const list = failovers[side]!;
      const times = list.map((f) => f.ms);
      const seen = new Map<string, number>();
      for (const f of list) for (const [k, n] of f.errors) seen.set(k, (seen.get(k) ?? 0) + n);
      const cluster = clusters[side];
      const label = cluster.kind === 'redis' ? `${cluster.label} (cluster-node-timeout ${REDIS_NODE_TIMEOUT_MS} ms)` : cluster.label;
      lines.push(`| ${label} | ${list.length} | **${fmt(median(times), 0)}** | **${fmt(Math.max(...times), 0)}** | ` +
        `${fmt(Math.min(...times), 0)} | ${fmt(median(list.map((f) => f.rejoinMs)), 0)} | ${[...seen].map(([k, n]) => `${k} ×${n}`).join(', ')} |`);
    }
    for (const side of timed) {
      lines.push('', `${clusters[side].label}, each round (ms): ${failovers[side]!.map((f) => fmt(f.ms, 0)).join(', ')}.`);
    }
  }

  lines.push('', '## Commands', '');
  lines.push(`Ports are the free ports of this run; DIR is a temporary dir${pinning ? '; each server is pinned by `taskset -a -p -c 0 PID` once started' : ''}.`, '', '```');
  const describe = (cluster: Cluster) => cluster.kind === 'redis'
    ? [`# ${cluster.label}: started by test/support/cluster-procs.ts (with --bind, --dir, --cluster-config-file, ` +
      '--cluster-announce-ip), settings read back with CONFIG GET; then redis-cli --cluster create ADDRESSES --cluster-replicas 1',
    ...cluster.commandLines]
    : [`# ${cluster.label}: started by test/support/cluster-procs.ts, exact command lines`, ...cluster.commandLines];
  lines.push(...describe(clusters.candidate), ...describe(clusters.redis));
  lines.push(`# each run (N from the warm-up run), against either cluster${pinning ? '; taskset -c 1 in front' : ''}`);
  for (const workload of WORKLOADS) {
    for (const test of TESTS) {
      lines.push(`redis-benchmark ${benchmarkArgs(clusters.candidate, workload.pipeline, 0, test).join(' ').replace('-n 0', '-n N')}`);
    }
  }
  lines.push('```', '', 'Reproduce: `npx tsc -p . && node dist/bench/cluster.js` (5 rounds, 20 failovers, writes this section) or ' +
    '`node dist/bench/cluster.js --quick` (1 round, 5 failovers, stdout only; add `--write` to write).');
  lines.push('', END_MARKER);
  return lines.join('\n');
}

/** Puts the section in place of the previous one, or after everything else (below run.ts's keep marker). */
function writeSection(path: string, section: string): void {
  let previous = '';
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    previous = '';
  }
  const begin = previous.indexOf(BEGIN_MARKER);
  const end = previous.indexOf(END_MARKER);
  let next: string;
  if (begin !== -1 && end > begin) {
    next = previous.slice(0, begin) + section + previous.slice(end + END_MARKER.length);
  } else {
    let head = previous;
    if (!head.includes(KEEP_MARKER)) head += (head === '' || head.endsWith('\n') ? '' : '\n') + '\n' + KEEP_MARKER + '\n';
    next = head + (head.endsWith('\n\n') ? '' : head.endsWith('\n') ? '\n' : '\n\n') + section + '\n';
  }
  writeFileSync(path, next);
}

async function versionsText(): Promise<string> {
  const redis = (await runTool('redis-server', ['--version'])).stdout.trim().match(/v=(\S+)/)?.[1] ?? '?';
  // Read-only git queries: which slotraft was measured.
  const head = (await runTool('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => null))?.stdout.trim() || '?';
  const dirty = (await runTool('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).catch(() => null))?.stdout.trim();
  return `Node ${process.version}, Redis ${redis}, slotraft at commit ${head}${dirty ? ' with uncommitted changes' : ''}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  pinning &&= options.pin;
  const startedAt = new Date();
  const loadAtStart = load();
  const clusters: Partial<Record<Side, Cluster>> = {};
  try {
    clusters.redis = await Cluster.start('Redis Cluster', {
      kind: 'redis', redisNodeTimeoutMs: options.failoverRedis ? REDIS_NODE_TIMEOUT_MS : REDIS_DEFAULT_NODE_TIMEOUT_MS,
    });
    progress(`Redis Cluster ready on ports ${clusters.redis.ports.join(',')}`);
    clusters.candidate = options.candidate === 'slotraft'
      ? await Cluster.start('slotraft', { kind: 'slotraft', nodes: 3 })
      : await Cluster.start('Redis Cluster #2', { kind: 'redis', redisNodeTimeoutMs: REDIS_NODE_TIMEOUT_MS });
    progress(`${clusters.candidate.label} ready on ports ${clusters.candidate.ports.join(',')}`);
    const both = clusters as Record<Side, Cluster>;
    const idle = await idleCpu(both);
    const rows = options.throughput ? await measure(both, options.runs, options.quick) : [];
    const failovers: Partial<Record<Side, FailoverResult[]>> = {};
    if (options.failovers > 0) {
      failovers.candidate = await timeFailovers(both.candidate, options.failovers);
      if (options.failoverRedis) failovers.redis = await timeFailovers(both.redis, options.failovers);
    }
    const section = report({ idle, options, rows, failovers, clusters: both, versions: await versionsText(), loadAtStart, startedAt });
    process.stdout.write(section + '\n');
    if (options.write && options.out !== '-') {
      writeSection(options.out, section);
      progress(`written to ${options.out}`);
    }
  } finally {
    await Promise.all([clusters.candidate?.stop(), clusters.redis?.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
