// The store in PostgreSQL (engine/postgres/): what must last kept on disk, shared by every
// process. Each change that spans rows is one statement (a plpgsql function of the migrations, the
// way the Redis twin runs Lua), so it is one round trip and one transaction: an append's seq,
// item, counters and cursor commit together or not at all.
import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import { KnownUsers } from "./known-users.js";
import { searchHits, type Run } from "./postgres-search.js";
import type pg from "pg";
import { conversationKey, hashToken, newToken, refOfKey, shareEntry } from "../ids.js";
import { BatchGate } from "../postgres/batch-gate.js";
import { isPostgresFault } from "../postgres/connection.js";
import type { StreamItem, UserId } from "../protocol.js";
import { MAX_EMOJI_PER_MESSAGE, readStored, splitItem, standingChecked } from "./stream.js";
import { usernameKey } from "../usernames.js";
import { REVOKED, type SessionCache, type SessionExpiry } from "./session-cache.js";
import type {
  AppendOptions,
  AppendResult,
  ChannelMember,
  ChannelRecord,
  ChannelRole,
  ChannelSummary,
  ConversationRef,
  ConversationSummary,
  FileRecord,
  FileShare,
  FriendLists,
  FriendState,
  JoinResult,
  LeaveResult,
  MemberChange,
  MemberChangeGuard,
  MemberChangeResult,
  MemberLookup,
  NewChannel,
  NewItem,
  Readers,
  ReadResult,
  Refusal,
  Session,
  Store,
  User,
  UserRecord,
} from "./types.js";

/** A sessions row with its expiry in ms since the epoch (EXPIRES_MS). */
interface SessionRow {
  session_id: string;
  user_id: string;
  expires_ms: number;
}
const EXPIRES_MS = "(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms";
const sessionExpiry = (row: SessionRow): SessionExpiry => ({
  sessionId: row.session_id,
  expiresAt: row.expires_ms,
});

/** An items row as readItem takes it. */
interface ItemRow {
  seq: number;
  envelope: string;
  body: string | null;
  recalled: boolean;
  edit_body: string | null;
  edit_ts: number | null;
  /** [emoji, count, me] in the order the emoji appeared; null without a viewer. */
  reactions?: [string, number, boolean][] | null;
}

const ITEM_COLUMNS = "i.seq, i.envelope, i.body, i.recalled, i.edit_body, i.edit_ts";
/** The reactions of item `i` as `viewer` ($N) sees them. */
const reactionsOf = (viewer: string) => `(
  SELECT json_agg(json_build_array(e.emoji, e.count, EXISTS (
      SELECT 1 FROM reactions r WHERE r.conv_id = e.conv_id AND r.seq = e.seq
        AND r.emoji = e.emoji AND r.user_id = ${viewer})) ORDER BY e.since)
    FROM message_emoji e WHERE e.conv_id = i.conv_id AND e.seq = i.seq) AS reactions`;

/**
 * The items of the conversation whose key is the parameter `param`. The id is looked up first,
 * so the planner sees one conv_id and walks the primary key (conv_id, seq); a filter on `c.key`
 * through the join hides it, and at 1M items the page became a full scan + sort.
 */
const inConversation = (param: string) =>
  `i.conv_id = (SELECT conv_id FROM conversations WHERE key = ${param})`;

/** Items matching `where` (over items `i` joined to conversations `c`) in their current state
 * with their conversation's key; with `viewer` (a parameter), the reactions as they see them. */
const itemsStatement = (where: string, tail = "", viewer?: string) =>
  `SELECT c.key, ${ITEM_COLUMNS}${viewer === undefined ? "" : `, ${reactionsOf(viewer)}`}
     FROM items i JOIN conversations c ON c.conv_id = i.conv_id
     WHERE ${where} ${tail}`;

/**
 * A page of history: $1 conversation key, $2 after seq, $3 limit, $4 viewer. Exported for
 * bench/paging, which times it through the API at 1k and 1M items and shows its plan as the
 * store plans it (search's statements are in postgres-search.ts).
 */
export const HISTORY_PAGE = itemsStatement(
  `${inConversation("$1")} AND i.seq > $2`,
  "ORDER BY i.seq LIMIT $3",
  "$4",
);
/** An item by its conversation's key $1 and seq $2. */
const ITEM_AT = itemsStatement(`${inConversation("$1")} AND i.seq = $2`);
/** An item by its id $1, with its conversation's key. */
const ITEM_BY_ID = itemsStatement("i.id = $1", "LIMIT 1");
/** The items at the pairs of conversation ids $1 and seqs $2, with their conversation's id;
 * reactions as $3 sees them. */
