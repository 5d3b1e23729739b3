// The Redis twin of the engine (ioredis 5): state that outlives a process and is shared by every
// business and imServer process. Atomic multi-step changes are Lua scripts (./scripts.ts); key and
// channel names come from ./keys.ts only. Expiry is judged by Redis' clock, never a process's.
// One server or a Redis Cluster: what differs is in ./connection.ts; every script and MULTI
// touches one slot, and commands over several slots go through `inStages`.
import { randomUUID } from "node:crypto";
import type { ChainableCommander } from "ioredis";
import type { MessagePush, UserId } from "../protocol.js";
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
  SocketAdapterHandle,
  Store,
  TakeResult,
  Tokens,
  Unsubscribe,
  User,
  UserRecord,
} from "../types.js";
import { hashToken, newToken } from "../ids.js";
import { topics } from "../wire.js";
import {
  connectError,
  createClient,
  inStages,
  isCluster,
  parseRedisUrl,
  publish,
  quit,
  redactUrl,
  replies,
  subscriber,
  type RedisClient,
  type Step,
  type Subscriber,
} from "./connection.js";
import { RedisKeys } from "./keys.js";
import { defineScripts } from "./scripts.js";
import { createSocketAdapter } from "./socket-adapter.js";

type Handler = (payload: string) => void;

interface Subscription {
  handlers: Set<Handler>;
  /** Settles when Redis acknowledged the SUBSCRIBE. */
  ready: Promise<unknown>;
}

