import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyMeta,
  applyMetaEntry,
  checkMetaState,
  decodeMetaCommand,
  decodeMetaState,
  emptyMetaState,
  encodeMetaCommand,
  encodeMetaState,
  findShard,
  shardMembersCommand,
  slotRangesOf,
  META_CODEC_VERSION,
  type MetaCommand,
  type MetaState,
} from '../../src/cluster/meta.js';
import { CodecError } from '../../src/raft/codec.js';
import { Prng } from '../sim/prng.js';

const hex = (c: string) => c.repeat(40);
const addNode = (id: string, port: number): Extract<MetaCommand, { type: 'AddNode' }> => ({
  type: 'AddNode',
  id,
  ip: '127.0.0.1',
  port,
  busPort: port + 10000,
  hostname: '',
});

/** Applies commands that must all be accepted. */
function applyAll(state: MetaState, commands: readonly MetaCommand[]): MetaState {
  for (const c of commands) {
    const { state: next, result } = applyMeta(state, c);
    assert.equal(result.ok, true, `${c.type} rejected: ${result.ok ? '' : result.reason}`);
    state = next;
  }
  return state;
}

/** Three nodes, two shards splitting the slots, voters 1,2,3 and 2,3. */
function smallCluster(): MetaState {
  return applyAll(emptyMetaState(), [
    addNode(hex('a'), 7000),
    addNode(hex('b'), 7001),
    addNode(hex('c'), 7002),
    {
      type: 'CreateShards',
      shards: [
        { id: hex('1'), slots: [{ start: 0, end: 8191 }], voters: [3, 1, 2] },
        { id: hex('2'), slots: [{ start: 8192, end: 16383 }], voters: [2, 3] },
      ],
    },
  ]);
}

function expectRejected(state: MetaState, command: MetaCommand, reason: RegExp): void {
  const before = encodeMetaState(state);
  const { state: after, result } = applyMeta(state, command);
  assert.equal(result.ok, false, `${command.type} should be rejected`);
  assert.match(result.ok ? '' : result.reason, reason);
  assert.equal(after, state, 'a rejected command returns the same state');
  assert.deepEqual(encodeMetaState(after), before, 'a rejected command changes nothing');
}

test('AddNode assigns monotonic raft ids that are never reused', () => {
  let s = emptyMetaState();
  const r1 = applyMeta(s, addNode(hex('a'), 7000));
  assert.deepEqual(r1.result, { ok: true, raftId: 1 });
  s = r1.state;
  s = applyAll(s, [addNode(hex('b'), 7001), { type: 'RemoveNode', id: hex('b') }]);
  const r3 = applyMeta(s, addNode(hex('c'), 7002));
  assert.deepEqual(r3.result, { ok: true, raftId: 3 });
  assert.deepEqual(r3.state.nodes.map((n) => [n.id, n.raftId]), [[hex('a'), 1], [hex('c'), 3]]);
  // Rejoining under a removed id gets a fresh raft id too.
  const r4 = applyMeta(r3.state, addNode(hex('b'), 7001));
  assert.deepEqual(r4.result, { ok: true, raftId: 4 });
});

test('the config epoch bumps on every accepted command and only then', () => {
  let s = smallCluster();
  assert.equal(s.configEpoch, 4);
  s = applyAll(s, [{ type: 'SetConfig', replicas: 5 }]);
  assert.equal(s.configEpoch, 5);
  assert.equal(s.settings.replicas, 5);
  assert.equal(applyMeta(s, { type: 'SetConfig', replicas: 0 }).state.configEpoch, 5);
});

