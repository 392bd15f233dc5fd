// The metadata state machine (Raft group 0): nodes, shards, the slot map, open slot migrations, cluster
// settings and the config epoch. Every node applies the same MetaCommands in the same order, so
// `applyMeta` is deterministic and total: a command that does not fit the state is rejected with a
// reason (the state is returned unchanged), it never throws and never half-applies. The state is an
// immutable value; unchanged parts are shared between successive states.
//
// Commands travel as bytes in the metadata log and the state as bytes in its snapshots. Both encodings
// start with a version byte; a snapshot is checked against the state's invariants when decoded.

import { ByteReader, ByteWriter, CodecError } from '../raft/codec.js';
import type { ConfState, GroupId, NodeId } from '../raft/types.js';
import { SLOT_COUNT, isSlotNumber } from './slot.js';
import type { SlotRange } from './view.js';

export const META_GROUP_ID: GroupId = 0;
export const META_CODEC_VERSION = 1;

/** Limits that keep one bad command from growing the state without bound. */
export const MAX_NODES = 1000; // Redis Cluster's own recommended ceiling
export const MAX_SHARDS = SLOT_COUNT; // a shard without slots is useless beyond that
/** Raft groups larger than 7 voters only slow commits down; it also bounds the replicas setting. */
export const MAX_GROUP_VOTERS = 7;
export const MAX_GROUP_LEARNERS = 7;
const MAX_ADDRESS_LENGTH = 255;
const MAX_PORT = 65535;
/** Port 0 is allowed for the bus only; Redis prints `@0` for nodes without a bus port. */
const NODE_ID = /^[0-9a-f]{40}$/;
/** No whitespace or control bytes: CLUSTER NODES separates fields with spaces. */
const PRINTABLE = /^[\x21-\x7e]*$/;

export interface MetaNode {
  /** Stable 40-hex id (what clients see). */
  readonly id: string;
  /** Numeric Raft id, assigned on join, monotonic, never reused. */
  readonly raftId: NodeId;
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
  /** Announced hostname, '' when none. */
  readonly hostname: string;
  /** Asked to leave: placement moves its replicas away, then RemoveNode can succeed. */
  readonly draining: boolean;
}

export interface MetaShard {
  readonly groupId: GroupId;
  /** Stable 40-hex id (CLUSTER SHARDS / MYSHARDID). */
  readonly id: string;
  /** Voters, ascending. */
  readonly voters: readonly NodeId[];
  /** Learners, ascending, disjoint from voters. */
  readonly learners: readonly NodeId[];
  /** Log index in the shard's own group of the last membership change recorded (a fence for stale reports). */
  readonly confIndex: number;
}

export interface MetaMigration {
  readonly id: number;
  readonly slot: number;
  readonly fromGroupId: GroupId;
  readonly toGroupId: GroupId;
}

export interface MetaSettings {
  /** Voters per shard (fewer while the cluster has fewer nodes). */
  readonly replicas: number;
}

export interface MetaState {
  /** Bumped by every accepted command. */
  readonly configEpoch: number;
  readonly nextRaftId: NodeId;
  readonly nextGroupId: GroupId;
  readonly nextMigrationId: number;
  readonly settings: MetaSettings;
  /** Ascending by raftId. */
  readonly nodes: readonly MetaNode[];
  /** Ascending by groupId. */
  readonly shards: readonly MetaShard[];
  /** slot -> owning groupId, 0 when unassigned. Never mutated: a change copies it. */
  readonly slotOwner: Uint32Array;
  /** Ascending by id; at most one per slot. */
  readonly migrations: readonly MetaMigration[];
}

export const DEFAULT_REPLICAS = 3;

export function emptyMetaState(): MetaState {
  return {
    configEpoch: 0,
    nextRaftId: 1,
    nextGroupId: 1,
    nextMigrationId: 1,
    settings: { replicas: DEFAULT_REPLICAS },
    nodes: [],
    shards: [],
    slotOwner: new Uint32Array(SLOT_COUNT),
    migrations: [],
  };
}

// ---- commands ----

export interface NodeAddress {
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
  readonly hostname: string;
}

export interface NewShard {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly voters: readonly NodeId[];
}