class RedisBus implements Bus {
  private subscriber: Subscriber | null = null;
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async publish(topic: string, payload: string): Promise<number> {
    return publish(this.redis, this.keys.channel(topic), payload);
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(key), "1", "PX", ttlMs, "NX")) === "OK";
  }

  async subscribe(topic: string, handler: Handler): Promise<Unsubscribe> {
    const channel = this.keys.channel(topic);
    const subscriber = this.connection();
    let subscription = this.subscriptions.get(channel);
    if (!subscription) {
      // Commands on one connection run in order, so a SUBSCRIBE after a pending UNSUBSCRIBE of
      // the same channel leaves it subscribed.
      subscription = { handlers: new Set(), ready: subscriber.subscribe(channel) };
      this.subscriptions.set(channel, subscription);
    }
    // A wrapper per call, so the same function subscribed twice is removed once per unsubscribe.
    const own: Handler = (payload) => handler(payload);
    subscription.handlers.add(own);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.handlers.delete(own);
      if (subscription.handlers.size === 0 && this.subscriptions.get(channel) === subscription)
        this.subscriptions.delete(channel);
      throw error;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      subscription.handlers.delete(own);
      if (subscription.handlers.size > 0 || this.subscriptions.get(channel) !== subscription)
        return;
      this.subscriptions.delete(channel);
      await subscriber.unsubscribe(channel);
    };
  }

  /** The subscriber connection(s), created on first use (a connection in subscribe mode can run
   * nothing else). They re-subscribe by themselves after a reconnect (./connection.ts). */
  private connection(): Subscriber {
    this.subscriber ??= subscriber(this.redis, (channel, payload) => {
      const subscription = this.subscriptions.get(channel);
      if (!subscription) return;
      for (const handler of subscription.handlers) {
        try {
          handler(payload);
        } catch (error) {
          // Surface a handler's bug as the memory twin does, without breaking the other handlers.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    });
    return this.subscriber;
  }

  async close(): Promise<void> {
    this.subscriptions.clear();
    await this.subscriber?.close();
    this.subscriber = null;
  }
}

/** How long past its expiry a token's key is kept, to tell `expired` from `invalid`. */
const TOKEN_MEMORY_MS = 5 * 60_000;

class RedisTokens implements Tokens {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async issue(grant: ConnectGrant, ttlMs: number): Promise<string> {
    const token = newToken();
    const hash = hashToken(token);
    const keepMs = Math.ceil(ttlMs) + TOKEN_MEMORY_MS;
    const set = this.keys.sessionTokens(grant.sessionId);
    const value = JSON.stringify({
      userId: grant.userId,
      sessionId: grant.sessionId,
      nodeId: grant.nodeId,
    });
    // The session's index first: a token that exists is always revocable. NX gives a new set
    // its TTL, GT extends an existing one. (The token's key has a slot of its own: take() knows
    // only the token.)
    await inStages(this.redis, [
      [(p) => p.sadd(set, hash).pexpire(set, keepMs, "NX").pexpire(set, keepMs, "GT")],
      [(p) => p.set(this.keys.token(hash), value, "PX", keepMs)],
    ]);
    return token;
  }

  async take(token: string): Promise<TakeResult> {
    const taken = await this.redis.heraldTakeToken(this.keys.token(hashToken(token)));
    if (!taken) return { status: "invalid" };
    const [grant, remainingMs] = taken;
    if (remainingMs <= TOKEN_MEMORY_MS) return { status: "expired" };
    return { status: "ok", grant: JSON.parse(grant) as ConnectGrant };
  }

  async revokeSession(sessionId: string): Promise<void> {
    // Drain the index atomically, then delete what it named: a token issued meanwhile lands in
    // a fresh index, as if issued just after the revocation.
    const set = this.keys.sessionTokens(sessionId);
    const [hashes] = replies<[string[], number]>(
      await this.redis.multi().smembers(set).del(set).exec(),
    );
    // One UNLINK per token: on a cluster each token's key is in a slot of its own.
    if (hashes.length > 0)
      await inStages(this.redis, [hashes.map((h) => (p) => p.unlink(this.keys.token(h)))]);
  }
}

class RedisPresence implements Presence {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async add(userId: UserId, nodeId: string, connId: string): Promise<boolean> {
    // The node's index first, so clearNode never misses a connection that exists.
    const [, cameOnline] = (await inStages(this.redis, [
      [(p) => p.sadd(this.keys.nodeConnections(nodeId), nodeEntry(userId, connId))],
      [(p) => p.heraldPresenceAdd(this.keys.userConnections(userId), connId, nodeId)],
    ])) as [number, number];
    return cameOnline === 1;
  }

  async remove(userId: UserId, nodeId: string, connId: string): Promise<boolean> {
    const [wentOffline] = (await inStages(this.redis, [
      [(p) => p.heraldPresenceRemove(this.keys.userConnections(userId), connId)],
      [(p) => p.srem(this.keys.nodeConnections(nodeId), nodeEntry(userId, connId))],
    ])) as [number, number];
    return wentOffline === 1;
  }

  async online(userIds: readonly UserId[]): Promise<boolean[]> {
    if (userIds.length === 0) return [];
    const found = await inStages(this.redis, [
      userIds.map((userId) => (p) => p.exists(this.keys.userConnections(userId))),
    ]);
    return found.map((n) => n === 1);
  }

  async clearNode(nodeId: string): Promise<UserId[]> {
    const set = this.keys.nodeConnections(nodeId);
    const [entries] = replies<[string[], number]>(
      await this.redis.multi().smembers(set).del(set).exec(),
    );
    if (entries.length === 0) return [];
    const users: UserId[] = [];
    const steps = entries.map((entry): Step => {
      const space = entry.lastIndexOf(" ");
      const userId = entry.slice(0, space);
      users.push(userId);
      // Only if the connection is still this node's: each user's hash decides alone.
      return (p: ChainableCommander) =>
        p.heraldPresenceRemove(this.keys.userConnections(userId), entry.slice(space + 1), nodeId);
    });
    const results = await inStages(this.redis, [steps]);
    return [...new Set(users.filter((_, i) => results[i] === 1))];
  }

  async countByNode(nodeIds: readonly string[]): Promise<number[]> {
    // One SCARD per node (each node's set is its own key, so this also holds on a cluster).
    return Promise.all(nodeIds.map((id) => this.redis.scard(this.keys.nodeConnections(id))));
  }
}

/** A node's index entry; a connection id (socket.io's) holds no space, a user id might. */
function nodeEntry(userId: UserId, connId: string): string {
  return `${userId} ${connId}`;
}

interface StoredUser {
  username: string;
  passwordHash: string;
}

class RedisStore implements Store {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async createUser(username: string, passwordHash: string): Promise<User | null> {
    const userId = randomUUID();
    const record: StoredUser = { username, passwordHash };
    const created = await this.redis.heraldCreateUser(
      this.keys.usernames(),
      this.keys.users(),
      username.toLowerCase(),
      userId,
      JSON.stringify(record),
    );
    return created === 1 ? { userId, username } : null;
  }

  async userByName(username: string): Promise<UserRecord | null> {
    const found = await this.redis.heraldUserByName(
      this.keys.usernames(),
      this.keys.users(),
      username.toLowerCase(),
    );
    if (!found) return null;
    const [userId, record] = found;
    const { username: name, passwordHash } = JSON.parse(record) as StoredUser;
    return { userId, username: name, passwordHash };
  }

  async usersById(userIds: readonly UserId[]): Promise<(User | null)[]> {
    if (userIds.length === 0) return [];
    const records = await this.redis.hmget(this.keys.users(), ...userIds);
    return records.map((record, i) =>
      record === null
        ? null
        : { userId: userIds[i]!, username: (JSON.parse(record) as StoredUser).username },
    );
  }

  async createSession(
    userId: UserId,
    ttlMs: number,
  ): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = hashToken(token);
    await this.redis.set(this.keys.session(sessionId), userId, "PX", Math.max(1, Math.ceil(ttlMs)));
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

  async requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends"> {
    return this.redis.heraldRequestFriend(
      this.keys.relations(from),
      this.keys.relations(to),
      from,
      to,
    );
  }

  async removeFriend(a: UserId, b: UserId): Promise<void> {
    await this.redis.heraldRemoveFriend(this.keys.relations(a), this.keys.relations(b), a, b);
  }

  async friendState(a: UserId, b: UserId): Promise<FriendState> {
    const state = await this.redis.hget(this.keys.relations(a), b);
    return (state as FriendState | null) ?? "none";
  }

  async friendLists(userId: UserId): Promise<FriendLists> {
    const lists: FriendLists = { friends: [], incoming: [], outgoing: [] };
    const relations = await this.redis.hgetall(this.keys.relations(userId));
    for (const [other, state] of Object.entries(relations)) {
      if (state === "friends" || state === "incoming" || state === "outgoing")
        lists[state].push(other);
    }
    return lists;
  }

  async joinChannel(name: string, userId: UserId): Promise<void> {
    await this.redis.heraldJoinChannel(
      this.keys.channelIndex(),
      this.keys.channelMembers(name),
      this.keys.channelsOf(userId),
      name,
      userId,
    );
  }

  async leaveChannel(name: string, userId: UserId): Promise<boolean> {
    const known = await this.redis.heraldLeaveChannel(
      this.keys.channelIndex(),
      this.keys.channelMembers(name),
      this.keys.channelsOf(userId),
      name,
      userId,
    );
    return known === 1;
  }

  async channelExists(name: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.channelIndex(), name)) === 1;
  }

  async isMember(name: string, userId: UserId): Promise<boolean> {
    return (await this.redis.sismember(this.keys.channelMembers(name), userId)) === 1;
  }

  async channelMembers(name: string): Promise<UserId[]> {
    return this.redis.smembers(this.keys.channelMembers(name));
  }

  async channelsOf(userId: UserId): Promise<string[]> {
    return this.redis.smembers(this.keys.channelsOf(userId));
  }

  async listChannels(): Promise<ChannelSummary[]> {
    const index = await this.redis.hgetall(this.keys.channelIndex());
    return Object.entries(index)
      .map(([name, members]) => ({ name, members: Number(members) }))
      .sort(byName);
  }

  async appendMessage(ref: ConversationRef, message: NewMessage): Promise<MessagePush> {
    // Content is stored as the JSON the caller gave; seq is the list's length after RPUSH. The
    // message first, then the two users' indexes (each in a slot of its own on a cluster).
    const stages: Step[][] = [
      [
        (p) =>
          p.heraldAppendMessage(
            this.keys.messages(ref),
            this.keys.lastMessage(ref),
            JSON.stringify(message),
            String(message.ts),
          ),
      ],
    ];
    if (ref.kind === "direct")
      stages.push([
        (p) => p.zadd(this.keys.directsOf(ref.a), "GT", message.ts, ref.b),
        (p) => p.zadd(this.keys.directsOf(ref.b), "GT", message.ts, ref.a),
      ]);
    const [seq] = (await inStages(this.redis, stages)) as number[];
    return { ...message, seq: seq! };
  }

  async history(ref: ConversationRef, after: number, limit: number): Promise<MessagePush[]> {
    const start = after > 0 ? Math.floor(after) : 0;
    const count = Math.floor(limit);
    if (!(count > 0)) return [];
    const stop = Number.isFinite(count) ? start + count - 1 : -1;
    const items = await this.redis.lrange(this.keys.messages(ref), start, stop);
    return items.map((json, i) => ({ ...(JSON.parse(json) as NewMessage), seq: start + i + 1 }));
  }

  async conversationsOf(userId: UserId): Promise<ConversationSummary[]> {
    const [peers, channels] = (await inStages(this.redis, [
      [
        (p) => p.zrange(this.keys.directsOf(userId), 0, -1),
        (p) => p.smembers(this.keys.channelsOf(userId)),
      ],
    ])) as [string[], string[]];
    const refs: ConversationRef[] = [
      ...peers.map((peer): ConversationRef => ({ kind: "direct", a: userId, b: peer })),
      ...channels.map((name): ConversationRef => ({ kind: "channel", name })),
    ];
    if (refs.length === 0) return [];
    const lasts = (await inStages(this.redis, [
      refs.map(
        (ref): Step =>
          (p) =>
            p.hmget(this.keys.lastMessage(ref), "seq", "ts"),
      ),
    ])) as [string | null, string | null][];
    return refs
      .map((ref, i) => {
        const [seq, ts] = lasts[i]!;
        return { ref, lastSeq: Number(seq ?? 0), lastTs: Number(ts ?? 0) };
      })
      .sort((x, y) => y.lastTs - x.lastTs);
  }
}