test('CreateShards records shards, members (sorted) and the slot map', () => {
  const s = smallCluster();
  assert.deepEqual(
    s.shards.map((sh) => [sh.groupId, sh.id, sh.voters, sh.learners, sh.confIndex]),
    [
      [1, hex('1'), [1, 2, 3], [], 0],
      [2, hex('2'), [2, 3], [], 0],
    ],
  );
  assert.equal(s.slotOwner[0], 1);
  assert.equal(s.slotOwner[8191], 1);
  assert.equal(s.slotOwner[8192], 2);
  assert.deepEqual(slotRangesOf(s, 2), [{ start: 8192, end: 16383 }]);
  assert.equal(s.nextGroupId, 3);
  assert.equal(checkMetaState(s), undefined);
});

test('AssignSlots gives unassigned slots to an existing shard', () => {
  let s = applyAll(emptyMetaState(), [
    addNode(hex('a'), 7000),
    { type: 'CreateShards', shards: [{ id: hex('1'), slots: [{ start: 0, end: 99 }], voters: [1] }] },
  ]);
  assert.equal(s.slotOwner[100], 0);
  s = applyAll(s, [{ type: 'AssignSlots', groupId: 1, slots: [{ start: 100, end: 100 }, { start: 200, end: 300 }] }]);
  assert.deepEqual(slotRangesOf(s, 1), [{ start: 0, end: 100 }, { start: 200, end: 300 }]);
});

test('SetShardMembers records a committed change and refuses a stale report', () => {
  let s = smallCluster();
  s = applyAll(s, [addNode(hex('d'), 7003), { type: 'SetShardMembers', groupId: 2, confIndex: 10, voters: [3, 2], learners: [4] }]);
  const shard = findShard(s, 2)!;
  assert.deepEqual([shard.voters, shard.learners, shard.confIndex], [[2, 3], [4], 10]);
  expectRejected(s, { type: 'SetShardMembers', groupId: 2, confIndex: 10, voters: [2, 3, 4], learners: [] }, /stale/);
  expectRejected(s, { type: 'SetShardMembers', groupId: 2, confIndex: 9, voters: [2], learners: [] }, /stale/);
  s = applyAll(s, [{ type: 'SetShardMembers', groupId: 2, confIndex: 12, voters: [2, 4], learners: [] }]);
  assert.deepEqual(findShard(s, 2)!.voters, [2, 4]);
});

test('migrations: begin, complete moves the slot, abort leaves it', () => {
  let s = smallCluster();
  const begun = applyMeta(s, { type: 'BeginMigration', slot: 100, toGroupId: 2 });
  assert.deepEqual(begun.result, { ok: true, migrationId: 1 });
  s = begun.state;
  assert.deepEqual(s.migrations, [{ id: 1, slot: 100, fromGroupId: 1, toGroupId: 2 }]);
  expectRejected(s, { type: 'BeginMigration', slot: 100, toGroupId: 2 }, /already migrating/);
  s = applyAll(s, [{ type: 'CompleteMigration', migrationId: 1 }]);
  assert.equal(s.slotOwner[100], 2);
  assert.deepEqual(s.migrations, []);
  assert.deepEqual(slotRangesOf(s, 1), [{ start: 0, end: 99 }, { start: 101, end: 8191 }]);

  s = applyAll(s, [{ type: 'BeginMigration', slot: 5, toGroupId: 2 }]);
  assert.equal(s.migrations[0]!.id, 2, 'migration ids are never reused');
  s = applyAll(s, [{ type: 'AbortMigration', migrationId: 2 }]);
  assert.equal(s.slotOwner[5], 1);
  assert.deepEqual(s.migrations, []);
  expectRejected(s, { type: 'CompleteMigration', migrationId: 2 }, /unknown migration/);
});

test('node address and draining changes', () => {
  let s = smallCluster();
  s = applyAll(s, [
    { type: 'SetNodeAddress', id: hex('b'), ip: '10.0.0.2', port: 6380, busPort: 16380, hostname: 'b.example' },
    { type: 'SetNodeDraining', id: hex('c'), draining: true },
  ]);
  const b = s.nodes.find((n) => n.id === hex('b'))!;
  assert.deepEqual([b.ip, b.port, b.busPort, b.hostname, b.raftId], ['10.0.0.2', 6380, 16380, 'b.example', 2]);
  assert.equal(s.nodes.find((n) => n.id === hex('c'))!.draining, true);
});

