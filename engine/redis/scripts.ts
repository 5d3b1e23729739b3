// The Lua scripts of the Redis engine: every change that must be atomic and spans more than one
// command. Each script touches only the keys it is given, all of one hash tag (engine/redis/keys.ts),
// so it also runs on Redis Cluster (test/cluster.test.ts runs every one there). No script decodes
// JSON (cjson would turn [] into {}): items are stored as JS wrote them, state by seq or id.
import type { Result } from "ioredis";
import { CLIENT_MSG_ID_TTL_S, MAX_EMOJI_PER_MESSAGE } from "../store/stream.js";
import type { RedisClient } from "./connection.js";

/** How many keys every channel script takes: RedisKeys.channelKeys, in that order. */
const CHANNEL_KEY_COUNT = 11;

/**
 * What every channel script shares. A channel from before records (members, no record) is
 * adopted by the first script that changes it: public, all history, no owner, its members
 * given join orders once (one O(n) step, then never again).
 */
const CHANNEL_PRELUDE = `
local K = {members = KEYS[1], version = KEYS[2], record = KEYS[3], roles = KEYS[4],
  order = KEYS[5], admins = KEYS[6], invites = KEYS[7], bans = KEYS[8], cursors = KEYS[9],
  conv = KEYS[10], mentions = KEYS[11]}
local function member(id)
  local e = redis.call('HGET', K.roles, id)
  if not e then
    if redis.call('SISMEMBER', K.members, id) == 1 then
      return {role = 'member', seq = 0, order = 0, muted = 0}
    end
    return nil
  end
  local role, seq, order, muted = string.match(e, '^(%S+) (%d+) (%d+) (%d+)$')
  return {role = role, seq = tonumber(seq), order = tonumber(order), muted = tonumber(muted)}
end
local function putMember(id, m)
  redis.call('HSET', K.roles, id, m.role .. ' ' .. m.seq .. ' ' .. m.order .. ' ' .. m.muted)
  if m.role == 'admin' then redis.call('ZADD', K.admins, m.order, id)
  else redis.call('ZREM', K.admins, id) end
end
local function standing(id)
  local m = member(id)
  if m then return m.role end
  if redis.call('SISMEMBER', K.bans, id) == 1 then return 'banned' end
  return 'outsider'
end
local function adopt()
  if redis.call('EXISTS', K.record) == 1 then return true end
  if redis.call('EXISTS', K.version) == 0 then return false end
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', K.members)) do
    n = n + 1
    redis.call('ZADD', K.order, n, id)
    redis.call('HSET', K.roles, id, 'member 0 ' .. n .. ' 0')
  end
  redis.call('HSET', K.record, 'owner', '', 'title', '', 'visibility', 'public',
    'history', 'all', 'created', 0, 'joins', n)
  return true
end
-- A new member (the owner when there is none); their cursor starts at the last seq.
local function addMember(id)
  local order = redis.call('HINCRBY', K.record, 'joins', 1)
  local seq = tonumber(redis.call('HGET', K.conv, 'seq')) or 0
  local role = 'member'
  if redis.call('HGET', K.record, 'owner') == '' then
    role = 'owner'
    redis.call('HSET', K.record, 'owner', id)
  end
  redis.call('SADD', K.members, id)
  redis.call('SREM', K.invites, id)
  redis.call('ZADD', K.order, order, id)
  redis.call('ZADD', K.cursors, seq, id)
  putMember(id, {role = role, seq = seq, order = order, muted = 0})
  return role
end
-- Removes a member (their cursor and mentions go too); an owner's place goes to the
-- longest-standing admin, else member. Answers the heir, or "".
local function removeMember(id)
  local m = member(id)
  redis.call('SREM', K.members, id)
  redis.call('HDEL', K.roles, id)
  redis.call('ZREM', K.order, id)
  redis.call('ZREM', K.admins, id)
  redis.call('ZREM', K.cursors, id)
  redis.call('DEL', K.mentions)
  if m.role ~= 'owner' then return '' end
  local heir = redis.call('ZRANGE', K.admins, 0, 0)[1] or redis.call('ZRANGE', K.order, 0, 0)[1]
  if heir then
    local h = member(heir)
    h.role = 'owner'
    putMember(heir, h)
  end
  redis.call('HSET', K.record, 'owner', heir or '')
  return heir or ''
end`;

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
   * KEYS friendship · ARGV from, to → [reply, state, asker, version]: asks, or accepts the
   * other's request; the state after, and who asked while it is pending. "blocked" (nothing
   * changed) while either blocks the other.
   */
  heraldRequestFriend: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'state', 'asker', 'version', 'block:' .. ARGV[1],
  'block:' .. ARGV[2])
