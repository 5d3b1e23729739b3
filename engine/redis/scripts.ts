// The Lua scripts of the Redis engine: every change that must be atomic and spans more than one
// command. Each script touches only the keys it is given, all of one hash tag (engine/redis/keys.ts),
// so it also runs on Redis Cluster (test/cluster.test.ts runs every one there). No script decodes
// message content (cjson would turn [] into {}).
import type { Result } from "ioredis";
import type { RedisClient } from "./connection.js";

const scripts = {
  /** KEYS token · → [grant, remaining ms of the key's TTL] or nil; the token is gone after. */
  heraldTakeToken: {
    numberOfKeys: 1,
    lua: `
local grant = redis.call('GET', KEYS[1])
if not grant then return false end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return {grant, ttl}`,
  },
  /**
   * KEYS userConnections · ARGV connId, nodeId → the user's other connections before it, flat:
   * [connId, nodeId, connId, nodeId, …] (the caller asks membership whether any was live).
   */
  heraldPresenceAdd: {
    numberOfKeys: 1,
    lua: `
local before = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local others = {}
for i = 1, #before, 2 do
  if before[i] ~= ARGV[1] then
    others[#others + 1] = before[i]
    others[#others + 1] = before[i + 1]
  end
end
return others`,
  },
  /**
   * KEYS userConnections · ARGV connId[, nodeId] → the nodes of the user's connections left, or
   * nil when there was no such connection. With nodeId, only a connection held by that node is
   * removed (clearNode, pruning).
   */
  heraldPresenceRemove: {
    numberOfKeys: 1,
    lua: `
local node = redis.call('HGET', KEYS[1], ARGV[1])
if not node or (ARGV[2] and node ~= ARGV[2]) then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('HVALS', KEYS[1])`,
  },
  /**
   * KEYS friendship · ARGV from → [reply, state, asker, version]: asks, or accepts the other's
   * request; the state after, and who asked while it is pending.
   */
  heraldRequestFriend: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'state', 'asker', 'version')
local state, asker, version = f[1], f[2], tonumber(f[3]) or 0
if state == 'friends' then return {'friends', 'friends', '', version} end
if state == 'pending' and asker ~= ARGV[1] then
  version = version + 1
  redis.call('HSET', KEYS[1], 'state', 'friends', 'asker', '', 'version', version)
  return {'friends', 'friends', '', version}
end
if state ~= 'pending' then
  version = version + 1
  redis.call('HSET', KEYS[1], 'state', 'pending', 'asker', ARGV[1], 'version', version)
end
return {'pending', 'pending', ARGV[1], version}`,
  },
  /** KEYS friendship → the version after unfriending, cancelling or declining (0: never asked). */
  heraldRemoveFriend: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'state', 'version')
local version = tonumber(f[2]) or 0
if f[1] == 'friends' or f[1] == 'pending' then
  version = version + 1
  redis.call('HSET', KEYS[1], 'state', 'none', 'asker', '', 'version', version)
end
return version`,
  },
  /** KEYS channelMembers, channelVersion · ARGV userId → the channel's version after. */
  heraldJoinChannel: {
    numberOfKeys: 2,
    lua: `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then return redis.call('INCR', KEYS[2]) end
return redis.call('INCRBY', KEYS[2], 0)`,
  },
  /** KEYS channelMembers, channelVersion · ARGV userId → the version after; 0: unknown channel. */
  heraldLeaveChannel: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then return redis.call('INCR', KEYS[2]) end
return redis.call('INCRBY', KEYS[2], 0)`,
  },
  /**
   * KEYS index · ARGV field, version, value: sets the field to "<version> <value>" unless it
   * holds that version or a newer one, so a user's index written after the truth (a friendship,
   * a channel's members) ends as the newest change whatever order the writes arrive in.
   */
  heraldIndexSet: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(string.match(current, '^%d+')) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return 1`,
  },
  /** KEYS messages, lastMessage · ARGV message JSON (stored as is), ts → the message's seq. */
  heraldAppendMessage: {
    numberOfKeys: 2,
    lua: `
local seq = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'seq', seq, 'ts', ARGV[2])
return seq`,
  },
  /** KEYS nodeIds, node(id)... · ARGV id...: drops the ids whose entry has expired. */
  heraldPruneNodes: {
    numberOfKeys: null,
    lua: `
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[1], ARGV[i - 1]) end
end
return 1`,
  },
} as const;

// ioredis' documented way to type commands added by defineCommand.
declare module "ioredis" {
  interface RedisCommander<Context> {
    heraldTakeToken(token: string): Result<[string, number] | null, Context>;
    heraldPresenceAdd(userConns: string, connId: string, nodeId: string): Result<string[], Context>;
    heraldPresenceRemove(
      userConns: string,
      connId: string,
      ...onlyOnNode: [] | [string]
    ): Result<string[] | null, Context>;
    heraldRequestFriend(
      friendship: string,
      from: string,
    ): Result<["pending" | "friends", "pending" | "friends", string, number], Context>;
    heraldRemoveFriend(friendship: string): Result<number, Context>;
    heraldJoinChannel(members: string, version: string, userId: string): Result<number, Context>;
    heraldLeaveChannel(members: string, version: string, userId: string): Result<number, Context>;
    heraldIndexSet(
      index: string,
      field: string,
      version: string,
      value: string,
    ): Result<number, Context>;
    heraldAppendMessage(
      messages: string,
      lastMessage: string,
      json: string,
      ts: string,
    ): Result<number, Context>;
    /** `numberOfKeys` first: the keys are the id set and one entry per id. */
    heraldPruneNodes(numberOfKeys: number, ...keysThenIds: string[]): Result<number, Context>;
  }
}

/** Registers the scripts on a connection or a cluster (EVALSHA, falling back to EVAL once per
 * script; on a cluster each runs on the node of its keys' slot). */
export function defineScripts(redis: RedisClient): void {
  for (const [name, { numberOfKeys, lua }] of Object.entries(scripts)) {
    redis.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
  }
}