test('rejections: each invalid command names its reason and changes nothing', () => {
  const s = smallCluster();
  const cases: [MetaCommand, RegExp][] = [
    [addNode(hex('a'), 7000), /already exists/],
    [addNode('ABC', 7000), /40 lower-case hex/],
    [addNode(hex('A'), 7000), /40 lower-case hex/],
    [{ ...addNode(hex('d'), 7000), ip: '' }, /bad ip/],
    [{ ...addNode(hex('d'), 7000), ip: '1.2.3.4 x' }, /bad ip/],
    [{ ...addNode(hex('d'), 7000), hostname: 'a\nb' }, /bad hostname/],
    [addNode(hex('d'), 0), /bad port/],
    [addNode(hex('d'), 70000), /bad port/],
    [{ ...addNode(hex('d'), 7000), busPort: 1.5 }, /bad bus port/],
    [{ type: 'RemoveNode', id: hex('a') }, /still holds a replica of shard 1/],
    [{ type: 'RemoveNode', id: hex('e') }, /unknown node/],
    [{ type: 'SetNodeAddress', id: hex('e'), ip: 'x', port: 1, busPort: 2, hostname: '' }, /unknown node/],
    [{ type: 'SetNodeDraining', id: hex('e'), draining: true }, /unknown node/],
    [{ type: 'CreateShards', shards: [] }, /no shards/],
    [{ type: 'CreateShards', shards: [{ id: hex('1'), slots: [], voters: [1] }] }, /already exists/],
    [{ type: 'CreateShards', shards: [{ id: hex('3'), slots: [{ start: 5, end: 5 }], voters: [1] }] }, /slot 5 is already assigned/],
    [{ type: 'CreateShards', shards: [{ id: hex('3'), slots: [], voters: [] }] }, /at least one voter/],
    [{ type: 'CreateShards', shards: [{ id: hex('3'), slots: [], voters: [1, 1] }] }, /listed twice/],
    [{ type: 'CreateShards', shards: [{ id: hex('3'), slots: [], voters: [9] }] }, /unknown node raft id 9/],
    [{ type: 'CreateShards', shards: [{ id: hex('3'), slots: [], voters: [1, 2, 3, 1, 2, 3, 1, 2] }] }, /too many voters/],
    [{ type: 'AssignSlots', groupId: 7, slots: [] }, /unknown shard group 7/],
    [{ type: 'AssignSlots', groupId: 1, slots: [{ start: 10, end: 5 }] }, /bad slot range/],
    [{ type: 'AssignSlots', groupId: 1, slots: [{ start: 0, end: 16384 }] }, /bad slot range/],
    [{ type: 'SetShardMembers', groupId: 1, confIndex: 3, voters: [1], learners: [1] }, /listed twice/],
    [{ type: 'SetShardMembers', groupId: 1, confIndex: 3, voters: [], learners: [2] }, /at least one voter/],
    [{ type: 'SetShardMembers', groupId: 9, confIndex: 3, voters: [1], learners: [] }, /unknown shard group/],
    [{ type: 'SetShardMembers', groupId: 1, confIndex: -1, voters: [1], learners: [] }, /bad conf index/],
    [{ type: 'BeginMigration', slot: 16384, toGroupId: 2 }, /bad slot/],
    [{ type: 'BeginMigration', slot: 1, toGroupId: 1 }, /already belongs to shard 1/],
    [{ type: 'BeginMigration', slot: 1, toGroupId: 3 }, /unknown shard group 3/],
    [{ type: 'AbortMigration', migrationId: 1 }, /unknown migration/],
    [{ type: 'SetConfig', replicas: 0 }, /replicas must be between 1 and 7/],
    [{ type: 'SetConfig', replicas: 8 }, /replicas must be between 1 and 7/],
    [{ type: 'Bogus' } as unknown as MetaCommand, /unknown command Bogus/],
  ];
  for (const [command, reason] of cases) expectRejected(s, command, reason);
  // A command with a half-valid shard list leaves no trace of its valid part.
  expectRejected(
    s,
    {
      type: 'CreateShards',
      shards: [
        { id: hex('3'), slots: [], voters: [1] },
        { id: hex('3'), slots: [], voters: [2] },
      ],
    },
    /already exists/,
  );
  const empty = applyAll(emptyMetaState(), [addNode(hex('a'), 7000)]);
  expectRejected(empty, { type: 'BeginMigration', slot: 1, toGroupId: 1 }, /slot 1 is not assigned/);
});

