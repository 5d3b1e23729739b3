// The embedded engine: every part of the Engine in this process's memory, for a single node
// with no Redis (the way socket.io's in-memory adapter is its default).
import { randomUUID } from "node:crypto";
import type { MessagePush, UserId } from "./protocol.js";
import type {
  Bus,
  ChannelSummary,
  ConnectGrant,
  ConversationRef,
  ConversationSummary,
  Engine,
  FriendLists,
  FriendState,
  Membership,
  NewMessage,
  NodeInfo,
  Presence,
  Session,
  Store,
  TakeResult,
  Tokens,
  Unsubscribe,
  User,
  UserRecord,
} from "./types.js";
import { conversationKey, hashToken, newToken } from "./ids.js";
import { topics } from "./wire.js";

class MemoryBus implements Bus {
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  /** claim key → when it may be claimed again */
  private readonly claims = new Map<string, number>();

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.claims.get(key) ?? 0) > now) return false;
    if (this.claims.size > 10_000) {
      for (const [k, until] of this.claims) if (until <= now) this.claims.delete(k);
    }
    this.claims.set(key, now + ttlMs);
    return true;
  }

  async publish(topic: string, payload: string): Promise<number> {
    const set = this.handlers.get(topic);
    if (!set) return 0;
    // Delivered on a later tick, as over Redis: a publisher never re-enters a subscriber.
    for (const handler of set) queueMicrotask(() => handler(payload));
    // This process is one subscriber however many handlers it has, as one Redis connection is.
    return 1;
  }

  async subscribe(topic: string, handler: (payload: string) => void): Promise<Unsubscribe> {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    const own = (payload: string) => handler(payload);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0) this.handlers.delete(topic);
    };
  }
}

interface TokenEntry {
  grant: ConnectGrant;
  expiresAt: number;
}

/** How long a spent or expired token is remembered, to tell `token_expired` from `token_invalid`. */
const TOKEN_MEMORY_MS = 5 * 60_000;

class MemoryTokens implements Tokens {
  private readonly tokens = new Map<string, TokenEntry>();

  async issue(grant: ConnectGrant, ttlMs: number): Promise<string> {
    this.sweep();
    const token = newToken();
    this.tokens.set(hashToken(token), { grant: { ...grant }, expiresAt: Date.now() + ttlMs });
    return token;
  }

  async take(token: string): Promise<TakeResult> {
    const key = hashToken(token);
    const entry = this.tokens.get(key);
    if (!entry) return { status: "invalid" };
    this.tokens.delete(key);
    if (entry.expiresAt <= Date.now()) return { status: "expired" };
    return { status: "ok", grant: entry.grant };
  }

  async revokeSession(sessionId: string): Promise<void> {
    for (const [key, entry] of this.tokens)
      if (entry.grant.sessionId === sessionId) this.tokens.delete(key);
  }

  private sweep(): void {
    const cutoff = Date.now() - TOKEN_MEMORY_MS;
    for (const [key, entry] of this.tokens) if (entry.expiresAt < cutoff) this.tokens.delete(key);
  }
}

class MemoryPresence implements Presence {
  /** userId → connId → nodeId */
  private readonly byUser = new Map<UserId, Map<string, string>>();

  async add(userId: UserId, nodeId: string, connId: string): Promise<boolean> {
    let conns = this.byUser.get(userId);
    if (!conns) this.byUser.set(userId, (conns = new Map()));
    const first = conns.size === 0;
    conns.set(connId, nodeId);
    return first;
  }

  async remove(userId: UserId, _nodeId: string, connId: string): Promise<boolean> {
    const conns = this.byUser.get(userId);
    if (!conns || !conns.delete(connId)) return false;
    if (conns.size > 0) return false;
    this.byUser.delete(userId);
    return true;
  }

  async online(userIds: readonly UserId[]): Promise<boolean[]> {
    return userIds.map((id) => this.byUser.has(id));
  }

