// The engine: everything the business and imServer roles share. One interface, two twins
// (engine/memory, engine/redis) that pass the same conformance suite (test/engine.test.ts).
import type { ServerOptions } from "socket.io";
import type { MessagePush, UserId } from "./protocol.js";

export type Unsubscribe = () => Promise<void>;

/**
 * Pub/sub between the roles. Topics are logical names (see engine/wire.ts); the Redis twin maps
 * them to channels through engine/redis/keys.ts.
 */
export interface Bus {
  /** Resolves to the number of subscribers that received it (0: nobody listens, e.g. a dead node). */
  publish(topic: string, payload: string): Promise<number>;
  /** Resolves once the subscription is live: a publish after that reaches `handler`. */
  subscribe(topic: string, handler: (payload: string) => void): Promise<Unsubscribe>;
  /**
   * True for the first caller of `key` within `ttlMs`, false for every other: lets several
   * subscribers of one topic (business instances) share its work instead of each doing it.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export interface ConnectGrant {
  userId: UserId;
  sessionId: string;
  nodeId: string;
}

export type TakeResult =
  { status: "ok"; grant: ConnectGrant } | { status: "invalid" } | { status: "expired" };

/** Single-use connect tokens (the seed's PrevConnectServer). */
export interface Tokens {
  /** A random token (>= 128 bits, base64url) bound to the grant, valid for `ttlMs`. */
  issue(grant: ConnectGrant, ttlMs: number): Promise<string>;
  /** Atomically spends the token: the first call wins, every later one answers `invalid`. */
  take(token: string): Promise<TakeResult>;
  /** Spends every unused token issued for this session (logout). */
  revokeSession(sessionId: string): Promise<void>;
}

/** Which users are connected where. A user may hold several connections (devices). */
export interface Presence {
  /** Records a connection; true when it is the user's first, i.e. the user just came online. */
  add(userId: UserId, nodeId: string, connId: string): Promise<boolean>;
  /** Removes a connection; true when it was the user's last, i.e. the user just went offline. */
  remove(userId: UserId, nodeId: string, connId: string): Promise<boolean>;
  /** Online flag per asked id, in the same order. */
  online(userIds: readonly UserId[]): Promise<boolean[]>;
  /** Forgets every connection held by a node (its restart or death); the users left offline. */
  clearNode(nodeId: string): Promise<UserId[]>;
  /** Connections held by each asked node, in the same order (adapter mode's load spread). */
  countByNode(nodeIds: readonly string[]): Promise<number[]>;
}

export interface User {
  userId: UserId;
  username: string;
}

export interface UserRecord extends User {
  passwordHash: string;
}

export interface Session {
  sessionId: string;
  userId: UserId;
}

export type FriendState = "none" | "friends" | "outgoing" | "incoming";

export interface FriendLists {
  friends: UserId[];
  incoming: UserId[];
  outgoing: UserId[];
}

/** A direct conversation is keyed by its two users, a channel by its name. */
export type ConversationRef =
  { kind: "direct"; a: UserId; b: UserId } | { kind: "channel"; name: string };

/** A message before the store gives it its seq. */
export type NewMessage = Omit<MessagePush, "seq">;

export interface ConversationSummary {
  ref: ConversationRef;
  lastSeq: number;
  lastTs: number;
}

export interface ChannelSummary {
  name: string;
  members: number;
}

/** What must last: accounts, sessions, friendships, channels, history. */
export interface Store {
  /** null when the username is taken, ignoring case. */
  createUser(username: string, passwordHash: string): Promise<User | null>;
  userByName(username: string): Promise<UserRecord | null>;
  usersById(userIds: readonly UserId[]): Promise<(User | null)[]>;

  /** Stores a session under the token's hash; the raw token is never stored. */
  createSession(userId: UserId, ttlMs: number): Promise<{ token: string; sessionId: string }>;
  sessionByToken(token: string): Promise<Session | null>;
  deleteSession(sessionId: string): Promise<void>;

  /** Requests friendship, or accepts the other's pending request; atomic. */
  requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends">;
  /** Unfriends, cancels or declines; idempotent. */
  removeFriend(a: UserId, b: UserId): Promise<void>;
  friendState(a: UserId, b: UserId): Promise<FriendState>;
  friendLists(userId: UserId): Promise<FriendLists>;

  joinChannel(name: string, userId: UserId): Promise<void>;
  /** false when the channel does not exist. */
  leaveChannel(name: string, userId: UserId): Promise<boolean>;
  channelExists(name: string): Promise<boolean>;
  isMember(name: string, userId: UserId): Promise<boolean>;
  channelMembers(name: string): Promise<UserId[]>;
  channelsOf(userId: UserId): Promise<string[]>;
  listChannels(): Promise<ChannelSummary[]>;

  /** Appends a message and gives it the conversation's next seq (1, 2, 3, ...); atomic. */
  appendMessage(ref: ConversationRef, message: NewMessage): Promise<MessagePush>;
  /** Messages with seq > after, in seq order, at most `limit`. */
  history(ref: ConversationRef, after: number, limit: number): Promise<MessagePush[]>;
  /** The user's direct conversations with a stored message and the channels they are in. */
  conversationsOf(userId: UserId): Promise<ConversationSummary[]>;
}

export interface NodeInfo {
  nodeId: string;
  url: string;
}

/** The live imServer nodes: each registers with a heartbeat and a TTL. */
export interface Membership {
  register(node: NodeInfo, ttlMs: number): Promise<void>;
  /**
   * Refreshes the TTL; registers again if the entry had expired. Resolves to true when it had to
   * register again: survivors may have cleared this node's presence meanwhile, so the node writes
   * it again.
   */
  heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean>;
  deregister(nodeId: string): Promise<void>;
  /** Live nodes, sorted by nodeId. */
  list(): Promise<NodeInfo[]>;
}

/** What socket.io's `new Server({ adapter })` and `io.adapter(…)` accept. */
export type SocketAdapter = ServerOptions["adapter"];

/** A socket.io adapter with its own Redis connections (Engine.socketAdapter). */
export interface SocketAdapterHandle {
  /** Give it to `io.adapter(adapter)`. */
  readonly adapter: SocketAdapter;
  /** After `io.adapter(adapter)`: resolves once the main namespace's subscriptions are live. */
  ready(): Promise<void>;
  /** Closes its connections (engine.close() also does); idempotent. */
  close(): Promise<void>;
}

export interface Engine {
  readonly kind: "memory" | "redis";
  readonly bus: Bus;
  readonly tokens: Tokens;
  readonly presence: Presence;
  readonly store: Store;
  readonly membership: Membership;
  /**
   * The socket.io adapter for adapter mode (IM_ROUTER=adapter), over the engine's Redis (the
   * sharded adapter on a Redis Cluster). Each call opens its own connections. Absent or
   * undefined (the memory engine): socket.io's in-memory default.
   */
  socketAdapter?(): SocketAdapterHandle | undefined;
  /** Resolves when the backing service answers (Redis PING); rejects when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
