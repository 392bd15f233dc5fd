// Side-by-side benchmark: redis-benchmark against slotraft and against a real redis-server on this
// machine, alternating targets run by run so that machine noise hits both alike. Reports medians and
// the ratio slotraft/Redis for throughput, p99 latency, server CPU per op and RSS per million keys,
// and writes them as Markdown to stdout and docs/benchmarks.md.
//
//   npm run bench                 full run (5 runs per workload; several minutes; use a quiet machine)
//   npm run bench -- --quick      1 run with fewer requests, to check that everything works
//   options: --runs N, --out PATH (or --out - for stdout only), --candidate redis (compare Redis with
//   itself, to check the method: ratios should be ~1)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { CAN_PIN, CLIENT_CPU, SERVER_CPU, pinned } from './pinning.js';
import { join } from 'node:path';
import { HOST, ROOT, freePort, runTool, sendCommand } from '../compat/harness.js';

type Kind = 'redis' | 'slotraft';

interface Options {
  quick: boolean;
  runs: number;
  out: string;
  candidate: Kind;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, runs: 5, out: join(ROOT, 'docs', 'benchmarks.md'), candidate: 'slotraft' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--out') options.out = argv[++i] ?? '';
    else if (arg === '--candidate') options.candidate = argv[++i] as Kind;
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.quick && !argv.includes('--runs')) options.runs = 1;
  if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 50) throw new Error('--runs must be 1..50');
  if (options.candidate !== 'redis' && options.candidate !== 'slotraft') throw new Error('--candidate redis|slotraft');
  return options;
}

// ---------------------------------------------------------------------------------------------
// Servers

const pin = (cpu: string, command: string, args: string[]): [string, string[]] => pinned(CAN_PIN, cpu, command, args);

interface Server {
  label: string;
  kind: Kind;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(kind: Kind, label: string): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `slotraft-bench-${kind}-`));
  const [command, args] =
    kind === 'redis'
      ? pin(SERVER_CPU, 'redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir])
      : pin(SERVER_CPU, process.execPath, [join(ROOT, 'bin', 'slotraft.js'), 'server', '--port', String(port), '--dir', dir, '--admin-port', '0']);
  // taskset execs the server, so the child's pid is the server's.
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 10_000) stderr += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${label} exited during start-up: ${stderr}`);
    }
    const info = await sendCommand(port, ['CLUSTER', 'INFO'], 1_000).catch((err: Error) => err.message);
    // Plain Redis answers "ERR This instance has cluster support disabled"; slotraft must be ok.
    if (typeof info === 'string' && (info.includes('cluster_state:ok') || info.includes('cluster support disabled'))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label} not ready in 15 s (${String(info)}): ${stderr}`);
    }
    await sleep(50);
  }
  return { label, kind, port, pid: child.pid ?? 0, stop };
}

/** Server CPU time (user + system, all threads) in seconds, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime); the slice starts at field 3. Clock ticks are 100 Hz on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

// ---------------------------------------------------------------------------------------------
// Workloads

interface Workload {
  name: string;
  args: string[];
  requests: number;
  /** redis-benchmark tests (`-t`), each run and reported separately. */
  tests: readonly string[];
}

interface Sample {
  ops: number;
  p50: number;
  p99: number;
  cpuUsPerOp: number;
}

const STRING_TESTS = ['set', 'get'];
/** The data-type rows: redis-benchmark's own tests of lists, sets, hashes and sorted sets. */
const DATA_TYPE_TESTS = ['lpush', 'lpop', 'sadd', 'hset', 'zadd', 'lrange_100'];

function workloads(quick: boolean): { single: Workload[]; manyKeys: Workload; fill: Workload; dataTypes: Workload } {
  const scale = (n: number) => (quick ? n / 10 : n);
  const p1 = scale(200_000);
  const p16 = scale(2_000_000);
  const p16Args = ['-c', '50', '-P', '16', '-n', String(p16)];
  return {
    single: [
      { name: '`-c 50 -P 1`', args: ['-c', '50', '-P', '1', '-n', String(p1)], requests: p1, tests: STRING_TESTS },
      { name: '`-c 50 -P 16`', args: p16Args, requests: p16, tests: STRING_TESTS },
    ],
    manyKeys: {
      name: '`-c 50 -P 16 -r 1000000`',
      args: ['-c', '50', '-P', '16', '-r', '1000000', '-n', String(p16)],
      requests: p16,
      tests: STRING_TESTS,
    },
    // 2M random SETs over a 1M keyspace leave ~865k distinct keys with 3-byte values.
    fill: {
      name: 'fill',
      args: ['-c', '50', '-P', '16', '-r', '1000000', '-n', String(quick ? 500_000 : 2_000_000)],
      requests: 0,
      tests: ['set'],
    },
    // Each test works on one key (mylist, myset...); LRANGE_100 first fills mylist with its own LPUSHes.
    dataTypes: { name: '`-c 50 -P 16` data types', args: p16Args, requests: p16, tests: DATA_TYPE_TESTS },
  };
}

