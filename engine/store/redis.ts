// The store in Redis. Each entity's keys carry its own hash tag (engine/redis/keys.ts), so a cluster
// spreads accounts, friendships and channels; a change over several entities runs one slot at a
// time: the entity's key decides, then the users' indexes follow (versioned, heraldIndexSet).
import { randomUUID } from "node:crypto";
import { compareStrings } from "../compare.js";
import { conversationKey, hashToken, newToken, refOfKey, shareEntry } from "../ids.js";
import type { ReactionCount, StreamItem, UserId } from "../protocol.js";
import {
  eachInOneStage,
  inStages,
  replies,
  type RedisClient,
  type Step,
} from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import type { ItemRow } from "../redis/scripts.js";
import { KnownUsers } from "./known-users.js";
import { readStored, splitItem, standingChecked } from "./stream.js";
import { usernameKey } from "../usernames.js";
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

interface StoredUser {
  username: string;
  passwordHash: string;
}

/** A friendship as its pair's key holds it: `asker` is who asked, while it is pending. */
interface Friendship {
  state: "friends" | "pending" | "none";
  asker: string;
  version: number;
}

export class RedisStore implements Store {
  /** Whether this process saw the public channel index complete (indexPublicChannels). */
  private publicIndexed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async createUser(username: string, passwordHash: string): Promise<User | null> {
    const userId = randomUUID();
    const record: StoredUser = { username, passwordHash };
    // The record first, then the name (SET NX decides who gets it): a taken name always has
    // its record. A loser's record is unreachable (no name, an id nobody knows); drop it.
    await this.redis.set(this.keys.user(userId), JSON.stringify(record));
    const claimed = await this.redis.set(this.keys.username(usernameKey(username)), userId, "NX");
    if (claimed === "OK") return { userId, username };
    await this.redis.del(this.keys.user(userId));
    return null;
  }

  async userByName(username: string): Promise<UserRecord | null> {
    const userId = await this.redis.get(this.keys.username(usernameKey(username)));
    if (userId === null) return null;
    const record = await this.redis.get(this.keys.user(userId));
    if (record === null) return null;
    const { username: name, passwordHash } = JSON.parse(record) as StoredUser;
    return { userId, username: name, passwordHash };
  }

  async setPasswordHash(userId: UserId, passwordHash: string): Promise<void> {
    // Read, then write: safe since a record's username never changes, so the only concurrent
    // writer is another reset, and the last reset winning is what a reset means.
    const record = await this.redis.get(this.keys.user(userId));
    if (record === null) return;
    const stored: StoredUser = { ...(JSON.parse(record) as StoredUser), passwordHash };
    await this.redis.set(this.keys.user(userId), JSON.stringify(stored), "XX");
  }

  async usersById(userIds: readonly UserId[]): Promise<(User | null)[]> {
    if (userIds.length === 0) return [];
    return this.knownUsers.usersById(userIds, async (unknown) => {
      const records = await eachInOneStage<UserId, string | null>(this.redis, unknown, (p, id) =>
        p.get(this.keys.user(id)),
      );
      return records.map((record, i) =>
        record === null
          ? null
          : { userId: unknown[i]!, username: (JSON.parse(record) as StoredUser).username },
      );
    });
  }

  private readonly knownUsers = new KnownUsers();

