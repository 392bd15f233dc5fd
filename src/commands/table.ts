// The command table: every command slotraft knows, by lower-case name. COMMAND is generated from it.
import type { CommandSpec } from './types.js';
import { stringCommands } from './strings.js';
import { keyCommands } from './keys.js';
import { keyspaceCommands } from './keyspace.js';
import { hashCommands } from './hashes.js';
import { listCommands } from './lists.js';
import { setCommands } from './sets.js';
import { zsetCommands } from './zsets.js';
import { connectionCommands } from './server/connection.js';
import { serverCommands } from './server/server.js';
import { clusterCommands } from './server/cluster.js';
import { transactionCommands } from './transactions.js';
import { pubsubCommands } from './pubsub.js';

const families: readonly (readonly CommandSpec[])[] = [
  stringCommands,
  keyCommands,
  keyspaceCommands,
  hashCommands,
  listCommands,
  setCommands,
  zsetCommands,
  connectionCommands,
  serverCommands,
  clusterCommands,
  transactionCommands,
  pubsubCommands,
];

export function buildCommandTable(): Map<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  for (const family of families) {
    for (const spec of family) {
      if (table.has(spec.name)) throw new Error(`command ${spec.name} is defined twice`);
      table.set(spec.name, spec);
    }
  }
  return table;
}
