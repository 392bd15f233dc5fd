// Starts the server under test for the compatibility tests, on free ports, and stops it.
// The target is slotraft (default) or a real redis-server configured as a one-node cluster that owns
// all 16384 slots (COMPAT_TARGET=redis), so every test can be checked against the real thing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, RedisParser, encodeRequest, freePort } from '../test/support/resp-client.js';

export { HOST, freePort };

export type TargetKind = 'slotraft' | 'redis';

export interface Target {
  readonly kind: TargetKind;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Sends one command on a fresh connection and resolves with the decoded RESP2 reply. */
  command(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;

/** The checkout root: dist/compat/harness.js -> ../.. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function targetKind(): TargetKind {
  const kind = process.env.COMPAT_TARGET ?? 'slotraft';
  if (kind !== 'slotraft' && kind !== 'redis') throw new Error(`COMPAT_TARGET must be slotraft or redis, not ${kind}`);
  return kind;
}

/** Sends one command on a new connection; rejects with the server's error text on an error reply. */
export function sendCommand(port: number, args: string[], timeoutMs = 2_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const finish = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`no reply to ${args[0]} within ${timeoutMs} ms`)), timeoutMs);
    const parser = new RedisParser({
      returnReply: (reply: unknown) => finish(null, reply),
      returnError: (err: Error) => finish(err),
      returnFatalError: (err: Error) => finish(err),
    });
    socket.on('data', (chunk) => parser.execute(chunk));
    socket.on('error', (err) => finish(err));
    socket.write(encodeRequest(args));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function spawnTarget(kind: TargetKind, port: number, busPort: number, dir: string, extraArgs: string[]): ChildProcess {
  if (kind === 'redis') {
    return spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
        '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', HOST,
        '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
  return spawn(
    process.execPath,
    [join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(port), '--dir', dir, '--admin-port', '0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function clusterStateOk(port: number): Promise<boolean> {
  try {
    const info = await sendCommand(port, ['CLUSTER', 'INFO'], 1_000);
    return typeof info === 'string' && info.includes('cluster_state:ok');
  } catch {
    return false;
  }
}

/**
 * Starts the target on free ports and resolves once it answers and CLUSTER INFO says
 * cluster_state:ok. A real redis-server is given all slots with CLUSTER ADDSLOTSRANGE first.
 */
export async function startTarget(options: { kind?: TargetKind; extraArgs?: string[] } = {}): Promise<Target> {
  const kind = options.kind ?? targetKind();
  const dir = mkdtempSync(join(tmpdir(), `slotraft-compat-${kind}-`));
  const port = await freePort();
  let busPort = await freePort();
  for (let tries = 0; busPort === port && tries < 10; tries++) busPort = await freePort();
  const child = spawnTarget(kind, port, busPort, dir, options.extraArgs ?? []);
  let output = '';
  const keep = (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // If the test process dies without running its after() hooks, do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited(child);
      clearTimeout(killer);
    }
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let slotsAdded = kind !== 'redis';
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${kind} exited during start-up (code ${child.exitCode}):\n${output}`);
      }
      if (Date.now() > deadline) throw new Error(`${kind} not ready within ${START_TIMEOUT_MS} ms:\n${output}`);
      if (!slotsAdded) {
        slotsAdded = await sendCommand(port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383'], 1_000).then(
          () => true,
          () => false,
        );
      } else if (await clusterStateOk(port)) {
        break;
      }
      await sleep(POLL_INTERVAL_MS);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    kind,
    host: HOST,
    port,
    pid: child.pid ?? 0,
    command: (...args: string[]) => sendCommand(port, args),
    stop,
  };
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command-line tool with a time limit; stdout/stderr are decoded as latin1 (raw bytes). */
export function runTool(
  command: string,
  args: string[],
  options: { input?: Buffer | string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('latin1'),
        stderr: Buffer.concat(stderr).toString('latin1'),
      });
    });
    // A tool may exit without reading its input: that is its business, not an error here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}

/** Removes the ANSI colour codes that redis-cli --cluster prints even into a pipe. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
