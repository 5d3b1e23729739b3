// The Lua scripts of the Redis engine: every change that must be atomic and spans more than one
// command. Each script touches only the keys it is given, all of one hash tag (engine/redis/keys.ts),
// so it also runs on Redis Cluster (test/cluster.test.ts runs every one there). No script decodes
// JSON (cjson would turn [] into {}): items are stored as JS wrote them, state by seq or id.
import type { Result } from "ioredis";
import { CLIENT_MSG_ID_TTL_S, MAX_EMOJI_PER_MESSAGE } from "../store/stream.js";
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
  /**
   * KEYS channelMembers, channelVersion, cursors, conversation · ARGV userId → the channel's
   * version after. A new member's cursor starts at the last seq: what came before reads as read.
   */
  heraldJoinChannel: {
    numberOfKeys: 4,
    lua: `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return redis.call('INCRBY', KEYS[2], 0) end
redis.call('ZADD', KEYS[3], tonumber(redis.call('HGET', KEYS[4], 'seq')) or 0, ARGV[1])
return redis.call('INCR', KEYS[2])`,
  },
  /**
   * KEYS channelMembers, channelVersion, cursors, mentions(userId) · ARGV userId → the version
   * after; 0: unknown channel. The member's cursor and mentions go with them.
   */
  heraldLeaveChannel: {
    numberOfKeys: 4,
    lua: `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return redis.call('INCRBY', KEYS[2], 0) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
return redis.call('INCR', KEYS[2])`,
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
  /**
   * Appends a message (RedisStore.append), all in one step.
   * KEYS log, conversation, cursors, channelMembers (a direct conversation: cursors again),
   * clientMsgId (none: log again), mentions(userId)…
   * ARGV envelope JSON, body JSON, id, from, ts, channel ("1" | "0"), with clientMsgId ("1" | "0")
   * → {"stored", seq} | {"duplicate", seq of the first}.
   */
  heraldAppendMessage: {
    numberOfKeys: null,
    lua: `
if ARGV[7] == '1' then
  local first = redis.call('GET', KEYS[5])
  if first then return {'duplicate', tonumber(first)} end
end
local seq = redis.call('RPUSH', KEYS[1], ARGV[1])
local count = (tonumber(redis.call('HGET', KEYS[2], 'count')) or 0) + 1
redis.call('HSET', KEYS[2], 'seq', seq, 'ts', ARGV[5], 'count', count, 'n' .. seq, count,
  'i' .. ARGV[3], seq, 'b' .. seq, ARGV[2])
if ARGV[6] == '0' or redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 1 then
  redis.call('ZADD', KEYS[3], 'GT', seq, ARGV[4])
end
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], seq, seq) end
if ARGV[7] == '1' then redis.call('SET', KEYS[5], seq, 'EX', ${CLIENT_MSG_ID_TTL_S}) end
return {'stored', seq}`,
  },
  /**
   * Appends an edit, recall or reaction and changes its target message, all in one step, or
   * refuses it. KEYS log, conversation, reactions · ARGV kind, envelope JSON, body JSON or "",
   * id, from, ts, target id, emoji, op ("add" | "remove")
   * → {"stored", seq} | {"refused", "not_found" | "recalled" | "too_many_reactions" | "noop"}.
   */
  heraldAppendChange: {
    numberOfKeys: 3,
    lua: `
local kind, from = ARGV[1], ARGV[5]
local target = redis.call('HGET', KEYS[2], 'i' .. ARGV[7])
if not target then return {'refused', 'not_found'} end
if redis.call('HEXISTS', KEYS[2], 'r' .. target) == 1 then return {'refused', 'recalled'} end
if kind == 'reaction' then
  local emoji = target .. ' ' .. ARGV[8]
  local who = emoji .. ' ' .. from
  if (ARGV[9] == 'add') == (redis.call('HEXISTS', KEYS[3], who) == 1) then
    return {'refused', 'noop'}
  end
  local list = redis.call('HGET', KEYS[3], target) or ''
  if ARGV[9] == 'add' then
    if redis.call('HEXISTS', KEYS[3], emoji) == 0 then
      local n = 0
      for _ in string.gmatch(list, '%S+') do n = n + 1 end
      if n >= ${MAX_EMOJI_PER_MESSAGE} then return {'refused', 'too_many_reactions'} end
      redis.call('HSET', KEYS[3], target, list == '' and ARGV[8] or (list .. ' ' .. ARGV[8]))
    end
    redis.call('HSET', KEYS[3], who, 1)
    redis.call('HINCRBY', KEYS[3], emoji, 1)
  else
    redis.call('HDEL', KEYS[3], who)
    if redis.call('HINCRBY', KEYS[3], emoji, -1) <= 0 then
      redis.call('HDEL', KEYS[3], emoji)
      local kept = {}
      for e in string.gmatch(list, '%S+') do
        if e ~= ARGV[8] then kept[#kept + 1] = e end
      end
      if #kept == 0 then redis.call('HDEL', KEYS[3], target)
      else redis.call('HSET', KEYS[3], target, table.concat(kept, ' ')) end
    end
  end
end
local seq = redis.call('RPUSH', KEYS[1], ARGV[2])
local count = tonumber(redis.call('HGET', KEYS[2], 'count')) or 0
redis.call('HSET', KEYS[2], 'seq', seq, 'ts', ARGV[6], 'count', count, 'n' .. seq, count,
  'j' .. ARGV[4], seq)
if kind == 'edit' then
  local edits = redis.call('HGET', KEYS[2], 'x' .. target)
  redis.call('HSET', KEYS[2], 'b' .. seq, ARGV[3], 'e' .. target, seq .. ' ' .. ARGV[6],
    'x' .. target, edits and (edits .. ' ' .. seq) or seq)
elseif kind == 'recall' then
  -- Deleted, not hidden: the message's body, every edit's body and the reaction counts go.
  local gone = {'b' .. target, 'e' .. target, 'x' .. target}
  for s in string.gmatch(redis.call('HGET', KEYS[2], 'x' .. target) or '', '%d+') do
    gone[#gone + 1] = 'b' .. s
  end
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('HSET', KEYS[2], 'r' .. target, 1)
  for e in string.gmatch(redis.call('HGET', KEYS[3], target) or '', '%S+') do
    redis.call('HDEL', KEYS[3], target .. ' ' .. e)
  end
  redis.call('HDEL', KEYS[3], target)
end
return {'stored', seq}`,
  },
  /**
   * KEYS log, conversation, reactions · ARGV first index, last index, with reactions
   * ("1" | "0"), viewer, id ("": the range; else only that item) → per item {seq, envelope,
   * body | false, last edit's body | false, edit ts | false, recalled 0 | 1,
   * {emoji, count, viewer reacted 0 | 1, …}}.
   */
  heraldItems: {
    numberOfKeys: 3,
    lua: `
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[5] ~= '' then
  local at = redis.call('HMGET', KEYS[2], 'i' .. ARGV[5], 'j' .. ARGV[5])
  local seq = tonumber(at[1] or at[2])
  if not seq then return {} end
  first, last = seq - 1, seq - 1
end
local envelopes = redis.call('LRANGE', KEYS[1], first, last)
local out = {}
for i, envelope in ipairs(envelopes) do
  local seq = first + i
  local state = redis.call('HMGET', KEYS[2], 'b' .. seq, 'e' .. seq, 'r' .. seq)
  local editBody, editTs = false, false
  if state[2] then
    local editSeq, ts = string.match(state[2], '^(%d+) (%d+)$')
    editBody, editTs = redis.call('HGET', KEYS[2], 'b' .. editSeq) or false, ts
  end
  local reactions = {}
  if ARGV[3] == '1' then
    for e in string.gmatch(redis.call('HGET', KEYS[3], seq) or '', '%S+') do
      local key = seq .. ' ' .. e
      reactions[#reactions + 1] = e
      reactions[#reactions + 1] = tonumber(redis.call('HGET', KEYS[3], key)) or 0
      reactions[#reactions + 1] = redis.call('HEXISTS', KEYS[3], key .. ' ' .. ARGV[4])
    end
  end
  out[i] = {seq, envelope, state[1] or false, editBody, editTs, state[3] and 1 or 0, reactions}
end
return out`,
  },
  /**
   * KEYS conversation, cursors, channelMembers (a direct conversation: cursors again) ·
   * ARGV userId, seq, channel ("1" | "0") → {readSeq, unread, moved 0 | 1}. Forward only,
   * clamped to the last seq; a channel's non-member has no cursor.
   */
  heraldMarkRead: {
    numberOfKeys: 3,
    lua: `
local last = redis.call('HMGET', KEYS[1], 'seq', 'count')
local target = math.min(tonumber(ARGV[2]), tonumber(last[1]) or 0)
local cursor = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1])) or 0
local moved = 0
if target > cursor and (ARGV[3] == '0' or redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1) then
  redis.call('ZADD', KEYS[2], target, ARGV[1])
  cursor, moved = target, 1
end
local before = 0
if cursor > 0 then before = tonumber(redis.call('HGET', KEYS[1], 'n' .. cursor)) or 0 end
return {cursor, (tonumber(last[2]) or 0) - before, moved}`,
  },
  /**
   * KEYS conversation, cursors, mentions(userId) · ARGV userId, peer ("" for a channel) →
   * {lastSeq, lastTs, readSeq, unread, mentions, peer's readSeq}: O(log n).
   */
  heraldSummary: {
    numberOfKeys: 3,
    lua: `
local last = redis.call('HMGET', KEYS[1], 'seq', 'ts', 'count')
local cursor = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1])) or 0
local before = 0
if cursor > 0 then before = tonumber(redis.call('HGET', KEYS[1], 'n' .. cursor)) or 0 end
local peer, mentions = 0, 0
if ARGV[2] ~= '' then peer = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2])) or 0
else mentions = redis.call('ZCOUNT', KEYS[3], '(' .. cursor, '+inf') end
return {tonumber(last[1]) or 0, tonumber(last[2]) or 0, cursor,
  (tonumber(last[3]) or 0) - before, mentions, peer}`,
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

/** One item as heraldItems answers it: seq, envelope, body, last edit's body and ts,
 * recalled, reactions flat as [emoji, count, me, …]. */
export type ItemRow = [
  number,
  string,
  string | null,
  string | null,
  string | null,
  0 | 1,
  (string | number)[],
];

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
    heraldJoinChannel(
      members: string,
      version: string,
      cursors: string,
      conversation: string,
      userId: string,
    ): Result<number, Context>;
    heraldLeaveChannel(
      members: string,
      version: string,
      cursors: string,
      mentions: string,
      userId: string,
    ): Result<number, Context>;
    heraldIndexSet(
      index: string,
      field: string,
      version: string,
      value: string,
    ): Result<number, Context>;
    /** `numberOfKeys` first, then the keys and the arguments (see the script). */
    heraldAppendMessage(
      numberOfKeys: number,
      ...keysThenArgs: string[]
    ): Result<["stored" | "duplicate", number], Context>;
    heraldAppendChange(
      log: string,
      conversation: string,
      reactions: string,
      ...args: string[]
    ): Result<["stored", number] | ["refused", string], Context>;
    heraldItems(
      log: string,
      conversation: string,
      reactions: string,
      first: number,
      last: number,
      withReactions: "1" | "0",
      viewer: string,
      id: string,
    ): Result<ItemRow[], Context>;
    heraldMarkRead(
      conversation: string,
      cursors: string,
      members: string,
      userId: string,
      seq: number,
      channel: "1" | "0",
    ): Result<[number, number, 0 | 1], Context>;
    heraldSummary(
      conversation: string,
      cursors: string,
      mentions: string,
      userId: string,
      peer: string,
    ): Result<[number, number, number, number, number, number], Context>;
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
