// Real clusters of real processes on 127.0.0.1 for the end-to-end and compatibility tests: slotraft
// nodes started with --cluster-init, or a real Redis Cluster (3 masters + 3 replicas made by
// `redis-cli --cluster create`). Every port (client and bus) is chosen free, every node gets its own
// temp dir with its output captured to out.log, and a wait that times out prints the tails of the logs.
// No process outlives the test process: stop() kills what is left, and so does process exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, runTool, sendCommand } from '../../compat/harness.js';
import { HOST, freePort } from './resp-client.js';

export type ClusterKind = 'slotraft' | 'redis';

export interface ClusterOptions {
  kind?: ClusterKind;
  /** slotraft: the number of nodes (default 3). A Redis Cluster always has 3 masters + 3 replicas. */
  nodes?: number;
  /** Redis only: cluster-node-timeout in ms (how fast a dead master is failed over). */
  redisNodeTimeoutMs?: number;
  /** Redis only: keep an append-only file, so that a restarted node comes back with its data. */
  redisAppendOnly?: boolean;
  /** slotraft only: more command-line flags for every node (e.g. ['--appendfsync', 'always']). */
  extraArgs?: readonly string[];
  /** How long to wait for cluster_state:ok everywhere (default 30 s). */
  readyTimeoutMs?: number;
}

export interface ClusterNode {
  readonly index: number;
  readonly port: number;
  readonly busPort: number;
  /** slotraft: the READONLY port CLUSTER SLOTS names in replica entries; Redis: 0. */
  readonly replicaPort: number;
  readonly dir: string;
  /** The process's pid while it runs, else null. */
  readonly pid: number | null;
  readonly running: boolean;
}

export interface ProcCluster {
  readonly kind: ClusterKind;
  readonly secret: string;
  /** The --cluster-init list (slotraft) or the address list given to redis-cli --cluster create. */
  readonly initList: string;
  readonly nodes: readonly ClusterNode[];
  /** Sends one command to node i on a fresh connection (rejects with the error text on an error reply). */
  command(i: number, ...args: string[]): Promise<unknown>;
  /** Sends a signal to node i and waits until it has exited; resolves with its exit code (null if signalled). */
  kill(i: number, signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts node i again with exactly the same command line and dir. Does not wait for readiness. */
  restart(i: number): void;
  /** Waits until every running node (or the nodes given) reports cluster_state:ok. */
  waitClusterOk(options?: { nodes?: readonly number[]; timeoutMs?: number }): Promise<void>;
  /** The last bytes of node i's captured stdout/stderr. */
  tail(i: number, bytes?: number): string;
  /** Every node's tail, for a failure message. */
  tails(bytes?: number): string;
  /** Kills every node (SIGKILL) and removes the temp dirs (kept when KEEP_CLUSTER_DIRS is set). */
  stop(): Promise<void>;
}

/** A lone extra process (e.g. an intruder node) managed like the cluster's nodes. */
export interface ExtraProcess {
  readonly port: number;
  readonly busPort: number;
  readonly dir: string;
  readonly running: boolean;
  tail(bytes?: number): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const POLL_MS = 100;
const DEFAULT_READY_MS = 30_000;
const EXIT_WAIT_MS = 10_000;

// ---------------------------------------------------------------------------------------------------
// Process bookkeeping: every child started here is killed when the test process exits, whatever way.

const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Spawns a process with stdout and stderr appended to logPath, and tracks it until it exits. */
function spawnLogged(command: string, args: readonly string[], logPath: string): Spawned {
  installExitHooks();
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  liveChildren.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      liveChildren.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      liveChildren.delete(child);
      resolve(null);
    });
  });
  return { child, exited };
}

function isRunning(child: ChildProcess | null): boolean {
  return child !== null && child.exitCode === null && child.signalCode === null;
}

async function killAndWait(spawned: Spawned, signal: NodeJS.Signals, what: string): Promise<number | null> {
  if (!isRunning(spawned.child)) return spawned.child.exitCode;
  spawned.child.kill(signal);
  const abort = new AbortController();
  const timeout = sleep(EXIT_WAIT_MS, 'timeout' as const, { signal: abort.signal }).catch(() => 'exited' as const);
  const result = await Promise.race([spawned.exited, timeout]);
  abort.abort();
  if (result === 'timeout') {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    throw new Error(`${what} did not exit within ${EXIT_WAIT_MS} ms of ${signal}; killed it`);
  }
  return result === 'exited' ? spawned.child.exitCode : result;
}

function readTail(path: string, bytes: number): string {
  try {
    const size = statSync(path).size;
    const text = readFileSync(path, 'latin1');
    return text.slice(Math.max(0, size - bytes));
  } catch {
    return '(no output file)';
  }
}