/**
 * One redis-benchmark run of one test. The server's CPU is read each time a CSV row appears, so a
 * test that redis-benchmark prepares with another (LRANGE_100 fills its list with LPUSHes, reported
 * first) is charged only for its own requests: the test's row is the last one.
 */
async function benchmark(server: Server, workload: Workload, test: string): Promise<Sample> {
  // stdbuf: redis-benchmark's stdout is a pipe here, which C would buffer until exit.
  const [command, args] = pin(CLIENT_CPU, 'stdbuf', ['-oL', 'redis-benchmark', '-h', HOST, '-p', String(server.port),
    ...workload.args, '-t', test, '--csv']);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let rowStartCpu = cpuSeconds(server.pid);
  let lastRowCpu = NaN;
  let linesSeen = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    const now = cpuSeconds(server.pid);
    stdout += chunk.toString('latin1');
    // The header line comes at once; each later complete line ends a test.
    const lines = stdout.split('\n').length - 1;
    for (; linesSeen < lines; linesSeen++) {
      if (linesSeen === 0) continue;
      lastRowCpu = now - rowStartCpu;
      rowStartCpu = now;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 10_000) stderr += chunk.toString('latin1');
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(killer);
  if (code !== 0 || /error/i.test(stdout + stderr)) {
    throw new Error(`redis-benchmark against ${server.label} failed (${code}): ${stdout}${stderr}`);
  }
  const lines = stdout.trim().split('\n').map((line) => line.split(',').map((cell) => cell.replace(/"/g, '')));
  const header = lines[0] ?? [];
  const row = lines[lines.length - 1] ?? [];
  const column = (name: string) => Number(row[header.indexOf(name)]);
  return {
    ops: column('rps'),
    p50: column('p50_latency_ms'),
    p99: column('p99_latency_ms'),
    cpuUsPerOp: workload.requests > 0 ? (lastRowCpu * 1e6) / workload.requests : NaN,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Row {
  workload: string;
  test: string;
  redis: Sample;
  candidate: Sample;
  runs: number;
}

function medianSample(samples: Sample[]): Sample {
  return {
    ops: median(samples.map((s) => s.ops)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuUsPerOp: median(samples.map((s) => s.cpuUsPerOp)),
  };
}

/** Runs each workload and test `runs` times, alternating Redis and the candidate within each run. */
async function measure(redis: Server, candidate: Server, list: Workload[], runs: number): Promise<Row[]> {
  const samples = new Map<string, { redis: Sample[]; candidate: Sample[] }>();
  for (let run = 0; run < runs; run++) {
    for (const workload of list) {
      for (const test of workload.tests) {
        const id = `${workload.name}|${test}`;
        const entry = samples.get(id) ?? { redis: [], candidate: [] };
        samples.set(id, entry);
        // Alternate which server goes first, so neither always runs on a warmer machine.
        const order = run % 2 === 0 ? [redis, candidate] : [candidate, redis];
        for (const server of order) {
          const sample = await benchmark(server, workload, test);
          (server === redis ? entry.redis : entry.candidate).push(sample);
          process.stderr.write(`run ${run + 1}/${runs} ${workload.name} ${test.toUpperCase()} ${server.label}: ` +
            `${Math.round(sample.ops)} ops/s p99 ${sample.p99} ms ${sample.cpuUsPerOp.toFixed(2)} us/op\n`);
        }
      }
    }
  }
  return [...samples].map(([id, entry]) => {
    const [workload = '', test = ''] = id.split('|');
    return { workload, test: test.toUpperCase(), redis: medianSample(entry.redis), candidate: medianSample(entry.candidate), runs };
  });
}

interface Memory {
  keys: number;
  rssBefore: number;
  rssAfter: number;
}

async function fillAndMeasureMemory(server: Server, fill: Workload): Promise<Memory> {
  const rssBefore = rssBytes(server.pid);
  const [command, args] = pin(CLIENT_CPU, 'redis-benchmark', ['-h', HOST, '-p', String(server.port), ...fill.args, '-t', fill.tests.join(','), '-q']);
  const result = await runTool(command, args, { timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`filling ${server.label} failed: ${result.stdout}${result.stderr}`);
  await sleep(1_000); // let a GC or allocator settle before reading RSS
  const keys = Number(await sendCommand(server.port, ['DBSIZE']));
  return { keys, rssBefore, rssAfter: rssBytes(server.pid) };
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const mb = (bytes: number) => bytes / (1024 * 1024);

/** The 1-minute load average, which says how much else ran on the machine. */
const load = () => loadavg()[0]!.toFixed(2);

function report(
  options: Options,
  rows: Row[],
  memory: { redis: Memory; candidate: Memory },
  context: { versions: string; loadAtStart: string },
): string {
  const name = options.candidate === 'slotraft' ? 'slotraft' : 'Redis (2nd instance)';
  const lines: string[] = [];
  lines.push('# Benchmarks: slotraft vs Redis on the same machine', '');
  lines.push(`Generated by \`npm run bench${options.quick ? ' -- --quick' : ''}\` (\`bench/run.ts\`) on ${new Date().toISOString()}.`);
  if (options.quick) {
    lines.push('', '**Quick run**: 1 run per workload and 1/10 of the requests. It checks that the benchmark works;',
      'its figures are indicative only. The reference figures come from the full run (`npm run bench`).');
  }
  lines.push('', 'Reproduce: `npm run bench` (5 alternating runs, several minutes, on an otherwise idle machine) or',
    '`npm run bench -- --quick`; `--candidate redis` benchmarks Redis against itself to check the method.');
  lines.push('', '## Machine and method', '');
  lines.push(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; ` +
    `${context.versions}. Load average (1 min) ${context.loadAtStart} at the start, ${load()} at the end ` +
    '(above ~1, other work shared the 2 CPUs and ops/s and p99 are noisy; CPU per op is the steadier figure).');
  lines.push(`- Servers: Redis with \`--save '' --appendonly no\` (standalone); ` + (options.candidate === 'slotraft'
    ? 'slotraft as started by `bin/slotraft.js server --port P --dir D --admin-port 0` (a one-node cluster owning all 16384 slots).'
    : 'a second, identical Redis as the candidate (`--candidate redis`: a check of the method, ratios should be ~1).'));
  lines.push(CAN_PIN
    ? `- Pinned: each server on CPU ${SERVER_CPU} and redis-benchmark on CPU ${CLIENT_CPU} (\`taskset\`), as in the performance anchors.`
    : '- Not pinned (fewer than 2 CPUs).');
  lines.push(`- ${options.runs} run(s) of each workload; within each run Redis and ${name} alternate (the first one alternates too); medians are shown.`);
  lines.push('- redis-benchmark `--csv` gives ops/s and client-observed p50/p99; server CPU per op is Δ(utime+stime) of the server ' +
    'process from `/proc/<pid>/stat` (10 ms ticks) ÷ requests: steadier than ops/s on a shared machine.');
  lines.push('- Values are 3 bytes (redis-benchmark default). Without `-r` all requests hit one key. The data-type rows run last, ' +
    `each test on its own key (\`-t ${DATA_TYPE_TESTS.join(',')}\`, one run each; LRANGE_100's CPU excludes the LPUSHes that fill its list).`);
  lines.push('- The `-r 1000000` rows run after ' +
    `a fill of \`${workloads(options.quick).fill.args.join(' ')} -t set\`; memory is VmRSS after that fill, per million keys (DBSIZE).`);
  lines.push('- Ratios are candidate/Redis: higher is better for ops/s, lower is better for p99, CPU and memory.');

  lines.push('', '## Throughput, latency, CPU', '');
  lines.push(`| workload | test | Redis ops/s | ${name} ops/s | ratio | Redis p99 ms | ${name} p99 ms | ratio | Redis CPU µs/op | ${name} CPU µs/op | ratio |`);
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const r = row.redis;
    const c = row.candidate;
    lines.push(`| ${row.workload} | ${row.test} | ${fmtInt(r.ops)} | ${fmtInt(c.ops)} | **${fmt(c.ops / r.ops)}** | ${fmt(r.p99, 3)} | ` +
      `${fmt(c.p99, 3)} | ${fmt(c.p99 / r.p99)} | ${fmt(r.cpuUsPerOp)} | ${fmt(c.cpuUsPerOp)} | ${fmt(c.cpuUsPerOp / r.cpuUsPerOp)} |`);
  }

  const perMillion = (m: Memory, bytes: number) => mb(bytes) / (m.keys / 1e6);
  const rssRatio = perMillion(memory.candidate, memory.candidate.rssAfter) / perMillion(memory.redis, memory.redis.rssAfter);
  lines.push('', '## Memory', '');
  lines.push(`| | Redis | ${name} | ratio |`, '|---|---|---|---|');
  lines.push(`| keys (DBSIZE) | ${fmtInt(memory.redis.keys)} | ${fmtInt(memory.candidate.keys)} | |`);
  lines.push(`| RSS before fill, MB | ${fmt(mb(memory.redis.rssBefore), 1)} | ${fmt(mb(memory.candidate.rssBefore), 1)} | |`);
  lines.push(`| RSS after fill, MB | ${fmt(mb(memory.redis.rssAfter), 1)} | ${fmt(mb(memory.candidate.rssAfter), 1)} | |`);
  lines.push(`| RSS per million keys, MB | ${fmt(perMillion(memory.redis, memory.redis.rssAfter), 1)} | ` +
    `${fmt(perMillion(memory.candidate, memory.candidate.rssAfter), 1)} | **${fmt(rssRatio)}** |`);
  const growth = (m: Memory) => perMillion(m, m.rssAfter - m.rssBefore);
  lines.push(`| RSS growth per million keys, MB | ${fmt(growth(memory.redis), 1)} | ${fmt(growth(memory.candidate), 1)} | ` +
    `${fmt(growth(memory.candidate) / growth(memory.redis))} |`);

  const ratioOf = (workload: string) =>
    Math.min(...rows.filter((row) => row.workload === workload).map((row) => row.candidate.ops / row.redis.ops));
  const targets: Array<[string, number, number, boolean]> = [
    ['throughput `-P 1` (worse of SET/GET) ≥ 0.9× Redis', ratioOf('`-c 50 -P 1`'), 0.9, true],
    ['throughput `-P 16` (worse of SET/GET) ≥ 0.8× Redis', ratioOf('`-c 50 -P 16`'), 0.8, true],
    ['throughput `-P 16 -r 1000000` (worse of SET/GET) ≥ 0.8× Redis', ratioOf('`-c 50 -P 16 -r 1000000`'), 0.8, true],
    ['data types `-P 16` (worst of LPUSH LPOP SADD HSET ZADD LRANGE_100) ≥ 0.7× Redis', ratioOf('`-c 50 -P 16` data types'), 0.7, true],
    ['RSS per million small keys ≤ 2× Redis', rssRatio, 2, false],
  ];
  lines.push('', '## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const [label, value, limit, higherIsBetter] of targets) {
    const met = higherIsBetter ? value >= limit : value <= limit;
    lines.push(`| ${label} | ${fmt(value, 3)}× | ${met ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  return lines.join('\n');
}

async function versionsText(): Promise<string> {
  const redis = (await runTool('redis-server', ['--version'])).stdout.trim().match(/v=(\S+)/)?.[1] ?? '?';
  return `Node ${process.version}, Redis ${redis}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const loadAtStart = load();
  const list = workloads(options.quick);
  const redis = await startServer('redis', 'Redis');
  let candidate: Server | undefined;
  try {
    candidate = await startServer(options.candidate, options.candidate === 'slotraft' ? 'slotraft' : 'Redis#2');
    const rows = await measure(redis, candidate, list.single, options.runs);
    const memory = {
      redis: await fillAndMeasureMemory(redis, list.fill),
      candidate: await fillAndMeasureMemory(candidate, list.fill),
    };
    rows.push(...(await measure(redis, candidate, [list.manyKeys], options.runs)));
    // Last, so that their lists and sets do not count in the memory figures.
    rows.push(...(await measure(redis, candidate, [list.dataTypes], options.runs)));
    const markdown = report(options, rows, memory, { versions: await versionsText(), loadAtStart });
    process.stdout.write(markdown);
    if (options.out !== '-') {
      writeFileSync(options.out, markdown + keptTail(options.out));
      process.stderr.write(`written to ${options.out}\n`);
    }
  } finally {
    await candidate?.stop();
    await redis.stop();
  }
}

/** Sections written by other benchmarks (the Raft ones) follow this marker and are kept as they are. */
const KEEP_MARKER = '<!-- other benchmarks below: kept when bench/run.ts rewrites this file -->';

function keptTail(path: string): string {
  let previous = '';
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const at = previous.indexOf(KEEP_MARKER);
  return at === -1 ? '' : '\n' + previous.slice(at);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