export type MetaCommand =
  | ({ readonly type: 'AddNode'; readonly id: string } & NodeAddress)
  | { readonly type: 'RemoveNode'; readonly id: string }
  | ({ readonly type: 'SetNodeAddress'; readonly id: string } & NodeAddress)
  | { readonly type: 'SetNodeDraining'; readonly id: string; readonly draining: boolean }
  | { readonly type: 'CreateShards'; readonly shards: readonly NewShard[] }
  | { readonly type: 'AssignSlots'; readonly groupId: GroupId; readonly slots: readonly SlotRange[] }
  | {
      readonly type: 'SetShardMembers';
      readonly groupId: GroupId;
      readonly confIndex: number;
      readonly voters: readonly NodeId[];
      readonly learners: readonly NodeId[];
    }
  | { readonly type: 'BeginMigration'; readonly slot: number; readonly toGroupId: GroupId }
  | { readonly type: 'CompleteMigration'; readonly migrationId: number }
  | { readonly type: 'AbortMigration'; readonly migrationId: number }
  | { readonly type: 'SetConfig'; readonly replicas: number };

/**
 * The SetShardMembers a shard's leader proposes after applying a membership change at `confIndex` of its
 * log. In a joint configuration both voter sets count (each holds the data and votes); a learner that will
 * become a voter on leaving the joint state is still a learner.
 */
export function shardMembersCommand(groupId: GroupId, confIndex: number, cs: ConfState): MetaCommand {
  const voters = [...new Set([...cs.voters, ...cs.votersOutgoing])].sort((a, b) => a - b);
  const learners = [...new Set([...cs.learners, ...cs.learnersNext])]
    .filter((n) => !voters.includes(n))
    .sort((a, b) => a - b);
  return { type: 'SetShardMembers', groupId, confIndex, voters, learners };
}

/** What an accepted command produced, for the proposer. */
export type MetaResult =
  | { readonly ok: true; readonly raftId?: NodeId; readonly groupIds?: readonly GroupId[]; readonly migrationId?: number }
  | { readonly ok: false; readonly reason: string };

export interface MetaApplied {
  readonly state: MetaState;
  readonly result: MetaResult;
}

/** Applies one command. Total and deterministic: never throws, and a rejection leaves the state as it was. */
export function applyMeta(state: MetaState, command: MetaCommand): MetaApplied {
  const outcome = typeof command === 'object' && command !== null ? applyChecked(state, command) : 'not a command';
  if (typeof outcome === 'string') return { state, result: { ok: false, reason: outcome } };
  const next = { ...outcome.state, configEpoch: state.configEpoch + 1 };
  return { state: next, result: { ok: true, ...outcome.extra } };
}

/** Decodes and applies a log entry; undecodable bytes are rejected like an invalid command. */
export function applyMetaEntry(state: MetaState, bytes: Uint8Array): MetaApplied {
  let command: MetaCommand;
  try {
    command = decodeMetaCommand(bytes);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    return { state, result: { ok: false, reason: err.message } };
  }
  return applyMeta(state, command);
}

type Checked = string | { state: MetaState; extra?: { raftId?: NodeId; groupIds?: GroupId[]; migrationId?: number } };

