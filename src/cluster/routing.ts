// Where a command runs: a pure port of Redis 7.0's getNodeByQuery (cluster.c) onto shards.
//
// `route` returns a decision value; `routeError` is the one place that turns a decision into Redis's
// exact error text. Order of checks, as Redis: unassigned first slot, then CROSSSLOT, then cluster
// state, then migration (ASK / TRYAGAIN / ASKING), then READONLY reads on a follower, then MOVED.
//
// Multi-Raft reading of Redis's roles: "the owner of the slot is me" means "this node leads the shard
// owning the slot"; "I am a replica of the owner" means "this node is a follower in that shard".

import { ErrorReply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import { assertNever } from '../assert.js';
import { keySlot } from './slot.js';
import type { ClusterShard, ClusterView } from './view.js';

export interface RouteRequest {
  /** Every key of the command, or of every queued command of an EXEC, in order. Empty: keyless. */
  readonly keys: readonly string[];
  /** The command (or any command of the EXEC) writes. */
  readonly write: boolean;
  /** The session sent ASKING just before, or the command implies it (RESTORE-ASKING). */
  readonly asking: boolean;
  /** The session is in READONLY mode. */
  readonly readonlyMode: boolean;
  /**
   * Whether a key exists in this node's copy of the given shard (a shard it leads). Asked only while
   * the key's slot migrates; without it every key counts as missing.
   */
  readonly keyExists?: (shard: ClusterShard, key: string) => boolean;
  /** MIGRATE is always served locally while its slot migrates. */
  readonly isMigrate?: boolean;
  /** SPUBLISH / SSUBSCRIBE...: served by followers like READONLY reads, never ASKed for missing keys. */
  readonly shardPubsub?: boolean;
}

export type RouteDecision =
  /** Run here: on the shard's leader (`leader`), or on this follower (`follower`, READONLY reads). */
  | { readonly kind: 'local'; readonly shard: ClusterShard; readonly slot: number; readonly role: 'leader' | 'follower' }
  /** No keys: run here, on any node. */
  | { readonly kind: 'keyless' }
  | { readonly kind: 'crossSlot' }
  | { readonly kind: 'moved'; readonly slot: number; readonly address: string }
  | { readonly kind: 'ask'; readonly slot: number; readonly address: string }
  | { readonly kind: 'tryAgain' }
  /** `unbound`: the slot has no shard; `down`: its shard has no usable leader (possibly transient). */
  | { readonly kind: 'clusterDown'; readonly reason: 'down' | 'unbound' };

const KEYLESS: RouteDecision = { kind: 'keyless' };
const CROSS_SLOT: RouteDecision = { kind: 'crossSlot' };
const TRY_AGAIN: RouteDecision = { kind: 'tryAgain' };
const DOWN: RouteDecision = { kind: 'clusterDown', reason: 'down' };
const UNBOUND: RouteDecision = { kind: 'clusterDown', reason: 'unbound' };

export function route(view: ClusterView, request: RouteRequest): RouteDecision {
  const keys = request.keys;
  if (keys.length === 0) return KEYLESS;

  const firstKey = keys[0]!;
  const slot = keySlot(firstKey);
  const shard = view.shardOfSlot(slot);
  if (shard === undefined) return UNBOUND;
  let multipleKeys = false;
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === firstKey) continue;
    if (keySlot(key) !== slot) return CROSS_SLOT;
    multipleKeys = true;
  }

  // While a slot moves from shard A (still its owner in the slot map) to shard B, the leader of A is
  // "migrating" and the leader of B "importing". One node may lead both: ASKING then means B.
  const myId = view.myId;
  const target = view.migratingTarget(slot);
  const migrating = target !== undefined && shard.leaderId === myId;
  const importing = target !== undefined && target.leaderId === myId;

  if (!view.isServing(shard)) return DOWN;

  if ((migrating || importing) && request.isMigrate) return local(shard, slot, 'leader');

  if (importing && request.asking) {
    if (multipleKeys && countMissing(request, target) > 0) return TRY_AGAIN;
    return local(target, slot, 'leader');
  }

  if (migrating) {
    const missing = countMissing(request, shard);
    if (missing > 0) {
      if (missing < keys.length) return TRY_AGAIN;
      // The importing shard may be between leaders: the client retries after TRYAGAIN.
      if (target.leaderId === null) return TRY_AGAIN;
      return { kind: 'ask', slot, address: view.address(target.leaderId) };
    }
  }

  if ((request.readonlyMode || request.shardPubsub) && !request.write && isFollower(shard, myId)) {
    return local(shard, slot, 'follower');
  }

  if (shard.leaderId !== myId) return { kind: 'moved', slot, address: view.address(shard.leaderId!) };
  return local(shard, slot, 'leader');
}

/** Keys absent from the shard's copy (Redis counts every key, repeats included); 0 for shard pub/sub. */
function countMissing(request: RouteRequest, shard: ClusterShard): number {
  if (request.shardPubsub) return 0;
  let missing = 0;
  for (const key of request.keys) if (!request.keyExists?.(shard, key)) missing++;
  return missing;
}

function isFollower(shard: ClusterShard, nodeId: string): boolean {
  return shard.replicas.some((r) => r.nodeId === nodeId);
}

function local(shard: ClusterShard, slot: number, role: 'leader' | 'follower'): RouteDecision {
  return { kind: 'local', shard, slot, role };
}

/** Redis's exact error for a refusal or redirection; null when the command runs here. */
export function routeError(decision: RouteDecision): ErrorReply | null {
  switch (decision.kind) {
    case 'local':
    case 'keyless':
      return null;
    case 'crossSlot':
      return CROSS_SLOT_ERROR;
    case 'moved':
      return new ErrorReply(errors.moved(decision.slot, decision.address));
    case 'ask':
      return new ErrorReply(errors.ask(decision.slot, decision.address));
    case 'tryAgain':
      return TRY_AGAIN_ERROR;
    case 'clusterDown':
      return decision.reason === 'unbound' ? UNBOUND_ERROR : DOWN_ERROR;
    default:
      return assertNever(decision);
  }
}

const CROSS_SLOT_ERROR = new ErrorReply(errors.CROSSSLOT);
const TRY_AGAIN_ERROR = new ErrorReply(errors.TRYAGAIN);
const UNBOUND_ERROR = new ErrorReply(errors.CLUSTERDOWN_UNBOUND);
const DOWN_ERROR = new ErrorReply(errors.CLUSTERDOWN_DOWN);
