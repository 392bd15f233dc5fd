// The INFO text: Redis 7.0's sections, field names and layout (`# Section` headers, `field:value`
// lines ending in CRLF, sections separated by an empty line). Fields that have no meaning here keep
// Redis's neutral values so that tools reading them find what they expect.

import type { ServerContext } from '../server-context.js';
import { REDIS_VERSION } from './connection.js';

type Lines = [string, string | number][];
type SectionRenderer = (ctx: ServerContext) => Lines;

/** Redis's one field, plus this node's Raft id in cluster mode (what `--join` asks a seed for). */
function clusterSection(ctx: ServerContext): Lines {
  const raftId = ctx.server.raftId?.() ?? 0;
  return raftId > 0 ? [['cluster_enabled', 1], ['slotraft_raft_id', raftId]] : [['cluster_enabled', 1]];
}

const SECTIONS: readonly [name: string, title: string, render: SectionRenderer][] = [
  ['server', 'Server', serverSection],
  ['clients', 'Clients', clientsSection],
  ['memory', 'Memory', memorySection],
  ['persistence', 'Persistence', persistenceSection],
  ['stats', 'Stats', statsSection],
  ['replication', 'Replication', replicationSection],
  ['cpu', 'CPU', cpuSection],
  ['modules', 'Modules', () => []],
  ['commandstats', 'Commandstats', commandstatsSection],
  ['errorstats', 'Errorstats', errorstatsSection],
  ['latencystats', 'Latencystats', () => []],
  ['cluster', 'Cluster', clusterSection],
  ['keyspace', 'Keyspace', keyspaceSection],
];

const DEFAULT_SECTIONS = new Set([
  'server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats',
  'cluster', 'keyspace',
]);
const ALL_SECTIONS = new Set(SECTIONS.map(([name]) => name));

/** INFO [section ...]: `default` when none is given; `all` and `everything` name every section. */
export function infoText(ctx: ServerContext, args: readonly string[]): string {
  const wanted = new Set<string>();
  if (args.length === 0) for (const name of DEFAULT_SECTIONS) wanted.add(name);
  for (const arg of args) {
    const name = arg.toLowerCase();
    if (name === 'default') for (const s of DEFAULT_SECTIONS) wanted.add(s);
    else if (name === 'all' || name === 'everything') for (const s of ALL_SECTIONS) wanted.add(s);
    else wanted.add(name);
  }
  const parts: string[] = [];
  for (const [name, title, render] of SECTIONS) {
    if (!wanted.has(name)) continue;
    let text = `# ${title}\r\n`;
    for (const [field, value] of render(ctx)) text += `${field}:${value}\r\n`;
    parts.push(text);
  }
  return parts.join('\r\n');
}

function serverSection(ctx: ServerContext): Lines {
  const { server } = ctx;
  const nowMs = server.nowMs();
  const uptimeSeconds = Math.floor((nowMs - server.stats.startedAtMs) / 1000);
  const hz = server.config.value('hz') ?? '10';
  return [
    ['redis_version', REDIS_VERSION],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', '0'],
    ['redis_mode', 'cluster'],
    ['os', server.process.os ?? ''],
    ['arch_bits', server.process.archBits ?? 64],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', 'epoll'],
    ['atomicvar_api', 'c11-builtin'],
    ['gcc_version', '0.0.0'],
    ['process_id', server.process.pid],
    ['process_supervised', 'no'],
    ['run_id', server.process.runId],
    ['tcp_port', server.process.tcpPort],
    ['server_time_usec', nowMs * 1000],
    ['uptime_in_seconds', uptimeSeconds],
    ['uptime_in_days', Math.floor(uptimeSeconds / 86400)],
    ['hz', hz],
    ['configured_hz', hz],
    // Redis's LRU clock: seconds modulo 2^24.
    ['lru_clock', Math.floor(nowMs / 1000) % 16777216],
    ['executable', server.process.executable],
    ['config_file', server.process.configFile],
    ['io_threads_active', 0],
  ];
}

function clientsSection(ctx: ServerContext): Lines {
  let connected = 0;
  for (const _session of ctx.server.clients()) connected++;
  return [
    ['connected_clients', connected],
    ['cluster_connections', 0],
    ['maxclients', ctx.server.config.value('maxclients') ?? '10000'],
    ['client_recent_max_input_buffer', 0],
    ['client_recent_max_output_buffer', 0],
    ['blocked_clients', ctx.blocking?.blockedClients() ?? 0],
    ['tracking_clients', 0],
    ['clients_in_timeout_table', 0],
  ];
}

/** What maxmemory is compared against: the keyspaces' own accounting. */
export function usedMemory(ctx: ServerContext): number {
  let total = 0;
  for (const keyspace of ctx.server.keyspaces()) total += keyspace.usedMemoryBytes();
  return total;
}

function memorySection(ctx: ServerContext): Lines {
  const used = usedMemory(ctx);
  const resources = ctx.server.resources?.();
  const rss = resources?.rssBytes ?? 0;
  const peak = Math.max(used, resources?.peakRssBytes ?? 0);
  const maxmemory = Number(ctx.server.config.value('maxmemory') ?? '0');
  return [
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', rss],
    ['used_memory_rss_human', bytesToHuman(rss)],
    ['used_memory_peak', peak],
    ['used_memory_peak_human', bytesToHuman(peak)],
    ['used_memory_dataset', used],
    ['maxmemory', maxmemory],
    ['maxmemory_human', bytesToHuman(maxmemory)],
    ['maxmemory_policy', ctx.server.config.value('maxmemory-policy') ?? 'noeviction'],
    ['mem_fragmentation_ratio', used > 0 && rss > 0 ? (rss / used).toFixed(2) : '0.00'],
    ['mem_allocator', 'libc'],
    ['lazyfree_pending_objects', 0],
  ];
}

