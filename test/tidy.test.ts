// The architecture, checked mechanically (style.md §7): pure folders touch no clock, randomness,
// timers, network or disk, and each folder imports only from the folders below it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Files of the pure folders that are about I/O by design: the durable Raft log and its transport. */
const IO_FILES = new Set(['raft/snapshot-file.ts', 'raft/transport-tcp.ts']);
const IO_FOLDERS = ['raft/storage/'];
const PURE = ['store', 'raft', 'cluster', 'resp', 'commands'];
const FORBIDDEN = [
  /\bDate\.now\(/,
  /\bMath\.random\(/,
  /\bset(Timeout|Interval|Immediate)\(/,
  /\bperformance\.now\(/,
  /\bprocess\.hrtime/,
  /from 'node:(net|fs|fs\/promises|timers|timers\/promises|http|dgram|child_process)'/,
];
/** Which top-level folders of src each folder may import from (besides itself and src/assert.ts). */
const ALLOWED: Record<string, string[]> = {
  store: ['cluster/slot.ts'],
  raft: [],
  resp: [],
  cluster: ['raft', 'resp'],
  commands: ['cluster', 'resp', 'store'],
};

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The code without comments, so that prose about Date.now does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const files = sourceFiles(SRC).map((path) => ({ path, rel: relative(SRC, path), text: code(readFileSync(path, 'utf8')) }));

test('pure folders read no clock, randomness, timers, network or disk', () => {
  const offences: string[] = [];
  for (const { rel, text } of files) {
    const folder = rel.split('/')[0]!;
    if (!PURE.includes(folder) || IO_FILES.has(rel) || IO_FOLDERS.some((f) => rel.startsWith(f))) continue;
    for (const pattern of FORBIDDEN) if (pattern.test(text)) offences.push(`${rel}: ${pattern}`);
  }
  assert.deepEqual(offences, []);
});

test('each folder imports only from the folders below it', () => {
  const offences: string[] = [];
  for (const { path, rel, text } of files) {
    const folder = rel.split('/')[0]!;
    const allowed = ALLOWED[folder];
    if (allowed === undefined) continue; // src/server and src/main.ts compose everything
    for (const match of text.matchAll(/(?:from|import) '(\.[^']+)'/g)) {
      const target = relative(SRC, resolve(dirname(path), match[1]!)).replace(/\.js$/, '.ts');
      const targetFolder = target.split('/')[0]!;
      if (targetFolder === folder || target === 'assert.ts') continue;
      if (!allowed.some((a) => target === a || targetFolder === a)) offences.push(`${rel} imports ${target}`);
    }
  }
  assert.deepEqual(offences, []);
});

test('the checks see the source tree', () => {
  assert.ok(files.length > 50, `found ${files.length} source files under ${SRC}`);
  assert.ok(files.some((f) => f.rel === 'raft/raft.ts'));
});