test('malformed fields of a hand-built command are rejected, not thrown', () => {
  const s = smallCluster();
  const weird = [
    { type: 'AddNode', id: 42, ip: null, port: 'x', busPort: 1, hostname: '' },
    { type: 'CreateShards', shards: 'nope' },
    { type: 'CreateShards', shards: [{ id: hex('9'), slots: [null], voters: [1] }] },
    { type: 'CreateShards', shards: [{ id: hex('9'), slots: [], voters: 'x' }] },
    { type: 'SetNodeDraining', id: hex('a'), draining: 'yes' },
    { type: 'BeginMigration', slot: 'x', toGroupId: 2 },
    { type: 'CreateShards', shards: [null] },
    { type: 'AssignSlots', groupId: 1, slots: [{ start: 'a', end: 3 }] },
    null,
  ] as unknown as MetaCommand[];
  for (const command of weird) {
    const { state, result } = applyMeta(s, command);
    assert.equal(result.ok, false, JSON.stringify(command));
    assert.equal(state, s);
  }
});

// ---- codec ----

const sampleCommands: MetaCommand[] = [
  addNode(hex('a'), 7000),
  { type: 'AddNode', id: hex('f'), ip: 'node-f.internal', port: 65535, busPort: 0, hostname: 'f\xe9' },
  { type: 'RemoveNode', id: hex('b') },
  { type: 'SetNodeAddress', id: hex('b'), ip: '::1', port: 6379, busPort: 16379, hostname: 'h' },
  { type: 'SetNodeDraining', id: hex('c'), draining: true },
  { type: 'SetNodeDraining', id: hex('c'), draining: false },
  {
    type: 'CreateShards',
    shards: [
      { id: hex('1'), slots: [{ start: 0, end: 100 }, { start: 16383, end: 16383 }], voters: [1, 2, 300] },
      { id: hex('2'), slots: [], voters: [4] },
    ],
  },
  { type: 'AssignSlots', groupId: 12, slots: [{ start: 5, end: 9 }] },
  { type: 'SetShardMembers', groupId: 3, confIndex: 2 ** 40, voters: [1, 2], learners: [7] },
  { type: 'BeginMigration', slot: 16383, toGroupId: 2 },
  { type: 'CompleteMigration', migrationId: 77 },
  { type: 'AbortMigration', migrationId: 1 },
  { type: 'SetConfig', replicas: 3 },
];

test('every command round-trips through its binary encoding, which starts with the version byte', () => {
  for (const command of sampleCommands) {
    const bytes = encodeMetaCommand(command);
    assert.equal(bytes[0], META_CODEC_VERSION);
    assert.deepEqual(decodeMetaCommand(bytes), command);
  }
});

