// A node joins a running 3-node cluster with `--join`, receives replicas and leaderships (placement moves
// replicas with learners, snapshots and joint consensus), then leaves again with CLUSTER FORGET: its
// replicas move back, it disappears from CLUSTER NODES, and no key is lost on the way. Real processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { ROOT } from '../../compat/harness.js';
import { freePorts, parseClusterNodes, startCluster, waitFor } from '../support/cluster-procs.js';

const KEYS = 300;
/** Enough bytes that each shard's snapshot is streamed in chunks rather than sent inside a Raft frame. */
const BIG_KEYS = 8000;
/** Incompressible (snapshots are LZ4-compressed): each shard's snapshot is a few hundred KiB. */
const bigValue = (i: number) => `${i}:${randomBytes(750).toString('base64')}`;

test('a node joins with --join, takes replicas and leaderships, and leaves with CLUSTER FORGET', { timeout: 120_000 }, async (t) => {
  // Small logs: the shards compact after a few entries, so the joiner needs their snapshots.
  const cluster = await startCluster({ kind: 'slotraft', nodes: 3, extraArgs: ['--raft-snapshot-entries', '20', '--raft-log-tail', '0'] });
  const client = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], { maxRedirections: 32 });
  let joiner: ReturnType<typeof spawn> | null = null;
  let dir = '';
  let logPath = '';
  t.after(async () => {
    client.disconnect();
    joiner?.kill('SIGKILL');
    await cluster.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });
  const detail = () => `joiner log:\n${readFileSync(logPath, 'latin1').slice(-3000)}\n${cluster.tails()}`;

  for (let i = 0; i < KEYS; i++) await client.set(`member:${i}`, `v${i}`);
  const big = Array.from({ length: BIG_KEYS }, (_, i) => bigValue(i));
  for (let i = 0; i < BIG_KEYS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => client.set(`big:${i + j}`, big[i + j]!)));
  }
  await new Promise((r) => setTimeout(r, 2500)); // a snapshot check runs every 2 s

  // The joiner starts now: the shards' logs are compacted, so it catches up from their snapshots.
  const [port, busPort] = await freePorts(2);
  dir = mkdtempSync(join(tmpdir(), 'slotraft-joiner-'));
  logPath = join(dir, 'out.log');
  const log = openSync(logPath, 'a');
  joiner = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(port), '--cluster-port', String(busPort), '--dir', dir,
      '--admin-port', '0', '--cluster-secret', cluster.secret, '--join', `127.0.0.1:${cluster.nodes[0]!.port}`,
      '--raft-snapshot-entries', '20', '--raft-log-tail', '0',
    ],
    { stdio: ['ignore', log, log] },
  );

  // The joiner shows in every node's CLUSTER NODES, holds replicas and leads its share of the 16 shards.
  const nodesOf = async (i: number) => parseClusterNodes(String(await cluster.command(i, 'CLUSTER', 'NODES')));
  let joinerId = '';
  await waitFor(
    'the joiner leading shards',
    async () => {
      const lines = await nodesOf(0);
      const line = lines.find((l) => l.address.startsWith(`127.0.0.1:${port}@`));
      if (line === undefined) return false;
      joinerId = line.id;
      return lines.length === 4 && line.flags.includes('master') && line.slots.length > 0;
    },
    60_000,
    detail,
  );
  const shards = (await cluster.command(0, 'CLUSTER', 'SHARDS')) as unknown[][];
  const withJoiner = shards.filter((s) => JSON.stringify(s).includes(joinerId)).length;
  t.diagnostic(`the joiner holds replicas of ${withJoiner} of ${shards.length} shards`);
  assert.ok(withJoiner >= 8, `the joiner should hold about 3/4 of the shards, holds ${withJoiner}`);

  // Every key is still there, read through the cluster (some now from shards the joiner leads, whose
  // data reached it as streamed snapshots).
  for (let i = 0; i < KEYS; i++) assert.equal(await client.get(`member:${i}`), `v${i}`);
  const bigValues = await Promise.all(Array.from({ length: BIG_KEYS }, (_, i) => client.get(`big:${i}`)));
  assert.equal(bigValues.filter((v, i) => v === big[i]).length, BIG_KEYS);
  assert.match(cluster.tails(1_000_000), /streaming a snapshot/);
  assert.ok(Number(await cluster.command(0, 'DBSIZE')) >= 0);

  // CLUSTER FORGET: the joiner's replicas and leaderships move away, then it leaves the metadata.
  assert.equal(await cluster.command(1, 'CLUSTER', 'FORGET', joinerId), 'OK');
  await waitFor(
    'the forgotten node gone from CLUSTER NODES',
    async () => {
      for (const i of [0, 1, 2]) {
        const lines = await nodesOf(i);
        if (lines.length !== 3 || lines.some((l) => l.id === joinerId)) return false;
      }
      return true;
    },
    60_000,
    detail,
  );
  await cluster.waitClusterOk();
  for (let i = 0; i < KEYS; i++) assert.equal(await client.get(`member:${i}`), `v${i}`);
  const counts = await Promise.all([0, 1, 2].map((i) => cluster.command(i, 'DBSIZE')));
  assert.equal(counts.reduce((a, b) => Number(a) + Number(b), 0), KEYS + BIG_KEYS, 'each key is counted once, on its shard leader');
});
