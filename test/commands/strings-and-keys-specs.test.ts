// Every command spec of strings.ts, keys.ts and keyspace.ts against Redis 7.0's COMMAND INFO and DOCS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringCommands } from '../../src/commands/strings.js';
import { keyCommands } from '../../src/commands/keys.js';
import { keyspaceCommands } from '../../src/commands/keyspace.js';
import type { CommandSpec } from '../../src/commands/types.js';
import { RealRedis, type Plain } from '../store/harness.js';

interface SpecView {
  name: string;
  arity: number;
  flags: string[];
  keys: [number, number, number];
  categories: string[];
  summary: string;
  since: string;
  group: string;
}

function ours(spec: Pick<CommandSpec, 'name' | 'arity' | 'flags' | 'keys' | 'categories' | 'summary' | 'since' | 'group'>, prefix = ''): SpecView {
  return {
    name: prefix + spec.name,
    arity: spec.arity,
    flags: [...spec.flags],
    keys: spec.keys ? [spec.keys.first, spec.keys.last, spec.keys.step] : [0, 0, 0],
    categories: [...spec.categories],
    summary: spec.summary,
    since: spec.since,
    group: spec.group,
  };
}

async function theirs(redis: RealRedis, name: string): Promise<SpecView> {
  const [info] = (await redis.call('COMMAND', 'INFO', name)) as Plain[][];
  const docs = (await redis.call('COMMAND', 'DOCS', name)) as Plain[];
  const fields = docs[1] as Plain[];
  const doc = new Map<string, Plain>();
  for (let i = 0; i < fields.length; i += 2) doc.set(fields[i] as string, fields[i + 1]!);
  const [cmdName, arity, flags, first, last, step, categories] = info!;
  return {
    name: cmdName as string,
    arity: Number(arity),
    flags: flags as string[],
    keys: [Number(first), Number(last), Number(step)],
    categories: (categories as string[]).map((c) => c.replace(/^@/, '')),
    summary: doc.get('summary') as string,
    since: doc.get('since') as string,
    group: doc.get('group') as string,
  };
}

test('specs match COMMAND INFO and COMMAND DOCS of Redis 7.0', async () => {
  const redis = await RealRedis.start();
  try {
    const all = [...stringCommands, ...keyCommands, ...keyspaceCommands];
    assert.equal(all.length, 22 + 20 + 4);
    for (const spec of all) {
      assert.deepEqual(ours(spec), await theirs(redis, spec.name), spec.name);
      for (const sub of spec.subcommands ?? []) {
        assert.deepEqual(ours(sub, `${spec.name}|`), await theirs(redis, `${spec.name}|${sub.name}`), sub.name);
      }
    }
  } finally {
    await redis.stop();
  }
});
