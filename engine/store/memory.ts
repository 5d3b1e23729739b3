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
  ChannelSummary,
  ConversationRef,
  ConversationSummary,
  FileRecord,
  FileShare,
  FriendLists,
  FriendState,
  NewItem,
  Readers,
  ReadResult,
  Session,
  Store,
  User,
  UserRecord,
} from "./types.js";

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
  private readonly channels = new Map<string, Set<UserId>>();
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

  async requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends"> {
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

  async joinChannel(name: string, userId: UserId): Promise<void> {
    let members = this.channels.get(name);
    if (!members) this.channels.set(name, (members = new Set()));
    if (members.has(userId)) return;
    members.add(userId);
    // A new member starts with everything before their joining read.
    const conversation = this.conversation({ kind: "channel", name });
    conversation.cursors.set(userId, conversation.entries.length);
  }

  async leaveChannel(name: string, userId: UserId): Promise<boolean> {
    const members = this.channels.get(name);
    if (!members) return false;
    if (members.delete(userId)) {
      const conversation = this.conversation({ kind: "channel", name });
      conversation.cursors.delete(userId);
      conversation.mentions.delete(userId);
    }
    return true;
  }

  async channelExists(name: string): Promise<boolean> {
    return this.channels.has(name);
  }

  async isMember(name: string, userId: UserId): Promise<boolean> {
    return this.channels.get(name)?.has(userId) ?? false;
  }

  async channelMembers(name: string): Promise<UserId[]> {
    return [...(this.channels.get(name) ?? [])];
  }

  async channelsOf(userId: UserId): Promise<string[]> {
    const names: string[] = [];
    for (const [name, members] of this.channels) if (members.has(userId)) names.push(name);
    return names;
  }

  async listChannels(after = "", limit = Infinity): Promise<ChannelSummary[]> {
    return [...this.channels]
      .filter(([name]) => compareStrings(name, after) > 0)
      .map(([name, members]) => ({ name, members: members.size }))
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
    return ref.kind === "direct" || (this.channels.get(ref.name)?.has(userId) ?? false);
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
