// The Lua scripts of the Redis engine: every change that must be atomic and spans more than one
// command. Each script touches only the keys it is given, all of one hash tag (engine/redis/keys.ts),
// so it also runs on Redis Cluster (test/cluster.test.ts runs every one there). No script decodes
// message content (cjson would turn [] into {}).
import type { Result } from "ioredis";
import type { RedisClient } from "./connection.js";

const scripts = {
  /** KEYS usernames, users · ARGV lowerName, userId, record → 1 created, 0 name taken. */
  heraldCreateUser: {
    numberOfKeys: 2,
    lua: `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`,
  },
  /** KEYS usernames, users · ARGV lowerName → [userId, record] or nil. */
  heraldUserByName: {
    numberOfKeys: 2,
    lua: `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
local record = redis.call('HGET', KEYS[2], id)
if not record then return false end
return {id, record}`,
  },
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
  /** KEYS userConnections · ARGV connId, nodeId → 1 when the user had no connection before. */
  heraldPresenceAdd: {
    numberOfKeys: 1,
    lua: `
local before = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if before == 0 then return 1 end
return 0`,
  },
  /**
   * KEYS userConnections · ARGV connId[, nodeId] → 1 when that was the user's last connection.
   * With nodeId, only a connection held by that node is removed (clearNode).
   */
  heraldPresenceRemove: {
    numberOfKeys: 1,
    lua: `
if ARGV[2] and redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
return 0`,
  },
  /** KEYS relations(from), relations(to) · ARGV from, to → "pending" | "friends". */
  heraldRequestFriend: {
    numberOfKeys: 2,
    lua: `
local state = redis.call('HGET', KEYS[1], ARGV[2])
if state == 'friends' then return 'friends' end
if state == 'incoming' then
  redis.call('HSET', KEYS[1], ARGV[2], 'friends')
  redis.call('HSET', KEYS[2], ARGV[1], 'friends')
  return 'friends'
end
redis.call('HSET', KEYS[1], ARGV[2], 'outgoing')
redis.call('HSET', KEYS[2], ARGV[1], 'incoming')
return 'pending'`,
  },
  /** KEYS relations(a), relations(b) · ARGV a, b: unfriend, cancel or decline. */
  heraldRemoveFriend: {
    numberOfKeys: 2,
    lua: `
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`,
  },
  /** KEYS channelIndex, channelMembers, channelsOf · ARGV name, userId. */
  heraldJoinChannel: {
    numberOfKeys: 3,
    lua: `
if redis.call('SADD', KEYS[2], ARGV[2]) == 1 then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
end
return 1`,
  },
  /** KEYS channelIndex, channelMembers, channelsOf · ARGV name, userId → 0 unknown channel. */
  heraldLeaveChannel: {
    numberOfKeys: 3,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SREM', KEYS[2], ARGV[2]) == 1 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
end
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
    heraldCreateUser(
      usernames: string,
      users: string,
      lowerName: string,
      userId: string,
      record: string,
    ): Result<number, Context>;
    heraldUserByName(
      usernames: string,
      users: string,
      lowerName: string,
    ): Result<[string, string] | null, Context>;
    heraldTakeToken(token: string): Result<[string, number] | null, Context>;
    heraldPresenceAdd(userConns: string, connId: string, nodeId: string): Result<number, Context>;
    heraldPresenceRemove(
      userConns: string,
      connId: string,
      ...onlyOnNode: [] | [string]
    ): Result<number, Context>;
    heraldRequestFriend(
      fromRelations: string,
      toRelations: string,
      from: string,
      to: string,
    ): Result<"pending" | "friends", Context>;
    heraldRemoveFriend(
      aRelations: string,
      bRelations: string,
      a: string,
      b: string,
    ): Result<number, Context>;
    heraldJoinChannel(
      index: string,
      members: string,
      channelsOf: string,
      name: string,
      userId: string,
    ): Result<number, Context>;
    heraldLeaveChannel(
      index: string,
      members: string,
      channelsOf: string,
      name: string,
      userId: string,
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