test('malformed command bytes throw CodecError, and applyMetaEntry rejects them', () => {
  const s = smallCluster();
  const good = encodeMetaCommand(sampleCommands[6]!);
  const bad: Uint8Array[] = [
    new Uint8Array(),
    Uint8Array.of(2, 0), // unknown version
    Uint8Array.of(META_CODEC_VERSION, 200), // unknown tag
    good.subarray(0, good.length - 1), // truncated
    Buffer.concat([good, Uint8Array.of(0)]), // trailing byte
    Uint8Array.of(META_CODEC_VERSION, 4, 0xff, 0xff, 0xff, 0x7f), // huge shard count
    Uint8Array.of(META_CODEC_VERSION, 3, 0, 2), // SetNodeDraining with draining = 2
  ];
  for (const bytes of bad) {
    assert.throws(() => decodeMetaCommand(bytes), CodecError);
    const applied = applyMetaEntry(s, bytes);
    assert.equal(applied.result.ok, false);
    assert.equal(applied.state, s);
  }
  const ok = applyMetaEntry(s, encodeMetaCommand({ type: 'SetConfig', replicas: 2 }));
  assert.equal(ok.result.ok, true);
  assert.equal(ok.state.settings.replicas, 2);
});

test('every prefix of a command encoding fails to decode (no length is trusted)', () => {
  for (const command of sampleCommands) {
    const bytes = encodeMetaCommand(command);
    for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeMetaCommand(bytes.subarray(0, n)), CodecError);
  }
});

// ---- snapshots and determinism ----

/** A random but mostly valid command against `s` (some rejected on purpose). */
function randomCommand(rng: Prng, s: MetaState): MetaCommand {
  const nodeId = () => rng.pick(['a', 'b', 'c', 'd', 'e', 'f', '1', '2']).repeat(40);
  const raftIds = () => {
    const all = s.nodes.map((n) => n.raftId);
    const picked = all.filter(() => rng.chance(0.5));
    return picked.length > 0 ? picked : all.slice(0, 1).concat(rng.chance(0.1) ? [999] : []);
  };
  const groupId = () => rng.int(1, s.nextGroupId);
  switch (rng.int(0, 10)) {
    case 0:
    case 1:
      return addNode(nodeId(), rng.int(1, 9000));
    case 2:
      return { type: 'RemoveNode', id: nodeId() };
    case 3:
      return { type: 'SetNodeAddress', id: nodeId(), ip: `10.0.0.${rng.int(1, 9)}`, port: rng.int(1, 9000), busPort: 1, hostname: '' };
    case 4: {
      const start = rng.int(0, 16383);
      const voters = raftIds();
      const newShardId = rng.int(0, 15).toString(16).repeat(40);
      return { type: 'CreateShards', shards: [{ id: newShardId, slots: [{ start, end: Math.min(16383, start + rng.int(0, 3000)) }], voters }] };
    }
    case 5: {
      const start = rng.int(0, 16383);
      return { type: 'AssignSlots', groupId: groupId(), slots: [{ start, end: Math.min(16383, start + rng.int(0, 500)) }] };
    }
    case 6:
      return { type: 'SetShardMembers', groupId: groupId(), confIndex: rng.int(0, 50), voters: raftIds(), learners: [] };
    case 7:
      return { type: 'BeginMigration', slot: rng.int(0, 16383), toGroupId: groupId() };
    case 8:
      return { type: rng.chance(0.5) ? 'CompleteMigration' : 'AbortMigration', migrationId: rng.int(1, s.nextMigrationId) };
    case 9:
      return { type: 'SetNodeDraining', id: nodeId(), draining: rng.chance(0.5) };
    default:
      return { type: 'SetConfig', replicas: rng.int(0, 8) };
  }
}

function randomRun(seed: number, length: number): { commands: MetaCommand[]; state: MetaState; accepted: number } {
  const rng = new Prng(seed);
  let state = emptyMetaState();
  const commands: MetaCommand[] = [];
  let accepted = 0;
  for (let i = 0; i < length; i++) {
    const command = randomCommand(rng, state);
    commands.push(command);
    const applied = applyMeta(state, command);
    if (applied.result.ok) accepted++;
    state = applied.state;
    assert.equal(checkMetaState(state), undefined, `seed ${seed}: invariant broken after ${command.type}`);
  }
  return { commands, state, accepted };
}

