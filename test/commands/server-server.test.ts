import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply } from '../../src/resp/encoder.js';
import { ErrorReply, VerbatimReply, type Reply } from '../../src/resp/reply.js';
import { ClusterView } from '../../src/cluster/view.js';
import { bytesToHuman } from '../../src/commands/server/info.js';
import { loadCapture } from '../cluster/captures.js';
import { startRealClusterRedis } from '../support/real-redis.js';
import { fakeServer, NODE_ID, START_MS } from './server-fake.js';

const wire = async (reply: Reply | Promise<Reply>, resp: 2 | 3 = 2) => encodeReply(await reply, resp);
const errorText = async (reply: Reply | Promise<Reply>) => {
  const value = await reply;
  assert.ok(value instanceof ErrorReply, `expected an error, got ${JSON.stringify(value)}`);
  return value.message;
};
const infoOf = async (f: ReturnType<typeof fakeServer>, ...sections: string[]) =>
  ((await f.run('INFO', ...sections)) as VerbatimReply).text;

test('INFO default: sections in Redis order, CRLF lines, the fields tools read', async () => {
  const f = fakeServer();
  f.keyspace.set('a', '1', START_MS);
  f.keyspace.set('b', '2', START_MS, START_MS + 10_000_000);
  const text = await infoOf(f);
  assert.deepEqual(text.match(/^# \w+/gm), [
    '# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# CPU', '# Modules',
    '# Errorstats', '# Cluster', '# Keyspace',
  ]);
  assert.ok(!/[^\r]\n/.test(text), 'every line ends in CRLF');
  assert.ok(text.endsWith('\r\n') && !text.endsWith('\r\n\r\n'));
  const fields = new Map(text.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
  assert.equal(fields.get('redis_version'), '7.0.15');
  assert.equal(fields.get('redis_mode'), 'cluster');
  assert.equal(fields.get('os'), 'Linux 6.1.0 x86_64');
  assert.equal(fields.get('arch_bits'), '64');
  assert.equal(fields.get('process_id'), '4242');
  assert.equal(fields.get('run_id'), 'f'.repeat(40));
  assert.equal(fields.get('tcp_port'), '6379');
  assert.equal(fields.get('uptime_in_seconds'), '65');
  assert.equal(fields.get('hz'), '10');
  assert.equal(fields.get('executable'), '/usr/bin/slotraft');
  assert.equal(fields.get('config_file'), '');
  assert.equal(fields.get('connected_clients'), '3');
  assert.equal(fields.get('maxclients'), '10000');
  assert.equal(fields.get('blocked_clients'), '0');
  assert.equal(fields.get('used_memory'), String(f.keyspace.usedMemoryBytes()));
  assert.equal(fields.get('used_memory_rss'), String(50 * 1024 * 1024));
  assert.equal(fields.get('used_memory_rss_human'), '50.00M');
  assert.equal(fields.get('maxmemory'), '0');
  assert.equal(fields.get('maxmemory_policy'), 'noeviction');
  assert.equal(fields.get('loading'), '0');
  assert.equal(fields.get('total_connections_received'), '12');
  assert.equal(fields.get('total_commands_processed'), '345');
  assert.equal(fields.get('expired_keys'), '2');
  assert.equal(fields.get('keyspace_hits'), '5');
  assert.equal(fields.get('keyspace_misses'), '6');
  assert.equal(fields.get('total_error_replies'), '4');
  assert.equal(fields.get('role'), 'master');
  assert.equal(fields.get('connected_slaves'), '0');
  assert.equal(fields.get('used_cpu_user'), '1.500000');
  assert.equal(fields.get('used_cpu_sys'), '0.250000');
  assert.equal(fields.get('errorstat_ERR'), 'count=3');
  assert.equal(fields.get('errorstat_WRONGTYPE'), 'count=1');
  assert.equal(fields.get('cluster_enabled'), '1');
  assert.equal(fields.get('db0'), 'keys=2,expires=1,avg_ttl=0');
  assert.ok(!fields.has('cmdstat_get'), 'commandstats only when asked');
});

test('INFO with sections, all/everything, unknown names; RESP3 verbatim', async () => {
  const f = fakeServer();
  assert.equal(await infoOf(f, 'cluster'), '# Cluster\r\ncluster_enabled:1\r\n');
  assert.equal(await infoOf(f, 'KEYSPACE', 'cluster'), '# Cluster\r\ncluster_enabled:1\r\n\r\n# Keyspace\r\n');
  assert.equal(await infoOf(f, 'modules'), '# Modules\r\n');
  assert.equal(await infoOf(f, 'foo'), '');
  assert.equal(await wire(f.run('INFO', 'cluster'), 3), '=34\r\ntxt:# Cluster\r\ncluster_enabled:1\r\n\r\n');
  const all = await infoOf(f, 'all');
  assert.deepEqual(all.match(/^# \w+/gm), [
    '# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# CPU', '# Modules',
    '# Commandstats', '# Errorstats', '# Latencystats', '# Cluster', '# Keyspace',
  ]);
  assert.match(all, /\r\ncmdstat_get:calls=3,usec=10,usec_per_call=3\.33,rejected_calls=0,failed_calls=1\r\n/);
  assert.equal(await infoOf(f, 'everything'), all);
  assert.equal(await infoOf(f, 'commandstats'), '# Commandstats\r\ncmdstat_get:calls=3,usec=10,usec_per_call=3.33,rejected_calls=0,failed_calls=1\r\n');
  f.ctx.server.loading = () => true;
  assert.match(await infoOf(f, 'persistence'), /^# Persistence\r\nloading:1\r\n/);
});

test('INFO replication of a node that only follows a shard', async () => {
  const f = fakeServer();
  const leader = 'a'.repeat(40);
  f.setView(new ClusterView({
    myId: NODE_ID,
    nodes: [
      { id: NODE_ID, ip: '127.0.0.1', port: 6379, busPort: 16379 },
      { id: leader, ip: '127.0.0.2', port: 7000, busPort: 17000 },
    ],
    shards: [{ id: 's'.repeat(40), slots: [{ start: 0, end: 16383 }], leaderId: leader, replicas: [{ nodeId: NODE_ID, caughtUp: true }] }],
  }));
  assert.match(await infoOf(f, 'replication'), /^# Replication\r\nrole:slave\r\nmaster_host:127\.0\.0\.2\r\nmaster_port:7000\r\nmaster_link_status:up\r\n/);
  assert.equal(await wire(f.run('ROLE')), '*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.2\r\n:7000\r\n$9\r\nconnected\r\n:0\r\n');
  assert.match(await wire(f.run('HELLO')), /\$4\r\nrole\r\n\$7\r\nreplica\r\n/);
  assert.equal(await wire(f.run('WAIT', '1', '0')), ':0\r\n');
});

test('bytesToHuman as Redis', () => {
  assert.equal(bytesToHuman(0), '0B');
  assert.equal(bytesToHuman(1023), '1023B');
  assert.equal(bytesToHuman(1914304), '1.83M');
  assert.equal(bytesToHuman(25276502016), '23.54G');
});

test('COMMAND INFO get, COUNT, GETKEYS, DOCS as captured', async () => {
  const captured = loadCapture('command.txt');
  const f = fakeServer();
  assert.equal(await wire(f.run('COMMAND', 'INFO', 'get')), captured.get('COMMAND INFO get'));
  assert.equal(await wire(f.run('COMMAND', 'INFO', 'nonexist', 'GET')), '*2\r\n$-1\r\n' + captured.get('COMMAND INFO get')!.slice(4));
  assert.equal(await wire(f.run('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')), captured.get('COMMAND GETKEYS MSET a 1 b 2'));
  assert.equal(await errorText(f.run('COMMAND', 'GETKEYS', 'foo', 'a')), 'ERR Invalid command specified');
  assert.equal(await errorText(f.run('COMMAND', 'GETKEYS', 'mset', 'a')), 'ERR Invalid number of arguments specified for command');
  assert.equal(await errorText(f.run('COMMAND', 'GETKEYS', 'ping', 'x')), 'ERR The command has no key arguments');
  assert.equal(await errorText(f.run('COMMAND', 'GETKEYS', 'get')), "ERR wrong number of arguments for 'command|getkeys' command");
  assert.equal(await wire(f.run('COMMAND', 'GETKEYS', 'memory', 'usage', 'k')), '*1\r\n$1\r\nk\r\n');
  assert.equal(await wire(f.run('COMMAND', 'COUNT')), `:${f.table.size}\r\n`);
  assert.equal(await errorText(f.run('COMMAND', 'COUNT', 'x')), "ERR wrong number of arguments for 'command|count' command");
  assert.equal(await errorText(f.run('COMMAND', 'FOO')), "ERR unknown subcommand 'FOO'. Try COMMAND HELP.");
  assert.equal(
    await wire(f.run('COMMAND', 'DOCS', 'ping', 'nonexist')),
    '*2\r\n$4\r\nping\r\n*6\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n',
  );
  // The whole table, one entry per command, subcommands nested.
  const all = (await f.run('COMMAND')) as Reply[][];
  assert.equal(all.length, f.table.size);
  const client = all.find((entry) => entry[0] === 'client')!;
  assert.ok((client[9] as Reply[][]).some((s) => s[0] === 'client|setname' && s[1] === 3));
  // RESP3: flags, categories, tips and key specs are sets.
  assert.ok((await wire(f.run('COMMAND', 'INFO', 'ping'), 3)).startsWith('*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n~2\r\n'));
});

test('COMMAND LIST with FILTERBY', async () => {
  const f = fakeServer();
  const names = (await f.run('COMMAND', 'LIST')) as string[];
  assert.ok(names.includes('get') && names.includes('config|get') && names.includes('cluster|slots'));
  assert.deepEqual(await f.run('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'config*'), ['config', 'config|get', 'config|set', 'config|resetstat', 'config|rewrite', 'config|help']);
  const connection = (await f.run('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'connection')) as string[];
  assert.ok(connection.includes('ping') && connection.includes('client|list') && !connection.includes('get'));
  assert.deepEqual(await f.run('COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'x'), []);
  assert.equal(await errorText(f.run('COMMAND', 'LIST', 'FILTERBY', 'foo', 'x')), 'ERR syntax error');
  assert.equal(await errorText(f.run('COMMAND', 'LIST', 'foo')), 'ERR syntax error');
});

test('CONFIG GET/SET/RESETSTAT/REWRITE', async () => {
  const f = fakeServer();
  assert.equal(await wire(f.run('CONFIG', 'GET', 'save')), '*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
  assert.equal(await wire(f.run('CONFIG', 'GET', 'appendonly')), '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  assert.equal(await wire(f.run('CONFIG', 'GET', 'appendonly'), 3), '%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  assert.equal(await wire(f.run('CONFIG', 'GET', 'nonexist')), '*0\r\n');
  assert.equal(await errorText(f.run('CONFIG', 'GET')), "ERR wrong number of arguments for 'config|get' command");
  assert.equal(await wire(f.run('CONFIG', 'SET', 'maxmemory', '100')), '+OK\r\n');
  assert.equal(f.config.value('maxmemory'), '100');
  assert.equal(await errorText(f.run('CONFIG', 'SET', 'foo', 'bar')), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  assert.equal(await errorText(f.run('CONFIG', 'SET', 'maxmemory')), "ERR wrong number of arguments for 'config|set' command");
  assert.equal(await errorText(f.run('CONFIG', 'SET', 'maxmemory', '1', 'hz')), "ERR wrong number of arguments for 'config|set' command");
  assert.equal(await wire(f.run('CONFIG', 'RESETSTAT')), '+OK\r\n');
  assert.equal(f.calls.resetStats, 1);
  assert.equal(await errorText(f.run('CONFIG', 'REWRITE')), 'ERR The server is running without a config file');
  assert.equal(await errorText(f.run('CONFIG', 'FOO')), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
});

test('FLUSHALL/FLUSHDB, TIME, LASTSAVE, SAVE, BGSAVE, SHUTDOWN, DEBUG, WAIT, ROLE', async () => {
  const f = fakeServer();
  f.keyspace.set('k', 'v', START_MS);
  assert.equal(await wire(f.run('FLUSHALL')), '+OK\r\n');
  assert.equal(f.keyspace.size(), 0);
  assert.equal(await wire(f.run('FLUSHDB', 'async')), '+OK\r\n');
  assert.equal(await wire(f.run('FLUSHALL', 'SYNC')), '+OK\r\n');
  assert.equal(f.calls.flushAll, 3);
  assert.equal(await errorText(f.run('FLUSHALL', 'LATER')), 'ERR syntax error');
  assert.equal(await errorText(f.run('FLUSHDB', 'ASYNC', 'x')), 'ERR syntax error');
  assert.equal(f.calls.flushAll, 3);
  f.nowMs = 1795321857615;
  assert.equal(await wire(f.run('TIME')), '*2\r\n$10\r\n1795321857\r\n$6\r\n615000\r\n');
  assert.equal(await wire(f.run('LASTSAVE')), `:${START_MS / 1000}\r\n`);
  assert.equal(await wire(f.run('SAVE')), '+OK\r\n');
  assert.equal(await wire(f.run('BGSAVE')), '+Background saving started\r\n');
  assert.equal(await errorText(f.run('BGSAVE', 'x')), 'ERR syntax error');
  assert.equal(await errorText(f.run('SHUTDOWN', 'ABORT')), 'ERR No shutdown in progress.');
  assert.equal(await errorText(f.run('SHUTDOWN', 'WHENEVER')), 'ERR syntax error');
  assert.equal(f.calls.shutdown, 0);
  await f.run('SHUTDOWN', 'NOSAVE');
  assert.equal(f.calls.shutdown, 1);
  assert.equal(await wire(f.run('DEBUG', 'SLEEP', '0')), '+OK\r\n');
  assert.match(await errorText(f.run('DEBUG', 'OBJECT', 'k')), /^ERR DEBUG command not allowed\./);
  assert.equal(await wire(f.run('WAIT', '0', '0')), ':0\r\n');
  assert.equal(await errorText(f.run('WAIT', 'x', '0')), 'ERR value is not an integer or out of range');
  assert.equal(await errorText(f.run('WAIT', '1', '-1')), 'ERR timeout is negative');
  assert.equal(await wire(f.run('ROLE')), '*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n');
});

test('MEMORY USAGE, LATENCY, SLOWLOG, FUNCTION', async () => {
  const f = fakeServer();
  f.keyspace.set('foo', 'bar', START_MS);
  const usage = (await f.run('MEMORY', 'USAGE', 'foo')) as number;
  assert.ok(Number.isInteger(usage) && usage > 6);
  assert.equal(await wire(f.run('MEMORY', 'USAGE', 'nokey')), '$-1\r\n');
  assert.equal(await errorText(f.run('MEMORY', 'USAGE', 'foo', 'SAMPLES', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(await errorText(f.run('MEMORY', 'USAGE', 'foo', 'BAR')), 'ERR syntax error');
  assert.equal(await errorText(f.run('MEMORY', 'FOO')), "ERR unknown subcommand 'FOO'. Try MEMORY HELP.");
  assert.equal(await wire(f.run('LATENCY', 'LATEST')), '*0\r\n');
  assert.equal(await wire(f.run('LATENCY', 'RESET')), ':0\r\n');
  assert.match(await wire(f.run('LATENCY', 'DOCTOR')), /^\$288\r\nI'm sorry, Dave/);
  assert.equal(await wire(f.run('SLOWLOG', 'GET')), '*0\r\n');
  assert.equal(await wire(f.run('SLOWLOG', 'LEN')), ':0\r\n');
  assert.equal(await wire(f.run('SLOWLOG', 'RESET')), '+OK\r\n');
  assert.equal(await errorText(f.run('SLOWLOG', 'GET', 'x')), 'ERR count should be greater than or equal to -1');
  assert.equal(await wire(f.run('FUNCTION', 'FLUSH')), '+OK\r\n');
  assert.equal(await wire(f.run('FUNCTION', 'LIST')), '*0\r\n');
});

test('COMMAND INFO and DOCS of the server, connection and cluster commands match a real redis-server', async () => {
  const f = fakeServer();
  const names = ['ping', 'echo', 'hello', 'auth', 'select', 'quit', 'reset', 'readonly', 'readwrite', 'asking', 'info',
    'flushall', 'flushdb', 'time', 'role', 'wait', 'lastsave', 'save', 'bgsave', 'shutdown', 'debug'];
  for (const parent of ['client', 'command', 'config', 'cluster', 'memory', 'latency', 'slowlog', 'function']) {
    for (const sub of f.table.get(parent)!.subcommands ?? []) names.push(`${parent}|${sub.name}`);
  }
  // Redis 7.2 additions (absent from 7.0), and a key spec whose flags differ from our derived ones.
  const known = new Set(['client|setinfo', 'client|no-touch', 'cluster|myshardid', 'memory|usage']);
  const redis = await startRealClusterRedis();
  try {
    const client = await redis.client();
    let compared = 0;
    for (const name of names) {
      if (known.has(name)) continue;
      const theirs = (await client.send(['COMMAND', 'INFO', name])).toString('latin1');
      assert.equal(await wire(f.run('COMMAND', 'INFO', name)), theirs, `COMMAND INFO ${name}`);
      const docs = (await client.send(['COMMAND', 'DOCS', name])).toString('latin1');
      const field = (text: string, key: string) => text.match(new RegExp(`\\$${key.length}\\r\\n${key}\\r\\n\\$\\d+\\r\\n([^\\r]*)`))?.[1];
      const ours = await wire(f.run('COMMAND', 'DOCS', name));
      for (const key of ['summary', 'since', 'group']) assert.equal(field(ours, key), field(docs, key), `COMMAND DOCS ${name} ${key}`);
      compared++;
    }
    assert.ok(compared > 60, `compared ${compared}`);
    client.close();
  } finally {
    await redis.stop();
  }
});