function applyChecked(s: MetaState, c: MetaCommand): Checked {
  // A command built by hand or decoded from bytes may hold anything: guard every field before use.
  switch (c.type) {
    case 'AddNode': {
      const bad = checkNodeId(c.id) ?? checkAddress(c);
      if (bad) return bad;
      if (findNode(s, c.id)) return `node ${c.id} already exists`;
      if (s.nodes.length >= MAX_NODES) return `too many nodes (max ${MAX_NODES})`;
      const node: MetaNode = { id: c.id, raftId: s.nextRaftId, ...address(c), draining: false };
      return { state: { ...s, nodes: [...s.nodes, node], nextRaftId: s.nextRaftId + 1 }, extra: { raftId: node.raftId } };
    }
    case 'RemoveNode': {
      const node = findNode(s, c.id);
      if (!node) return `unknown node ${String(c.id)}`;
      const holding = s.shards.find((sh) => holdsReplica(sh, node.raftId));
      if (holding) return `node ${c.id} still holds a replica of shard ${holding.groupId}`;
      return { state: { ...s, nodes: s.nodes.filter((n) => n !== node) } };
    }
    case 'SetNodeAddress': {
      const node = findNode(s, c.id);
      if (!node) return `unknown node ${String(c.id)}`;
      const bad = checkAddress(c);
      if (bad) return bad;
      return { state: { ...s, nodes: replaceNode(s, { ...node, ...address(c) }) } };
    }
    case 'SetNodeDraining': {
      const node = findNode(s, c.id);
      if (!node) return `unknown node ${String(c.id)}`;
      if (typeof c.draining !== 'boolean') return 'draining must be a boolean';
      return { state: { ...s, nodes: replaceNode(s, { ...node, draining: c.draining }) } };
    }
    case 'CreateShards':
      return createShards(s, c.shards);
    case 'AssignSlots': {
      const shard = findShard(s, c.groupId);
      if (!shard) return `unknown shard group ${String(c.groupId)}`;
      const slotOwner = s.slotOwner.slice();
      const bad = assignRanges(slotOwner, c.slots, shard.groupId);
      if (bad) return bad;
      return { state: { ...s, slotOwner } };
    }
    case 'SetShardMembers': {
      const shard = findShard(s, c.groupId);
      if (!shard) return `unknown shard group ${String(c.groupId)}`;
      if (!isCount(c.confIndex)) return `bad conf index ${String(c.confIndex)}`;
      if (c.confIndex <= shard.confIndex) return `stale membership: conf index ${c.confIndex} <= ${shard.confIndex}`;
      const bad = checkMembers(s, c.voters, c.learners);
      if (bad) return bad;
      const voters = sortIds(c.voters);
      const updated: MetaShard = { ...shard, voters, learners: sortIds(c.learners), confIndex: c.confIndex };
      return { state: { ...s, shards: s.shards.map((sh) => (sh === shard ? updated : sh)) } };
    }
    case 'BeginMigration': {
      if (!isSlotNumber(c.slot)) return `bad slot ${String(c.slot)}`;
      const from = s.slotOwner[c.slot]!;
      if (from === 0) return `slot ${c.slot} is not assigned`;
      if (!findShard(s, c.toGroupId)) return `unknown shard group ${String(c.toGroupId)}`;
      if (from === c.toGroupId) return `slot ${c.slot} already belongs to shard ${from}`;
      if (s.migrations.some((m) => m.slot === c.slot)) return `slot ${c.slot} is already migrating`;
      const migration: MetaMigration = { id: s.nextMigrationId, slot: c.slot, fromGroupId: from, toGroupId: c.toGroupId };
      return {
        state: { ...s, migrations: [...s.migrations, migration], nextMigrationId: s.nextMigrationId + 1 },
        extra: { migrationId: migration.id },
      };
    }
    case 'CompleteMigration': {
      const migration = s.migrations.find((m) => m.id === c.migrationId);
      if (!migration) return `unknown migration ${String(c.migrationId)}`;
      const slotOwner = s.slotOwner.slice();
      slotOwner[migration.slot] = migration.toGroupId;
      return { state: { ...s, slotOwner, migrations: s.migrations.filter((m) => m !== migration) } };
    }
    case 'AbortMigration': {
      const migration = s.migrations.find((m) => m.id === c.migrationId);
      if (!migration) return `unknown migration ${String(c.migrationId)}`;
      return { state: { ...s, migrations: s.migrations.filter((m) => m !== migration) } };
    }
    case 'SetConfig': {
      if (!Number.isSafeInteger(c.replicas) || c.replicas < 1 || c.replicas > MAX_GROUP_VOTERS) {
        return `replicas must be between 1 and ${MAX_GROUP_VOTERS}`;
      }
      return { state: { ...s, settings: { ...s.settings, replicas: c.replicas } } };
    }
    default:
      return `unknown command ${String((c as { type?: unknown }).type)}`;
  }
}

