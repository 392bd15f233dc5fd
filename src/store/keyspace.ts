// The keyspace of one shard: every key of the slots the shard owns, their expiries, memory
// accounting, and the sampling Redis uses for active expiry and eviction.
//
// Layout (memory matters most): one Map per hash slot, created on first use, as Redis Cluster keeps
// one dict per slot. The value is stored directly: a latin1 string for a Redis string, or a
// CollectionValue (which also carries the memory figure last accounted for it). Everything else lives
// in side maps that cost nothing when unused: expiries (only keys with a TTL), access data (only
// under an LRU/LFU policy).
//
// Determinism: every mutation is a function of its arguments and the current state, so replicas that
// apply the same commands with the same `nowMs` end up equal. Expired keys are never deleted by a read:
// `get`/`peek` treat them as absent; `getForWrite` (used by writes, which run on every replica with
// the entry's timestamp) deletes them. Only the leader decides active expiry and eviction, through
// `expireCycle` and `evictionCandidates`, which RETURN keys; the server deletes them via the log.
// Access data for LRU/LFU is node-local metadata (like Redis's object lru field) and not replicated.

import { assert } from '../assert.js';
import { keySlot, SLOT_COUNT } from '../cluster/slot.js';
import { globMatcher } from './glob.js';
import type { CollectionValue, StringEncoding, TypeName, Value } from './value.js';
import { stringEncoding, typeOf } from './value.js';

/** Pass as `expireAt` to `set` to keep the key's current TTL (SET KEEPTTL, APPEND, INCR...). */
export const KEEP_TTL: unique symbol = Symbol('keep-ttl');
export type KeepTtl = typeof KEEP_TTL;

/**
 * Called after every modification of a key: set, delete, expiry change, in-place change of a
 * collection (`touched`), lazy expiry, and with `null` when the whole keyspace is emptied (`flush`).
 * Used by the server for WATCH and for waking blocked clients. Must not modify the keyspace.
 */
export type KeyspaceListener = (key: string | null) => void;

export const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

/** Which access data is kept: none (default, cheapest), LRU clock, or LFU counter. */
export type AccessTracking = 'none' | 'lru' | 'lfu';

/** The access tracking a maxmemory-policy needs. */
export function trackingForPolicy(policy: EvictionPolicy): AccessTracking {
  if (policy.endsWith('-lru')) return 'lru';
  if (policy.endsWith('-lfu')) return 'lfu';
  return 'none';
}

export interface ScanResult {
  /** 0 when the scan is complete. */
  readonly cursor: number;
  readonly keys: string[];
}

export interface ScanFilter {
  /** Glob pattern (Redis stringmatchlen rules). */
  readonly match?: string | undefined;
  /** Only keys of this TYPE name (compared case-insensitively, as Redis 7.0 does). */
  readonly type?: string | undefined;
}

// Memory estimate, calibrated on V8 (Node 20, 64-bit): 1M keys of 16 bytes with 3-byte values use
// about 101 MB of heap, and this estimate gives 104 MB. Deterministic: a function of the keys and
// values only, so every replica reports the same figure.
/** Bytes a key costs besides its name and value: its share of the slot Map's hash table. */
export const KEY_OVERHEAD_BYTES = 48;
/** Extra bytes for a key that has a TTL (entry in the expires Map and its heap number). */
export const EXPIRE_OVERHEAD_BYTES = 48;

/** Bytes of a V8 one-byte string: a 16-byte header, the bytes rounded up to 8. */
export function stringBytes(s: string): number {
  return 16 + ((s.length + 7) & ~7);
}

// Redis's LRU clock: seconds, 24 bits. LFU: minutes in 16 bits, counter in 8 bits (evict.c).
const LRU_CLOCK_MAX = (1 << 24) - 1;
const LFU_INIT_VAL = 5;
const LFU_LOG_FACTOR = 10;
const LFU_DECAY_MINUTES = 1;
/** Bounded walk into a slot's Map when picking a random key (Maps have no random access). */
const RANDOM_WALK_MAX = 1024;

