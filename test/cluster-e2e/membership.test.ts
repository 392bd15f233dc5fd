// A node joins a running 3-node cluster with `--join`, receives replicas and leaderships (placement moves
// replicas with learners, snapshots and joint consensus), then leaves again with CLUSTER FORGET: its
// replicas move back, it disappears from CLUSTER NODES, and no key is lost on the way. Real processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { ROOT } from '../../compat/harness.js';
import { freePorts, parseClusterNodes, startCluster, waitFor } from '../support/cluster-procs.js';

const KEYS = 300;

test('a node joins with --join, takes replicas and leaderships, and leaves with CLUSTER FORGET', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster({ kind: 'slotraft', nodes: 3 });
  const [port, busPort] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'slotraft-joiner-'));
  const logPath = join(dir, 'out.log');
  const log = openSync(logPath, 'a');
  const joiner = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(port), '--cluster-port', String(busPort), '--dir', dir,
      '--admin-port', '0', '--cluster-secret', cluster.secret, '--join', `127.0.0.1:${cluster.nodes[0]!.port}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  const client = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], { maxRedirections: 32 });
  t.after(async () => {
    client.disconnect();
    joiner.kill('SIGKILL');
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const detail = () => `joiner log:\n${readFileSync(logPath, 'latin1').slice(-3000)}\n${cluster.tails()}`;

  for (let i = 0; i < KEYS; i++) await client.set(`member:${i}`, `v${i}`);

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

  // Every key is still there, read through the cluster (some now from shards the joiner leads).
  for (let i = 0; i < KEYS; i++) assert.equal(await client.get(`member:${i}`), `v${i}`);

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
  assert.equal(counts.reduce((a, b) => Number(a) + Number(b), 0), KEYS, 'each key is counted once, on its shard leader');
});
