// Test helper: a real redis-server (7.0.x) on free ports, to check slotraft's replies against the
// real thing side by side. Optionally cluster-enabled and owning all 16384 slots.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, ReplyBytesClient, connectSocket, freePort } from './resp-client.js';

export interface RedisServerOptions {
  /** Cluster mode, with all slots assigned to this one node. */
  cluster?: boolean;
  /** With cluster: also wait until CLUSTER INFO says cluster_state:ok (~1 s). */
  waitForClusterOk?: boolean;
  extraArgs?: readonly string[];
}

export interface RedisServer {
  readonly port: number;
  /** The cluster bus port (cluster mode only; 0 otherwise). */
  readonly busPort: number;
  /** Kills the server (and removes a cluster node's directory). */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const CONNECT_POLLS = 100;
const POLL_MS = 50;

/** Starts a redis-server on a free port and resolves once it accepts connections. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // A port can be taken between freePort() and the server's bind: then try again on another.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const server = await spawnRedisServer(options);
    if (await waitUntilConnectable(server)) {
      try {
        if (options.cluster) await claimAllSlots(server.port, options.waitForClusterOk ?? false);
      } catch (error) {
        await server.stop();
        throw error;
      }
      return server;
    }
    await server.stop();
  }
  throw new Error('could not start redis-server');
}

async function spawnRedisServer(options: RedisServerOptions): Promise<RedisServer & { child: ChildProcess }> {
  const port = await freePort();
  const busPort = options.cluster ? await freePort() : 0;
  // A cluster node needs a directory for its nodes.conf. A plain server keeps Redis's default bind:
  // with `--bind 127.0.0.1` the side-by-side TTL comparisons turned out flakier.
  const dir = options.cluster ? mkdtempSync(join(tmpdir(), 'slotraft-real-redis-')) : null;
  const clusterArgs = dir !== null
    ? ['--bind', HOST, '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'),
       '--cluster-port', String(busPort), '--cluster-announce-ip', HOST]
    : [];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', ...clusterArgs, ...(options.extraArgs ?? [])],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  };
  return { port, busPort, child, stop };
}

/** True once the server accepts a connection; false if it exited (e.g. its port was taken) or never did. */
async function waitUntilConnectable(server: { port: number; child: ChildProcess }): Promise<boolean> {
  for (let poll = 0; poll < CONNECT_POLLS; poll++) {
    // Wait before each attempt, as the first store harness did: its millisecond-exact side-by-side
    // TTL comparisons were flakier when a client connected the moment the port opened.
    await sleep(POLL_MS);
    const socket = await connectSocket(server.port).catch(() => null);
    if (socket !== null) {
      socket.destroy();
      return true;
    }
    if (server.child.exitCode !== null) return false;
  }
  return false;
}

async function claimAllSlots(port: number, waitForOk: boolean): Promise<void> {
  const admin = await ReplyBytesClient.connect(port);
  try {
    await admin.send(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
    for (let poll = 0; waitForOk && poll < CONNECT_POLLS; poll++) {
      const info = (await admin.send(['CLUSTER', 'INFO'])).toString('latin1');
      if (info.includes('cluster_state:ok')) break;
      await sleep(POLL_MS);
    }
  } finally {
    admin.close();
  }
}

/** A cluster-enabled redis-server owning all slots, with a byte-exact client factory. */
export interface RealClusterRedis extends RedisServer {
  client(): Promise<ReplyBytesClient>;
}

export async function startRealClusterRedis(options: { waitForOk?: boolean } = {}): Promise<RealClusterRedis> {
  const server = await startRedisServer({ cluster: true, waitForClusterOk: options.waitForOk ?? false });
  return { ...server, client: () => ReplyBytesClient.connect(server.port) };
}