/** `count` distinct ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > count * 20) throw new Error(`could not find ${count} distinct free ports`);
    ports.add(await freePort());
  }
  return [...ports];
}

export function clusterKind(): ClusterKind {
  const kind = process.env.COMPAT_TARGET ?? 'slotraft';
  if (kind !== 'slotraft' && kind !== 'redis') throw new Error(`COMPAT_TARGET must be slotraft or redis, not ${kind}`);
  return kind;
}

async function clusterStateOk(port: number): Promise<boolean> {
  try {
    const info = await sendCommand(port, ['CLUSTER', 'INFO'], 1_000);
    return typeof info === 'string' && info.includes('cluster_state:ok');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------

interface NodeSlot {
  index: number;
  port: number;
  busPort: number;
  /** slotraft: the READONLY port CLUSTER SLOTS names in replica entries; Redis: 0. */
  replicaPort: number;
  dir: string;
  logPath: string;
  args: string[];
  command: string;
  spawned: Spawned | null;
}

function slotraftArgs(port: number, busPort: number, dir: string, secret: string | null, initList: string): string[] {
  return [
    join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(port), '--cluster-port', String(busPort),
    '--dir', dir, '--admin-port', '0', ...(secret === null ? [] : ['--cluster-secret', secret]),
    '--cluster-init', initList,
  ];
}

function redisArgs(port: number, busPort: number, dir: string, options: ClusterOptions): string[] {
  return [
    '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
    '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', HOST,
    '--cluster-node-timeout', String(options.redisNodeTimeoutMs ?? 5_000),
    '--save', '', '--appendonly', options.redisAppendOnly ? 'yes' : 'no', '--appendfsync', 'always', '--dir', dir,
  ];
}

/** Starts an N-node cluster of separate processes and waits until every node says cluster_state:ok. */
export async function startCluster(options: ClusterOptions = {}): Promise<ProcCluster> {
  const kind = options.kind ?? clusterKind();
  const count = kind === 'redis' ? 6 : options.nodes ?? 3;
  const root = mkdtempSync(join(tmpdir(), `slotraft-cluster-${kind}-`));
  const ports = await freePorts(count * 3);
  const secret = randomBytes(12).toString('hex');
  const slots: NodeSlot[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(root, `n${i + 1}`);
    mkdirSync(dir, { recursive: true });
    slots.push({ index: i, port: ports[i]!, busPort: ports[count + i]!, replicaPort: kind === 'redis' ? 0 : ports[2 * count + i]!, dir, logPath: join(dir, 'out.log'), args: [],
      command: kind === 'redis' ? 'redis-server' : process.execPath, spawned: null });
  }
  const initList = slots.map((s) => `${HOST}:${s.port}@${s.busPort}`).join(',');
  for (const s of slots) {
    s.args = kind === 'redis'
      ? redisArgs(s.port, s.busPort, s.dir, options)
      : [
        ...slotraftArgs(s.port, s.busPort, s.dir, secret, initList),
        // Each node's READONLY port, which CLUSTER SLOTS names for its replica entries (ioredis scaleReads).
        '--replica-port', String(s.replicaPort),
        ...(options.extraArgs ?? []),
      ];
  }

  const start = (i: number) => {
    const s = slots[i]!;
    if (s.spawned && isRunning(s.spawned.child)) throw new Error(`node ${i} is still running`);
    s.spawned = spawnLogged(s.command, s.args, s.logPath);
  };

  const tail = (i: number, bytes = 3_000) => readTail(slots[i]!.logPath, bytes);
  const tails = (bytes = 2_000) =>
    slots.map((s) => `--- node ${s.index} (port ${s.port}, bus ${s.busPort}, ${isRunning(s.spawned?.child ?? null) ? 'running' : 'down'}) ---\n${tail(s.index, bytes)}`).join('\n');

  const waitClusterOk = async (waitOptions: { nodes?: readonly number[]; timeoutMs?: number } = {}) => {
    const timeoutMs = waitOptions.timeoutMs ?? options.readyTimeoutMs ?? DEFAULT_READY_MS;
    const deadline = Date.now() + timeoutMs;
    const wanted = waitOptions.nodes ?? slots.filter((s) => isRunning(s.spawned?.child ?? null)).map((s) => s.index);
    let pending = [...wanted];
    while (pending.length > 0) {
      for (const i of wanted) {
        if (!isRunning(slots[i]!.spawned?.child ?? null)) {
          throw new Error(`node ${i} exited (code ${slots[i]!.spawned?.child.exitCode}) while waiting for cluster_state:ok:\n${tails()}`);
        }
      }
      const states = await Promise.all(pending.map((i) => clusterStateOk(slots[i]!.port)));
      pending = pending.filter((_, k) => !states[k]);
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`cluster_state:ok not reported by nodes ${pending.join(', ')} within ${timeoutMs} ms:\n${tails()}`);
      }
      await sleep(POLL_MS);
    }
  };

  const stop = async () => {
    await Promise.all(slots.map(async (s) => {
      if (s.spawned) await killAndWait(s.spawned, 'SIGKILL', `node ${s.index}`).catch(() => {});
    }));
    if (!process.env.KEEP_CLUSTER_DIRS) rmSync(root, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < count; i++) start(i);
    if (kind === 'redis') await createRedisCluster(slots, tails);
    await waitClusterOk();
    if (kind === 'redis') {
      // cluster_state:ok comes before every replica has taken its role: wait for 3 replicas everywhere.
      await waitFor('3 replicas in every Redis node\'s CLUSTER NODES', async () => {
        const views = await Promise.all(slots.map((s) => sendCommand(s.port, ['CLUSTER', 'NODES'], 1_000).catch(() => '')));
        return views.every((text) => typeof text === 'string' && text.length > 0 &&
          parseClusterNodes(text).filter((line) => line.flags.includes('slave')).length === 3);
      }, options.readyTimeoutMs ?? DEFAULT_READY_MS, tails);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    kind,
    secret,
    initList,
    nodes: slots.map((s) => ({
      index: s.index, port: s.port, busPort: s.busPort, replicaPort: s.replicaPort, dir: s.dir,
      get pid() { return isRunning(s.spawned?.child ?? null) ? s.spawned!.child.pid ?? null : null; },
      get running() { return isRunning(s.spawned?.child ?? null); },
    })),
    command: (i, ...args) => sendCommand(slots[i]!.port, args, 5_000),
    kill: async (i, signal = 'SIGKILL') => {
      const s = slots[i]!;
      if (!s.spawned) throw new Error(`node ${i} was never started`);
      return killAndWait(s.spawned, signal, `node ${i}`);
    },
    restart: start,
    waitClusterOk,
    tail,
    tails,
    stop,
  };
}