const ITEMS_AT_PAIRS = `SELECT c.key, i.conv_id, ${ITEM_COLUMNS}, ${reactionsOf("$3")}
  FROM unnest($1::bigint[], $2::integer[]) AS p(conv_id, seq)
    JOIN items i ON i.conv_id = p.conv_id AND i.seq = p.seq
    JOIN conversations c ON c.conv_id = i.conv_id`;

export class PostgresStore implements Store {
  constructor(
    private readonly pool: pg.Pool,
    /** Where sessions are cached for every business instance (Redis); none: each request reads
     * its session's row. */
    private readonly sessionCache?: SessionCache,
  ) {}

  /**
   * Every statement goes through here, named, so each connection parses and plans it once and
   * then only binds and executes it (pg keeps a connection's prepared statements). Statement
   * texts are fixed strings (values are always parameters), so the names are few.
   */
  private async rows<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    return (await this.pool.query<R>({ name: statementName(text), text, values })).rows;
  }

  async createUser(username: string, passwordHash: string): Promise<User | null> {
    const userId = randomUUID();
    const rows = await this.rows(
      `INSERT INTO users (user_id, username, username_key, password_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (username_key) DO NOTHING RETURNING user_id`,
      [userId, username, usernameKey(username), passwordHash],
    );
    return rows.length === 1 ? { userId, username } : null;
  }

  async userByName(username: string): Promise<UserRecord | null> {
    const [row] = await this.rows<{ user_id: string; username: string; password_hash: string }>(
      "SELECT user_id, username, password_hash FROM users WHERE username_key = $1",
      [usernameKey(username)],
    );
    return row
      ? { userId: row.user_id, username: row.username, passwordHash: row.password_hash }
      : null;
  }

  async setPasswordHash(userId: UserId, passwordHash: string): Promise<void> {
    await this.rows("UPDATE users SET password_hash = $2 WHERE user_id = $1", [
      userId,
      passwordHash,
    ]);
  }

  async usersById(userIds: readonly UserId[]): Promise<(User | null)[]> {
    return this.knownUsers.usersById(userIds, async (unknown) => {
      const names = await Promise.all(unknown.map((userId) => this.usernames.load(userId)));
      return unknown.map((userId, i) => {
        const username = names[i];
        return username === null || username === undefined ? null : { userId, username };
      });
    });
  }

  private readonly knownUsers = new KnownUsers();

  /** Usernames by user id (null: no such user), looked up together with the turn's others. */
  private readonly usernames = batchedLookup(async (userIds: readonly UserId[]) => {
    const rows = await this.rows<{ user_id: string; username: string }>(
      "SELECT user_id, username FROM users WHERE user_id = ANY($1)",
      [userIds],
    );
    return new Map(rows.map((row) => [row.user_id, row.username]));
  });

  async createSession(
    userId: UserId,
    ttlMs: number,
  ): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = hashToken(token);
    // The user's lapsed sessions go in the same statement, so the table follows the live ones.
    await this.rows(
      `WITH lapsed AS (DELETE FROM sessions WHERE user_id = $2 AND expires_at <= now())
       INSERT INTO sessions (session_id, user_id, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')`,
      [sessionId, userId, Math.max(1, Math.ceil(ttlMs))],
    );
    return { token, sessionId };
  }

  async sessionByToken(token: string): Promise<Session | null> {
    const sessionId = hashToken(token);
    const cached = await this.sessionCache?.get(sessionId);
    if (cached === REVOKED) return null;
    if (cached) return { sessionId, userId: cached };
    const row = await this.sessionRows.load(sessionId);
    if (!row) return null;
    this.sessionCache?.fill(sessionExpiry(row), row.user_id);
    return { sessionId, userId: row.user_id };
  }

  /**
   * Sessions' rows: primary-key lookups, expiry judged by the server's clock, the turn's
   * concurrent requests in one statement.
   */
  private readonly sessionRows = batchedLookup(async (sessionIds: readonly string[]) => {
    const rows = await this.rows<SessionRow>(
      `SELECT session_id, user_id, ${EXPIRES_MS} FROM sessions
       WHERE session_id = ANY($1) AND expires_at > now()`,
      [sessionIds],
    );
    return new Map(rows.map((row) => [row.session_id, row]));
  });

  /**
   * Message appends that concurrent sends make go in one transaction (herald_append_messages),
   * each as herald_append_message alone would; the 202s wait for its commit. A batch is what
   * came in one turn of the event loop or, while APPEND_BATCHES_IN_FLIGHT batches are running,
   * everything that came until one settled (./batch-gate.ts). A batch that fails other than by
   * an outage (a deadlock, say) is tried again one append at a time, so one append's failure
   * fails nobody else's.
   */
  private readonly appendGate = new BatchGate(APPEND_BATCHES_IN_FLIGHT, isPostgresFault);
  private readonly messageAppends = new DataLoader<MessageAppend, [number, number]>(
    (appends) => this.appendGate.run(() => this.appendBatch(appends)),
    { cache: false, maxBatchSize: 64, batchScheduleFn: this.appendGate.schedule },
  );

  private async appendBatch(
    appends: readonly MessageAppend[],
  ): Promise<([number, number] | Error)[]> {
    if (appends.length === 1) return [await this.appendOne(appends[0]!)];
    try {
      const [row] = await this.rows<{ r: string[] }>("SELECT herald_append_messages($1) AS r", [
        JSON.stringify(appends),
      ]);
      const flat = row!.r.map(Number);
      return appends.map((_, i): [number, number] => [flat[2 * i]!, flat[2 * i + 1]!]);
    } catch (error) {
      if (isPostgresFault(error)) throw error;
      // Each answers for itself: DataLoader fails only the loads whose entry is an Error.
      const alone = await Promise.allSettled(appends.map((append) => this.appendOne(append)));
      return alone.map((one) => (one.status === "fulfilled" ? one.value : asError(one.reason)));
    }
  }

  private async appendOne(m: MessageAppend): Promise<[number, number]> {
    const [row] = await this.rows<{ r: string[] }>(
      "SELECT herald_append_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS r",
      [
        m.key,
        m.channel,
        m.a,
        m.b,
        m.id,
        m.sender,
        m.ts,
        m.envelope,
        m.body,
        m.clientMsgId,
        JSON.stringify(m.mentions),
        m.search,
        m.standing,
        m.now,
      ],
    );
    return row!.r.map(Number) as [number, number];
  }

  // Revoked in the cache before the row goes (see ./session-cache.ts). If the marker cannot be
  // written, the row stays and the caller answers 503; if the row then cannot be deleted, the
  // session is revoked all the same.
  async deleteSession(sessionId: string): Promise<void> {
    if (this.sessionCache) {
      const rows = await this.rows<SessionRow>(
        `SELECT session_id, user_id, ${EXPIRES_MS} FROM sessions WHERE session_id = $1`,
        [sessionId],
      );
      await this.sessionCache.revoke(rows.map(sessionExpiry));
    }
    await this.rows("DELETE FROM sessions WHERE session_id = $1", [sessionId]);
  }

  async deleteSessionsOf(userId: UserId): Promise<string[]> {
    if (!this.sessionCache) {
      const rows = await this.rows<{ session_id: string }>(
        "DELETE FROM sessions WHERE user_id = $1 RETURNING session_id",
        [userId],
      );
      return rows.map((row) => row.session_id);
    }
    // The sessions found are revoked, then deleted: one a login makes meanwhile is as if made
    // just after (it was never revoked, so it is not deleted either).
    const live = await this.rows<SessionRow>(
      `SELECT session_id, user_id, ${EXPIRES_MS} FROM sessions WHERE user_id = $1`,
      [userId],
    );
    await this.sessionCache.revoke(live.map(sessionExpiry));
    const rows = await this.rows<{ session_id: string }>(
      "DELETE FROM sessions WHERE session_id = ANY($1) RETURNING session_id",
      [live.map((row) => row.session_id)],
    );
    return rows.map((row) => row.session_id);
  }

  async requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends" | "blocked"> {
    const [row] = await this.rows<{ r: "pending" | "friends" | "blocked" }>(
      "SELECT herald_request_friend($1, $2) AS r",
      [from, to],
    );
    return row!.r;
  }

  async removeFriend(a: UserId, b: UserId): Promise<void> {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    await this.rows("DELETE FROM friendships WHERE lo = $1 AND hi = $2", [lo, hi]);
  }

  async friendState(a: UserId, b: UserId): Promise<FriendState> {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const [row] = await this.rows<{ state: string; asker: string }>(
      "SELECT state, asker FROM friendships WHERE lo = $1 AND hi = $2",
      [lo, hi],
    );
    return row ? seenBy(a, row) : "none";
  }

  async friendLists(userId: UserId): Promise<FriendLists> {
    const lists: FriendLists = { friends: [], incoming: [], outgoing: [] };
    const rows = await this.rows<{ lo: string; hi: string; state: string; asker: string }>(
      "SELECT lo, hi, state, asker FROM friendships WHERE lo = $1 OR hi = $1",
      [userId],
    );
    for (const row of rows) {
      const state = seenBy(userId, row);
      if (state !== "none") lists[state].push(row.lo === userId ? row.hi : row.lo);
    }
    return lists;
  }

  async block(blocker: UserId, blocked: UserId): Promise<void> {
    await this.rows("SELECT herald_block($1, $2)", [blocker, blocked]);
  }

  async unblock(blocker: UserId, blocked: UserId): Promise<void> {
    await this.rows("DELETE FROM blocks WHERE blocker = $1 AND blocked = $2", [blocker, blocked]);
  }

  async blockedBetween(a: UserId, b: UserId): Promise<boolean> {
    const rows = await this.rows(
      `SELECT 1 FROM blocks WHERE (blocker = $1 AND blocked = $2) OR (blocker = $2 AND blocked = $1)`,
      [a, b],
    );
    return rows.length > 0;
  }

  async blocksOf(blocker: UserId): Promise<UserId[]> {
    const rows = await this.rows<{ blocked: string }>(
      "SELECT blocked FROM blocks WHERE blocker = $1",
      [blocker],
    );
    return rows.map((row) => row.blocked);
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord | null> {
    const [row] = await this.rows<{ created: boolean }>(
      "SELECT herald_create_channel($1, $2, $3, $4, $5, $6) AS created",
      [
        channel.name,
        channel.owner,
        channel.title,
        channel.visibility,
        channel.history,
        channel.created,
      ],
    );
    return row!.created ? { ...channel } : null;
  }

  async channelInfo(name: string): Promise<ChannelRecord | null> {
    const [row] = await this.rows<ChannelRecord>(
      "SELECT name, owner, title, visibility, history, created FROM channels WHERE name = $1",
      [name],
    );
    return row ?? null;
  }

  async member(name: string, userId: UserId): Promise<MemberLookup | null> {
    const [row] = await this.rows<
      Pick<MemberLookup, "visibility" | "history" | "banned"> & Partial<MemberRow>
    >(
      `SELECT ch.visibility, ch.history, m.user_id, m.role, m.join_seq, m.join_order,
         m.muted_until,
         EXISTS (SELECT 1 FROM channel_bans b WHERE b.name = ch.name AND b.user_id = $2) AS banned
       FROM channels ch LEFT JOIN channel_members m ON m.name = ch.name AND m.user_id = $2
       WHERE ch.name = $1`,
      [name, userId],
    );
    if (!row) return null;
    return {
      visibility: row.visibility,
      history: row.history,
      member: row.user_id ? memberOf(row as MemberRow) : null,
      banned: row.banned,
    };
  }

  async joinChannel(name: string, userId: UserId, maxMembers?: number): Promise<JoinResult> {
    const [row] = await this.rows<{ r: [string, string | null] }>(
      "SELECT herald_join_channel($1, $2, $3, $4) AS r",
      [
        name,
        userId,
        maxMembers === undefined || !Number.isFinite(maxMembers) ? null : maxMembers,
        Date.now(),
      ],
    );
    const [outcome, value] = row!.r;
    if (outcome === "member") return { outcome: "member" };
    if (outcome === "joined") return { outcome: "joined", role: value as ChannelRole };
    return { refused: value as "banned" | "invite_required" | "channel_full" };
  }

  async leaveChannel(name: string, userId: UserId): Promise<LeaveResult | null> {
    const [row] = await this.rows<{ r: [string, string | null] | null }>(
      "SELECT herald_leave_channel($1, $2) AS r",
      [name, userId],
    );
    const result = row!.r;
    return result === null ? null : { left: result[0] === "1", heir: result[1] };
  }

  async changeMember(
    name: string,
    guard: MemberChangeGuard,
    change: MemberChange,
  ): Promise<MemberChangeResult> {
    const [row] = await this.rows<{ r: [string, string | null] }>(
      "SELECT herald_change_member($1, $2, $3, $4, $5, $6, $7, $8, $9) AS r",
      [
        name,
        guard.actor,
        guard.actorStanding,
        guard.target,
        guard.targetStanding,
        change.kind,
        change.kind === "kick" ? change.ban : false,
        change.kind === "mute" ? change.until : 0,
        change.kind === "role" ? change.role : null,
      ],
    );
    const [outcome, heir] = row!.r;
    if (outcome === "done") return { outcome: "done", heir };
    return { outcome: outcome as "noop" | "stale" };
  }

  async membersPage(name: string, after: number, limit: number): Promise<ChannelMember[]> {
    const rows = await this.rows<MemberRow>(
      `SELECT user_id, role, join_seq, join_order, muted_until FROM channel_members
       WHERE name = $1 AND join_order > $2 ORDER BY join_order LIMIT $3`,
      [name, Math.max(0, Math.floor(after)), Math.max(0, Math.floor(limit))],
    );
    return rows.map(memberOf);
  }

  async channelExists(name: string): Promise<boolean> {
    return (await this.rows("SELECT 1 FROM channels WHERE name = $1", [name])).length === 1;
  }

  async isMember(name: string, userId: UserId): Promise<boolean> {
    const rows = await this.rows("SELECT 1 FROM channel_members WHERE name = $1 AND user_id = $2", [
      name,
      userId,
    ]);
    return rows.length === 1;
  }

  async channelMembers(name: string): Promise<UserId[]> {
    const rows = await this.rows<{ user_id: string }>(
      "SELECT user_id FROM channel_members WHERE name = $1 ORDER BY join_order",
      [name],
    );
    return rows.map((row) => row.user_id);
  }

  async channelsOf(userId: UserId): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      "SELECT name FROM channel_members WHERE user_id = $1",
      [userId],
    );
    return rows.map((row) => row.name);
  }

  async listChannels(after = "", limit = Infinity, viewer?: UserId): Promise<ChannelSummary[]> {
    const count = Math.max(0, Math.floor(limit));
    return this.rows<ChannelSummary>(
      `SELECT name, members, title, visibility FROM channels ch
       WHERE name > $1 AND (visibility = 'public' OR EXISTS (
         SELECT 1 FROM channel_members m WHERE m.name = ch.name AND m.user_id = $3))
       ORDER BY name LIMIT $2`,
      [after, Number.isFinite(count) ? count : null, viewer ?? null],
    );
  }

  async append(
    ref: ConversationRef,
    item: NewItem,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const key = conversationKey(ref);
    const { envelope, body } = splitItem(item, options.clientMsgId);
    if (item.kind === "message") {
      const clientMsgId = options.clientMsgId ?? null;
      const [a, b] = ref.kind === "direct" ? [ref.a, ref.b].sort() : [null, null];
      const [outcome, value] = await this.messageAppends.load({
        key,
        channel: ref.kind === "channel" ? ref.name : null,
        a: a ?? null,
        b: b ?? null,
        id: item.id,
        sender: item.from,
        ts: item.ts,
        envelope,
        body: body!,
        clientMsgId,
        mentions: [...new Set(item.mentions ?? [])],
        search: searchText(item.content),
        standing: standingChecked(ref, options),
        now: options.asMember?.now ?? 0,
      });
      if (outcome === 2) return { refused: "not_member" };
      if (outcome === 3) return { refused: "muted", mutedUntil: value };
      if (outcome === 4) return { refused: "blocked" };
      if (outcome === 5) return { refused: "not_friends" };
      const seq = value;
      if (outcome === 1) {
        const result = { ...item, seq } as StreamItem;
        if (result.kind === "message" && clientMsgId !== null) result.clientMsgId = clientMsgId;
        return { item: result, duplicate: false };
      }
      const [first] = await this.items(ITEM_AT, [key, seq]);
      return { item: first!.item, duplicate: true };
    }
    const [row] = await this.rows<{ r: [string, string] }>(
      "SELECT herald_append_change($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS r",
      [
        key,
        item.kind,
        item.id,
        item.from,
        item.ts,
        envelope,
        body ?? null,
        item.target,
        item.kind === "reaction" ? item.emoji : null,
        item.kind === "reaction" ? item.op : null,
        item.kind === "edit" ? searchText(item.content) : null,
        MAX_EMOJI_PER_MESSAGE,
      ],
    );
    const [outcome, value] = row!.r;
    if (outcome === "refused") return { refused: value as Refusal };
    return { item: { ...item, seq: Number(value) } as StreamItem, duplicate: false };
  }

  /** The items an itemsStatement reads (HISTORY_PAGE, ITEM_AT, ITEM_BY_ID), in their current state. */
  private async items(
    statement: string,
    values: unknown[],
  ): Promise<{ key: string; item: StreamItem }[]> {
    const rows = await this.rows<ItemRow & { key: string }>(statement, values);
    return rows.map((row) => ({ key: row.key, item: readItem(row) }));
  }

  /**
   * Runs `work` in a read-only snapshot of its own (so a search's steps agree), each statement
   * planned for its values (the connections plan every statement once, generically:
   * engine/postgres/connection.ts): whether a word is in most messages or a few decides between
   * the GIN index and reading a conversation, and only the word's own statistics tell.
   */
  private async searchTransaction<T>(work: (run: Run) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no pool listener: a connection the server drops would emit an
    // unhandled "error" and end the process. The query in flight rejects with it anyway.
    client.on("error", ignore);
    let failed = false;
    try {
      // No parallel workers: a plan that starts them waited ~40 ms for two to read one row. A
      // statement timeout as long as the client's, so a statement the client gave up on does
      // not go on reading on the server.
      await client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
         SET LOCAL plan_cache_mode = force_custom_plan;
         SET LOCAL max_parallel_workers_per_gather = 0;
         SET LOCAL statement_timeout = ${Math.floor(this.pool.options.query_timeout ?? 0)}`,
      );
      const result = await work(
        async <R>(text: string, values: unknown[]) =>
          (await client.query<R & pg.QueryResultRow>({ name: statementName(text), text, values }))
            .rows,
      );
      await client.query("COMMIT");
      return result;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      client.off("error", ignore);
      client.release(failed); // a failed one is closed, so no transaction of ours outlives it
    }
  }

  async itemById(id: string): Promise<{ ref: ConversationRef; item: StreamItem } | null> {
    const [found] = await this.items(ITEM_BY_ID, [id]);
    const ref = found ? refOfKey(found.key) : null;
    return ref && found ? { ref, item: found.item } : null;
  }

  async history(
    ref: ConversationRef,
    after: number,
    limit: number,
    viewer: UserId = "",
  ): Promise<StreamItem[]> {
    const count = Math.floor(limit);
    if (!(count > 0)) return [];
    // A range of the primary key (conv_id, seq): as fast at 1M items as at 1k.
    const found = await this.items(HISTORY_PAGE, [
      conversationKey(ref),
      after > 0 ? Math.floor(after) : 0,
      Number.isFinite(count) ? count : null,
      viewer,
    ]);
    return found.map(({ item }) => item);
  }

  async markRead(userId: UserId, ref: ConversationRef, seq: number): Promise<ReadResult> {
    const [row] = await this.rows<{ r: [number, number, number] }>(
      "SELECT herald_mark_read($1, $2, $3, $4) AS r",
      [conversationKey(ref), ref.kind === "channel", userId, Math.floor(seq)],
    );
    const [readSeq, unread, moved] = row!.r;
    return { readSeq, unread, moved: moved === 1 };
  }

  async conversationsOf(userId: UserId): Promise<ConversationSummary[]> {
    // One statement, so one snapshot: every summary's counters agree with its cursor.
    const rows = await this.rows<{
      key: string;
      last_seq: number;
      last_ts: number;
      msg_count: number;
      read_seq: number;
      before: number;
      mentions: number;
      peer_read_seq: number;
    }>(
      `WITH mine AS (
         SELECT c.*, CASE WHEN c.user_a = $1 THEN c.user_b ELSE c.user_a END AS peer
           FROM conversations c
           WHERE (c.user_a = $1 OR c.user_b = $1) AND c.last_seq > 0
         UNION ALL
         SELECT c.*, NULL FROM channel_members m JOIN conversations c ON c.key = 'c:' || m.name
           WHERE m.user_id = $1
       )
       SELECT mine.key, mine.last_seq, mine.last_ts, mine.msg_count,
         coalesce(cur.read_seq, 0) AS read_seq,
         coalesce((SELECT i.msg_count FROM items i
                   WHERE i.conv_id = mine.conv_id AND i.seq = cur.read_seq), 0) AS before,
         (SELECT count(*)::integer FROM mentions m WHERE m.conv_id = mine.conv_id
            AND m.user_id = $1 AND m.seq > coalesce(cur.read_seq, 0)) AS mentions,
         coalesce((SELECT p.read_seq FROM cursors p
                   WHERE p.conv_id = mine.conv_id AND p.user_id = mine.peer), 0) AS peer_read_seq
       FROM mine LEFT JOIN cursors cur ON cur.conv_id = mine.conv_id AND cur.user_id = $1
       ORDER BY mine.last_ts DESC`,
      [userId],
    );
    return rows.map((row) => {
      const stored = refOfKey(row.key)!;
      // The caller is always `a` of their direct conversations, as in the other twins.
      const ref: ConversationRef =
        stored.kind === "direct"
          ? { kind: "direct", a: userId, b: stored.a === userId ? stored.b : stored.a }
          : stored;
      const summary: ConversationSummary = {
        ref,
        lastSeq: row.last_seq,
        lastTs: row.last_ts,
        readSeq: row.read_seq,
        unread: row.msg_count - row.before,
        mentions: row.mentions,
      };
      if (ref.kind === "direct") summary.peerReadSeq = row.peer_read_seq;
      return summary;
    });
  }

  async readers(channel: string, seq: number, limit: number): Promise<Readers> {
    const key = conversationKey({ kind: "channel", name: channel });
    const page = Math.max(0, Math.floor(limit));
    const rows = await this.rows<{ user_id: string; total: number }>(
      `SELECT r.user_id, count(*) OVER ()::integer AS total
         FROM cursors r JOIN conversations c ON c.conv_id = r.conv_id
         WHERE c.key = $1 AND r.read_seq >= $2
         ORDER BY r.read_seq, r.user_id COLLATE "C" LIMIT $3`,
      [key, Math.max(0, Math.floor(seq)), page],
    );
    if (rows.length > 0 || page > 0)
      return { count: rows[0]?.total ?? 0, userIds: rows.map((row) => row.user_id) };
    // A page of 0 reads no row, so no count: counted alone.
    const [counted] = await this.rows<{ total: number }>(
      `SELECT count(*)::integer AS total FROM cursors r JOIN conversations c ON c.conv_id = r.conv_id
         WHERE c.key = $1 AND r.read_seq >= $2`,
      [key, Math.max(0, Math.floor(seq))],
    );
    return { count: counted!.total, userIds: [] };
  }

  async search(
    userId: UserId,
    query: string,
    scope: { ref: ConversationRef; floor: number } | null,
    limit: number,
  ): Promise<StreamItem[]> {
    const count = Math.max(0, Math.floor(limit));
    const within = scope && { key: conversationKey(scope.ref), floor: scope.floor };
    return this.searchTransaction(async (run) => {
      const hits = await searchHits(run, userId, query, within, count);
      if (hits.length === 0) return [];
      const rows = await run<ItemRow & { key: string; conv_id: number }>(ITEMS_AT_PAIRS, [
        hits.map((hit) => hit.conv_id),
        hits.map((hit) => hit.seq),
        userId,
      ]);
      const byHit = new Map(rows.map((row) => [`${row.conv_id}:${row.seq}`, readItem(row)]));
      return hits.map((hit) => byHit.get(`${hit.conv_id}:${hit.seq}`)!);
    });
  }

  async createFile(file: FileRecord): Promise<void> {
    await this.rows(
      `INSERT INTO files (file_id, record) VALUES ($1, $2)
       ON CONFLICT (file_id) DO UPDATE SET record = EXCLUDED.record`,
      [file.fileId, JSON.stringify(file)],
    );
  }

  async fileById(fileId: string): Promise<FileRecord | null> {
    const [row] = await this.rows<{ record: string }>(
      "SELECT record FROM files WHERE file_id = $1",
      [fileId],
    );
    return row ? (JSON.parse(row.record) as FileRecord) : null;
  }

  async shareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    await this.rows(
      "INSERT INTO file_shares (file_id, conv_key, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      [fileId, conversationKey(ref), seq],
    );
  }

  async unshareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    await this.rows("DELETE FROM file_shares WHERE file_id = $1 AND conv_key = $2 AND seq = $3", [
      fileId,
      conversationKey(ref),
      seq,
    ]);
  }

  async fileShares(fileId: string): Promise<FileShare[]> {
    const rows = await this.rows<{ conv_key: string; seq: number }>(
      "SELECT conv_key, seq FROM file_shares WHERE file_id = $1",
      [fileId],
    );
    return rows.map((row) => JSON.parse(shareEntry(refOfKey(row.conv_key)!, row.seq)) as FileShare);
  }
}

const ignore = () => {};

/** A row → the item in its current state. */
function readItem(row: ItemRow): StreamItem {
  return readStored({
    seq: row.seq,
    envelope: row.envelope,
    body: row.body,
    editBody: row.edit_body,
    editTs: row.edit_ts,
    recalled: row.recalled,
    reactions: (row.reactions ?? []).map(([emoji, count, me]) => ({ emoji, count, me })),
  });
}

/**
 * What full-text search matches in a message: its content when that is a string, else the
 * strings inside it (`{text}`, lists), joined by newlines. NUL is dropped: PostgreSQL text
 * cannot hold it.
 */
export function searchText(content: unknown): string | null {
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(walk);
  };
  walk(content);
  // Well-formed (a lone surrogate as U+FFFD, as its UTF-8 encoding would have it anyway), so the
  // text also travels inside a batch's JSON, which PostgreSQL refuses lone surrogates in.
  const text = parts
    .join("\n")
    .replaceAll("\u0000", "")
    .replace(/\p{Cs}/gu, "\uFFFD");
  return text === "" ? null : text;
}

/** The friendship as `userId` sees it. */
function seenBy(userId: UserId, { state, asker }: { state: string; asker: string }): FriendState {
  if (state === "friends") return "friends";
  if (state !== "pending") return "none";
  return asker === userId ? "outgoing" : "incoming";
}

/** A channel_members row. */
interface MemberRow {
  user_id: string;
  role: ChannelRole;
  join_seq: number;
  join_order: number;
  muted_until: number;
}

function memberOf(row: MemberRow): ChannelMember {
  return {
    userId: row.user_id,
    role: row.role,
    joinSeq: row.join_seq,
    joinOrder: row.join_order,
    mutedUntil: row.muted_until,
  };
}

const statementNames = new Map<string, string>();

/** The prepared statement's name for a statement text: one per distinct text, in this process. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `herald_${statementNames.size}`));
  return name;
}

/**
 * Lookups by key that concurrent requests make in the same turn of the event loop (up to its
 * check phase: the requests whose bytes arrived together), sent as one statement (DataLoader's
 * batching, at most 100 keys; its cache off, so every lookup reads the table as it is now). `read` answers the found keys; a key it leaves out reads as null.
 */
function batchedLookup<Value>(
  read: (keys: readonly string[]) => Promise<Map<string, Value>>,
): DataLoader<string, Value | null> {
  return new DataLoader(
    async (keys) => {
      const found = await read(keys);
      return keys.map((key) => found.get(key) ?? null);
    },
    { cache: false, maxBatchSize: 100, batchScheduleFn: setImmediate },
  );
}

/**
 * How many append batches one business instance runs at once. One: the next batch gathers while
 * it commits, and the instance's own batches never wait on each other's conversation locks
 * (while its batch runs, those of other instances may still take them). Measured against a
 * batch per turn (bench/send, interleaved): PostgreSQL's CPU per send 178 -> 125 us. It caps one
 * instance at 64 sends per commit latency (6,400/s at a 10 ms commit), far above what its CPU
 * serves.
 */
const APPEND_BATCHES_IN_FLIGHT = 1;

/** One message append's arguments (herald_append_message's, by name for the batch's JSON). */
interface MessageAppend {
  key: string;
  channel: string | null;
  a: string | null;
  b: string | null;
  id: string;
  sender: UserId;
  ts: number;
  envelope: string;
  body: string;
  clientMsgId: string | null;
  mentions: UserId[];
  search: string | null;
  standing: string;
  now: number;
}

const asError = (reason: unknown): Error =>
  reason instanceof Error ? reason : new Error(String(reason));
