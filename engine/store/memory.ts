// The store in this process's memory: lost with the process (the embedded engine). Lapsed
// sessions are dropped by the engine's sweep (sweepSessions), not only when touched.
import { randomUUID } from "node:crypto";
import { compareStrings } from "../compare.js";
import { conversationKey, hashToken, newToken, shareEntry } from "../ids.js";
import type { ReactionCount, StreamItem, UserId } from "../protocol.js";
import {
  CLIENT_MSG_ID_TTL_S,
  MAX_EMOJI_PER_MESSAGE,
  present,
  type MessageState,
} from "./stream.js";
import { usernameKey } from "../usernames.js";
import type {
  AppendOptions,
  AppendResult,
  ChannelMember,
  ChannelRecord,
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
  Session,
  Standing,
  Store,
  User,
  UserRecord,
} from "./types.js";

interface ChannelState {
  record: ChannelRecord;
  /** userId → member; insertion order is join order (a rejoin moves to the end). */
  members: Map<UserId, ChannelMember>;
  /** Every join in joinOrder, append-only; an entry whose member left or rejoined since is
   * skipped (and dropped by compaction), so a page seeks by binary search. */
  joins: { userId: UserId; joinOrder: number }[];
  joinCount: number;
  invites: Set<UserId>;
  bans: Set<UserId>;
}

/** A stored item and the conversation's message count up to and including it. */
interface Entry {
  item: StreamItem;
  count: number;
}

interface StoredMessage extends MessageState {
  seq: number;
  /** The seqs of its edit items, whose content a recall deletes too. */
  edits: number[];
  /** emoji → who reacted, in the order the emoji first appeared. */
  reactions: Map<string, Set<UserId>>;
}

interface Conversation {
  ref: ConversationRef;
  entries: Entry[];
  lastTs: number;
  /** message id → its state */
  messages: Map<string, StoredMessage>;
  /** userId → read cursor */
  cursors: Map<UserId, number>;
  /** userId → the seqs of messages mentioning them, ascending */
  mentions: Map<UserId, number[]>;
  /** "<from> <clientMsgId>" → the first item's seq and when the key lapses */
  clientMsgIds: Map<string, { seq: number; expiresAt: number }>;
}

export class MemoryStore implements Store {
  private readonly users = new Map<UserId, UserRecord>();
  private readonly userIdByName = new Map<string, UserId>();
  private readonly sessions = new Map<string, { session: Session; expiresAt: number }>();
  /** userId → the ids of their sessions */
  private readonly sessionsOf = new Map<UserId, Set<string>>();
  /** userId → other userId → state as seen from the first */
  private readonly relations = new Map<UserId, Map<UserId, Exclude<FriendState, "none">>>();
  private readonly channels = new Map<string, ChannelState>();
  /** blocker → the users they block */
  private readonly blocks = new Map<UserId, Set<UserId>>();
  private readonly conversations = new Map<string, Conversation>();
  /** item id → its conversation's key and seq */
  private readonly items = new Map<string, { key: string; seq: number }>();
  /** userId → the peers of their direct conversations with a stored message */
  private readonly directOf = new Map<UserId, Set<UserId>>();
  private readonly files = new Map<string, FileRecord>();
  /** fileId → shareEntry → the share */
  private readonly shares = new Map<string, Map<string, FileShare>>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Sessions held, lapsed ones included until the next sweep. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async createUser(username: string, passwordHash: string): Promise<User | null> {
    const key = usernameKey(username);
    if (this.userIdByName.has(key)) return null;
    const userId = randomUUID();
    this.users.set(userId, { userId, username, passwordHash });
    this.userIdByName.set(key, userId);
    return { userId, username };
  }

  async userByName(username: string): Promise<UserRecord | null> {
    const userId = this.userIdByName.get(usernameKey(username));
    const user = userId ? this.users.get(userId) : undefined;
    return user ? { ...user } : null;
  }

  async setPasswordHash(userId: UserId, passwordHash: string): Promise<void> {
    const user = this.users.get(userId);
    if (user) user.passwordHash = passwordHash;
  }

