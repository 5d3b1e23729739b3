// A one-off copy of a Redis store into PostgreSQL (`npm run migrate-store`), so a running
// deployment moves without losing history: accounts, sessions (with their time left),
// friendships, blocks, channels (records, members with roles, join seqs and mutes, invites,
// bans), every conversation stream, cursors, files and their shares, pending webhook events.
// Streams are replayed item by item through the PostgreSQL store's own append, so seqs, counts,
// edits, recalls and reactions come out as the store itself would have made them. Idempotent:
// every row is inserted only when missing, and a stream continues after the last seq already
// copied, so a run that stopped half way is finished by running it again.
import type pg from "pg";
import { refOfKey } from "../ids.js";
import type { StreamItem } from "../protocol.js";
import type { RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import type { RedisStore } from "../store/redis.js";
import type { PostgresStore } from "../store/postgres.js";
import type { ConversationRef, FileShare, NewItem } from "../store/types.js";
import { usernameKey } from "../usernames.js";

export interface MigrateCounts {
  users: number;
  sessions: number;
  friendships: number;
  channels: number;
  conversations: number;
  items: number;
  files: number;
  webhookEvents: number;
}

/** Every key matching `pattern`, on every master of a cluster. */
async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = "nodes" in redis ? redis.nodes("master") : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
  }
  return [...new Set(keys)].sort();
}

/** The hash tag of a key after the prefix: `{u:id}:user` → `u:id`. */
function tagOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  return rest.slice(1, rest.indexOf("}"));
}

export async function migrateStore(
  source: {
    redis: RedisClient;
    keys: RedisKeys;
    store: RedisStore;
  },
  target: { pool: pg.Pool; store: PostgresStore },
): Promise<MigrateCounts> {
  const { redis, keys } = source;
  const prefix = keys.prefix;
  const { pool } = target;
  const counts: MigrateCounts = {
    users: 0,
    sessions: 0,
    friendships: 0,
    channels: 0,
    conversations: 0,
    items: 0,
    files: 0,
    webhookEvents: 0,
  };

  const userIds: string[] = [];
  for (const key of await scanKeys(redis, `${prefix}{u:*}:user`)) {
    const userId = tagOf(key, prefix).slice(2);
    const record = await redis.get(key);
    if (record === null) continue;
    const { username, passwordHash } = JSON.parse(record) as {
      username: string;
      passwordHash: string;
    };
    userIds.push(userId);
    const { rowCount } = await pool.query(
      `INSERT INTO users (user_id, username, username_key, password_hash)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [userId, username, usernameKey(username), passwordHash],
    );
    counts.users += rowCount ?? 0;
  }

  for (const userId of userIds) {
    for (const sessionId of await redis.smembers(keys.userSessions(userId))) {
      const ttl = await redis.pttl(keys.session(sessionId));
      if (ttl <= 0) continue;
      const { rowCount } = await pool.query(
        `INSERT INTO sessions (session_id, user_id, expires_at)
         VALUES ($1, $2, now() + $3 * interval '1 millisecond') ON CONFLICT DO NOTHING`,
        [sessionId, userId, ttl],
      );
      counts.sessions += rowCount ?? 0;
    }
    for (const blocked of await source.store.blocksOf(userId))
      await pool.query("INSERT INTO blocks VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        userId,
        blocked,
      ]);
  }

  for (const key of await scanKeys(redis, `${prefix}{d:*}:friendship`)) {
    const pair = refOfKey(tagOf(key, prefix));
    const [state, asker] = await redis.hmget(key, "state", "asker");
    if (pair?.kind !== "direct" || (state !== "friends" && state !== "pending")) continue;
    const { rowCount } = await pool.query(
      "INSERT INTO friendships (lo, hi, state, asker) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [pair.a, pair.b, state, state === "pending" ? (asker ?? "") : ""],
    );
    counts.friendships += rowCount ?? 0;
  }

  for (const key of await scanKeys(redis, `${prefix}{c:*}:version`)) {
    const name = tagOf(key, prefix).slice(2);
    const record = await source.store.channelInfo(name);
    if (record === null) continue;
    const joins = Number((await redis.hget(keys.channelPart(name, "record"), "joins")) ?? 0);
    const { rowCount } = await pool.query(
      `INSERT INTO channels (name, owner, title, visibility, history, created, join_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [name, record.owner, record.title, record.visibility, record.history, record.created, joins],
    );
    counts.channels += rowCount ?? 0;
    // Its stream's row, so its members list it even before its first item.
    await pool.query(
      "INSERT INTO conversations (key, channel) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [`c:${name}`, name],
    );
    for (const m of await source.store.membersPage(name, 0, Number.MAX_SAFE_INTEGER))
      await pool.query(
        `INSERT INTO channel_members (name, user_id, role, join_seq, join_order, muted_until)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [name, m.userId, m.role, m.joinSeq, m.joinOrder, m.mutedUntil],
      );
    for (const [part, table] of [
      ["invites", "channel_invites"],
      ["bans", "channel_bans"],
    ] as const)
      for (const userId of await redis.smembers(keys.channelPart(name, part)))
        await pool.query(`INSERT INTO ${table} VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          name,
          userId,
        ]);
    await pool.query(
      `UPDATE channels SET
         members = (SELECT count(*) FROM channel_members WHERE name = $1),
         join_count = GREATEST(join_count,
           (SELECT coalesce(max(join_order), 0) FROM channel_members WHERE name = $1))
       WHERE name = $1`,
      [name],
    );
  }

  const logs = [
    ...(await scanKeys(redis, `${prefix}{d:*}:log`)),
    ...(await scanKeys(redis, `${prefix}{c:*}:log`)),
  ];
  for (const key of logs) {
    const ref = refOfKey(tagOf(key, prefix));
    if (ref === null) continue;
    counts.items += await copyStream(source, target, key, ref);
    counts.conversations++;
  }

  for (const key of await scanKeys(redis, `${prefix}{f:*}:file`)) {
    const record = await redis.get(key);
    if (record === null) continue;
    const file = JSON.parse(record);
    const { rowCount } = await pool.query(
      "INSERT INTO files (file_id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [file.fileId, record],
    );
    counts.files += rowCount ?? 0;
    for (const entry of await redis.smembers(keys.fileShares(file.fileId))) {
      const share = JSON.parse(entry) as FileShare;
      await target.store.shareFile(file.fileId, share.ref, share.seq);
    }
  }

  counts.webhookEvents = await copyWebhookQueue(source, pool);
  return counts;
}

