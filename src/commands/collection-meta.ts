// COMMAND INFO / COMMAND DOCS facts of the hash, list, set and sorted-set commands, exactly as Redis
// 7.0.15 reports them (generated from a real server's COMMAND INFO and COMMAND DOCS), and the helper
// that turns a handler into a DataCommand with them.

import type { CommandFlag, DataCommand, DataHandler, KeyRange } from './types.js';
// Loading the collection commands also registers the RDB codecs of their values (DUMP/RESTORE).
import '../store/types/rdb.js';

interface Meta {
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly categories: readonly string[];
  readonly keys: KeyRange | null;
  readonly summary: string;
  readonly since: string;
  readonly group: string;
}

function meta(
  arity: number,
  flags: readonly CommandFlag[],
  categories: readonly string[],
  keys: [number, number, number] | null,
  summary: string,
  since: string,
  group: string,
): Meta {
  return { arity, flags, categories, keys: keys && { first: keys[0], last: keys[1], step: keys[2] }, summary, since, group };
}

const META: Record<string, Meta> = {
  blmove: meta(6, ["write", "denyoom", "noscript", "blocking"], ["write", "list", "slow", "blocking"], [1, 2, 1], "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0", "list"),
  blmpop: meta(-5, ["write", "blocking", "movablekeys"], ["write", "list", "slow", "blocking"], null, "Pop elements from a list, or block until one is available", "7.0.0", "list"),
  blpop: meta(-3, ["write", "noscript", "blocking"], ["write", "list", "slow", "blocking"], [1, -2, 1], "Remove and get the first element in a list, or block until one is available", "2.0.0", "list"),
  brpop: meta(-3, ["write", "noscript", "blocking"], ["write", "list", "slow", "blocking"], [1, -2, 1], "Remove and get the last element in a list, or block until one is available", "2.0.0", "list"),
  brpoplpush: meta(4, ["write", "denyoom", "noscript", "blocking"], ["write", "list", "slow", "blocking"], [1, 2, 1], "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0", "list"),
  bzmpop: meta(-5, ["write", "blocking", "movablekeys"], ["write", "sortedset", "slow", "blocking"], null, "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", "sorted-set"),
  bzpopmax: meta(-3, ["write", "noscript", "blocking", "fast"], ["write", "sortedset", "fast", "blocking"], [1, -2, 1], "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0", "sorted-set"),
  bzpopmin: meta(-3, ["write", "noscript", "blocking", "fast"], ["write", "sortedset", "fast", "blocking"], [1, -2, 1], "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0", "sorted-set"),
  hdel: meta(-3, ["write", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Delete one or more hash fields", "2.0.0", "hash"),
  hexists: meta(3, ["readonly", "fast"], ["read", "hash", "fast"], [1, 1, 1], "Determine if a hash field exists", "2.0.0", "hash"),
  hget: meta(3, ["readonly", "fast"], ["read", "hash", "fast"], [1, 1, 1], "Get the value of a hash field", "2.0.0", "hash"),
  hgetall: meta(2, ["readonly"], ["read", "hash", "slow"], [1, 1, 1], "Get all the fields and values in a hash", "2.0.0", "hash"),
  hincrby: meta(4, ["write", "denyoom", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Increment the integer value of a hash field by the given number", "2.0.0", "hash"),
  hincrbyfloat: meta(4, ["write", "denyoom", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Increment the float value of a hash field by the given amount", "2.6.0", "hash"),
  hkeys: meta(2, ["readonly"], ["read", "hash", "slow"], [1, 1, 1], "Get all the fields in a hash", "2.0.0", "hash"),
  hlen: meta(2, ["readonly", "fast"], ["read", "hash", "fast"], [1, 1, 1], "Get the number of fields in a hash", "2.0.0", "hash"),
  hmget: meta(-3, ["readonly", "fast"], ["read", "hash", "fast"], [1, 1, 1], "Get the values of all the given hash fields", "2.0.0", "hash"),
  hmset: meta(-4, ["write", "denyoom", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Set multiple hash fields to multiple values", "2.0.0", "hash"),
  hrandfield: meta(-2, ["readonly"], ["read", "hash", "slow"], [1, 1, 1], "Get one or multiple random fields from a hash", "6.2.0", "hash"),
  hscan: meta(-3, ["readonly"], ["read", "hash", "slow"], [1, 1, 1], "Incrementally iterate hash fields and associated values", "2.8.0", "hash"),
  hset: meta(-4, ["write", "denyoom", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Set the string value of a hash field", "2.0.0", "hash"),
  hsetnx: meta(4, ["write", "denyoom", "fast"], ["write", "hash", "fast"], [1, 1, 1], "Set the value of a hash field, only if the field does not exist", "2.0.0", "hash"),
  hstrlen: meta(3, ["readonly", "fast"], ["read", "hash", "fast"], [1, 1, 1], "Get the length of the value of a hash field", "3.2.0", "hash"),
  hvals: meta(2, ["readonly"], ["read", "hash", "slow"], [1, 1, 1], "Get all the values in a hash", "2.0.0", "hash"),
  lindex: meta(3, ["readonly"], ["read", "list", "slow"], [1, 1, 1], "Get an element from a list by its index", "1.0.0", "list"),
  linsert: meta(5, ["write", "denyoom"], ["write", "list", "slow"], [1, 1, 1], "Insert an element before or after another element in a list", "2.2.0", "list"),
  llen: meta(2, ["readonly", "fast"], ["read", "list", "fast"], [1, 1, 1], "Get the length of a list", "1.0.0", "list"),
  lmove: meta(5, ["write", "denyoom"], ["write", "list", "slow"], [1, 2, 1], "Pop an element from a list, push it to another list and return it", "6.2.0", "list"),
  lmpop: meta(-4, ["write", "movablekeys"], ["write", "list", "slow"], null, "Pop elements from a list", "7.0.0", "list"),
  lpop: meta(-2, ["write", "fast"], ["write", "list", "fast"], [1, 1, 1], "Remove and get the first elements in a list", "1.0.0", "list"),
  lpos: meta(-3, ["readonly"], ["read", "list", "slow"], [1, 1, 1], "Return the index of matching elements on a list", "6.0.6", "list"),
  lpush: meta(-3, ["write", "denyoom", "fast"], ["write", "list", "fast"], [1, 1, 1], "Prepend one or multiple elements to a list", "1.0.0", "list"),
  lpushx: meta(-3, ["write", "denyoom", "fast"], ["write", "list", "fast"], [1, 1, 1], "Prepend an element to a list, only if the list exists", "2.2.0", "list"),
  lrange: meta(4, ["readonly"], ["read", "list", "slow"], [1, 1, 1], "Get a range of elements from a list", "1.0.0", "list"),
  lrem: meta(4, ["write"], ["write", "list", "slow"], [1, 1, 1], "Remove elements from a list", "1.0.0", "list"),
  lset: meta(4, ["write", "denyoom"], ["write", "list", "slow"], [1, 1, 1], "Set the value of an element in a list by its index", "1.0.0", "list"),
  ltrim: meta(4, ["write"], ["write", "list", "slow"], [1, 1, 1], "Trim a list to the specified range", "1.0.0", "list"),
  rpop: meta(-2, ["write", "fast"], ["write", "list", "fast"], [1, 1, 1], "Remove and get the last elements in a list", "1.0.0", "list"),
  rpoplpush: meta(3, ["write", "denyoom"], ["write", "list", "slow"], [1, 2, 1], "Remove the last element in a list, prepend it to another list and return it", "1.2.0", "list"),
  rpush: meta(-3, ["write", "denyoom", "fast"], ["write", "list", "fast"], [1, 1, 1], "Append one or multiple elements to a list", "1.0.0", "list"),
  rpushx: meta(-3, ["write", "denyoom", "fast"], ["write", "list", "fast"], [1, 1, 1], "Append an element to a list, only if the list exists", "2.2.0", "list"),
  sadd: meta(-3, ["write", "denyoom", "fast"], ["write", "set", "fast"], [1, 1, 1], "Add one or more members to a set", "1.0.0", "set"),
  scard: meta(2, ["readonly", "fast"], ["read", "set", "fast"], [1, 1, 1], "Get the number of members in a set", "1.0.0", "set"),
  sdiff: meta(-2, ["readonly"], ["read", "set", "slow"], [1, -1, 1], "Subtract multiple sets", "1.0.0", "set"),
  sdiffstore: meta(-3, ["write", "denyoom"], ["write", "set", "slow"], [1, -1, 1], "Subtract multiple sets and store the resulting set in a key", "1.0.0", "set"),
  sinter: meta(-2, ["readonly"], ["read", "set", "slow"], [1, -1, 1], "Intersect multiple sets", "1.0.0", "set"),
  sintercard: meta(-3, ["readonly", "movablekeys"], ["read", "set", "slow"], null, "Intersect multiple sets and return the cardinality of the result", "7.0.0", "set"),
  sinterstore: meta(-3, ["write", "denyoom"], ["write", "set", "slow"], [1, -1, 1], "Intersect multiple sets and store the resulting set in a key", "1.0.0", "set"),
  sismember: meta(3, ["readonly", "fast"], ["read", "set", "fast"], [1, 1, 1], "Determine if a given value is a member of a set", "1.0.0", "set"),
  smembers: meta(2, ["readonly"], ["read", "set", "slow"], [1, 1, 1], "Get all the members in a set", "1.0.0", "set"),
  smismember: meta(-3, ["readonly", "fast"], ["read", "set", "fast"], [1, 1, 1], "Returns the membership associated with the given elements for a set", "6.2.0", "set"),
  smove: meta(4, ["write", "fast"], ["write", "set", "fast"], [1, 2, 1], "Move a member from one set to another", "1.0.0", "set"),
  spop: meta(-2, ["write", "fast"], ["write", "set", "fast"], [1, 1, 1], "Remove and return one or multiple random members from a set", "1.0.0", "set"),
  srandmember: meta(-2, ["readonly"], ["read", "set", "slow"], [1, 1, 1], "Get one or multiple random members from a set", "1.0.0", "set"),
  srem: meta(-3, ["write", "fast"], ["write", "set", "fast"], [1, 1, 1], "Remove one or more members from a set", "1.0.0", "set"),
  sscan: meta(-3, ["readonly"], ["read", "set", "slow"], [1, 1, 1], "Incrementally iterate Set elements", "2.8.0", "set"),
  sunion: meta(-2, ["readonly"], ["read", "set", "slow"], [1, -1, 1], "Add multiple sets", "1.0.0", "set"),
  sunionstore: meta(-3, ["write", "denyoom"], ["write", "set", "slow"], [1, -1, 1], "Add multiple sets and store the resulting set in a key", "1.0.0", "set"),
  zadd: meta(-4, ["write", "denyoom", "fast"], ["write", "sortedset", "fast"], [1, 1, 1], "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", "sorted-set"),
  zcard: meta(2, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Get the number of members in a sorted set", "1.2.0", "sorted-set"),
  zcount: meta(4, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Count the members in a sorted set with scores within the given values", "2.0.0", "sorted-set"),
  zdiff: meta(-3, ["readonly", "movablekeys"], ["read", "sortedset", "slow"], null, "Subtract multiple sorted sets", "6.2.0", "sorted-set"),
  zdiffstore: meta(-4, ["write", "denyoom", "movablekeys"], ["write", "sortedset", "slow"], [1, 1, 1], "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", "sorted-set"),
  zincrby: meta(4, ["write", "denyoom", "fast"], ["write", "sortedset", "fast"], [1, 1, 1], "Increment the score of a member in a sorted set", "1.2.0", "sorted-set"),
  zinter: meta(-3, ["readonly", "movablekeys"], ["read", "sortedset", "slow"], null, "Intersect multiple sorted sets", "6.2.0", "sorted-set"),
  zintercard: meta(-3, ["readonly", "movablekeys"], ["read", "sortedset", "slow"], null, "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", "sorted-set"),
  zinterstore: meta(-4, ["write", "denyoom", "movablekeys"], ["write", "sortedset", "slow"], [1, 1, 1], "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "sorted-set"),
  zlexcount: meta(4, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", "sorted-set"),
  zmpop: meta(-4, ["write", "movablekeys"], ["write", "sortedset", "slow"], null, "Remove and return members with scores in a sorted set", "7.0.0", "sorted-set"),
  zmscore: meta(-3, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Get the score associated with the given members in a sorted set", "6.2.0", "sorted-set"),
  zpopmax: meta(-2, ["write", "fast"], ["write", "sortedset", "fast"], [1, 1, 1], "Remove and return members with the highest scores in a sorted set", "5.0.0", "sorted-set"),
  zpopmin: meta(-2, ["write", "fast"], ["write", "sortedset", "fast"], [1, 1, 1], "Remove and return members with the lowest scores in a sorted set", "5.0.0", "sorted-set"),
  zrandmember: meta(-2, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Get one or multiple random elements from a sorted set", "6.2.0", "sorted-set"),
  zrange: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set", "1.2.0", "sorted-set"),
  zrangebylex: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set, by lexicographical range", "2.8.9", "sorted-set"),
  zrangebyscore: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set, by score", "1.0.5", "sorted-set"),
  zrangestore: meta(-5, ["write", "denyoom"], ["write", "sortedset", "slow"], [1, 2, 1], "Store a range of members from sorted set into another key", "6.2.0", "sorted-set"),
  zrank: meta(3, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Determine the index of a member in a sorted set", "2.0.0", "sorted-set"),
  zrem: meta(-3, ["write", "fast"], ["write", "sortedset", "fast"], [1, 1, 1], "Remove one or more members from a sorted set", "1.2.0", "sorted-set"),
  zremrangebylex: meta(4, ["write"], ["write", "sortedset", "slow"], [1, 1, 1], "Remove all members in a sorted set between the given lexicographical range", "2.8.9", "sorted-set"),
  zremrangebyrank: meta(4, ["write"], ["write", "sortedset", "slow"], [1, 1, 1], "Remove all members in a sorted set within the given indexes", "2.0.0", "sorted-set"),
  zremrangebyscore: meta(4, ["write"], ["write", "sortedset", "slow"], [1, 1, 1], "Remove all members in a sorted set within the given scores", "1.2.0", "sorted-set"),
  zrevrange: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", "sorted-set"),
  zrevrangebylex: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", "sorted-set"),
  zrevrangebyscore: meta(-4, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", "sorted-set"),
  zrevrank: meta(3, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", "sorted-set"),
  zscan: meta(-3, ["readonly"], ["read", "sortedset", "slow"], [1, 1, 1], "Incrementally iterate sorted sets elements and associated scores", "2.8.0", "sorted-set"),
  zscore: meta(3, ["readonly", "fast"], ["read", "sortedset", "fast"], [1, 1, 1], "Get the score associated with the given member in a sorted set", "1.2.0", "sorted-set"),
  zunion: meta(-3, ["readonly", "movablekeys"], ["read", "sortedset", "slow"], null, "Add multiple sorted sets", "6.2.0", "sorted-set"),
  zunionstore: meta(-4, ["write", "denyoom", "movablekeys"], ["write", "sortedset", "slow"], [1, 1, 1], "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "sorted-set"),
};

/** A data command named `name` with Redis 7.0's metadata. */
export function dataCommand(name: string, run: DataHandler, getKeys?: (argv: readonly string[]) => number[]): DataCommand {
  const m = META[name];
  if (m === undefined) throw new Error(`no metadata for command ${name}`);
  return getKeys === undefined ? { kind: 'data', name, run, ...m } : { kind: 'data', name, run, getKeys, ...m };
}
