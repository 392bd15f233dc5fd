// The bytes of a ConfChange entry. The core writes them (bootstrap, auto-leave); the application reads
// them back with decodeConfChange before calling RawNode.applyConfChange.
//
// Layout: u8 version (1) | u8 transition | u16 count | count x (u8 type | f64 nodeId), big-endian.

import { assert } from '../../assert.js';
import { ConfChangeType, type ConfChange, type ConfChangeSingle } from '../types.js';

const VERSION = 1;
const TRANSITIONS = ['auto', 'joint-implicit', 'joint-explicit'] as const;
const MAX_CHANGES = 0xffff;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  assert(cc.changes.length <= MAX_CHANGES, 'too many changes in one ConfChange');
  const buf = new Uint8Array(4 + 9 * cc.changes.length);
  const view = new DataView(buf.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, TRANSITIONS.indexOf(cc.transition));
  view.setUint16(2, cc.changes.length);
  cc.changes.forEach((c, i) => {
    view.setUint8(4 + 9 * i, c.type);
    view.setFloat64(5 + 9 * i, c.nodeId);
  });
  return buf;
}

/** Decode a ConfChange entry's data. Throws on malformed bytes (a corrupt log is fatal). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) return { changes: [], transition: 'auto' }; // an empty entry: leave joint
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  assert(data.length >= 4 && view.getUint8(0) === VERSION, 'bad ConfChange encoding');
  const transition = TRANSITIONS[view.getUint8(1)];
  const count = view.getUint16(2);
  assert(transition !== undefined && data.length === 4 + 9 * count, 'bad ConfChange encoding');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    const type = view.getUint8(4 + 9 * i);
    const nodeId = view.getFloat64(5 + 9 * i);
    assert(type <= ConfChangeType.AddLearner && Number.isSafeInteger(nodeId) && nodeId > 0, 'bad ConfChange encoding');
    changes.push({ type: type as ConfChangeType, nodeId });
  }
  return { changes, transition };
}