  async usersById(userIds: readonly UserId[]): Promise<(User | null)[]> {
    return userIds.map((id) => {
      const user = this.users.get(id);
      return user ? { userId: user.userId, username: user.username } : null;
    });
  }

  async createSession(
    userId: UserId,
    ttlMs: number,
  ): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = hashToken(token);
    this.sessions.set(sessionId, {
      session: { sessionId, userId },
      expiresAt: this.clock() + ttlMs,
    });
    let ids = this.sessionsOf.get(userId);
    if (!ids) this.sessionsOf.set(userId, (ids = new Set()));
    ids.add(sessionId);
    return { token, sessionId };
  }

  async sessionByToken(token: string): Promise<Session | null> {
    const sessionId = hashToken(token);
    const entry = this.sessions.get(sessionId);
    if (!entry) return null;
    if (entry.expiresAt <= this.clock()) {
      this.deleteSessionNow(sessionId);
      return null;
    }
    return { ...entry.session };
  }

  async deleteSession(sessionId: string): Promise<void> {
    this.deleteSessionNow(sessionId);
  }

  async deleteSessionsOf(userId: UserId): Promise<string[]> {
    const ids = [...(this.sessionsOf.get(userId) ?? [])];
    for (const id of ids) this.sessions.delete(id);
    this.sessionsOf.delete(userId);
    return ids;
  }

  /** Drops every lapsed session. */
  sweepSessions(): void {
    const now = this.clock();
    for (const [sessionId, entry] of this.sessions)
      if (entry.expiresAt <= now) this.deleteSessionNow(sessionId);
  }

  private deleteSessionNow(sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    if (!entry) return;
    this.sessions.delete(sessionId);
    const ids = this.sessionsOf.get(entry.session.userId);
    ids?.delete(sessionId);
    if (ids?.size === 0) this.sessionsOf.delete(entry.session.userId);
  }

  private relationsOf(userId: UserId): Map<UserId, Exclude<FriendState, "none">> {
    let map = this.relations.get(userId);
    if (!map) this.relations.set(userId, (map = new Map()));
    return map;
  }

  async requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends" | "blocked"> {
    if (this.isBlocked(from, to)) return "blocked";
    const state = this.relationsOf(from).get(to) ?? "none";
    if (state === "friends") return "friends";
    if (state === "incoming") {
      this.relationsOf(from).set(to, "friends");
      this.relationsOf(to).set(from, "friends");
      return "friends";
    }
    this.relationsOf(from).set(to, "outgoing");
    this.relationsOf(to).set(from, "incoming");
    return "pending";
  }

  async removeFriend(a: UserId, b: UserId): Promise<void> {
    this.relations.get(a)?.delete(b);
    this.relations.get(b)?.delete(a);
  }

  async friendState(a: UserId, b: UserId): Promise<FriendState> {
    return this.relations.get(a)?.get(b) ?? "none";
  }

  async friendLists(userId: UserId): Promise<FriendLists> {
    const lists: FriendLists = { friends: [], incoming: [], outgoing: [] };
    for (const [other, state] of this.relations.get(userId) ?? []) {
      if (state === "friends") lists.friends.push(other);
      else lists[state].push(other);
    }
    return lists;
  }

  private isBlocked(a: UserId, b: UserId): boolean {
    return (this.blocks.get(a)?.has(b) ?? false) || (this.blocks.get(b)?.has(a) ?? false);
  }

  async block(blocker: UserId, blocked: UserId): Promise<void> {
    let set = this.blocks.get(blocker);
    if (!set) this.blocks.set(blocker, (set = new Set()));
    set.add(blocked);
    await this.removeFriend(blocker, blocked);
  }

  async unblock(blocker: UserId, blocked: UserId): Promise<void> {
    const set = this.blocks.get(blocker);
    set?.delete(blocked);
    if (set?.size === 0) this.blocks.delete(blocker);
  }

  async blockedBetween(a: UserId, b: UserId): Promise<boolean> {
    return this.isBlocked(a, b);
  }

  async blocksOf(blocker: UserId): Promise<UserId[]> {
    return [...(this.blocks.get(blocker) ?? [])];
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord | null> {
    if (this.channels.has(channel.name)) return null;
    const { owner, ...rest } = channel;
    const state = this.newChannel({ ...rest, owner: null });
    this.addMember(state, owner);
    return { ...state.record };
  }

  private newChannel(record: ChannelRecord): ChannelState {
    const state: ChannelState = {
      record,
      members: new Map(),
      joins: [],
      joinCount: 0,
      invites: new Set(),
      bans: new Set(),
    };
    this.channels.set(record.name, state);
    return state;
  }

  /** A new member; the owner when the channel has none. Their cursor starts at the last seq:
   * what came before their joining reads as read. */
  private addMember(c: ChannelState, userId: UserId): ChannelMember {
    const conversation = this.conversation({ kind: "channel", name: c.record.name });
    const joinSeq = conversation.entries.length;
    const role = c.record.owner === null ? "owner" : "member";
    if (role === "owner") c.record.owner = userId;
    const member: ChannelMember = {
      userId,
      role,
      joinSeq,
      joinOrder: ++c.joinCount,
      mutedUntil: 0,
    };
    c.members.set(userId, member);
    c.joins.push({ userId, joinOrder: member.joinOrder });
    c.invites.delete(userId);
    conversation.cursors.set(userId, joinSeq);
    return member;
  }

  /** Removes a member; an owner's place goes to the longest-standing admin, else member. */
  private removeMember(c: ChannelState, userId: UserId): LeaveResult {
    const member = c.members.get(userId);
    if (!member) return { left: false, heir: null };
    c.members.delete(userId);
    const conversation = this.conversation({ kind: "channel", name: c.record.name });
    conversation.cursors.delete(userId);
    conversation.mentions.delete(userId);
    if (c.joins.length > 2 * c.members.size + 16)
      c.joins = c.joins.filter((j) => c.members.get(j.userId)?.joinOrder === j.joinOrder);
    if (member.role !== "owner") return { left: true, heir: null };
    let heir: ChannelMember | undefined;
    for (const other of c.members.values())
      if (other.role === "admin") {
        heir = other;
        break;
      }
    heir ??= c.members.values().next().value;
    if (heir) heir.role = "owner";
    c.record.owner = heir?.userId ?? null;
    return { left: true, heir: heir?.userId ?? null };
  }

  private standing(c: ChannelState, userId: UserId): Standing {
    return c.members.get(userId)?.role ?? (c.bans.has(userId) ? "banned" : "outsider");
  }

  async channelInfo(name: string): Promise<ChannelRecord | null> {
    const c = this.channels.get(name);
    return c ? { ...c.record } : null;
  }

  async member(name: string, userId: UserId): Promise<MemberLookup | null> {
    const c = this.channels.get(name);
    if (!c) return null;
    const member = c.members.get(userId);
    return {
      visibility: c.record.visibility,
      history: c.record.history,
      member: member ? { ...member } : null,
      banned: c.bans.has(userId),
    };
  }

  async joinChannel(name: string, userId: UserId, maxMembers = Infinity): Promise<JoinResult> {
    const c =
      this.channels.get(name) ??
      this.newChannel({
        name,
        owner: null,
        title: "",
        visibility: "public",
        history: "all",
        created: Date.now(),
      });
    if (c.members.has(userId)) return { outcome: "member" };
    if (c.bans.has(userId)) return { refused: "banned" };
    if (c.record.visibility === "private" && !c.invites.has(userId))
      return { refused: "invite_required" };
    if (c.members.size >= maxMembers) return { refused: "channel_full" };
    return { outcome: "joined", role: this.addMember(c, userId).role };
  }

  async leaveChannel(name: string, userId: UserId): Promise<LeaveResult | null> {
    const c = this.channels.get(name);
    return c ? this.removeMember(c, userId) : null;
  }

  async changeMember(
    name: string,
    guard: MemberChangeGuard,
    change: MemberChange,
  ): Promise<MemberChangeResult> {
    const c = this.channels.get(name);
    if (
      !c ||
      this.standing(c, guard.actor) !== guard.actorStanding ||
      this.standing(c, guard.target) !== guard.targetStanding
    )
      return { outcome: "stale" };
    const target = c.members.get(guard.target);
    const done: MemberChangeResult = { outcome: "done", heir: null };
    const noop: MemberChangeResult = { outcome: "noop" };
    switch (change.kind) {
      case "invite":
        if (target) return noop;
        c.invites.add(guard.target);
        return done;
      case "kick": {
        const { left, heir } = this.removeMember(c, guard.target);
        const banned = change.ban && !c.bans.has(guard.target);
        if (change.ban) c.bans.add(guard.target);
        return left || banned ? { outcome: "done", heir } : noop;
      }
      case "unban":
        return c.bans.delete(guard.target) ? done : noop;
      case "mute":
      case "unmute": {
        const until = change.kind === "mute" ? change.until : 0;
        if (!target || target.mutedUntil === until) return noop;
        target.mutedUntil = until;
        return done;
      }
      case "role":
        if (!target || target.role === change.role) return noop;
        target.role = change.role;
        return done;
      case "owner": {
        const actor = c.members.get(guard.actor);
        if (!target || !actor || target === actor) return noop;
        actor.role = "admin";
        target.role = "owner";
        c.record.owner = target.userId;
        return done;
      }
    }
  }

  async membersPage(name: string, after: number, limit: number): Promise<ChannelMember[]> {
    const c = this.channels.get(name);
    if (!c) return [];
    let lo = 0;
    let hi = c.joins.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c.joins[mid]!.joinOrder <= after) lo = mid + 1;
      else hi = mid;
    }
    const page: ChannelMember[] = [];
    for (let i = lo; i < c.joins.length && page.length < limit; i++) {
      const { userId, joinOrder } = c.joins[i]!;
      const member = c.members.get(userId);
      if (member?.joinOrder === joinOrder) page.push({ ...member });
    }
    return page;
  }

  async channelExists(name: string): Promise<boolean> {
    return this.channels.has(name);
  }

  async isMember(name: string, userId: UserId): Promise<boolean> {
    return this.channels.get(name)?.members.has(userId) ?? false;
  }

  async channelMembers(name: string): Promise<UserId[]> {
    return [...(this.channels.get(name)?.members.keys() ?? [])];
  }

  async channelsOf(userId: UserId): Promise<string[]> {
    const names: string[] = [];
    for (const [name, c] of this.channels) if (c.members.has(userId)) names.push(name);
    return names;
  }

  async listChannels(after = "", limit = Infinity, viewer?: UserId): Promise<ChannelSummary[]> {
    return [...this.channels.values()]
      .filter(
        (c) =>
          compareStrings(c.record.name, after) > 0 &&
          (c.record.visibility === "public" || (viewer !== undefined && c.members.has(viewer))),
      )
      .map(({ record, members }) => ({
        name: record.name,
        members: members.size,
        title: record.title,
        visibility: record.visibility,
      }))
      .sort((a, b) => compareStrings(a.name, b.name))
      .slice(0, Math.max(0, Math.floor(limit)));
  }

  private conversation(ref: ConversationRef): Conversation {
    const key = conversationKey(ref);
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = {
        ref: ref.kind === "direct" && ref.a > ref.b ? { ...ref, a: ref.b, b: ref.a } : ref,
        entries: [],
        lastTs: 0,
        messages: new Map(),
        cursors: new Map(),
        mentions: new Map(),
        clientMsgIds: new Map(),
      };
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  async append(
    ref: ConversationRef,
    item: NewItem,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const c = this.conversation(ref);
    const now = Date.now();
    const idempotencyKey =
      item.kind === "message" && options.clientMsgId !== undefined
        ? `${item.from} ${options.clientMsgId}`
        : null;
    const prior = idempotencyKey === null ? undefined : c.clientMsgIds.get(idempotencyKey);
    if (prior && prior.expiresAt > now)
      return { item: this.current(c, c.entries[prior.seq - 1]!.item), duplicate: true };

    if (options.asMember && item.kind === "message" && ref.kind === "channel") {
      const member = this.channels.get(ref.name)?.members.get(item.from);
      if (!member) return { refused: "not_member" };
      if (member.mutedUntil > options.asMember.now)
        return { refused: "muted", mutedUntil: member.mutedUntil };
    }
    if (options.asPeer && item.kind === "message" && ref.kind === "direct") {
      if (this.isBlocked(ref.a, ref.b)) return { refused: "blocked" };
      if (options.asPeer.friendsOnly && this.relations.get(ref.a)?.get(ref.b) !== "friends")
        return { refused: "not_friends" };
    }
    const target = item.kind === "message" ? null : c.messages.get(item.target);
    if (item.kind !== "message") {
      if (!target) return { refused: "not_found" };
      if (target.recalled) return { refused: "recalled" };
      if (item.kind === "reaction") {
        const users = target.reactions.get(item.emoji);
        if ((item.op === "add") === (users?.has(item.from) ?? false)) return { refused: "noop" };
        if (!users && target.reactions.size >= MAX_EMOJI_PER_MESSAGE)
          return { refused: "too_many_reactions" };
      }
    }

    const seq = c.entries.length + 1;
    const before = c.entries.at(-1)?.count ?? 0;
    const stored = { ...item, seq } as StreamItem;
    if (stored.kind === "message" && options.clientMsgId !== undefined)
      stored.clientMsgId = options.clientMsgId;
    c.entries.push({ item: stored, count: before + (item.kind === "message" ? 1 : 0) });
    c.lastTs = item.ts;
    this.items.set(item.id, { key: conversationKey(ref), seq });
    if (idempotencyKey !== null)
      c.clientMsgIds.set(idempotencyKey, { seq, expiresAt: now + CLIENT_MSG_ID_TTL_S * 1000 });

    switch (item.kind) {
      case "message":
        c.messages.set(item.id, { seq, recalled: false, edits: [], reactions: new Map() });
        if (this.mayRead(ref, item.from)) this.moveCursor(c, item.from, seq);
        for (const userId of new Set(item.mentions ?? [])) {
          let seqs = c.mentions.get(userId);
          if (!seqs) c.mentions.set(userId, (seqs = []));
          seqs.push(seq);
        }
        break;
      case "edit":
        target!.edit = { content: item.content, ts: item.ts };
        target!.edits.push(seq);
        break;
      case "recall": {
        // Deleted, not hidden: the message's content and every edit's content go.
        target!.recalled = true;
        delete target!.edit;
        target!.reactions.clear();
        const message = c.entries[target!.seq - 1]!.item;
        if (message.kind === "message") {
          delete message.content;
          delete message.replyTo;
          delete message.mentions;
          delete message.attachments;
        }
        for (const editSeq of target!.edits) {
          const edit = c.entries[editSeq - 1]!.item;
          if (edit.kind === "edit") delete edit.content;
        }
        break;
      }
      case "reaction": {
        let users = target!.reactions.get(item.emoji);
        if (!users) target!.reactions.set(item.emoji, (users = new Set()));
        if (item.op === "add") users.add(item.from);
        else users.delete(item.from);
        if (users.size === 0) target!.reactions.delete(item.emoji);
        break;
      }
    }
    if (ref.kind === "direct") {
      for (const [userId, peer] of [
        [ref.a, ref.b],
        [ref.b, ref.a],
      ] as const) {
        let peers = this.directOf.get(userId);
        if (!peers) this.directOf.set(userId, (peers = new Set()));
        peers.add(peer);
      }
    }
    return { item: this.current(c, stored), duplicate: false };
  }

  /** Only a channel's members have a cursor there. */
  private mayRead(ref: ConversationRef, userId: UserId): boolean {
    return ref.kind === "direct" || (this.channels.get(ref.name)?.members.has(userId) ?? false);
  }

  private moveCursor(c: Conversation, userId: UserId, seq: number): boolean {
    if (seq <= (c.cursors.get(userId) ?? 0)) return false;
    c.cursors.set(userId, seq);
    return true;
  }

  /** The item in its current state, reactions as `viewer` sees them (none without one). */
  private current(c: Conversation, item: StreamItem, viewer?: UserId): StreamItem {
    const state = item.kind === "message" ? (c.messages.get(item.id) ?? null) : null;
    const reactions: ReactionCount[] = [];
    if (state && viewer !== undefined)
      for (const [emoji, users] of state.reactions)
        reactions.push({ emoji, count: users.size, me: users.has(viewer) });
    return present(item, state, reactions);
  }

  async itemById(id: string): Promise<{ ref: ConversationRef; item: StreamItem } | null> {
    const at = this.items.get(id);
    const c = at && this.conversations.get(at.key);
    if (!at || !c) return null;
    return { ref: c.ref, item: this.current(c, c.entries[at.seq - 1]!.item) };
  }

  async history(
    ref: ConversationRef,
    after: number,
    limit: number,
    viewer = "",
  ): Promise<StreamItem[]> {
    const c = this.conversations.get(conversationKey(ref));
    if (!c) return [];
    const start = after > 0 ? Math.floor(after) : 0;
    return c.entries
      .slice(start, start + Math.max(0, Math.floor(limit)))
      .map((entry) => this.current(c, entry.item, viewer));
  }

  /** Message items from others after the cursor: the count at the end less the count at it. */
  private unread(c: Conversation, readSeq: number): number {
    const last = c.entries.at(-1)?.count ?? 0;
    return last - (readSeq > 0 ? c.entries[readSeq - 1]!.count : 0);
  }

  async markRead(userId: UserId, ref: ConversationRef, seq: number): Promise<ReadResult> {
    const c = this.conversation(ref);
    const moved =
      this.mayRead(ref, userId) &&
      this.moveCursor(c, userId, Math.min(Math.floor(seq), c.entries.length));
    const readSeq = c.cursors.get(userId) ?? 0;
    return { readSeq, unread: this.unread(c, readSeq), moved };
  }

  async conversationsOf(userId: UserId): Promise<ConversationSummary[]> {
    // The caller is always `a` of their direct conversations, as in the Redis twin.
    const refs: ConversationRef[] = [...(this.directOf.get(userId) ?? [])].map((peer) => ({
      kind: "direct",
      a: userId,
      b: peer,
    }));
    for (const name of await this.channelsOf(userId)) refs.push({ kind: "channel", name });
    return refs
      .map((ref): ConversationSummary => {
        const c = this.conversation(ref);
        const readSeq = c.cursors.get(userId) ?? 0;
        const summary: ConversationSummary = {
          ref,
          lastSeq: c.entries.length,
          lastTs: c.lastTs,
          readSeq,
          unread: this.unread(c, readSeq),
          mentions: (c.mentions.get(userId) ?? []).filter((s) => s > readSeq).length,
        };
        if (ref.kind === "direct") summary.peerReadSeq = c.cursors.get(ref.b) ?? 0;
        return summary;
      })
      .sort((x, y) => y.lastTs - x.lastTs);
  }

  async readers(channel: string, seq: number, limit: number): Promise<Readers> {
    const c = this.conversations.get(conversationKey({ kind: "channel", name: channel }));
    const at = [...(c?.cursors ?? [])]
      .filter(([, readSeq]) => readSeq >= seq)
      .sort(([x, s], [y, t]) => s - t || compareStrings(x, y));
    return { count: at.length, userIds: at.slice(0, Math.max(0, limit)).map(([id]) => id) };
  }

  async createFile(file: FileRecord): Promise<void> {
    this.files.set(file.fileId, structuredClone(file));
  }

  async fileById(fileId: string): Promise<FileRecord | null> {
    const file = this.files.get(fileId);
    return file ? structuredClone(file) : null;
  }

  async shareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    let shares = this.shares.get(fileId);
    if (!shares) this.shares.set(fileId, (shares = new Map()));
    const entry = shareEntry(ref, seq);
    shares.set(entry, JSON.parse(entry) as FileShare);
  }

  async unshareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void> {
    this.shares.get(fileId)?.delete(shareEntry(ref, seq));
  }

  async fileShares(fileId: string): Promise<FileShare[]> {
    return [...(this.shares.get(fileId)?.values() ?? [])].map((share) => structuredClone(share));
  }
}