export class Keyspace {
  /** One Map per slot, undefined while the slot holds no key. */
  private readonly slots: (Map<string, Value> | undefined)[] = new Array(SLOT_COUNT).fill(undefined);
  /** Slots that hold keys, in no particular order, with each slot's index in it (for sampling). */
  private nonEmptySlots: number[] = [];
  private readonly nonEmptyIndex = new Int32Array(SLOT_COUNT).fill(-1);
  private keyCount = 0;
  /** Absolute expiry in ms since epoch, only for keys that have one. */
  private expires = new Map<string, number>();
  private memoryBytes = 0;
  private tracking: AccessTracking = 'none';
  /** LRU: seconds clock (24 bits). LFU: minutes << 8 | log counter. Only keys accessed or written. */
  private access = new Map<string, number>();
  /** Node-local PRNG for LFU's probabilistic increment (access data is not replicated). */
  private lfuRandomState = 0x9e3779b9;
  /** String encodings that differ from what the content implies (APPEND leaves `raw`...). */
  private encodings = new Map<string, StringEncoding>();
  private listeners: KeyspaceListener[] = [];
  /** Rotating iterators over the expires map: active expiry, and volatile-* eviction sampling. */
  private expireCursor: Iterator<[string, number]> | null = null;
  private volatileCursor: Iterator<string> | null = null;

  /** Reads that found a live key / found none (INFO keyspace_hits / keyspace_misses). */
  hits = 0;
  misses = 0;
  /** Keys deleted by `getForWrite` because their time had passed (INFO expired_keys adds these). */
  lazyExpired = 0;

  /** `slotOf` maps a key to its hash slot; injectable for tests. */
  constructor(private readonly slotOf: (key: string) => number = keySlot) {}

  // ---------------------------------------------------------------- reads (never mutate the keys)

  /**
   * The live value of `key`, or undefined if it is absent or its expiry is <= nowMs. Counts a hit or
   * a miss and, unless `touch` is false (Redis's LOOKUP_NOTOUCH: TYPE, EXISTS, TTL, OBJECT), records
   * the access for LRU/LFU. For reads; writes use `getForWrite`.
   */
  get(key: string, nowMs: number, touch = true): Value | undefined {
    const value = this.peek(key, nowMs);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (touch && this.tracking !== 'none') this.recordAccess(key, nowMs);
    return value;
  }