local state, asker, version = f[1], f[2], tonumber(f[3]) or 0
if f[4] or f[5] then return {'blocked', state or 'none', asker or '', version} end
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
  /** KEYS CHANNEL_KEYS · ARGV owner, title, visibility, history, created → {"created",
   * version} | {"exists"}: the creator is its owner and only member. */
  heraldChannelCreate: {
    numberOfKeys: CHANNEL_KEY_COUNT,
    lua: `${CHANNEL_PRELUDE}
if redis.call('EXISTS', K.version) == 1 then return {'exists'} end
redis.call('HSET', K.record, 'owner', '', 'title', ARGV[2], 'visibility', ARGV[3],
  'history', ARGV[4], 'created', ARGV[5], 'joins', 0)
addMember(ARGV[1])
return {'created', redis.call('INCR', K.version)}`,
  },
  /**
   * KEYS CHANNEL_KEYS · ARGV userId, maxMembers, now → {"joined", version, role} |
   * {"member", version} | {"refused", "banned" | "invite_required" | "channel_full"}. The
   * checks and the insert are one step; an unknown name is created public with the joiner as
   * owner (v1's join), and a channel without owner gets the joiner as one.
   */
  heraldChannelJoin: {
    numberOfKeys: CHANNEL_KEY_COUNT,
    lua: `${CHANNEL_PRELUDE}
if not adopt() then
  redis.call('HSET', K.record, 'owner', '', 'title', '', 'visibility', 'public',
    'history', 'all', 'created', ARGV[3], 'joins', 0)
end
local user = ARGV[1]
if redis.call('SISMEMBER', K.members, user) == 1 then
  return {'member', redis.call('INCRBY', K.version, 0)}
end
if redis.call('SISMEMBER', K.bans, user) == 1 then return {'refused', 'banned'} end
if redis.call('HGET', K.record, 'visibility') == 'private'
  and redis.call('SISMEMBER', K.invites, user) == 0 then
  return {'refused', 'invite_required'}
end
if redis.call('SCARD', K.members) >= tonumber(ARGV[2]) then return {'refused', 'channel_full'} end
local role = addMember(user)
return {'joined', redis.call('INCR', K.version), role}`,
  },
  /**
   * KEYS CHANNEL_KEYS (mentions: the leaver's) · ARGV userId → {"unknown"} | {"none"} |
   * {"left", version, heir or ""}: an owner's place goes on in the same step.
   */
  heraldChannelLeave: {
    numberOfKeys: CHANNEL_KEY_COUNT,
    lua: `${CHANNEL_PRELUDE}
if not adopt() then return {'unknown'} end
if redis.call('SISMEMBER', K.members, ARGV[1]) == 0 then return {'none'} end
local heir = removeMember(ARGV[1])
return {'left', redis.call('INCR', K.version), heir}`,
  },
  /**
   * A moderation step (MemberChange), applied only while actor and target stand as given.
   * KEYS CHANNEL_KEYS (mentions: the target's) · ARGV kind, actor, actor's standing, target,
   * target's standing, value (kick: "1" to ban; mute: until; role: the role)
   * → {"stale"} | {"noop"} | {"done", version (a kick: the channel's after; else 0), heir or ""}.
   */
  heraldChannelChange: {
    numberOfKeys: CHANNEL_KEY_COUNT,
    lua: `${CHANNEL_PRELUDE}
if not adopt() then return {'stale'} end
local kind, actor, target, value = ARGV[1], ARGV[2], ARGV[4], ARGV[6]
if standing(actor) ~= ARGV[3] or standing(target) ~= ARGV[5] then return {'stale'} end
local entry = member(target)
if kind == 'invite' then
  if entry or redis.call('SADD', K.invites, target) == 0 then return {'noop'} end
elseif kind == 'kick' then
  local banned = value == '1' and redis.call('SADD', K.bans, target) == 1
  if entry then
    local heir = removeMember(target)
    return {'done', redis.call('INCR', K.version), heir}
  end
  if not banned then return {'noop'} end
elseif kind == 'unban' then
  if redis.call('SREM', K.bans, target) == 0 then return {'noop'} end
elseif kind == 'mute' or kind == 'unmute' then
  local untilMs = kind == 'mute' and tonumber(value) or 0
  if not entry or entry.muted == untilMs then return {'noop'} end
  entry.muted = untilMs
  putMember(target, entry)
elseif kind == 'role' then
  if not entry or entry.role == value then return {'noop'} end
  entry.role = value
  putMember(target, entry)
elseif kind == 'owner' then
  local from = member(actor)
  if not entry or not from or actor == target then return {'noop'} end
  from.role, entry.role = 'admin', 'owner'
  putMember(actor, from)
  putMember(target, entry)
  redis.call('HSET', K.record, 'owner', target)
end
return {'done', 0, ''}`,
  },
  /** KEYS CHANNEL_KEYS · ARGV after (a joinOrder), limit → {userId, entry, …} in join order:
   * O(log n + page). */
  heraldChannelPage: {
    numberOfKeys: CHANNEL_KEY_COUNT,
    lua: `${CHANNEL_PRELUDE}
if not adopt() then return {} end
local ids = redis.call('ZRANGEBYSCORE', K.order, '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', K.roles, id) or false
end
return out`,
  },
  /**
   * KEYS members, version, record, roles, bans · ARGV userId → {exists 0 | 1, member 0 | 1,
   * entry or false, visibility or false, history or false, banned 0 | 1}: O(1), read only (a
   * member from before records has no entry yet).
   */
  heraldChannelMember: {
    numberOfKeys: 5,
    lua: `
local record = redis.call('HMGET', KEYS[3], 'visibility', 'history')
return {redis.call('EXISTS', KEYS[2]), redis.call('SISMEMBER', KEYS[1], ARGV[1]),
  redis.call('HGET', KEYS[4], ARGV[1]) or false, record[1] or false, record[2] or false,
  redis.call('SISMEMBER', KEYS[5], ARGV[1])}`,
  },
  /**
   * KEYS friendship · ARGV blocker, blocked → the version after: sets the block and ends a
   * friendship or pending request between them, in one step.
   */
  heraldBlock: {
    numberOfKeys: 1,
    lua: `
local f = redis.call('HMGET', KEYS[1], 'state', 'version')
local version = tonumber(f[2]) or 0
if redis.call('HSETNX', KEYS[1], 'block:' .. ARGV[1], 1) == 1
  or f[1] == 'friends' or f[1] == 'pending' then
  version = version + 1
  redis.call('HSET', KEYS[1], 'state', 'none', 'asker', '', 'version', version)
end
return version`,
  },
  /** KEYS friendship · ARGV blocker → the version after lifting the block (0: none). */
  heraldUnblock: {
    numberOfKeys: 1,
    lua: `
if redis.call('HDEL', KEYS[1], 'block:' .. ARGV[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'version', 1)`,
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
   * clientMsgId (none: log again), channel roles (a direct conversation: the pair's
   * friendship hash), mentions(userId)…
   * ARGV envelope JSON, body JSON, id, from, ts, channel ("1" | "0"), with clientMsgId ("1" | "0"),
   * the sender's standing checked ("member": a channel's member not muted at now; "peer": a
   * direct message's pair not blocking; "friend": and friends; "": none), now, the pair a, b
   * → {"stored", seq} | {"duplicate", seq of the first} | {"refused", "not_member" | "blocked" |
   * "not_friends"} | {"refused", "muted", mutedUntil}.
   */
  heraldAppendMessage: {
    numberOfKeys: null,
    lua: `
if ARGV[7] == '1' then
  local first = redis.call('GET', KEYS[5])
  if first then return {'duplicate', tonumber(first)} end
end
if ARGV[8] == 'member' then
  if redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 0 then return {'refused', 'not_member'} end
  local entry = redis.call('HGET', KEYS[6], ARGV[4])
  local muted = entry and tonumber(string.match(entry, '(%d+)$')) or 0
  if muted > tonumber(ARGV[9]) then return {'refused', 'muted', muted} end
elseif ARGV[8] == 'peer' or ARGV[8] == 'friend' then
  local pair = redis.call('HMGET', KEYS[6], 'block:' .. ARGV[10], 'block:' .. ARGV[11], 'state')
  if pair[1] or pair[2] then return {'refused', 'blocked'} end
  if ARGV[8] == 'friend' and pair[3] ~= 'friends' then return {'refused', 'not_friends'} end
end
local seq = redis.call('RPUSH', KEYS[1], ARGV[1])
local count = (tonumber(redis.call('HGET', KEYS[2], 'count')) or 0) + 1
redis.call('HSET', KEYS[2], 'seq', seq, 'ts', ARGV[5], 'count', count, 'n' .. seq, count,
  'i' .. ARGV[3], seq, 'b' .. seq, ARGV[2])
if ARGV[6] == '0' or redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 1 then
  redis.call('ZADD', KEYS[3], 'GT', seq, ARGV[4])
end
for i = 7, #KEYS do redis.call('ZADD', KEYS[i], seq, seq) end
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
      to: string,
    ): Result<
      ["pending" | "friends" | "blocked", "pending" | "friends" | "none", string, number],
      Context
    >;
    heraldBlock(friendship: string, blocker: string, blocked: string): Result<number, Context>;
    heraldUnblock(friendship: string, blocker: string): Result<number, Context>;
    /** The channel scripts take RedisKeys.channelKeys, then their arguments. */
    heraldChannelCreate(
      ...keysThenArgs: string[]
    ): Result<["created", number] | ["exists"], Context>;
    heraldChannelJoin(
      ...keysThenArgs: string[]
    ): Result<["joined", number, string] | ["member", number] | ["refused", string], Context>;
    heraldChannelLeave(
      ...keysThenArgs: string[]
    ): Result<["unknown"] | ["none"] | ["left", number, string], Context>;
    heraldChannelChange(
      ...keysThenArgs: string[]
    ): Result<["stale"] | ["noop"] | ["done", number, string], Context>;
    heraldChannelPage(...keysThenArgs: (string | number)[]): Result<(string | null)[], Context>;
    heraldChannelMember(
      members: string,
      version: string,
      record: string,
      roles: string,
      bans: string,
      userId: string,
    ): Result<[0 | 1, 0 | 1, string | null, string | null, string | null, 0 | 1], Context>;
    heraldRemoveFriend(friendship: string): Result<number, Context>;
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
    ): Result<
      | ["stored" | "duplicate", number]
      | ["refused", "not_member" | "blocked" | "not_friends"]
      | ["refused", "muted", number],
      Context
    >;
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