/** Waits until every redis-server answers, then joins them with redis-cli --cluster create. */
async function createRedisCluster(slots: readonly NodeSlot[], tails: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const s of slots) {
    while (!(await sendCommand(s.port, ['PING'], 500).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${s.port} did not answer PING:\n${tails()}`);
      await sleep(50);
    }
  }
  const addresses = slots.map((s) => `${HOST}:${s.port}`);
  const result = await runTool('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'],
    { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`redis-cli --cluster create failed (${result.code}):\n${result.stdout}${result.stderr}`);
}

/**
 * Starts one more slotraft node next to a cluster, e.g. an intruder with a wrong or no secret. It
 * lists the cluster's members plus itself in --cluster-init, so it knows whom to talk to.
 */
export async function startExtraSlotraftNode(cluster: ProcCluster, secret: string | null): Promise<ExtraProcess> {
  const [port, busPort] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'slotraft-extra-node-'));
  const logPath = join(dir, 'out.log');
  const initList = `${cluster.initList},${HOST}:${port}@${busPort}`;
  const spawned = spawnLogged(process.execPath, slotraftArgs(port!, busPort!, dir, secret, initList), logPath);
  return {
    port: port!,
    busPort: busPort!,
    dir,
    get running() { return isRunning(spawned.child); },
    tail: (bytes = 3_000) => readTail(logPath, bytes),
    kill: async (signal = 'SIGKILL') => {
      const code = await killAndWait(spawned, signal, 'extra node');
      if (!process.env.KEEP_CLUSTER_DIRS) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Polls `probe` until it returns true; throws with `what` (and `detail()`) when the time is up. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number,
  detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(POLL_MS);
  }
}

/** Parses CLUSTER NODES text into one record per line. */
export interface NodesLine {
  id: string;
  address: string;
  port: number;
  flags: string[];
  masterId: string;
  linkState: string;
  slots: string[];
}

export function parseClusterNodes(text: string): NodesLine[] {
  return text.trim().split('\n').filter((line) => line.length > 0).map((line) => {
    const [id, address, flags, masterId, , , , linkState, ...slots] = line.trim().split(' ');
    const hostPort = (address ?? '').split('@')[0]!;
    return {
      id: id ?? '',
      address: address ?? '',
      port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
      flags: (flags ?? '').split(','),
      masterId: masterId ?? '',
      linkState: linkState ?? '',
      slots,
    };
  });
}