function createShards(s: MetaState, shards: readonly NewShard[]): Checked {
  if (!Array.isArray(shards) || shards.length === 0) return 'no shards to create';
  if (s.shards.length + shards.length > MAX_SHARDS) return `too many shards (max ${MAX_SHARDS})`;
  const slotOwner = s.slotOwner.slice();
  const ids = new Set(s.shards.map((sh) => sh.id));
  const created: MetaShard[] = [];
  let groupId = s.nextGroupId;
  for (const shard of shards) {
    if (typeof shard !== 'object' || shard === null) return 'bad shard';
    const bad = checkNodeId(shard.id, 'shard') ?? checkMembers(s, shard.voters, []);
    if (bad) return bad;
    if (ids.has(shard.id)) return `shard ${shard.id} already exists`;
    ids.add(shard.id);
    const badSlots = assignRanges(slotOwner, shard.slots, groupId);
    if (badSlots) return badSlots;
    created.push({ groupId, id: shard.id, voters: sortIds(shard.voters), learners: [], confIndex: 0 });
    groupId++;
  }
  return {
    state: { ...s, shards: [...s.shards, ...created], slotOwner, nextGroupId: groupId },
    extra: { groupIds: created.map((sh) => sh.groupId) },
  };
}

/** Marks unassigned slots as owned by `groupId` in `slotOwner` (a private copy); a reason on conflict. */
function assignRanges(slotOwner: Uint32Array, ranges: readonly SlotRange[], groupId: GroupId): string | undefined {
  if (!Array.isArray(ranges)) return 'slots must be a list of ranges';
  for (const range of ranges) {
    if (!isSlotNumber(range?.start) || !isSlotNumber(range.end) || range.start > range.end) {
      return `bad slot range ${String(range?.start)}-${String(range?.end)}`;
    }
    for (let slot = range.start; slot <= range.end; slot++) {
      if (slotOwner[slot] !== 0) return `slot ${slot} is already assigned`;
      slotOwner[slot] = groupId;
    }
  }
  return undefined;
}

function checkMembers(s: MetaState, voters: readonly NodeId[], learners: readonly NodeId[]): string | undefined {
  if (!Array.isArray(voters) || !Array.isArray(learners)) return 'voters and learners must be lists';
  if (voters.length === 0) return 'a shard needs at least one voter';
  if (voters.length > MAX_GROUP_VOTERS) return `too many voters (max ${MAX_GROUP_VOTERS})`;
  if (learners.length > MAX_GROUP_LEARNERS) return `too many learners (max ${MAX_GROUP_LEARNERS})`;
  const seen = new Set<NodeId>();
  for (const id of [...voters, ...learners]) {
    if (!s.nodes.some((n) => n.raftId === id)) return `unknown node raft id ${String(id)}`;
    if (seen.has(id)) return `node raft id ${id} listed twice in one shard`;
    seen.add(id);
  }
  return undefined;
}

function checkNodeId(id: unknown, what = 'node'): string | undefined {
  return typeof id === 'string' && NODE_ID.test(id) ? undefined : `${what} id must be 40 lower-case hex characters`;
}

function checkAddress(a: NodeAddress): string | undefined {
  if (typeof a.ip !== 'string' || a.ip.length === 0 || a.ip.length > MAX_ADDRESS_LENGTH || !PRINTABLE.test(a.ip)) {
    return 'bad ip';
  }
  if (typeof a.hostname !== 'string' || a.hostname.length > MAX_ADDRESS_LENGTH || !PRINTABLE.test(a.hostname)) {
    return 'bad hostname';
  }
  if (!isCount(a.port) || a.port < 1 || a.port > MAX_PORT) return `bad port ${String(a.port)}`;
  if (!isCount(a.busPort) || a.busPort > MAX_PORT) return `bad bus port ${String(a.busPort)}`;
  return undefined;
}

