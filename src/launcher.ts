// `slotraft cluster --nodes N --base-port P --dir D`: N local nodes on ports P..P+N-1 as one cluster, like
// Redis's create-cluster script. Each node is its own process (`slotraft server --cluster-init ...`), with
// its data in D/<port> and its log in D/<port>/node.log; the cluster secret is made once and kept in
// D/cluster-secret. Prints how to reach the nodes once every node reports cluster_state:ok; Ctrl-C or
// SIGTERM stops the nodes gracefully (each hands its leaderships away first).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { respCommand } from './server/resp-command.js';

export const CLUSTER_USAGE = `Usage: slotraft cluster [--nodes N] [--base-port P] [--dir D] [--replicas R] [--<directive> <value>...]

Starts N nodes (default 3) on ports P..P+N-1 (default 7000) as one cluster, data in D/<port> (default
./cluster). Other directives are passed to every node. Ctrl-C stops them all.
`;

const READY_TIMEOUT_MS = 60_000;
/** Each node's READONLY port (replica entries of CLUSTER SLOTS) is its client port + 20000. */
const REPLICA_PORT_OFFSET = 20000;

interface LauncherOptions {
  nodes: number;
  basePort: number;
  dir: string;
  passThrough: string[];
}

function parse(args: readonly string[]): LauncherOptions {
  const o: LauncherOptions = { nodes: 3, basePort: 7000, dir: './cluster', passThrough: [] };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (!flag.startsWith('--') || value === undefined) throw new Error(`bad argument '${flag}'\n\n${CLUSTER_USAGE}`);
    i++;
    if (flag === '--nodes') o.nodes = Number(value);
    else if (flag === '--base-port') o.basePort = Number(value);
    else if (flag === '--dir') o.dir = value;
    else o.passThrough.push(flag, value);
  }
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 100) throw new Error('--nodes must be 1..100');
  if (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.nodes - 1 + 10000 > 65535) {
    throw new Error('--base-port must leave room for the ports and their bus ports (+10000)');
  }
  return o;
}

/** A node's cluster_state (`ok`, `fail`), or null if it does not answer. */
function clusterState(port: number): Promise<string | null> {
  return respCommand('127.0.0.1', port, ['CLUSTER', 'INFO'], 1000).then(
    (text) => /cluster_state:(\w+)/.exec(text)?.[1] ?? null,
    () => null,
  );
}

export async function runCluster(args: readonly string[], slotraftBin: string): Promise<void> {
  const o = parse(args);
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  const secretPath = join(dir, 'cluster-secret');
  let secret = '';
  try {
    secret = readFileSync(secretPath, 'latin1').trim();
  } catch {
    secret = randomBytes(24).toString('hex');
    writeFileSync(secretPath, secret + '\n', { mode: 0o600 });
  }
  const ports = Array.from({ length: o.nodes }, (_, i) => o.basePort + i);
  const init = ports.map((p) => `127.0.0.1:${p}@${p + 10000}`).join(',');
  const children: ChildProcess[] = [];
  let stopping = false;
  for (const port of ports) {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const log = openSync(join(nodeDir, 'node.log'), 'a');
    const child = spawn(
      process.execPath,
      [
        slotraftBin, 'server', '--port', String(port), '--dir', nodeDir, '--cluster-secret', secret, '--cluster-init', init,
        ...(port + REPLICA_PORT_OFFSET <= 65535 ? ['--replica-port', String(port + REPLICA_PORT_OFFSET)] : []),
        ...o.passThrough,
      ],
      { stdio: ['ignore', log, log] },
    );
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`node ${port} exited (${signal ?? `status ${code}`}); see ${join(nodeDir, 'node.log')}\n`);
    });
    children.push(child);
  }
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping the cluster...\n');
    for (const child of children) child.kill('SIGTERM');
    void Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() =>
      process.exit(0),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  process.stdout.write(`starting ${o.nodes} nodes on ports ${ports[0]}-${ports[ports.length - 1]} (data in ${dir})\n`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!stopping) {
    const states = await Promise.all(ports.map(clusterState));
    if (states.every((s) => s === 'ok')) break;
    if (Date.now() > deadline) {
      process.stdout.write(`the cluster is not ready after ${READY_TIMEOUT_MS / 1000} s: ${states.map((s, i) => `${ports[i]}=${s ?? 'no answer'}`).join(' ')}\n`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (stopping) return;
  process.stdout.write(`cluster ready: ${o.nodes} nodes\n`);
  for (const port of ports) {
    process.stdout.write(`  127.0.0.1:${port}  (bus ${port + 10000}, admin ${port + 1000}, replica reads ${port + REPLICA_PORT_OFFSET}, data ${join(dir, String(port))})\n`);
  }
  process.stdout.write(`connect with: redis-cli -c -p ${ports[0]}\npress Ctrl-C to stop\n`);
}