test('random command sequences keep the invariants, and the same log gives the same state bytes', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { commands, state, accepted } = randomRun(seed, 150);
    assert.ok(accepted > 10, `seed ${seed}: only ${accepted} commands accepted`);
    assert.equal(state.configEpoch, accepted);
    // Replay from the encoded log: the state bytes are identical.
    let replayed = emptyMetaState();
    for (const c of commands) replayed = applyMetaEntry(replayed, encodeMetaCommand(c)).state;
    assert.deepEqual(encodeMetaState(replayed), encodeMetaState(state), `seed ${seed}`);
  }
});

test('snapshots round-trip: decode(encode(state)) encodes to the same bytes and behaves the same', () => {
  for (let seed = 100; seed < 115; seed++) {
    const { state } = randomRun(seed, 120);
    const bytes = encodeMetaState(state);
    assert.equal(bytes[0], META_CODEC_VERSION);
    const restored = decodeMetaState(bytes);
    assert.deepEqual(restored, state);
    assert.deepEqual(encodeMetaState(restored), bytes);
    // Continuing from the restored snapshot gives what continuing from the original gives.
    const rng = new Prng(seed * 7);
    let a = state;
    let b = restored;
    for (let i = 0; i < 40; i++) {
      const c = randomCommand(rng, a);
      const ra = applyMeta(a, c);
      const rb = applyMeta(b, c);
      assert.deepEqual(rb.result, ra.result);
      a = ra.state;
      b = rb.state;
    }
    assert.deepEqual(encodeMetaState(b), encodeMetaState(a));
  }
});

test('a corrupt or inconsistent snapshot is refused', () => {
  const s = applyAll(smallCluster(), [{ type: 'BeginMigration', slot: 3, toGroupId: 2 }]);
  const bytes = encodeMetaState(s);
  for (let n = 0; n < bytes.length; n += Math.max(1, Math.floor(bytes.length / 40))) {
    assert.throws(() => decodeMetaState(bytes.subarray(0, n)), CodecError);
  }
  assert.throws(() => decodeMetaState(Buffer.concat([bytes, Uint8Array.of(0)])), CodecError);
  // Well-formed bytes of a state that breaks an invariant: a shard voter that is not a node.
  const broken: MetaState = { ...s, shards: s.shards.map((sh) => (sh.groupId === 2 ? { ...sh, voters: [2, 9] } : sh)) };
  assert.throws(() => decodeMetaState(encodeMetaState(broken)), /unknown node raft id 9/);
  // A migration that does not start from the slot's owner.
  const badMigration: MetaState = { ...s, migrations: [{ ...s.migrations[0]!, fromGroupId: 2 }] };
  assert.throws(() => decodeMetaState(encodeMetaState(badMigration)), /does not match the slot map/);
});

test('the snapshot of an empty state is small and round-trips', () => {
  const bytes = encodeMetaState(emptyMetaState());
  assert.ok(bytes.length < 16, `${bytes.length} bytes`);
  assert.deepEqual(decodeMetaState(bytes), emptyMetaState());
});

test('shardMembersCommand records a joint configuration as the union of both voter sets', () => {
  const joint = { voters: [1, 2, 4], votersOutgoing: [1, 2, 3], learners: [5], learnersNext: [3], autoLeave: true };
  assert.deepEqual(shardMembersCommand(7, 42, joint), {
    type: 'SetShardMembers',
    groupId: 7,
    confIndex: 42,
    voters: [1, 2, 3, 4],
    learners: [5], // 3 is still an outgoing voter, so not listed as a learner too
  });
  const simple = { voters: [2, 1], votersOutgoing: [], learners: [3], learnersNext: [], autoLeave: false };
  assert.deepEqual(shardMembersCommand(7, 43, simple), { type: 'SetShardMembers', groupId: 7, confIndex: 43, voters: [1, 2], learners: [3] });
});