function address(a: NodeAddress): NodeAddress {
  return { ip: a.ip, port: a.port, busPort: a.busPort, hostname: a.hostname };
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function sortIds(ids: readonly NodeId[]): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

function replaceNode(s: MetaState, node: MetaNode): MetaNode[] {
  return s.nodes.map((n) => (n.raftId === node.raftId ? node : n));
}

// ---- queries ----

/** The node is a voter or a learner of the shard. */
export function holdsReplica(shard: MetaShard, raftId: NodeId): boolean {
  return shard.voters.includes(raftId) || shard.learners.includes(raftId);
}

export function findNode(s: MetaState, id: string): MetaNode | undefined {
  return s.nodes.find((n) => n.id === id);
}

export function nodeByRaftId(s: MetaState, raftId: NodeId): MetaNode | undefined {
  return s.nodes.find((n) => n.raftId === raftId);
}

export function findShard(s: MetaState, groupId: GroupId): MetaShard | undefined {
  return s.shards.find((sh) => sh.groupId === groupId);
}

/** The slots a shard owns, as maximal ascending ranges. */
export function slotRangesOf(s: MetaState, groupId: GroupId): SlotRange[] {
  return slotRangesByShard(s).get(groupId) ?? [];
}

/** Every shard's slots as maximal ascending ranges, in one pass over the slot map. */
export function slotRangesByShard(s: MetaState): Map<GroupId, SlotRange[]> {
  const ranges = new Map<GroupId, SlotRange[]>(s.shards.map((sh) => [sh.groupId, []]));
  let start = 0;
  for (let slot = 1; slot <= SLOT_COUNT; slot++) {
    const owner = s.slotOwner[start]!;
    if (slot < SLOT_COUNT && s.slotOwner[slot] === owner) continue;
    if (owner !== 0) ranges.get(owner)?.push({ start, end: slot - 1 });
    start = slot;
  }
  return ranges;
}

/** The state's invariants; a reason when one is broken (decoded snapshots are checked with it). */
export function checkMetaState(s: MetaState): string | undefined {
  if (!(s.settings.replicas >= 1 && s.settings.replicas <= MAX_GROUP_VOTERS)) return 'bad replicas setting';
  if (s.nodes.length > MAX_NODES || s.shards.length > MAX_SHARDS) return 'too many nodes or shards';
  const raftIds = new Set<NodeId>();
  const ids = new Set<string>();
  let lastRaftId = 0;
  for (const n of s.nodes) {
    const bad = checkNodeId(n.id) ?? checkAddress(n);
    if (bad) return bad;
    if (n.raftId <= lastRaftId || n.raftId >= s.nextRaftId) return `node raft id ${n.raftId} out of order`;
    if (ids.has(n.id)) return `node ${n.id} listed twice`;
    lastRaftId = n.raftId;
    raftIds.add(n.raftId);
    ids.add(n.id);
  }
  let lastGroupId = META_GROUP_ID;
  const shardIds = new Set<string>();
  for (const sh of s.shards) {
    const bad = checkNodeId(sh.id, 'shard') ?? checkMembers(s, sh.voters, sh.learners);
    if (bad) return bad;
    if (sh.groupId <= lastGroupId || sh.groupId >= s.nextGroupId) return `shard group ${sh.groupId} out of order`;
    if (!isSorted(sh.voters) || !isSorted(sh.learners)) return `shard ${sh.groupId} members not sorted`;
    if (shardIds.has(sh.id)) return `shard ${sh.id} listed twice`;
    shardIds.add(sh.id);
    lastGroupId = sh.groupId;
  }
  const groupIds = new Set(s.shards.map((sh) => sh.groupId));
  let checked = 0; // the map is mostly long runs: look each run's owner up once
  for (const owner of s.slotOwner) {
    if (owner === checked || owner === 0) continue;
    if (!groupIds.has(owner)) return `slot owned by unknown shard ${owner}`;
    checked = owner;
  }
  let lastMigration = 0;
  const migrating = new Set<number>();
  for (const m of s.migrations) {
    if (m.id <= lastMigration || m.id >= s.nextMigrationId) return `migration ${m.id} out of order`;
    if (!isSlotNumber(m.slot) || migrating.has(m.slot)) return `bad migration slot ${m.slot}`;
    if (s.slotOwner[m.slot] !== m.fromGroupId || m.fromGroupId === m.toGroupId || !findShard(s, m.toGroupId)) {
      return `migration ${m.id} does not match the slot map`;
    }
    lastMigration = m.id;
    migrating.add(m.slot);
  }
  return undefined;
}

function isSorted(ids: readonly number[]): boolean {
  return ids.every((id, i) => i === 0 || ids[i - 1]! < id);
}

// ---- binary codec ----

const TAGS = [
  'AddNode',
  'RemoveNode',
  'SetNodeAddress',
  'SetNodeDraining',
  'CreateShards',
  'AssignSlots',
  'SetShardMembers',
  'BeginMigration',
  'CompleteMigration',
  'AbortMigration',
  'SetConfig',
] as const satisfies readonly MetaCommand['type'][];

function writeString(w: ByteWriter, s: string): void {
  w.bytes(Buffer.from(s, 'latin1'));
}

function readString(r: ByteReader, field: string): string {
  return Buffer.from(r.bytes(field)).latin1Slice();
}

function writeAddress(w: ByteWriter, a: NodeAddress): void {
  writeString(w, a.ip);
  w.varint(a.port).varint(a.busPort);
  writeString(w, a.hostname);
}

function readAddress(r: ByteReader): NodeAddress {
  const ip = readString(r, 'ip');
  const port = r.varint('port');
  const busPort = r.varint('bus port');
  return { ip, port, busPort, hostname: readString(r, 'hostname') };
}

function writeIds(w: ByteWriter, ids: readonly number[]): void {
  w.varint(ids.length);
  for (const id of ids) w.varint(id);
}

function readIds(r: ByteReader, field: string): number[] {
  const n = r.count(field, 1);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.varint(field));
  return ids;
}

