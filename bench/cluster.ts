// Cluster benchmark (issue 4): a 3-node slotraft cluster and a real Redis Cluster of 3 masters and 3
// replicas, side by side on this machine, driven by `redis-benchmark --cluster` (SET and GET, `-P 1` and
// `-P 16`), alternating the two clusters run by run; medians of the runs, ratios slotraft/Redis, p50/p99.
// Then the failover time of slotraft: SIGKILL the node leading a key's slot and time the first SET of
// that key that succeeds, through a client that follows MOVED and retries every ~10 ms.
// Writes its own section of docs/benchmarks.md (between the cluster-bench markers) and keeps the rest.
//
//   npx tsc -p . && node dist/bench/cluster.js              full run: 5 runs, 20 failovers, writes the docs
//   node dist/bench/cluster.js --quick                      1 run, 5 failovers, shorter runs, stdout only
//   options: --runs N, --failovers N, --write (with --quick), --out PATH, --failover-redis (also time
//   Redis Cluster's failover, with cluster-node-timeout REDIS_NODE_TIMEOUT_MS), --no-failover, --no-throughput
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, ROOT, freePort, runTool, sendCommand, stripAnsi } from '../compat/harness.js';
import { keySlot } from '../src/cluster/slot.js';

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

const SERVER_CPU = '0';
const CLIENT_CPU = '1';
let pinned = cpus().length >= 2;
const pin = (cpu: string, command: string, args: string[]): [string, string[]] =>
  pinned ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killEverything(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.once('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping every process started\n`);
    killEverything();
    process.exit(130);
  });
}

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

const OUTPUT_TAIL_MAX = 20_000;

/** One server process of a cluster; it can be killed and started again with the same command line. */
class ClusterNode {
  private child: ChildProcess | undefined;
  /** The last lines the process wrote (stdout and stderr), for error messages. */
  private output = '';

  constructor(
    readonly label: string,
    readonly port: number,
    readonly busPort: number,
    private readonly command: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get outputTail(): string {
    return this.output.slice(-4_000);
  }

  start(): void {
    if (this.running) throw new Error(`${this.label} is already running`);
    // taskset execs the server, so the child's pid is the server's.
    const [command, args] = pin(SERVER_CPU, this.command, this.args);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      if (this.output.length > OUTPUT_TAIL_MAX) this.output = this.output.slice(-OUTPUT_TAIL_MAX / 2);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    this.child = child;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  async waitExit(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(killer);
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    this.kill('SIGTERM');
    await this.waitExit(5_000);
  }

  /** Server CPU time (user + system, all threads) in seconds, from /proc/<pid>/stat. */
  cpuSeconds(): number {
    if (!this.running) return 0;
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime); the slice starts at field 3. 100 ticks/s on Linux.
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count && tries < count * 20; tries++) ports.add(await freePort());
  if (ports.size < count) throw new Error('could not find enough free ports');
  return [...ports];
}

async function clusterInfo(port: number): Promise<string> {
  const info = await sendCommand(port, ['CLUSTER', 'INFO'], 1_000).catch((err: Error) => err.message);
  return typeof info === 'string' ? info : String(info);
}

const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

/** A cluster of server processes on 127.0.0.1. */
class Cluster {
  constructor(
    readonly kind: Kind,
    readonly label: string,
    readonly nodes: ClusterNode[],
    private readonly dir: string,
    /** The command lines, with ports and dirs, for the report. */
    readonly commandLines: string[],
    /** How many nodes CLUSTER INFO must count (cluster_known_nodes). */
    private readonly knownNodes: number,
  ) {}