  async createSession(
    userId: UserId,
    ttlMs: number,
  ): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = hashToken(token);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const index = this.keys.userSessions(userId);
    // The user's index first: a session that exists can always be ended by deleteSessionsOf.
    // NX gives a new index its TTL, GT extends an existing one.
    await inStages(this.redis, [
      [(p) => p.sadd(index, sessionId).pexpire(index, ttl, "NX").pexpire(index, ttl, "GT")],
      [(p) => p.set(this.keys.session(sessionId), userId, "PX", ttl)],
    ]);
    return { token, sessionId };
  }

  async sessionByToken(token: string): Promise<Session | null> {
    const sessionId = hashToken(token);
    const userId = await this.redis.get(this.keys.session(sessionId));
    return userId === null ? null : { sessionId, userId };
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.redis.del(this.keys.session(sessionId));
  }

  async deleteSessionsOf(userId: UserId): Promise<string[]> {
    // Drain the index atomically, then delete what it named (each session in a slot of its own).
    const index = this.keys.userSessions(userId);
    const [ids] = replies<[string[], number]>(
      await this.redis.multi().smembers(index).del(index).exec(),
    );
    if (ids.length > 0)
      await eachInOneStage(this.redis, ids, (p, id) => p.unlink(this.keys.session(id)));
    return ids;
  }

  async requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends" | "blocked"> {
    const [reply, state, asker, version] = await this.redis.heraldRequestFriend(
      this.keys.friendship(from, to),
      from,
      to,
    );
    if (reply === "blocked") return reply;
    await this.indexFriendship(from, to, { state, asker, version });
    return reply;
  }

  async removeFriend(a: UserId, b: UserId): Promise<void> {
    const version = await this.redis.heraldRemoveFriend(this.keys.friendship(a, b));
    // Mirrored even when nothing changed, so a repeat repairs an index a crash left behind.
    if (version > 0) await this.indexFriendship(a, b, { state: "none", asker: "", version });
  }

  async friendState(a: UserId, b: UserId): Promise<FriendState> {
    const [state, asker] = await this.redis.hmget(this.keys.friendship(a, b), "state", "asker");
    return seenBy(a, { state: (state ?? "none") as Friendship["state"], asker: asker ?? "" });
  }

  async friendLists(userId: UserId): Promise<FriendLists> {
    const lists: FriendLists = { friends: [], incoming: [], outgoing: [] };
    const entries = indexEntries(await this.redis.hgetall(this.keys.relations(userId)));
    for (const [other, state] of entries)
      if (state === "friends" || state === "incoming" || state === "outgoing")
        lists[state].push(other);
    return lists;
  }

  /** Writes a friendship's state into both users' indexes. */
  private async indexFriendship(a: UserId, b: UserId, friendship: Friendship): Promise<void> {
    const version = String(friendship.version);
    await inStages(this.redis, [
      [
        (p) => p.heraldIndexSet(this.keys.relations(a), b, version, seenBy(a, friendship)),
        (p) => p.heraldIndexSet(this.keys.relations(b), a, version, seenBy(b, friendship)),
      ],
    ]);
  }

  async block(blocker: UserId, blocked: UserId): Promise<void> {
    // The pair's key decides (block and unfriend in one step), then the indexes follow.
    const version = await this.redis.heraldBlock(
      this.keys.friendship(blocker, blocked),
      blocker,
      blocked,
    );
    await this.redis.sadd(this.keys.blocksOf(blocker), blocked);
    await this.indexFriendship(blocker, blocked, { state: "none", asker: "", version });
  }

  async unblock(blocker: UserId, blocked: UserId): Promise<void> {
    await this.redis.heraldUnblock(this.keys.friendship(blocker, blocked), blocker);
    await this.redis.srem(this.keys.blocksOf(blocker), blocked);
  }

  async blockedBetween(a: UserId, b: UserId): Promise<boolean> {
    const flags = await this.redis.hmget(this.keys.friendship(a, b), `block:${a}`, `block:${b}`);
    return flags.some((flag) => flag !== null);
  }

  async blocksOf(blocker: UserId): Promise<UserId[]> {
    return this.redis.smembers(this.keys.blocksOf(blocker));
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord | null> {
    const { name, owner, title, visibility, history, created } = channel;
    // The names first, so a listing never misses a channel that exists.
    const stages: Step[][] = [[(p) => p.sadd(this.keys.channelIndex(), name)]];
    if (visibility === "public")
      stages[0]!.push((p) => p.zadd(this.keys.publicChannels(), 0, name));
    await inStages(this.redis, stages);
    const [outcome, version] = await this.redis.heraldChannelCreate(
      ...this.keys.channelKeys(name, owner),
      owner,
      title,
      visibility,
      history,
      String(created),
    );
    if (outcome === "exists") return null;
    await this.redis.heraldIndexSet(this.keys.channelsOf(owner), name, String(version), "in");
    return { name, owner, title, visibility, history, created };
  }

  async channelInfo(name: string): Promise<ChannelRecord | null> {
    const [exists, record] = (await inStages(this.redis, [
      [
        (p) =>
          p.exists(this.keys.channelVersion(name)).hgetall(this.keys.channelPart(name, "record")),
      ],
    ])) as [number, Record<string, string>];
    if (exists === 0) return null;
    return {
      name,
      owner: record.owner ? record.owner : null,
      title: record.title ?? "",
      visibility: record.visibility === "private" ? "private" : "public",
      history: record.history === "since_join" ? "since_join" : "all",
      created: Number(record.created ?? 0),
    };
  }

  async member(name: string, userId: UserId): Promise<MemberLookup | null> {
    const k = this.keys;
    const [exists, isMember, entry, visibility, history, banned] =
      await this.redis.heraldChannelMember(
        k.channelMembers(name),
        k.channelVersion(name),
        k.channelPart(name, "record"),
        k.channelPart(name, "roles"),
        k.channelPart(name, "bans"),
        userId,
      );
    if (exists === 0) return null;
    return {
      visibility: visibility === "private" ? "private" : "public",
      history: history === "since_join" ? "since_join" : "all",
      // A member from before records: a plain member since seq 0.
      member: isMember === 1 ? readMember(userId, entry) : null,
      banned: banned === 1,
    };
  }

  async joinChannel(name: string, userId: UserId, maxMembers = Infinity): Promise<JoinResult> {
    // The name into the index first, so listChannels never misses a channel that exists.
    await this.redis.sadd(this.keys.channelIndex(), name);
    const answer = await this.redis.heraldChannelJoin(
      ...this.keys.channelKeys(name, userId),
      userId,
      String(Number.isFinite(maxMembers) ? maxMembers : Number.MAX_SAFE_INTEGER),
      String(Date.now()),
    );
    if (answer[0] === "refused") return { refused: answer[1] as "banned" };
    await this.redis.heraldIndexSet(this.keys.channelsOf(userId), name, String(answer[1]), "in");
    if (answer[0] === "member") return { outcome: "member" };
    // A join that created the channel (public): now it is listed.
    const role = answer[2] as ChannelRole;
    if (role === "owner") await this.redis.zadd(this.keys.publicChannels(), "NX", 0, name);
    return { outcome: "joined", role };
  }

  async leaveChannel(name: string, userId: UserId): Promise<LeaveResult | null> {
    const answer = await this.redis.heraldChannelLeave(
      ...this.keys.channelKeys(name, userId),
      userId,
    );
    if (answer[0] === "unknown") return null;
    if (answer[0] === "none") return { left: false, heir: null };
    await this.redis.heraldIndexSet(this.keys.channelsOf(userId), name, String(answer[1]), "out");
    return { left: true, heir: answer[2] === "" ? null : answer[2] };
  }

  async changeMember(
    name: string,
    guard: MemberChangeGuard,
    change: MemberChange,
  ): Promise<MemberChangeResult> {
    const value =
      change.kind === "kick"
        ? change.ban
          ? "1"
          : "0"
        : change.kind === "mute"
          ? String(change.until)
          : change.kind === "role"
            ? change.role
            : "";
    const answer = await this.redis.heraldChannelChange(
      ...this.keys.channelKeys(name, guard.target),
      change.kind,
      guard.actor,
      guard.actorStanding,
      guard.target,
      guard.targetStanding,
      value,
    );
    if (answer[0] !== "done") return { outcome: answer[0] };
    const [, version, heir] = answer;
    if (version > 0)
      await this.redis.heraldIndexSet(
        this.keys.channelsOf(guard.target),
        name,
        String(version),
        "out",
      );
    return { outcome: "done", heir: heir === "" ? null : heir };
  }

  async membersPage(name: string, after: number, limit: number): Promise<ChannelMember[]> {
    const count = Math.floor(limit);
    if (!(count > 0)) return [];
    const flat = await this.redis.heraldChannelPage(
      ...this.keys.channelKeys(name, ""),
      String(Math.max(0, Math.floor(after))),
      String(count),
    );
    const page: ChannelMember[] = [];
    for (let i = 0; i < flat.length; i += 2) page.push(readMember(flat[i]!, flat[i + 1] ?? null));
    return page;
  }

  async channelExists(name: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.channelVersion(name))) === 1;
  }

  async isMember(name: string, userId: UserId): Promise<boolean> {
    return (await this.redis.sismember(this.keys.channelMembers(name), userId)) === 1;
  }

  async channelMembers(name: string): Promise<UserId[]> {
    return this.redis.smembers(this.keys.channelMembers(name));
  }

  async channelsOf(userId: UserId): Promise<string[]> {
    const entries = indexEntries(await this.redis.hgetall(this.keys.channelsOf(userId)));
    return entries.filter(([, state]) => state === "in").map(([name]) => name);
  }

  async listChannels(after = "", limit = Infinity, viewer?: UserId): Promise<ChannelSummary[]> {
    const count = Math.max(0, Math.floor(limit));
    if (count === 0) return [];
    await this.indexPublicChannels();
    const own = new Set(viewer === undefined ? [] : await this.channelsOf(viewer));
    // The viewer's own channels after `after`, and pages of public names (by lex range:
    // O(log n + page)) until `count` of them are visible: the first `count` of the union are
    // the first `count` visible. The public index may name a private channel (one it learned
    // before records, or a name tried again as public), which a page skips without ending.
    const summaries = await this.summaries(
      [...own].filter((name) => compareStrings(name, after) > 0),
      own,
    );
    const index = this.keys.publicChannels();
    for (let from = after, visible = 0; visible < count;) {
      const min = from === "" ? "-" : `(${from}`;
      const batch = Number.isFinite(count)
        ? await this.redis.zrangebylex(index, min, "+", "LIMIT", 0, count)
        : await this.redis.zrangebylex(index, min, "+");
      const rows = await this.summaries(
        batch.filter((name) => !own.has(name)),
        own,
      );
      summaries.push(...rows);
      visible += rows.length + batch.filter((name) => own.has(name)).length;
      if (batch.length < count || !Number.isFinite(count)) break;
      from = batch[batch.length - 1]!;
    }
    return summaries.sort((a, b) => compareStrings(a.name, b.name)).slice(0, count);
  }

  /** The summaries of these channels that `own` may see (a private one: only its members). */
  private async summaries(names: string[], own: ReadonlySet<string>): Promise<ChannelSummary[]> {
    if (names.length === 0) return [];
    const rows = (await inStages(this.redis, [
      names.map(
        (name): Step =>
          (p) =>
            p
              .hmget(this.keys.channelPart(name, "record"), "visibility", "title")
              .scard(this.keys.channelMembers(name)),
      ),
    ])) as ([string | null, string | null] | number)[];
    const summaries: ChannelSummary[] = [];
    names.forEach((name, i) => {
      const [visibility, title] = rows[2 * i] as [string | null, string | null];
      if (visibility === "private" && !own.has(name)) return;
      summaries.push({
        name,
        members: rows[2 * i + 1] as number,
        title: title ?? "",
        visibility: visibility === "private" ? "private" : "public",
      });
    });
    return summaries;
  }

  /** Once per Redis: channels from before records (all public) join the public index. */
  private async indexPublicChannels(): Promise<void> {
    if (this.publicIndexed) return;
    if ((await this.redis.exists(this.keys.publicChannelsReady())) === 0) {
      const names = await this.redis.smembers(this.keys.channelIndex());
      for (let i = 0; i < names.length; i += 1000)
        await this.redis.zadd(
          this.keys.publicChannels(),
          "NX",
          ...names.slice(i, i + 1000).flatMap((name) => [0, name]),
        );
      await this.redis.set(this.keys.publicChannelsReady(), "1");
    }
    this.publicIndexed = true;
  }

  async append(
    ref: ConversationRef,
    item: NewItem,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const k = this.keys;
    const { envelope, body } = splitItem(item, options.clientMsgId);
    const clientMsgId = item.kind === "message" ? options.clientMsgId : undefined;
    const log = k.messages(ref);
    const append: Step =
      item.kind === "message"
        ? (p) => {
            const keys = [
              log,
              k.conversation(ref),
              k.cursors(ref),
              ref.kind === "channel" ? k.channelMembers(ref.name) : k.cursors(ref),
              clientMsgId === undefined ? log : k.clientMsgId(ref, item.from, clientMsgId),
              ref.kind === "channel"
                ? k.channelPart(ref.name, "roles")
                : k.friendship(ref.a, ref.b),
              ...[...new Set(item.mentions ?? [])].map((id) => k.mentions(ref, id)),
            ];
            return p.heraldAppendMessage(
              keys.length,
              ...keys,
              envelope,
              body!,
              item.id,
              item.from,
              String(item.ts),
              ref.kind === "channel" ? "1" : "0",
              clientMsgId === undefined ? "0" : "1",
              standingChecked(ref, options),
              String(options.asMember?.now ?? 0),
              ref.kind === "direct" ? ref.a : "",
              ref.kind === "direct" ? ref.b : "",
            );
          }
        : (p) =>
            p.heraldAppendChange(
              log,
              k.conversation(ref),
              k.reactions(ref),
              item.kind,
              envelope,
              body ?? "",
              item.id,
              item.from,
              String(item.ts),
              item.target,
              item.kind === "reaction" ? item.emoji : "",
              item.kind === "reaction" ? item.op : "",
            );
    // The item's index first, then the item (each in its own slot on a cluster): an item always
    // has its index. An index left by a refused or repeated append names no item there; drop it.
    // A direct pair's indexes go with the append, whatever it answers: an entry left by a
    // refused one names a conversation with nothing in it, which conversationsOf skips.
    const stages: Step[][] = [[(p) => p.set(k.item(item.id), conversationKey(ref))], [append]];
    if (ref.kind === "direct")
      stages[1]!.push(
        (p) => p.zadd(k.directsOf(ref.a), "GT", item.ts, ref.b),
        (p) => p.zadd(k.directsOf(ref.b), "GT", item.ts, ref.a),
      );
    const answers = await inStages(this.redis, stages);
    const [outcome, value, mutedUntil] = answers[1] as
      ["stored" | "duplicate", number] | ["refused", Refusal, number?];
    if (outcome === "stored") {
      const stored = { ...item, seq: value } as StreamItem;
      if (stored.kind === "message" && clientMsgId !== undefined) stored.clientMsgId = clientMsgId;
      return { item: stored, duplicate: false };
    }
    await this.redis.del(k.item(item.id));
    if (outcome === "refused")
      return mutedUntil === undefined ? { refused: value } : { refused: value, mutedUntil };
    const [first] = await this.items(ref, value - 1, value - 1, null);
    return { item: first!, duplicate: true };
  }

  /** Items at list indexes first..last (or only `id`'s), in their current state; reactions
   * as `viewer` sees them (none for null). */
  private async items(
    ref: ConversationRef,
    first: number,
    last: number,
    viewer: UserId | null,
    id = "",
  ): Promise<StreamItem[]> {
    const k = this.keys;
    const rows = await this.redis.heraldItems(
      k.messages(ref),
      k.conversation(ref),
      k.reactions(ref),
      first,
      last,
      viewer === null ? "0" : "1",
      viewer ?? "",
      id,
    );
    return rows.map(readItem);
  }

  async itemById(id: string): Promise<{ ref: ConversationRef; item: StreamItem } | null> {
    const key = await this.redis.get(this.keys.item(id));
    const ref = key === null ? null : refOfKey(key);
    if (ref === null) return null;
    const [item] = await this.items(ref, 0, 0, null, id);
    return item ? { ref, item } : null;
  }

  async history(
    ref: ConversationRef,
    after: number,
    limit: number,
    viewer: UserId = "",
  ): Promise<StreamItem[]> {
    const start = after > 0 ? Math.floor(after) : 0;
    const count = Math.floor(limit);
    if (!(count > 0)) return [];
    const stop = Number.isFinite(count) ? start + count - 1 : -1;
    return this.items(ref, start, stop, viewer);
  }

  async markRead(userId: UserId, ref: ConversationRef, seq: number): Promise<ReadResult> {
    const k = this.keys;
    const [readSeq, unread, moved] = await this.redis.heraldMarkRead(
      k.conversation(ref),
      k.cursors(ref),
      ref.kind === "channel" ? k.channelMembers(ref.name) : k.cursors(ref),
      userId,
      Math.floor(seq),
      ref.kind === "channel" ? "1" : "0",
    );
    return { readSeq, unread, moved: moved === 1 };
  }

  async conversationsOf(userId: UserId): Promise<ConversationSummary[]> {
    const [peers, channels] = await Promise.all([
      this.redis.zrange(this.keys.directsOf(userId), 0, -1),
      this.channelsOf(userId),
    ]);
    const refs: ConversationRef[] = [
      ...peers.map((peer): ConversationRef => ({ kind: "direct", a: userId, b: peer })),
      ...channels.map((name): ConversationRef => ({ kind: "channel", name })),
    ];
    if (refs.length === 0) return [];
    // One script per conversation, all in one stage: one round trip for every summary.
    const rows = await eachInOneStage<ConversationRef, number[]>(this.redis, refs, (p, ref) =>
      p.heraldSummary(
        this.keys.conversation(ref),
        this.keys.cursors(ref),
        this.keys.mentions(ref, userId),
        userId,
        ref.kind === "direct" ? ref.b : "",
      ),
    );
    return refs
      .flatMap((ref, i): ConversationSummary[] => {
        const [lastSeq, lastTs, readSeq, unread, mentions, peerReadSeq] = rows[i]!;
        if (ref.kind === "direct" && lastSeq === 0) return []; // see append
        const summary: ConversationSummary = {
          ref,
          lastSeq: lastSeq!,
          lastTs: lastTs!,
          readSeq: readSeq!,
          unread: unread!,
          mentions: mentions!,
        };
        if (ref.kind === "direct") summary.peerReadSeq = peerReadSeq!;
        return [summary];
      })
      .sort((x, y) => y.lastTs - x.lastTs);
  }

  async readers(channel: string, seq: number, limit: number): Promise<Readers> {
    const cursors = this.keys.cursors({ kind: "channel", name: channel });
    const from = Math.max(0, Math.floor(seq));
    const [count, userIds] = replies<[number, string[]]>(
      await this.redis
        .pipeline()
        .zcount(cursors, from, "+inf")
        .zrangebyscore(cursors, from, "+inf", "LIMIT", 0, Math.max(0, Math.floor(limit)))
        .exec(),
    );
    return { count, userIds };
  }

  // A file's record is written once; its shares are a set of shareEntry strings.
  async createFile(file: FileRecord): Promise<void> {
    await this.redis.set(this.keys.file(file.fileId), JSON.stringify(file));
  }

  async fileById(fileId: string): Promise<FileRecord | null> {
    const record = await this.redis.get(this.keys.file(fileId));
    return record === null ? null : (JSON.parse(record) as FileRecord);
  }

  async shareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    await this.redis.sadd(this.keys.fileShares(fileId), shareEntry(ref, seq));
  }

  async unshareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    await this.redis.srem(this.keys.fileShares(fileId), shareEntry(ref, seq));
  }

  async fileShares(fileId: string): Promise<FileShare[]> {
    const entries = await this.redis.smembers(this.keys.fileShares(fileId));
    return entries.map((entry) => JSON.parse(entry) as FileShare);
  }
}