function writeRanges(w: ByteWriter, ranges: readonly SlotRange[]): void {
  w.varint(ranges.length);
  for (const range of ranges) w.varint(range.start).varint(range.end);
}

function readRanges(r: ByteReader): SlotRange[] {
  const n = r.count('slot ranges', 2);
  const ranges: SlotRange[] = [];
  for (let i = 0; i < n; i++) ranges.push({ start: r.varint('range start'), end: r.varint('range end') });
  return ranges;
}

function startEncoding(sizeHint: number): ByteWriter {
  return new ByteWriter(sizeHint).u8(META_CODEC_VERSION);
}

function startDecoding(bytes: Uint8Array, what: string): ByteReader {
  const r = new ByteReader(bytes, what);
  const version = r.u8('version');
  if (version !== META_CODEC_VERSION) r.fail(`unknown version ${version}`);
  return r;
}

export function encodeMetaCommand(c: MetaCommand): Buffer {
  const w = startEncoding(64);
  w.u8(TAGS.indexOf(c.type));
  switch (c.type) {
    case 'AddNode':
    case 'SetNodeAddress':
      writeString(w, c.id);
      writeAddress(w, c);
      break;
    case 'RemoveNode':
      writeString(w, c.id);
      break;
    case 'SetNodeDraining':
      writeString(w, c.id);
      w.u8(c.draining ? 1 : 0);
      break;
    case 'CreateShards':
      w.varint(c.shards.length);
      for (const shard of c.shards) {
        writeString(w, shard.id);
        writeRanges(w, shard.slots);
        writeIds(w, shard.voters);
      }
      break;
    case 'AssignSlots':
      w.varint(c.groupId);
      writeRanges(w, c.slots);
      break;
    case 'SetShardMembers':
      w.varint(c.groupId).varint(c.confIndex);
      writeIds(w, c.voters);
      writeIds(w, c.learners);
      break;
    case 'BeginMigration':
      w.varint(c.slot).varint(c.toGroupId);
      break;
    case 'CompleteMigration':
    case 'AbortMigration':
      w.varint(c.migrationId);
      break;
    case 'SetConfig':
      w.varint(c.replicas);
      break;
  }
  return w.finish();
}