function persistenceSection(ctx: ServerContext): Lines {
  const loading = ctx.server.loading?.() ?? false;
  return [
    ['loading', loading ? 1 : 0],
    ['async_loading', 0],
    ['rdb_changes_since_last_save', 0],
    ['rdb_bgsave_in_progress', 0],
    ['rdb_last_save_time', Math.floor(ctx.server.stats.startedAtMs / 1000)],
    ['rdb_last_bgsave_status', 'ok'],
    ['aof_enabled', 0],
    ['aof_rewrite_in_progress', 0],
    ['aof_last_bgrewrite_status', 'ok'],
    ['aof_last_write_status', 'ok'],
  ];
}

function statsSection(ctx: ServerContext): Lines {
  const stats = ctx.server.stats;
  return [
    ['total_connections_received', stats.totalConnectionsReceived],
    ['total_commands_processed', stats.totalCommandsProcessed],
    ['instantaneous_ops_per_sec', 0],
    ['total_net_input_bytes', stats.totalNetInputBytes],
    ['total_net_output_bytes', stats.totalNetOutputBytes],
    ['rejected_connections', stats.rejectedConnections],
    ['expired_keys', stats.expiredKeys],
    ['evicted_keys', stats.evictedKeys],
    ['keyspace_hits', stats.keyspaceHits],
    ['keyspace_misses', stats.keyspaceMisses],
    ['pubsub_channels', ctx.pubsub?.channels('channel', null).length ?? 0],
    ['pubsub_patterns', ctx.pubsub?.patternCount() ?? 0],
    ['total_error_replies', stats.totalErrorReplies],
  ];
}

/**
 * Raft shards seen as Redis replication: a node leading shards is a master whose followers are its
 * slaves; a node that only follows is a slave of its shard's leader.
 */
function replicationSection(ctx: ServerContext): Lines {
  const view = ctx.server.cluster();
  const role = view.roleOf(view.myId);
  const lines: Lines = [];
  if (role.master) {
    const followers = new Map<string, number>();
    for (const shard of view.ledShards()) {
      for (const replica of shard.replicas) {
        if (replica.caughtUp) followers.set(replica.nodeId, replica.replicationOffset ?? 0);
      }
    }
    lines.push(['role', 'master'], ['connected_slaves', followers.size]);
    let index = 0;
    for (const [nodeId, offset] of followers) {
      const node = view.node(nodeId)!;
      lines.push([`slave${index++}`, `ip=${node.ip},port=${node.port},state=online,offset=${offset},lag=0`]);
    }
  } else {
    const master = view.node(role.masterId)!;
    lines.push(
      ['role', 'slave'],
      ['master_host', master.ip],
      ['master_port', master.port],
      ['master_link_status', master.linkState === 'connected' ? 'up' : 'down'],
      ['slave_read_only', 1],
      ['connected_slaves', 0],
    );
  }
  lines.push(
    ['master_failover_state', 'no-failover'],
    ['master_replid', ctx.server.process.runId],
    ['master_replid2', '0000000000000000000000000000000000000000'],
    ['master_repl_offset', 0],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
  );
  return lines;
}

function cpuSection(ctx: ServerContext): Lines {
  const resources = ctx.server.resources?.();
  const sys = (resources?.cpuSysSeconds ?? 0).toFixed(6);
  const user = (resources?.cpuUserSeconds ?? 0).toFixed(6);
  return [
    ['used_cpu_sys', sys],
    ['used_cpu_user', user],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
    ['used_cpu_sys_main_thread', sys],
    ['used_cpu_user_main_thread', user],
  ];
}

function commandstatsSection(ctx: ServerContext): Lines {
  const lines: Lines = [];
  for (const [name, stat] of ctx.server.stats.commands) {
    if (stat.calls === 0 && stat.rejected === 0 && stat.failed === 0) continue;
    const usec = Math.floor(stat.usec);
    const perCall = stat.calls === 0 ? 0 : usec / stat.calls;
    lines.push([
      `cmdstat_${name}`,
      `calls=${stat.calls},usec=${usec},usec_per_call=${perCall.toFixed(2)},` +
        `rejected_calls=${stat.rejected},failed_calls=${stat.failed}`,
    ]);
  }
  return lines;
}

function errorstatsSection(ctx: ServerContext): Lines {
  return [...ctx.server.stats.errorReplies].map(([code, count]) => [`errorstat_${code}`, `count=${count}`]);
}

function keyspaceSection(ctx: ServerContext): Lines {
  let keys = 0;
  let expires = 0;
  for (const keyspace of ctx.server.keyspaces()) {
    keys += keyspace.size();
    expires += keyspace.expiresCount();
  }
  return keys === 0 ? [] : [['db0', `keys=${keys},expires=${expires},avg_ttl=0`]];
}

/** Redis's bytesToHuman: `512B`, `1.83M`, `23.54G`... */
export function bytesToHuman(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (bytes < 1024) return `${bytes}B`;
  let value = bytes / 1024;
  for (const unit of units) {
    if (value < 1024 || unit === 'P') return `${value.toFixed(2)}${unit}`;
    value /= 1024;
  }
  return `${bytes}B`;
}
