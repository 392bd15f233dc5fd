// Real clusters of real processes, with an ioredis Cluster client writing and reading all the time:
// - 3 and 5 nodes: each node in turn is SIGKILLed, kept down a moment, restarted and waited for; no
//   acknowledged write may be lost, every read must be linearizable (history.ts), and the longest time
//   without an acknowledged write stays bounded;
// - SIGTERM of a node: it hands its leaderships over first, so the client sees no error at all.
// The target is slotraft; COMPAT_TARGET=redis runs the same against a real Redis Cluster (3 masters +
// 3 replicas), which checks the test itself (Redis may lose writes on SIGKILL: it replicates async).
// SLOTRAFT_EXTRA_ARGS adds flags to every slotraft node (e.g. "--appendfsync always"), for digging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseClusterNodes, startCluster, waitFor, type ProcCluster } from '../support/cluster-procs.js';
import { Workload, summary, workloadClient } from './workload.js';

/** Generous, for a loaded 2-core machine; the real figure is printed with t.diagnostic. */
const MAX_WRITE_GAP_MS = 8_000;

async function withCluster(nodes: number, body: (cluster: ProcCluster) => Promise<void>): Promise<void> {
  // Redis: fail a dead master over fast, and keep its data on disk, as slotraft does.
  const cluster = await startCluster({ nodes, redisNodeTimeoutMs: 1_000, redisAppendOnly: true,
    extraArgs: process.env.SLOTRAFT_EXTRA_ARGS?.split(' ').filter((a) => a.length > 0) });
  try {
    await body(cluster);
  } catch (error) {
    // Waits of cluster-procs already print the logs; other failures get them here.
    if (!(error as Error).message.includes('--- node 0')) (error as Error).message += `\n${cluster.tails(1_500)}`;
    throw error;
  } finally {
    await cluster.stop();
  }
}

async function killRestartEachNode(t: { diagnostic(text: string): void }, nodes: number, downMs: number, settleMs: number) {
  await withCluster(nodes, async (cluster) => {
    const client = workloadClient(cluster);
    const workload = new Workload(client, { writers: 4, readers: 2, keysPerWriter: 50, seed: nodes });
    try {
      workload.start();
      await sleep(settleMs);
      // A Redis Cluster's replicas would just be killed and come back: kill its masters.
      const victims = cluster.kind === 'redis' ? [0, 1, 2] : cluster.nodes.map((n) => n.index);
      for (const i of victims) {
        const killedAt = workload.now();
        await cluster.kill(i, 'SIGKILL');
        await sleep(downMs);
        cluster.restart(i);
        await cluster.waitClusterOk({ timeoutMs: 30_000 });
        t.diagnostic(`node ${i} killed at ${killedAt.toFixed(0)} ms, back and cluster ok after ${(workload.now() - killedAt).toFixed(0)} ms`);
        await sleep(settleMs);
      }
      await workload.stop();
      await cluster.waitClusterOk();
      const failedFinalReads = await workload.readAll();
      const report = workload.check();
      t.diagnostic(summary(report));
      if (failedFinalReads > 0) t.diagnostic(`final read-back: ${failedFinalReads} failed attempts (retried)`);
      for (const failure of workload.failures()) t.diagnostic(failure);
      assert.deepEqual(report.violations, []);
      assert.ok(report.writes.ok > 200, `only ${report.writes.ok} acknowledged writes`);
      assert.ok(report.longestWriteGap.ms < MAX_WRITE_GAP_MS,
        `${report.longestWriteGap.ms.toFixed(0)} ms without an acknowledged write, from ${report.longestWriteGap.from.toFixed(0)} ms`);
    } finally {
      await workload.stop();
      client.disconnect();
    }
  });
}

test('3 nodes: SIGKILL and restart each node in turn under load: no acknowledged write lost', { timeout: 120_000 }, async (t) => {
  await killRestartEachNode(t, 3, 2_000, 2_000);
});

test('5 nodes: SIGKILL and restart each node in turn under load: no acknowledged write lost', { timeout: 120_000 }, async (t) => {
  await killRestartEachNode(t, 5, 1_500, 1_000);
});

test('SIGTERM of a node under load: the client sees no error, the node exits 0', { timeout: 60_000 }, async (t) => {
  await withCluster(3, async (cluster) => {
    const client = workloadClient(cluster);
    const workload = new Workload(client, { writers: 3, readers: 2, keysPerWriter: 40, seed: 7 });
    try {
      workload.start();
      await sleep(1_500);
      // The test means something only if the node leads shards when it is asked to stop.
      const slotsLedBy1 = async () => {
        const nodes = parseClusterNodes(String(await cluster.command(0, 'CLUSTER', 'NODES')));
        return nodes.find((n) => n.port === cluster.nodes[1]!.port)?.slots.length ?? 0;
      };
      await waitFor('node 1 to lead some slots', async () => (await slotsLedBy1()) > 0, 10_000);
      t.diagnostic(`node 1 leads ${await slotsLedBy1()} slot ranges when it gets SIGTERM`);
      const stoppedAt = workload.now();
      const code = await cluster.kill(1, 'SIGTERM');
      t.diagnostic(`node 1 exited with ${code} ${(workload.now() - stoppedAt).toFixed(0)} ms after SIGTERM`);
      assert.equal(code, 0);
      await sleep(2_000);
      await workload.stop();
      await workload.readAll();
      const report = workload.check();
      t.diagnostic(summary(report));
      for (const failure of workload.failures()) t.diagnostic(failure);
      assert.deepEqual(report.violations, []);
      assert.deepEqual({ ...report.writes, readsFailed: report.reads.failed },
        { ok: report.writes.ok, error: 0, unknown: 0, timeout: 0, readsFailed: 0 });
      assert.ok(report.writes.ok > 100, `only ${report.writes.ok} acknowledged writes`);
    } finally {
      await workload.stop();
      client.disconnect();
    }
  });
});