/** Throws CodecError on malformed bytes. Field values are checked by applyMeta, not here. */
export function decodeMetaCommand(bytes: Uint8Array): MetaCommand {
  const r = startDecoding(bytes, 'meta command');
  const tag = r.u8('command tag');
  const type = TAGS[tag];
  if (type === undefined) r.fail(`unknown command tag ${tag}`);
  let c: MetaCommand;
  switch (type) {
    case 'AddNode':
    case 'SetNodeAddress': {
      const id = readString(r, 'node id');
      c = { type, id, ...readAddress(r) };
      break;
    }
    case 'RemoveNode':
      c = { type, id: readString(r, 'node id') };
      break;
    case 'SetNodeDraining':
      c = { type, id: readString(r, 'node id'), draining: r.bool('draining') };
      break;
    case 'CreateShards': {
      const n = r.count('shards', 3);
      const shards: NewShard[] = [];
      for (let i = 0; i < n; i++) {
        const id = readString(r, 'shard id');
        const slots = readRanges(r);
        shards.push({ id, slots, voters: readIds(r, 'voters') });
      }
      c = { type, shards };
      break;
    }
    case 'AssignSlots':
      c = { type, groupId: r.varint('group id'), slots: readRanges(r) };
      break;
    case 'SetShardMembers': {
      const groupId = r.varint('group id');
      const confIndex = r.varint('conf index');
      const voters = readIds(r, 'voters');
      c = { type, groupId, confIndex, voters, learners: readIds(r, 'learners') };
      break;
    }
    case 'BeginMigration':
      c = { type, slot: r.varint('slot'), toGroupId: r.varint('group id') };
      break;
    case 'CompleteMigration':
    case 'AbortMigration':
      c = { type, migrationId: r.varint('migration id') };
      break;
    case 'SetConfig':
      c = { type, replicas: r.varint('replicas') };
      break;
  }
  r.end();
  return c;
}

/** The whole state, for the metadata group's Raft snapshots. Same state, same bytes. */
export function encodeMetaState(s: MetaState): Buffer {
  const w = startEncoding(1024);
  w.varint(s.configEpoch).varint(s.nextRaftId).varint(s.nextGroupId).varint(s.nextMigrationId);
  w.varint(s.settings.replicas);
  w.varint(s.nodes.length);
  for (const n of s.nodes) {
    w.varint(n.raftId);
    writeString(w, n.id);
    writeAddress(w, n);
    w.u8(n.draining ? 1 : 0);
  }
  w.varint(s.shards.length);
  const ranges = slotRangesByShard(s);
  for (const sh of s.shards) {
    w.varint(sh.groupId);
    writeString(w, sh.id);
    w.varint(sh.confIndex);
    writeIds(w, sh.voters);
    writeIds(w, sh.learners);
    writeRanges(w, ranges.get(sh.groupId)!);
  }
  w.varint(s.migrations.length);
  for (const m of s.migrations) w.varint(m.id).varint(m.slot).varint(m.fromGroupId).varint(m.toGroupId);
  return w.finish();
}

/** Throws CodecError on malformed bytes or a state that breaks an invariant. */
export function decodeMetaState(bytes: Uint8Array): MetaState {
  const r = startDecoding(bytes, 'meta state');
  const configEpoch = r.varint('config epoch');
  const nextRaftId = r.varint('next raft id');
  const nextGroupId = r.varint('next group id');
  const nextMigrationId = r.varint('next migration id');
  const replicas = r.varint('replicas');
  const nodes: MetaNode[] = [];
  const nodeCount = r.count('nodes', 6);
  for (let i = 0; i < nodeCount; i++) {
    const raftId = r.varint('raft id');
    const id = readString(r, 'node id');
    const addr = readAddress(r);
    nodes.push({ id, raftId, ...addr, draining: r.bool('draining') });
  }
  const shards: MetaShard[] = [];
  const slotOwner = new Uint32Array(SLOT_COUNT);
  const shardCount = r.count('shards', 6);
  for (let i = 0; i < shardCount; i++) {
    const groupId = r.varint('group id');
    const id = readString(r, 'shard id');
    const confIndex = r.varint('conf index');
    const voters = readIds(r, 'voters');
    const learners = readIds(r, 'learners');
    if (groupId === 0) r.fail('shard with group id 0');
    const bad = assignRanges(slotOwner, readRanges(r), groupId);
    if (bad) r.fail(bad);
    shards.push({ groupId, id, voters, learners, confIndex });
  }
  const migrations: MetaMigration[] = [];
  const migrationCount = r.count('migrations', 4);
  for (let i = 0; i < migrationCount; i++) {
    const id = r.varint('migration id');
    const slot = r.varint('slot');
    const fromGroupId = r.varint('from group id');
    migrations.push({ id, slot, fromGroupId, toGroupId: r.varint('to group id') });
  }
  r.end();
  const state: MetaState = {
    configEpoch,
    nextRaftId,
    nextGroupId,
    nextMigrationId,
    settings: { replicas },
    nodes,
    shards,
    slotOwner,
    migrations,
  };
  const bad = checkMetaState(state);
  if (bad) r.fail(bad);
  return state;
}
