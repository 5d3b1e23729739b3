// The store in this process's memory: lost with the process (the embedded engine). Lapsed
// sessions are dropped by the engine's sweep (sweepSessions), not only when touched.
import { randomUUID } from "node:crypto";
import { compareStrings } from "../compare.js";
import { conversationKey, hashToken, newToken, shareEntry } from "../ids.js";
import type { MessagePush, UserId } from "../protocol.js";
import { usernameKey } from "../usernames.js";
import type {
  ChannelSummary,
  ConversationRef,
  ConversationSummary,
  FileRecord,
  FileShare,
  FriendLists,
  FriendState,
  NewMessage,
  Session,
  Store,
  User,
  UserRecord,
} from "./types.js";

interface Conversation {
  messages: MessagePush[];
  lastTs: number;
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
    members.add(userId);
  }

  async leaveChannel(name: string, userId: UserId): Promise<boolean> {
    const members = this.channels.get(name);
    if (!members) return false;
    members.delete(userId);
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

  async appendMessage(ref: ConversationRef, message: NewMessage): Promise<MessagePush> {
    const key = conversationKey(ref);
    let conversation = this.conversations.get(key);
    if (!conversation) this.conversations.set(key, (conversation = { messages: [], lastTs: 0 }));
    const stored: MessagePush = { ...message, seq: conversation.messages.length + 1 };
    conversation.messages.push(stored);
    conversation.lastTs = stored.ts;
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
    return { ...stored };
  }

  async history(ref: ConversationRef, after: number, limit: number): Promise<MessagePush[]> {
    const messages = this.conversations.get(conversationKey(ref))?.messages ?? [];
    const start = after > 0 ? Math.floor(after) : 0;
    return messages.slice(start, start + Math.max(0, Math.floor(limit))).map((m) => ({ ...m }));
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
      .map((ref) => {
        const conversation = this.conversations.get(conversationKey(ref));
        return {
          ref,
          lastSeq: conversation?.messages.length ?? 0,
          lastTs: conversation?.lastTs ?? 0,
        };
      })
      .sort((x, y) => y.lastTs - x.lastTs);
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
