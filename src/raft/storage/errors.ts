// Errors of the durable log. Corruption and failure are fatal for the replica (never retried, never
// skipped); StorageBusyError is the only one a caller may retry.

/** A record or file failed its checksum or does not parse. The message names the group and index. */
export class StorageCorruptionError extends Error {
  override name = 'StorageCorruptionError';
}

/** A write to LevelDB failed; every later write fails too (LevelDB itself stops after a failed sync). */
export class StorageFailedError extends Error {
  override name = 'StorageFailedError';
}

/** Too many bytes are waiting for the disk: retry after the pending batch completes. */
export class StorageBusyError extends Error {
  override name = 'StorageBusyError';
}