class RedisMembership implements Membership {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly bus: Bus,
  ) {}

  async register(node: NodeInfo, ttlMs: number): Promise<void> {
    await this.write(node, ttlMs);
    await this.bus.publish(topics.membership, node.nodeId);
  }

  async heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const previous = await this.write(node, ttlMs);
    if (previous === null) await this.bus.publish(topics.membership, node.nodeId);
    return previous === null;
  }

  async deregister(nodeId: string): Promise<void> {
    const [deleted] = replies<[number, number]>(
      await this.redis.multi().del(this.keys.node(nodeId)).srem(this.keys.nodeIds(), nodeId).exec(),
    );
    if (deleted === 1) await this.bus.publish(topics.membership, nodeId);
  }

  async list(): Promise<NodeInfo[]> {
    const ids = await this.redis.smembers(this.keys.nodeIds());
    if (ids.length === 0) return [];
    const urls = await this.redis.mget(...ids.map((id) => this.keys.node(id)));
    const live: NodeInfo[] = [];
    const dead: string[] = [];
    ids.forEach((nodeId, i) => {
      const url = urls[i];
      if (url == null) dead.push(nodeId);
      else live.push({ nodeId, url });
    });
    if (dead.length > 0) {
      // The script re-checks each entry, so a node that registers meanwhile is not dropped.
      const keys = [this.keys.nodeIds(), ...dead.map((id) => this.keys.node(id))];
      await this.redis.heraldPruneNodes(keys.length, ...keys, ...dead);
    }
    return live.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Writes the entry with its TTL; resolves to the URL it replaced (null: it was not there). */
  private async write(node: NodeInfo, ttlMs: number): Promise<string | null> {
    const [previous] = replies<[string | null, number]>(
      await this.redis
        .multi()
        .set(this.keys.node(node.nodeId), node.url, "PX", Math.max(1, Math.ceil(ttlMs)), "GET")
        .sadd(this.keys.nodeIds(), node.nodeId)
        .exec(),
    );
    return previous;
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class RedisEngine implements Engine {
  readonly kind = "redis";
  /** True over a Redis Cluster (`redis+cluster://…`). */
  readonly cluster: boolean;
  readonly keys: RedisKeys;
  readonly bus: RedisBus;
  readonly tokens: Tokens;
  readonly presence: Presence;
  readonly store: Store;
  readonly membership: Membership;

  private readonly adapters: SocketAdapterHandle[] = [];

  private constructor(
    /** The command connection (a Cluster over a cluster); `duplicate()` it for anything needing
     * its own connection. */
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.cluster = isCluster(redis);
    this.keys = new RedisKeys(prefix);
    this.bus = new RedisBus(redis, this.keys);
    this.tokens = new RedisTokens(redis, this.keys);
    this.presence = new RedisPresence(redis, this.keys);
    this.store = new RedisStore(redis, this.keys);
    this.membership = new RedisMembership(redis, this.keys, this.bus);
  }

  /**
   * Connects and PINGs; rejects with a clear error (and leaves nothing running) if it cannot.
   * `url` is `redis://…` (one server) or `redis+cluster://host:port,host:port…` (a cluster).
   */
  static async connect(options: { url: string; prefix: string }): Promise<RedisEngine> {
    const redis = createClient(parseRedisUrl(options.url));
    // Reconnects on its own; failures surface as rejections. The first socket error names the
    // cause ("ECONNREFUSED") better than connect()'s "Connection is closed".
    let socketError: Error | null = null;
    redis.on("error", (error: unknown) => (socketError ??= connectError(error)));
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      const cause = socketError ?? connectError(error) ?? error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${reason}`, {
        cause: error,
      });
    }
    defineScripts(redis);
    return new RedisEngine(redis, options.prefix);
  }

  async ping(): Promise<void> {
    // Fail at once while disconnected instead of queueing until a reconnect.
    if (this.redis.status !== "ready") throw new Error(`redis is ${this.redis.status}`);
    await this.redis.ping();
  }

  /**
   * The socket.io adapter over this Redis: @socket.io/redis-adapter's `createAdapter` on one
   * server, `createShardedAdapter` on a cluster, with channels `<prefix>socket.io#…`. Each call
   * opens two connections of its own (publish, subscribe), closed by its close() or by ours.
   */
  socketAdapter(): SocketAdapterHandle {
    const handle = createSocketAdapter(this.redis, this.keys.prefix);
    this.adapters.push(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all(this.adapters.splice(0).map((a) => a.close()));
    await this.bus.close();
    await quit(this.redis);
  }
}
