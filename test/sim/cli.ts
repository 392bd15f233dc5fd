// npm run sim -- --seeds N [--start S] [--seed S] [--jobs J] [--bug NAME] [--verbose]
//   --seeds N   run seeds S..S+N-1 (S from --start, default 1)
//   --seed S    replay exactly one seed, printing its summary
//   --jobs J    worker processes (default: available cores, at most 4)
//   --bug NAME  plant a deliberate bug (see PLANTED_BUGS in cluster.ts), to watch a checker catch it
// A failing seed prints `FAIL seed=<S>: <checker>: <detail>` and how to replay it. The last line is
// exactly `N passed, M failed`; the exit code is 1 if any seed failed.

import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PLANTED_BUGS, type PlantedBug } from './cluster.js';
import { runSeed, type RunResult } from './vopr.js';

interface Args {
  seeds: number;
  start: number;
  single: number | null;
  jobs: number;
  bugs: PlantedBug[];
  verbose: boolean;
  worker: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seeds: 100,
    start: 1,
    single: null,
    jobs: Math.min(4, availableParallelism()),
    bugs: [],
    verbose: false,
    worker: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
      return n;
    };
    switch (flag) {
      case '--seeds': args.seeds = int(); break;
      case '--start': args.start = int(); break;
      case '--seed': args.single = int(); break;
      case '--jobs': args.jobs = Math.max(1, int()); break;
      case '--verbose': args.verbose = true; break;
      case '--worker': args.worker = true; break;
      case '--bug': {
        const bug = value() as PlantedBug;
        if (!PLANTED_BUGS.includes(bug)) throw new Error(`unknown bug ${bug}; one of ${PLANTED_BUGS.join(', ')}`);
        args.bugs.push(bug);
        break;
      }
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

function failureLines(r: RunResult, bugs: readonly PlantedBug[]): string[] {
  const replay = `npm run sim -- --seed ${r.seed}${bugs.map((b) => ` --bug ${b}`).join('')}`;
  return [...r.violations.map((v) => `FAIL seed=${r.seed}: ${v.checker}: ${v.detail} (at time ${v.time})`), `  replay: ${replay}`];
}

/** A worker runs the seeds given on its command line and reports one JSON line per seed. */
function runWorker(args: Args): void {
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const r = runSeed({ seed, bugs: args.bugs });
    const report = { seed, failed: r.violations.length > 0, unknown: r.linearizability === 'unknown', lines: failureLines(r, args.bugs) };
    process.stdout.write(JSON.stringify(report) + '\n');
  }
}

async function runParallel(args: Args): Promise<{ passed: number; failed: number; unknown: number }> {
  const jobs = Math.min(args.jobs, args.seeds);
  let passed = 0;
  let failed = 0;
  let unknown = 0;
  const script = fileURLToPath(import.meta.url);
  const bugArgs = args.bugs.flatMap((b) => ['--bug', b]);
  const workers: Promise<void>[] = [];
  let next = args.start;
  const end = args.start + args.seeds;
  const chunk = Math.max(1, Math.min(200, Math.ceil(args.seeds / (jobs * 4))));
  const runChunk = (): Promise<void> => {
    if (next >= end) return Promise.resolve();
    const start = next;
    const count = Math.min(chunk, end - start);
    next += count;
    return new Promise<void>((resolve, reject) => {
      const child = fork(script, ['--worker', '--start', String(start), '--seeds', String(count), ...bugArgs], {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      let buffered = '';
      let seen = 0;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (text: string) => {
        buffered += text;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const r = JSON.parse(line) as { seed: number; failed: boolean; unknown: boolean; lines: string[] };
          seen++;
          if (r.unknown) unknown++;
          if (r.failed) {
            failed++;
            for (const l of r.lines) console.log(l);
          } else {
            passed++;
          }
        }
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        if (seen < count) {
          // A crashed worker: count the seeds it did not report as failed, and say which.
          for (let s = start + seen; s < start + count; s++) console.log(`FAIL seed=${s}: harness: worker exited with code ${code}`);
          failed += count - seen;
        }
        resolve(runChunk());
      });
    });
  };
  for (let j = 0; j < jobs; j++) workers.push(runChunk());
  await Promise.all(workers);
  return { passed, failed, unknown };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) {
    runWorker(args);
    return;
  }
  const began = Date.now();
  let passed = 0;
  let failed = 0;
  let unknown = 0;
  if (args.single !== null) {
    const r = runSeed({ seed: args.single, bugs: args.bugs });
    console.log(`seed=${r.seed}: ${r.summary}`);
    // Determinism self-check (madsim's trick): the same seed must replay the same trace.
    const again = runSeed({ seed: args.single, bugs: args.bugs });
    if (again.summary !== r.summary) console.log(`NONDETERMINISTIC seed=${r.seed}: second run: ${again.summary}`);
    if (r.violations.length > 0) {
      failed = 1;
      for (const l of failureLines(r, args.bugs)) console.log(l);
    } else {
      passed = 1;
    }
  } else if (args.jobs <= 1) {
    for (let seed = args.start; seed < args.start + args.seeds; seed++) {
      const r = runSeed({ seed, bugs: args.bugs });
      if (args.verbose) console.log(`seed=${seed}: ${r.summary}`);
      if (r.linearizability === 'unknown') unknown++;
      if (r.violations.length === 0) passed++;
      else {
        failed++;
        for (const l of failureLines(r, args.bugs)) console.log(l);
      }
    }
  } else {
    ({ passed, failed, unknown } = await runParallel(args));
  }
  // An 'unknown' linearizability verdict (search budget exhausted) is not a failure, but is reported.
  console.log(`(${((Date.now() - began) / 1000).toFixed(1)} s; linearizability unknown on ${unknown} seeds)`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