  /** Resolves once every running node says cluster_state:ok and knows every node. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (const node of this.nodes) {
      for (;;) {
        if (!node.running) throw new Error(`${node.label} exited:\n${node.outputTail}`);
        const info = await clusterInfo(node.port);
        if (info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${this.knownNodes}`)) break;
        if (performance.now() > deadline) {
          throw new Error(`${node.label} not ready within ${timeoutMs} ms (CLUSTER INFO: ${info.slice(0, 300)}):\n${node.outputTail}`);
        }
        await sleep(POLL_MS);
      }
    }
  }

  cpuSeconds(): number {
    return this.nodes.reduce((sum, node) => sum + node.cpuSeconds(), 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    removeTempDir(this.dir);
  }
}

/**
 * Redis's failover waits for cluster-node-timeout (default 15000 ms) before a replica takes over; a
 * shorter one keeps the optional Redis failover timing short. It does not touch the throughput runs.
 */
const REDIS_NODE_TIMEOUT_MS = 2_000;

async function startRedisCluster(label: string): Promise<Cluster> {
  const dir = makeTempDir('slotraft-cbench-redis-');
  const ports = await distinctFreePorts(12);
  const nodes: ClusterNode[] = [];
  const commandLines: string[] = [];
  for (let i = 0; i < 6; i++) {
    const port = ports[i]!;
    const busPort = ports[6 + i]!;
    const nodeDir = join(dir, `n${i + 1}`);
    mkdirSync(nodeDir);
    const args = [
      '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
      '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-announce-ip', HOST,
      '--cluster-node-timeout', String(REDIS_NODE_TIMEOUT_MS), '--save', '', '--appendonly', 'no', '--dir', nodeDir,
    ];
    nodes.push(new ClusterNode(`redis node ${i + 1} (:${port})`, port, busPort, 'redis-server', args));
    commandLines.push(`redis-server ${args.map(shellQuote).join(' ')}`.replaceAll(dir, 'DIR'));
  }
  const cluster = new Cluster('redis', label, nodes, dir, commandLines, 6);
  try {
    for (const node of nodes) node.start();
    for (const node of nodes) await waitAnswers(node);
    const createArgs = ['--cluster', 'create', ...nodes.map((node) => `${HOST}:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'];
    commandLines.push(`redis-cli ${createArgs.join(' ')}`);
    const created = await runTool('redis-cli', createArgs, { timeoutMs: 60_000 });
    if (created.code !== 0 || !created.stdout.includes('All 16384 slots covered')) {
      throw new Error(`redis-cli --cluster create failed:\n${stripAnsi(created.stdout + created.stderr)}`);
    }
    await cluster.waitReady();
    await waitReplicasInSync(nodes);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function waitAnswers(node: ClusterNode): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!node.running) throw new Error(`${node.label} exited during start-up:\n${node.outputTail}`);
    if ((await sendCommand(node.port, ['PING'], 1_000).catch(() => null)) === 'PONG') return;
    if (performance.now() > deadline) throw new Error(`${node.label} does not answer PING:\n${node.outputTail}`);
    await sleep(POLL_MS);
  }
}

/** Redis replicas do a full sync after `--cluster create`; wait for every link to be up. */
async function waitReplicasInSync(nodes: ClusterNode[]): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (const node of nodes) {
    for (;;) {
      const info = String(await sendCommand(node.port, ['INFO', 'replication'], 1_000).catch((err: Error) => err.message));
      if (info.includes('role:master') || info.includes('master_link_status:up')) break;
      if (performance.now() > deadline) throw new Error(`${node.label}: replica not in sync: ${info}`);
      await sleep(POLL_MS);
    }
  }
}

async function startSlotraftCluster(): Promise<Cluster> {
  const dir = makeTempDir('slotraft-cbench-slotraft-');
  const ports = await distinctFreePorts(6);
  const secret = `bench-${process.pid}`;
  const members = [0, 1, 2].map((i) => ({ port: ports[i]!, busPort: ports[3 + i]! }));
  const init = members.map((m) => `${HOST}:${m.port}@${m.busPort}`).join(',');
  const nodes: ClusterNode[] = [];
  const commandLines: string[] = [];
  members.forEach((member, i) => {
    const args = [
      join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(member.port), '--cluster-port', String(member.busPort),
      '--dir', join(dir, `n${i + 1}`), '--admin-port', '0', '--cluster-secret', secret, '--cluster-init', init,
    ];
    nodes.push(new ClusterNode(`slotraft node ${i + 1} (:${member.port})`, member.port, member.busPort, process.execPath, args));
    const shown = args.slice(0, -1).map((arg) => shellQuote(arg.replace(ROOT + '/', '').replace(dir, 'DIR')));
    commandLines.push(`node ${shown.join(' ')} "${init}"`);
  });
  const cluster = new Cluster('slotraft', 'slotraft', nodes, dir, commandLines, 3);
  try {
    for (const node of nodes) node.start();
    await cluster.waitReady();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function shellQuote(arg: string): string {
  return arg === '' ? "''" : /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// Throughput and latency

interface Workload {
  name: string;
  pipeline: number;
}

const WORKLOADS: Workload[] = [
  { name: '`-c 50 -P 1`', pipeline: 1 },
  { name: '`-c 50 -P 16`', pipeline: 16 },
];
const TESTS = ['set', 'get'] as const;
type Test = (typeof TESTS)[number];
const CLIENTS = 50;
/** Issue 4's targets: slotraft's throughput as a share of Redis Cluster's. */
const TARGETS: Record<Test, number> = { set: 0.4, get: 0.6 };

/** Each measured run is sized to last about this long, from a warm-up run of the same workload. */
const RUN_SECONDS = { full: 7, quick: 3 };
const WARMUP_REQUESTS = { 1: 50_000, 16: 400_000 } as Record<number, number>;
const REQUESTS_MIN = 20_000;
const REQUESTS_MAX = 20_000_000;

interface Sample {
  ops: number;
  p50: number;
  p99: number;
  cpuUsPerOp: number;
}

function benchmarkArgs(cluster: Cluster, pipeline: number, requests: number, test: Test): string[] {
  return ['-h', HOST, '-p', String(cluster.nodes[0]!.port), '--cluster', '-c', String(CLIENTS), '-P', String(pipeline),
    '-n', String(requests), '-t', test, '--csv'];
}

/** One redis-benchmark run of one test; CPU per op counts every server process of the cluster. */
async function benchmark(cluster: Cluster, pipeline: number, requests: number, test: Test): Promise<Sample> {
  const [command, args] = pin(CLIENT_CPU, 'redis-benchmark', benchmarkArgs(cluster, pipeline, requests, test));
  const cpuBefore = cluster.cpuSeconds();
  const result = await runTool(command, args, { timeoutMs: 300_000 });
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
        const warm = await benchmark(clusters[kind], workload.pipeline, WARMUP_REQUESTS[workload.pipeline]! / (quick ? 4 : 1), test);
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
        const sample = await benchmark(clusters[kind], row.workload.pipeline, row.requests[kind], row.test);
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
  const seedPorts = cluster.nodes.map((node) => node.port);
  for (let i = 0; i < count; i++) {
    // Keys spread over the slots, so that over the rounds different shards (and leaders) are killed.
    const key = `failover:${process.pid}:${i}`;
    const slot = keySlot(key);
    const live = cluster.nodes.find((node) => node.running)!;
    const ownerPort = await slotOwnerPort(live.port, slot);
    const victim = cluster.nodes.find((node) => node.port === ownerPort);
    if (!victim) throw new Error(`${cluster.label}: no node serves slot ${slot} (CLUSTER SLOTS on ${live.label})`);
    // The key's slot takes writes before the kill.
    await setUntilSuccess(key, 'before', victim.port, seedPorts, performance.now());
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    const result = await setUntilSuccess(key, 'after', victim.port, seedPorts, killedAt);
    results.push({ ...result, slot, killed: victim.label });
    progress(`failover ${i + 1}/${count} ${cluster.label}: slot ${slot}, killed ${victim.label}: ${result.ms.toFixed(1)} ms, ` +
      `${result.attempts} attempts (${[...result.errors].map(([k, n]) => `${k}×${n}`).join(' ')})`);
    await victim.waitExit(5_000);
    victim.start();
    await cluster.waitReady();
    if (cluster.kind === 'redis') await waitReplicasInSync(cluster.nodes);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const load = () => loadavg()[0]!.toFixed(2);

interface Results {
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
  const flags = [options.quick ? ' --quick --write' : '', options.candidate === 'redis' ? ' --candidate redis' : ''].join('');
  lines.push(`Generated by \`node dist/bench/cluster.js${flags}\` (\`bench/cluster.ts\`), started ${results.startedAt.toISOString()}.`);
  if (options.quick) {
    lines.push('', `**Quick run**: ${options.runs} round(s), ~${RUN_SECONDS.quick} s runs, ${options.failovers} failovers. ` +
      'It checks that the benchmark works; its figures are indicative only.');
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
  lines.push(pinned
    ? `- Pinned: every server process of both clusters on CPU ${SERVER_CPU} and redis-benchmark on CPU ${CLIENT_CPU} (\`taskset\`), as in \`bench/run.ts\`.`
    : '- Not pinned (`--no-pin`, or fewer than 2 CPUs): servers and redis-benchmark share the CPUs.');
  lines.push(`- \`redis-benchmark --cluster -c ${CLIENTS}\`: it reads CLUSTER NODES and spreads the clients over the masters; ` +
    'each pipeline goes to a random slot of its node (the key is `key:{tag}:__rand_int__`, 3-byte values). GET runs after SET.');
  lines.push(`- A warm-up run of each workload on each cluster sizes \`-n\` so that a run lasts ~${options.quick ? RUN_SECONDS.quick : RUN_SECONDS.full} s ` +
    `on that cluster; then ${options.runs} round(s), in which the two clusters alternate (and which goes first alternates). Medians are shown.`);
  lines.push('- ops/s and client-observed p50/p99 come from redis-benchmark `--csv`; server CPU per op is Δ(utime+stime) summed over ' +
    'all the cluster\'s processes (`/proc/<pid>/stat`) ÷ requests: steadier than ops/s on a shared machine.');

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
      lines.push(`| ${row.workload.name} | ${row.test.toUpperCase()} | ${fmtInt(r.ops)} | ${fmtInt(c.ops)} | **${fmt(ratio)}** | ` +
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
      'command line and dir, and the next round waits until every node says `cluster_state:ok` again.', '');
    lines.push('| cluster | failovers | median ms | max ms | min ms | answers seen while waiting (all rounds) |', '|---|---|---|---|---|---|');
    for (const side of timed) {
      const list = failovers[side]!;
      const times = list.map((f) => f.ms);
      const seen = new Map<string, number>();
      for (const f of list) for (const [k, n] of f.errors) seen.set(k, (seen.get(k) ?? 0) + n);
      const cluster = clusters[side];
      const label = cluster.kind === 'redis' ? `${cluster.label} (cluster-node-timeout ${REDIS_NODE_TIMEOUT_MS} ms)` : cluster.label;
      lines.push(`| ${label} | ${list.length} | **${fmt(median(times), 0)}** | **${fmt(Math.max(...times), 0)}** | ` +
        `${fmt(Math.min(...times), 0)} | ${[...seen].map(([k, n]) => `${k} ×${n}`).join(', ')} |`);
    }
    for (const side of timed) {
      lines.push('', `${clusters[side].label}, each round (ms): ${failovers[side]!.map((f) => fmt(f.ms, 0)).join(', ')}.`);
    }
  }

  lines.push('', '## Commands', '');
  lines.push(`Ports are the free ports of this run; DIR is a temporary dir${pinned ? '; `taskset -c 0` in front of each server' : ''}.`, '', '```');
  lines.push(`# ${name}`, ...clusters.candidate.commandLines);
  lines.push('# Redis Cluster', ...clusters.redis.commandLines);
  lines.push(`# each run (N from the warm-up run), against either cluster${pinned ? '; taskset -c 1 in front' : ''}`);
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
  return `Node ${process.version}, Redis ${redis}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  pinned &&= options.pin;
  const startedAt = new Date();
  const loadAtStart = load();
  const clusters: Partial<Record<Side, Cluster>> = {};
  try {
    clusters.redis = await startRedisCluster('Redis Cluster');
    progress(`Redis Cluster ready on ports ${clusters.redis.nodes.map((n) => n.port).join(',')}`);
    clusters.candidate = options.candidate === 'slotraft' ? await startSlotraftCluster() : await startRedisCluster('Redis Cluster #2');
    progress(`${clusters.candidate.label} ready on ports ${clusters.candidate.nodes.map((n) => n.port).join(',')}`);
    const both = clusters as Record<Side, Cluster>;
    const rows = options.throughput ? await measure(both, options.runs, options.quick) : [];
    const failovers: Partial<Record<Side, FailoverResult[]>> = {};
    if (options.failovers > 0) {
      failovers.candidate = await timeFailovers(both.candidate, options.failovers);
      if (options.failoverRedis) failovers.redis = await timeFailovers(both.redis, options.failovers);
    }
    const section = report({ options, rows, failovers, clusters: both, versions: await versionsText(), loadAtStart, startedAt });
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