  async clearNode(nodeId: string): Promise<UserId[]> {
    const offline: UserId[] = [];
    for (const [userId, conns] of this.byUser) {
      for (const [connId, node] of conns) if (node === nodeId) conns.delete(connId);
      if (conns.size === 0) {
        this.byUser.delete(userId);
        offline.push(userId);
      }
    }
    return offline;
  }

  async countByNode(nodeIds: readonly string[]): Promise<number[]> {
    const counts = new Map<string, number>(nodeIds.map((id) => [id, 0]));
    for (const conns of this.byUser.values())
      for (const node of conns.values()) {
        const count = counts.get(node);
        if (count !== undefined) counts.set(node, count + 1);
      }
    return nodeIds.map((id) => counts.get(id)!);
  }
}

interface Conversation {
  messages: MessagePush[];
  lastTs: number;
}

class MemoryStore implements Store {
  private readonly users = new Map<UserId, UserRecord>();
  private readonly userIdByName = new Map<string, UserId>();
  private readonly sessions = new Map<string, { session: Session; expiresAt: number }>();
  /** userId → other userId → state as seen from the first */
  private readonly relations = new Map<UserId, Map<UserId, Exclude<FriendState, "none">>>();
  private readonly channels = new Map<string, Set<UserId>>();
  private readonly conversations = new Map<string, Conversation>();
  /** userId → the peers of their direct conversations with a stored message */
  private readonly directOf = new Map<UserId, Set<UserId>>();

  async createUser(username: string, passwordHash: string): Promise<User | null> {
    const key = username.toLowerCase();
    if (this.userIdByName.has(key)) return null;
    const userId = randomUUID();
    this.users.set(userId, { userId, username, passwordHash });
    this.userIdByName.set(key, userId);
    return { userId, username };
  }

  async userByName(username: string): Promise<UserRecord | null> {
    const userId = this.userIdByName.get(username.toLowerCase());
    const user = userId ? this.users.get(userId) : undefined;
    return user ? { ...user } : null;
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
    this.sessions.set(sessionId, { session: { sessionId, userId }, expiresAt: Date.now() + ttlMs });
    return { token, sessionId };
  }

  async sessionByToken(token: string): Promise<Session | null> {
    const sessionId = hashToken(token);
    const entry = this.sessions.get(sessionId);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.sessions.delete(sessionId);
      return null;
    }
    return { ...entry.session };
  }

  async deleteSession(sessionId: string): Promise<void> {
    this.sessions.delete(sessionId);
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

  async listChannels(): Promise<ChannelSummary[]> {
    return [...this.channels]
      .map(([name, members]) => ({ name, members: members.size }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
}

class MemoryMembership implements Membership {
  private readonly nodes = new Map<string, { node: NodeInfo; expiresAt: number }>();

  constructor(private readonly bus: Bus) {}

  async register(node: NodeInfo, ttlMs: number): Promise<void> {
    this.nodes.set(node.nodeId, { node: { ...node }, expiresAt: Date.now() + ttlMs });
    await this.bus.publish(topics.membership, node.nodeId);
  }

  async heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const known = (this.nodes.get(node.nodeId)?.expiresAt ?? 0) > Date.now();
    this.nodes.set(node.nodeId, { node: { ...node }, expiresAt: Date.now() + ttlMs });
    if (!known) await this.bus.publish(topics.membership, node.nodeId);
    return !known;
  }

  async deregister(nodeId: string): Promise<void> {
    if (this.nodes.delete(nodeId)) await this.bus.publish(topics.membership, nodeId);
  }

  async list(): Promise<NodeInfo[]> {
    const now = Date.now();
    const live: NodeInfo[] = [];
    for (const [id, entry] of this.nodes) {
      if (entry.expiresAt <= now) this.nodes.delete(id);
      else live.push({ ...entry.node });
    }
    return live.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }
}

export class MemoryEngine implements Engine {
  readonly kind = "memory";
  readonly bus = new MemoryBus();
  readonly tokens = new MemoryTokens();
  readonly presence = new MemoryPresence();
  readonly store = new MemoryStore();
  readonly membership = new MemoryMembership(this.bus);

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