/** heraldItems' row → the item in its current state. */
function readItem([seq, envelope, body, editBody, editTs, recalled, flat]: ItemRow): StreamItem {
  const reactions: ReactionCount[] = [];
  for (let i = 0; i < flat.length; i += 3)
    reactions.push({ emoji: String(flat[i]), count: Number(flat[i + 1]), me: flat[i + 2] === 1 });
  return readStored({
    seq,
    envelope,
    body,
    editBody,
    editTs: editTs === null ? null : Number(editTs),
    recalled: recalled === 1,
    reactions,
  });
}

/** A roles entry ("<role> <joinSeq> <joinOrder> <mutedUntil>"); none: a member from before
 * records, a plain member since seq 0. */
function readMember(userId: UserId, entry: string | null): ChannelMember {
  const [role, joinSeq, joinOrder, mutedUntil] = (entry ?? "member 0 0 0").split(" ");
  return {
    userId,
    role: role as ChannelRole,
    joinSeq: Number(joinSeq),
    joinOrder: Number(joinOrder),
    mutedUntil: Number(mutedUntil),
  };
}

/** The friendship as `userId` sees it. */
function seenBy(userId: UserId, { state, asker }: Omit<Friendship, "version">): FriendState {
  if (state !== "pending") return state;
  return asker === userId ? "outgoing" : "incoming";
}

/** A user's index hash (heraldIndexSet) as [field, value] without the versions. */
function indexEntries(hash: Record<string, string>): [string, string][] {
  return Object.entries(hash).map(([field, entry]) => [field, entry.slice(entry.indexOf(" ") + 1)]);
}
