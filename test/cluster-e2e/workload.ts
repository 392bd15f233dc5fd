// The client workload of the end-to-end cluster tests: writers that own their keys and write
// increasing values, readers that read any key written so far, every operation recorded for the
// history checker (history.ts). Each loop is paced so that the client leaves CPU to the nodes.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type ClusterOptions } from 'ioredis';
import { seededRandom } from '../support/seeded-random.js';
import { HOST } from '../support/resp-client.js';
import type { ProcCluster } from '../support/cluster-procs.js';
import { checkHistory, writeOutcomeOf, type HistoryReport, type Op } from './history.js';

export interface WorkloadOptions {
  writers?: number;
  readers?: number;
  /** Keys each writer cycles through (each lands in its own slot, mostly). */
  keysPerWriter?: number;
  /** Pause after each operation of a loop, in ms. */
  pauseMs?: number;
  seed?: number;
}

/** An ioredis Cluster client on every node of the cluster, set to ride out failovers. */
export function workloadClient(cluster: ProcCluster, extra: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster(cluster.nodes.map((n) => ({ host: HOST, port: n.port })), {
    scaleReads: 'master',
    maxRedirections: 64,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 1_000),
    redisOptions: { commandTimeout: 5_000, connectTimeout: 2_000, maxRetriesPerRequest: 20 },
    ...extra,
  });
}

export class Workload {
  readonly ops: Op[] = [];
  /** Every key written so far (also the retired ones): what readers and the final check read. */
  private readonly keys: string[] = [];
  private readonly keySet = new Set<string>();
  private running = false;
  private loops: Array<Promise<void>> = [];
  private readonly random: () => number;
  private readonly options: Required<WorkloadOptions>;

  constructor(private readonly client: Cluster, options: WorkloadOptions = {}) {
    this.options = { writers: 4, readers: 2, keysPerWriter: 40, pauseMs: 2, seed: 1, ...options };
    this.random = seededRandom(this.options.seed);
  }

  /** Milliseconds since the process started, as a float: the history's clock. */
  now(): number {
    return performance.now();
  }

  start(): void {
    this.running = true;
    for (let w = 0; w < this.options.writers; w++) this.loops.push(this.writer(w));
    for (let r = 0; r < this.options.readers; r++) this.loops.push(this.reader());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Reads every key ever written, once, after the loops stopped; failed reads are retried a few times. */
  async readAll(): Promise<number> {
    let failed = 0;
    for (const key of this.keys) {
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await this.read(key)) break;
        failed += 1;
        await sleep(200);
      }
    }
    return failed;
  }

  check(): HistoryReport {
    return checkHistory(this.ops);
  }

  /** The operations that failed, as text (for t.diagnostic). */
  failures(limit = 10): string[] {
    return this.ops.filter((op) => (op.kind === 'write' ? op.outcome !== 'ok' : op.value === undefined))
      .slice(0, limit).map((op) => `${op.kind} ${op.key} at ${op.start.toFixed(0)}: ${op.error}`);
  }

  private async writer(w: number): Promise<void> {
    const generation = Array.from({ length: this.options.keysPerWriter }, () => 0);
    let value = 0;
    for (let i = 0; this.running; i++) {
      const slot = i % generation.length;
      const key = `w${w}:k${slot}:g${generation[slot]}`;
      if (!this.keySet.has(key)) {
        this.keySet.add(key);
        this.keys.push(key);
      }
      value += 1;
      const start = this.now();
      try {
        await this.client.set(key, String(value));
        this.ops.push({ kind: 'write', key, value, start, end: this.now(), outcome: 'ok' });
      } catch (error) {
        const text = (error as Error).message;
        this.ops.push({ kind: 'write', key, value, start, end: this.now(), outcome: writeOutcomeOf(text), error: text });
        // The write may still take effect: never write this key again (see history.ts).
        generation[slot]! += 1;
      }
      await sleep(this.options.pauseMs);
    }
  }

  private async reader(): Promise<void> {
    while (this.running) {
      if (this.keys.length > 0) await this.read(this.keys[Math.floor(this.random() * this.keys.length)]!);
      await sleep(this.options.pauseMs);
    }
  }

  /** Reads one key and records it; true if the read succeeded. */
  private async read(key: string): Promise<boolean> {
    const start = this.now();
    try {
      const text = await this.client.get(key);
      const value = text === null ? null : Number(text);
      this.ops.push({ kind: 'read', key, start, end: this.now(), value });
      return true;
    } catch (error) {
      this.ops.push({ kind: 'read', key, start, end: this.now(), value: undefined, error: (error as Error).message });
      return false;
    }
  }
}

/** A one-line summary of a report, for t.diagnostic. */
export function summary(report: HistoryReport): string {
  return `writes ${JSON.stringify(report.writes)}, reads ${JSON.stringify(report.reads)}, ` +
    `longest gap without an acknowledged write ${report.longestWriteGap.ms.toFixed(0)} ms, errors ${JSON.stringify(report.errors)}`;
}
