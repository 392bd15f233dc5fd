// The admin HTTP endpoint: /metrics (Prometheus text from prom-client), /health (the process
// serves), /ready (every slot has a leader and loading is done). Metrics are computed when scraped,
// from the counters the server already keeps, so the command path pays nothing for them.

import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SlotraftServer } from './server.js';

export class AdminServer {
  readonly registry = new Registry();
  private http: Server | null = null;

  constructor(private readonly node: SlotraftServer) {
    collectDefaultMetrics({ register: this.registry, prefix: 'slotraft_' });
    this.defineMetrics();
  }

  /** Listens on host:port (0: any free port); resolves with the port. */
  async start(host: string, port: number): Promise<number> {
    const http = createServer((request, response) => {
      void this.handle(request.url ?? '/').then(({ status, type, body }) => {
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.http = http;
    const address = http.address();
    return typeof address === 'object' && address !== null ? address.port : port;
  }

  async close(): Promise<void> {
    const http = this.http;
    this.http = null;
    if (http === null) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    const text = 'text/plain; charset=utf-8';
    if (path === '/metrics') {
      return { status: 200, type: this.registry.contentType, body: await this.registry.metrics() };
    }
    if (path === '/health') return { status: 200, type: text, body: 'OK\n' };
    if (path === '/ready') {
      const ready = this.node.cluster().isOk;
      return { status: ready ? 200 : 503, type: text, body: ready ? 'READY\n' : 'NOT READY\n' };
    }
    return { status: 404, type: text, body: 'not found\n' };
  }

  private defineMetrics(): void {
    const node = this.node;
    const stats = node.stats;
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    /** A counter mirrored from a server counter at scrape time. */
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
    };
    gauge('slotraft_connected_clients', 'Client connections open.', () => node.connectedClients());
    gauge('slotraft_used_memory_bytes', 'Memory used by keys and values (estimate).', () => node.usedMemoryBytes());
    gauge('slotraft_maxmemory_bytes', 'The maxmemory setting (0: no limit).', () => node.config.number('maxmemory'));
    gauge('slotraft_keys', 'Keys stored on this node.', () => node.keyspaces().reduce((n, k) => n + k.size(), 0));
    gauge('slotraft_expires', 'Keys with a TTL.', () => node.keyspaces().reduce((n, k) => n + k.expiresCount(), 0));
    gauge('slotraft_cluster_state_ok', '1 when every slot has a shard with a leader.', () => (node.cluster().isOk ? 1 : 0));
    counter('slotraft_connections_received_total', 'Connections accepted.', () => stats.totalConnectionsReceived);
    counter('slotraft_connections_rejected_total', 'Connections refused (maxclients).', () => stats.rejectedConnections);
    counter('slotraft_commands_processed_total', 'Commands run.', () => stats.totalCommandsProcessed);
    counter('slotraft_expired_keys_total', 'Keys deleted because their time passed.', () => stats.expiredKeys);
    counter('slotraft_evicted_keys_total', 'Keys deleted by the maxmemory policy.', () => stats.evictedKeys);
    counter('slotraft_keyspace_hits_total', 'Reads that found their key.', () => stats.keyspaceHits);
    counter('slotraft_keyspace_misses_total', 'Reads that did not find their key.', () => stats.keyspaceMisses);
    counter('slotraft_net_input_bytes_total', 'Bytes read from clients.', () => stats.totalNetInputBytes);
    counter('slotraft_net_output_bytes_total', 'Bytes written to clients.', () => stats.totalNetOutputBytes);
    counter('slotraft_error_replies_total', 'Error replies sent.', () => stats.totalErrorReplies);
    const perCommand = (field: 'calls' | 'usec' | 'rejected' | 'failed', scale = 1) =>
      function (this: Counter<'command'>): void {
        this.reset();
        for (const [command, stat] of stats.commands) {
          if (stat[field] > 0) this.inc({ command }, stat[field] * scale);
        }
      };
    new Counter({
      name: 'slotraft_command_calls_total',
      help: 'Calls per command.',
      labelNames: ['command'],
      registers,
      collect: perCommand('calls'),
    });
    new Counter({
      name: 'slotraft_command_seconds_total',
      help: 'Time spent per command.',
      labelNames: ['command'],
      registers,
      collect: perCommand('usec', 1e-6),
    });
    new Counter({
      name: 'slotraft_command_rejected_total',
      help: 'Commands refused before running (arity, auth, routing, OOM).',
      labelNames: ['command'],
      registers,
      collect: perCommand('rejected'),
    });
    new Counter({
      name: 'slotraft_command_failed_total',
      help: 'Commands that ran and answered an error.',
      labelNames: ['command'],
      registers,
      collect: perCommand('failed'),
    });
    new Counter({
      name: 'slotraft_errors_total',
      help: 'Error replies per error code.',
      labelNames: ['code'],
      registers,
      collect(this: Counter<'code'>) {
        this.reset();
        for (const [code, count] of stats.errorReplies) this.inc({ code }, count);
      },
    });
  }
}