/** Replays the stream's items after the last seq PostgreSQL has, then copies the cursors. */
async function copyStream(
  source: { redis: RedisClient; keys: RedisKeys },
  target: { pool: pg.Pool; store: PostgresStore },
  log: string,
  ref: ConversationRef,
): Promise<number> {
  const { redis, keys } = source;
  const { rows } = await target.pool.query<{ last_seq: number }>(
    "SELECT last_seq FROM conversations WHERE key = $1",
    [tagOf(log, keys.prefix)],
  );
  const done = rows[0]?.last_seq ?? 0;
  const envelopes = await redis.lrange(log, done, -1);
  const state = keys.conversation(ref);
  let copied = 0;
  for (const [i, envelope] of envelopes.entries()) {
    const seq = done + i + 1;
    const body = await redis.hget(state, `b${seq}`);
    const fields = {
      ...JSON.parse(envelope),
      ...(body === null ? {} : JSON.parse(body)),
    } as StreamItem & { clientMsgId?: string };
    const { clientMsgId, ...item } = fields;
    let result = await target.store.append(ref, item as NewItem, { clientMsgId });
    // Redis keeps a clientMsgId for 24 h, PostgreSQL as long as its message: a key its sender
    // used again once Redis had forgotten it answers "duplicate" here. That later message is
    // copied as Redis kept it: its clientMsgId stays in its envelope (an item field, which the
    // store keeps as it keeps every other), but is no idempotency key.
    if ("item" in result && result.duplicate && clientMsgId !== undefined)
      result = await target.store.append(ref, fields as NewItem);
    if ("refused" in result || result.item.seq !== seq)
      throw new Error(`${log}: item ${seq} did not replay as seq ${seq}`);
    copied++;
  }
  const cursors = await redis.zrange(keys.cursors(ref), 0, -1, "WITHSCORES");
  for (let i = 0; i + 1 < cursors.length; i += 2)
    await target.pool.query(
      `INSERT INTO cursors (conv_id, user_id, read_seq)
       SELECT conv_id, $2, $3 FROM conversations WHERE key = $1
       ON CONFLICT (conv_id, user_id) DO UPDATE
         SET read_seq = GREATEST(cursors.read_seq, EXCLUDED.read_seq)`,
      [tagOf(log, keys.prefix), cursors[i], Number(cursors[i + 1])],
    );
  return copied;
}

/** Queued and leased events keep their body, queue time, tries and due time. */
async function copyWebhookQueue(
  source: { redis: RedisClient; keys: RedisKeys },
  pool: pg.Pool,
): Promise<number> {
  const { redis, keys } = source;
  const events = await redis.hgetall(keys.webhook("events"));
  const attempts = await redis.hgetall(keys.webhook("attempts"));
  const dueAt = new Map<string, number>();
  for (const part of ["due", "leased"] as const) {
    const flat = await redis.zrange(keys.webhook(part), 0, -1, "WITHSCORES");
    for (let i = 0; i + 1 < flat.length; i += 2) dueAt.set(flat[i]!, Number(flat[i + 1]));
  }
  let copied = 0;
  for (const [id, record] of Object.entries(events)) {
    const space = record.indexOf(" ");
    const queuedAt = Number(record.slice(0, space));
    const { rowCount } = await pool.query(
      `INSERT INTO webhook_events (id, body, queued_at, due_at, attempts)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [id, record.slice(space + 1), queuedAt, dueAt.get(id) ?? queuedAt, Number(attempts[id] ?? 0)],
    );
    copied += rowCount ?? 0;
  }
  return copied;
}
