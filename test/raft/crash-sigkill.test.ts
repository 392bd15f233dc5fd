// Real crash test: a child process writes heavily with fsync 'always' and reports what is durable; we
// SIGKILL it mid-stream, reopen the database and check that the log is exactly the state after some
// prefix of the writes that includes every acknowledged one (batches are atomic and in order).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DiskLog } from '../../src/raft/storage/disk-log.js';
import { CRASH_GROUPS, CrashScenario, type LogModel } from './fixtures/crash-scenario.js';
import { payloadFor, tempDir } from './fixtures/storage-fixtures.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));

interface ChildRun {
  acked: number;
  killedAfterMs: number;
}

/** Runs the writer, kills it `delayMs` after it is ready, returns the highest acknowledged write. */
function runAndKill(dir: string, seed: number, delayMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(seed), 'always'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | null = null;
    let readyAt = 0;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // never hang the suite
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') {
          readyAt = performance.now();
          killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
        } else if (line.startsWith('ack ')) {
          acked = Math.max(acked, Number(line.slice(4)));
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}: ${stderr}`));
      else resolve({ acked, killedAfterMs: performance.now() - readyAt });
    });
  });
}

function sameLog(log: DiskLog, model: LogModel): boolean {
  for (let g = 1; g <= CRASH_GROUPS; g++) {
    const terms = model[g]!;
    const s = log.groupIds().includes(g) ? log.group(g) : null;
    const last = s ? s.lastIndex() : 0;
    if (last !== terms.length) return false;
    for (let i = 1; i <= last; i++) if (s!.term(i) !== terms[i - 1]) return false;
  }
  return true;
}

for (const [seed, delayMs] of [[11, 150], [22, 300], [33, 500], [44, 700]] as const) {
  test(`SIGKILL after ${delayMs} ms of writes loses no acknowledged write (seed ${seed})`, async () => {
    const dir = tempDir('crash');
    try {
      const run = await runAndKill(dir.path, seed, delayMs);
      assert.ok(run.acked > 0, 'the writer acknowledged some writes before it was killed');

      const { log, report } = await DiskLog.open(dir.path, { fsync: 'always' });
      try {
        // Replay the same stream: the recovered log must equal the state after n writes, n >= acked.
        const scenario = new CrashScenario(seed);
        while (scenario.written < run.acked) scenario.next();
        let matched = -1;
        for (let extra = 0; extra <= 8 && matched < 0; extra++) {
          if (sameLog(log, scenario.model)) matched = scenario.written;
          else scenario.next();
        }
        assert.ok(matched >= run.acked, `recovered log is the state after ${matched} writes; ${run.acked} were acked`);

        // Every entry has the exact bytes of its (group, index, term); commit stays inside the log.
        let checked = 0;
        for (const g of log.groupIds()) {
          const s = log.group(g);
          for (const e of s.entries(1, s.lastIndex() + 1, Infinity)) {
            const expected = Buffer.from(payloadFor(g, e.index, e.term));
            assert.ok(Buffer.from(e.data).equals(expected), `group ${g} entry ${e.index}`);
            checked++;
          }
          assert.ok(s.initialState().hardState.commit < s.lastIndex());
        }
        assert.equal(checked, report.entries);
        console.log(`seed ${seed}: killed after ${run.killedAfterMs.toFixed(0)} ms, ${run.acked} writes acked, ` +
          `recovered state after ${matched} writes, ${checked} entries verified`);
      } finally {
        await log.close();
      }
    } finally {
      dir.remove();
    }
  });
}