  /** Like `get` without counting hits or touching access data (internal lookups, SCAN, KEYS). */
  peek(key: string, nowMs: number): Value | undefined {
    const value = this.slots[this.slotOf(key)]?.get(key);
    if (value === undefined) return undefined;
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= nowMs) return undefined;
    }
    return value;
  }

  /** Whether a live key exists (no hit counting, no access update). */
  exists(key: string, nowMs: number): boolean {
    return this.peek(key, nowMs) !== undefined;
  }

  /** TYPE of a live key, or 'none' (no hit counting, no access update). */
  type(key: string, nowMs: number): TypeName {
    const value = this.peek(key, nowMs);
    return value === undefined ? 'none' : typeOf(value);
  }

  /** Absolute expiry (ms) of a key, or undefined if it has none. Does not check liveness. */
  getExpireAt(key: string): number | undefined {
    return this.expires.size === 0 ? undefined : this.expires.get(key);
  }

  /** Number of keys, including keys whose time has passed but that are not deleted yet (as DBSIZE). */
  size(): number {
    return this.keyCount;
  }

  /** Number of keys with a TTL (INFO keyspace `expires=`). */
  expiresCount(): number {
    return this.expires.size;
  }

  /** Deterministic estimate of the memory used by keys, values and their overhead. */
  usedMemoryBytes(): number {
    return this.memoryBytes;
  }

  // ---------------------------------------------------------------- writes

  /**
   * The value of `key` for a write: if the key's time has passed (expiry <= nowMs) it is deleted
   * first (listeners notified, `lazyExpired` counted) and undefined is returned. Runs on every
   * replica with the entry's nowMs, so it is deterministic.
   */
  getForWrite(key: string, nowMs: number): Value | undefined {
    const value = this.slots[this.slotOf(key)]?.get(key);
    if (value === undefined) return undefined;
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= nowMs) {
        this.remove(key);
        this.lazyExpired++;
        return undefined;
      }
    }
    return value;
  }

  /**
   * Sets `key` to `value`, creating or replacing it. `expireAt`: an absolute time in ms (the caller
   * handles times already past by deleting instead), undefined to clear any TTL (plain SET), or
   * KEEP_TTL to keep the current one (a TTL that had already passed at nowMs is dropped: the old key
   * counted as absent). A collection must not be empty.
   */
  set(key: string, value: Value, nowMs: number, expireAt?: number | KeepTtl): void {
    const slot = this.slotOf(key);
    let map = this.slots[slot];
    if (map === undefined) {
      map = new Map();
      this.slots[slot] = map;
      this.addNonEmptySlot(slot);
    }
    const old = map.get(key);
    if (old === undefined) {
      this.keyCount++;
      this.memoryBytes += KEY_OVERHEAD_BYTES + stringBytes(key);
    } else {
      this.memoryBytes -= this.valueBytes(old);
    }
    map.set(key, value);
    if (this.encodings.size !== 0) this.encodings.delete(key);
    if (typeof value === 'string') {
      this.memoryBytes += stringBytes(value);
    } else {
      const bytes = value.memoryBytes();
      value.accountedBytes = bytes;
      this.memoryBytes += bytes;
    }
    if (expireAt === KEEP_TTL) {
      const at = this.expires.size === 0 ? undefined : this.expires.get(key);
      if (at !== undefined && at <= nowMs) this.dropExpire(key);
    } else if (expireAt === undefined) {
      if (this.expires.size !== 0) this.dropExpire(key);
    } else {
      this.putExpire(key, expireAt);
    }
    if (this.tracking !== 'none') this.recordWrite(key, nowMs, old === undefined);
    if (this.listeners.length !== 0) this.emit(key);
  }

  /**
   * Deletes `key`. Returns true if a live key was deleted; a key whose time had passed is removed
   * too but counts as absent (false), as DEL does in Redis.
   */
  delete(key: string, nowMs: number): boolean {
    const live = this.peek(key, nowMs) !== undefined;
    return this.remove(key) && live;
  }

  /** Sets the absolute expiry (ms) of an existing key. */
  setExpireAt(key: string, atMs: number): void {
    assert(this.slots[this.slotOf(key)]?.has(key), 'setExpireAt on a missing key');
    this.putExpire(key, atMs);
    if (this.listeners.length !== 0) this.emit(key);
  }

  /** Removes the TTL of an existing key; true if it had one. */
  persist(key: string): boolean {
    if (!this.dropExpire(key)) return false;
    if (this.listeners.length !== 0) this.emit(key);
    return true;
  }

  /**
   * A collection command changed the value of `key` in place: re-reads its memoryBytes() and
   * notifies listeners. `value`, when given, must be the collection stored at `key`. The key must exist and hold a non-empty collection (delete it instead when
   * the command emptied it).
   */
  touched(key: string, value?: CollectionValue): void {
    // A command that already holds the value passes it, saving the slot hash and Map lookup.
    const stored = value ?? this.slots[this.slotOf(key)]?.get(key);
    assert(stored !== undefined && typeof stored !== 'string', 'touched on a missing key or a string');
    const collection = stored as CollectionValue;
    const bytes = collection.memoryBytes();
    this.memoryBytes += bytes - collection.accountedBytes;
    collection.accountedBytes = bytes;
    if (this.listeners.length !== 0) this.emit(key);
  }

  /** Deletes every key (FLUSHALL); listeners get `null`. */
  flush(): void {
    this.slots.fill(undefined);
    this.nonEmptySlots = [];
    this.nonEmptyIndex.fill(-1);
    this.keyCount = 0;
    this.expires = new Map();
    this.access = new Map();
    this.encodings = new Map();
    this.memoryBytes = 0;
    this.expireCursor = null;
    this.volatileCursor = null;
    this.emit(null);
  }

  /** OBJECT ENCODING of a live key's value. */
  objectEncoding(key: string, value: Value): string {
    if (typeof value !== 'string') return value.encoding();
    return (this.encodings.size !== 0 ? this.encodings.get(key) : undefined) ?? stringEncoding(value);
  }

  /**
   * Records the encoding Redis would show for the string just stored at `key` when it differs from
   * the content's (APPEND and SETRANGE leave `raw`, INCRBYFLOAT `embstr`). The next write resets it.
   */
  setStringEncoding(key: string, encoding: StringEncoding): void {
    const value = this.slots[this.slotOf(key)]?.get(key);
    assert(typeof value === 'string', 'setStringEncoding on a missing key or a collection');
    if (encoding === stringEncoding(value)) this.encodings.delete(key);
    else this.encodings.set(key, encoding);
  }

  /** Adds a listener called after every modification; returns a function that removes it. */
  addListener(listener: KeyspaceListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  // ---------------------------------------------------------------- slots

  /** Keys stored in `slot` (including ones whose time has passed), as CLUSTER COUNTKEYSINSLOT. */
  countKeysInSlot(slot: number): number {
    return this.slots[slot]?.size ?? 0;
  }

  /** Up to `count` keys of `slot` (CLUSTER GETKEYSINSLOT, migration batches). */
  keysInSlot(slot: number, count: number): string[] {
    const keys: string[] = [];
    const map = this.slots[slot];
    if (map === undefined || count <= 0) return keys;
    for (const key of map.keys()) {
      keys.push(key);
      if (keys.length >= count) break;
    }
    return keys;
  }

  /** Every key of `slot` with its value and expiry (migration, snapshots). Do not mutate while iterating. */
  *entriesInSlot(slot: number): IterableIterator<[key: string, value: Value, expireAt: number | undefined]> {
    const map = this.slots[slot];
    if (map === undefined) return;
    for (const [key, value] of map) yield [key, value, this.getExpireAt(key)];
  }

  /** Slots that currently hold at least one key, ascending. */
  slotsWithKeys(): number[] {
    return [...this.nonEmptySlots].sort((a, b) => a - b);
  }

  /** Deletes every key of `slot` (after a migration); returns how many were deleted. */
  deleteSlot(slot: number): number {
    const map = this.slots[slot];
    if (map === undefined) return 0;
    const keys = [...map.keys()];
    for (const key of keys) this.remove(key);
    return keys.length;
  }

  // ---------------------------------------------------------------- iteration

  /**
   * One SCAN step over this keyspace. The cursor is the next slot to visit (0 starts; 0 returned
   * means done): whole slots are returned, so every key present for the whole scan is returned at
   * least once whatever changes in between. Stops after the slot where `count` keys were visited.
   */
  scan(cursor: number, count: number, nowMs: number, filter: ScanFilter = {}): ScanResult {
    return scanKeyspaces([this], cursor, count, nowMs, filter);
  }

  /** Calls `visit` with every key of `slot` that is live at nowMs; returns how many keys were visited. */
  forEachLiveKeyInSlot(slot: number, nowMs: number, visit: (key: string, value: Value) => void): number {
    const map = this.slots[slot];
    if (map === undefined) return 0;
    const checkExpiry = this.expires.size !== 0;
    for (const [key, value] of map) {
      if (checkExpiry) {
        const at = this.expires.get(key);
        if (at !== undefined && at <= nowMs) continue;
      }
      visit(key, value);
    }
    return map.size;
  }

  /** A live key chosen with `random` (RANDOMKEY), or undefined when none was found in bounded tries. */
  randomKey(random: () => number, nowMs: number): string | undefined {
    for (let tries = 0; tries < 100 && this.keyCount > 0; tries++) {
      const key = this.sampleKey(random);
      if (key !== undefined && this.peek(key, nowMs) !== undefined) return key;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- active expiry and eviction

  /**
   * Active expiry, the leader's job: walks the expires map from where the last call stopped and
   * returns up to `maxKeys` keys whose expiry is <= nowMs, after examining at most `maxChecks`
   * entries. It deletes nothing: the caller deletes the keys through the replicated write path.
   * Call again while it returns `maxKeys` keys and the time budget allows (Redis's cycle).
   */
  expireCycle(nowMs: number, maxKeys: number, maxChecks = maxKeys * 10): string[] {
    const found: string[] = [];
    if (this.expires.size === 0 || maxKeys <= 0) return found;
    const checks = Math.min(maxChecks, this.expires.size);
    for (let i = 0; i < checks && found.length < maxKeys; i++) {
      let next = this.expireCursor?.next();
      if (next === undefined || next.done) {
        this.expireCursor = this.expires.entries();
        next = this.expireCursor.next();
        if (next.done) break;
      }
      const [key, at] = next.value;
      if (at <= nowMs) found.push(key);
    }
    return found;
  }

  /** Switches access tracking (when maxmemory-policy changes); existing access data is dropped. */
  setAccessTracking(mode: AccessTracking): void {
    if (mode === this.tracking) return;
    this.tracking = mode;
    this.access = new Map();
  }

  accessTracking(): AccessTracking {
    return this.tracking;
  }

  /**
   * Keys to evict under `policy`, best victims first, at most `count`, each chosen among `samples`
   * sampled keys as Redis approximates LRU/LFU/TTL (random policies pick one at random). Empty for
   * noeviction or when nothing qualifies. Deletes nothing: the caller deletes through the write path.
   */
  evictionCandidates(
    policy: EvictionPolicy,
    samples: number,
    random: () => number,
    nowMs: number,
    count: number,
  ): string[] {
    const chosen = new Set<string>();
    if (policy === 'noeviction') return [];
    const volatile = policy.startsWith('volatile-');
    const pool = volatile ? this.expires.size : this.keyCount;
    const wanted = Math.min(count, pool);
    for (let round = 0; chosen.size < wanted && round < wanted * 4; round++) {
      let best: string | undefined;
      let bestScore = -Infinity;
      const n = policy.endsWith('-random') ? 1 : Math.max(1, samples);
      for (let i = 0; i < n; i++) {
        const key = volatile ? this.sampleVolatileKey(random) : this.sampleKey(random);
        if (key === undefined || chosen.has(key)) continue;
        const score = this.evictionScore(policy, key, nowMs);
        if (score > bestScore) {
          best = key;
          bestScore = score;
        }
      }
      if (best !== undefined) chosen.add(best);
    }
    return [...chosen];
  }

  /** OBJECT IDLETIME: seconds since the last access (0 when access is not tracked or unknown). */
  idleSeconds(key: string, nowMs: number): number {
    if (this.tracking !== 'lru') return 0;
    const at = this.access.get(key);
    if (at === undefined) return 0;
    const clock = lruClock(nowMs);
    return clock >= at ? clock - at : clock + (LRU_CLOCK_MAX - at);
  }

  /** OBJECT FREQ: the decayed LFU counter (LFU_INIT_VAL for a key never seen since tracking began). */
  frequency(key: string, nowMs: number): number {
    const packed = this.access.get(key);
    return packed === undefined ? LFU_INIT_VAL : lfuDecayed(packed, nowMs);
  }

  /**
   * RESTORE IDLETIME / FREQ: sets the access data of a key as Redis's objectSetLRUOrLFU does.
   * `idleSeconds` applies under LRU tracking, `freq` under LFU; others are ignored.
   */
  setAccess(key: string, nowMs: number, idleSeconds: number | undefined, freq: number | undefined): void {
    if (this.tracking === 'lfu' && freq !== undefined) {
      this.access.set(key, (lfuMinutes(nowMs) << 8) | freq);
    } else if (this.tracking === 'lru' && idleSeconds !== undefined) {
      let clock = lruClock(nowMs) - idleSeconds;
      if (clock < 0) clock += LRU_CLOCK_MAX;
      this.access.set(key, clock);
    }
  }

  // ---------------------------------------------------------------- internals

  /** Removes a stored key whatever its expiry; false if it was not stored. */
  private remove(key: string): boolean {
    const slot = this.slotOf(key);
    const map = this.slots[slot];
    if (map === undefined) return false;
    const old = map.get(key);
    if (old === undefined) return false;
    map.delete(key);
    if (map.size === 0) {
      this.slots[slot] = undefined;
      this.removeNonEmptySlot(slot);
    }
    this.keyCount--;
    this.memoryBytes -= KEY_OVERHEAD_BYTES + stringBytes(key) + this.valueBytes(old);
    if (this.encodings.size !== 0) this.encodings.delete(key);
    if (this.expires.size !== 0) this.dropExpire(key);
    if (this.tracking !== 'none') this.access.delete(key);
    if (this.listeners.length !== 0) this.emit(key);
    return true;
  }

  private valueBytes(value: Value): number {
    return typeof value === 'string' ? stringBytes(value) : value.accountedBytes;
  }

  private putExpire(key: string, atMs: number): void {
    if (!this.expires.has(key)) this.memoryBytes += EXPIRE_OVERHEAD_BYTES;
    this.expires.set(key, atMs);
  }

  private dropExpire(key: string): boolean {
    if (!this.expires.delete(key)) return false;
    this.memoryBytes -= EXPIRE_OVERHEAD_BYTES;
    return true;
  }

  private emit(key: string | null): void {
    for (const listener of this.listeners) listener(key);
  }

  private addNonEmptySlot(slot: number): void {
    this.nonEmptyIndex[slot] = this.nonEmptySlots.length;
    this.nonEmptySlots.push(slot);
  }

  private removeNonEmptySlot(slot: number): void {
    const index = this.nonEmptyIndex[slot]!;
    const last = this.nonEmptySlots.pop()!;
    if (last !== slot) {
      this.nonEmptySlots[index] = last;
      this.nonEmptyIndex[last] = index;
    }
    this.nonEmptyIndex[slot] = -1;
  }

  /** A stored key (maybe expired) picked with `random`: a random non-empty slot, then a bounded walk. */
  private sampleKey(random: () => number): string | undefined {
    if (this.nonEmptySlots.length === 0) return undefined;
    const slot = this.nonEmptySlots[Math.floor(random() * this.nonEmptySlots.length)]!;
    const map = this.slots[slot]!;
    let skip = Math.floor(random() * Math.min(map.size, RANDOM_WALK_MAX));
    for (const key of map.keys()) {
      if (skip-- === 0) return key;
    }
    return undefined;
  }

  /** A key with a TTL: the next entries of a rotating walk over the expires map, a random few skipped. */
  private sampleVolatileKey(random: () => number): string | undefined {
    if (this.expires.size === 0) return undefined;
    let skip = Math.floor(random() * Math.min(this.expires.size, 8));
    for (let guard = 0; guard < 2 * this.expires.size + 2; guard++) {
      let next = this.volatileCursor?.next();
      if (next === undefined || next.done) {
        this.volatileCursor = this.expires.keys();
        next = this.volatileCursor.next();
        if (next.done) return undefined;
      }
      if (skip-- <= 0) return next.value;
    }
    return undefined;
  }

  /** Higher is a better victim (Redis's "idle" score in evictionPoolPopulate). */
  private evictionScore(policy: EvictionPolicy, key: string, nowMs: number): number {
    switch (policy) {
      case 'allkeys-lru':
      case 'volatile-lru':
        return this.access.has(key) ? this.idleSeconds(key, nowMs) : LRU_CLOCK_MAX;
      case 'allkeys-lfu':
      case 'volatile-lfu':
        return 255 - this.frequency(key, nowMs);
      case 'volatile-ttl':
        return -(this.expires.get(key) ?? Infinity);
      default:
        return 0;
    }
  }

  private recordAccess(key: string, nowMs: number): void {
    if (this.tracking === 'lru') {
      this.access.set(key, lruClock(nowMs));
    } else {
      const packed = this.access.get(key);
      const counter = packed === undefined ? LFU_INIT_VAL : lfuDecayed(packed, nowMs);
      this.access.set(key, (lfuMinutes(nowMs) << 8) | this.lfuIncrement(counter));
    }
  }

  private recordWrite(key: string, nowMs: number, isNew: boolean): void {
    if (this.tracking === 'lfu' && isNew) this.access.set(key, (lfuMinutes(nowMs) << 8) | LFU_INIT_VAL);
    else this.recordAccess(key, nowMs);
  }

  /** Redis's LFULogIncr: the counter grows with probability 1 / ((counter - 5) * factor + 1). */
  private lfuIncrement(counter: number): number {
    if (counter >= 255) return 255;
    // xorshift32: node-local randomness for access statistics only.
    let x = this.lfuRandomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.lfuRandomState = x >>> 0;
    const r = this.lfuRandomState / 0x100000000;
    const base = Math.max(0, counter - LFU_INIT_VAL);
    return r < 1 / (base * LFU_LOG_FACTOR + 1) ? counter + 1 : counter;
  }
}

function lruClock(nowMs: number): number {
  return Math.floor(nowMs / 1000) & LRU_CLOCK_MAX;
}

function lfuMinutes(nowMs: number): number {
  return Math.floor(nowMs / 60000) & 0xffff;
}

/** Redis's LFUDecrAndReturn: the counter minus one per decay period elapsed since its last access. */
function lfuDecayed(packed: number, nowMs: number): number {
  const then = packed >>> 8;
  const counter = packed & 0xff;
  const now = lfuMinutes(nowMs);
  const elapsed = now >= then ? now - then : 0xffff - then + now;
  const periods = Math.floor(elapsed / LFU_DECAY_MINUTES);
  return periods > counter ? 0 : counter - periods;
}

/**
 * One SCAN step over several keyspaces that own disjoint slots (a node's shards): the cursor is the
 * next slot number to visit, so it works whatever shard holds a slot. Visits whole slots until at
 * least `count` keys were visited (COUNT is a hint, as in Redis), then returns the next slot, or 0
 * after slot 16383. MATCH and TYPE filter the visited keys; keys whose time has passed are skipped.
 */
export function scanKeyspaces(
  keyspaces: readonly Keyspace[],
  cursor: number,
  count: number,
  nowMs: number,
  filter: ScanFilter = {},
): ScanResult {
  const keys: string[] = [];
  const match = filter.match === undefined ? null : globMatcher(filter.match);
  const type = filter.type?.toLowerCase();
  let visited = 0;
  let slot = Math.max(0, Math.floor(cursor));
  for (; slot < SLOT_COUNT && visited < count; slot++) {
    for (const keyspace of keyspaces) {
      visited += keyspace.forEachLiveKeyInSlot(slot, nowMs, (key, value) => {
        if (match !== null && !match(key)) return;
        if (type !== undefined && typeOf(value) !== type) return;
        keys.push(key);
      });
    }
  }
  return { cursor: slot >= SLOT_COUNT ? 0 : slot, keys };
}
