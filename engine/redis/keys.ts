// The one place that knows Redis key and channel names. Every name starts with the configured
// prefix. Keys that one Lua script or MULTI touches together share a hash tag ({...}), so they
// land in one slot and the same scripts run unchanged on Redis Cluster. Tags are per entity (a
// user, a pair of users, a conversation or channel, a session), so a cluster spreads the load:
//
//   {u:<userId>}:…         a user's record and indexes (relations, channels, directs, connections)
//   {d:<lo>:<hi>}:…        a pair: its friendship (the truth) and its direct conversation
//   {c:<channel>}:…        a channel: its members, its change counter and its conversation
//   {s:<sessionId>}…       a session and the index of its connect tokens
//   {f:<fileId>}:…         a file's record and where it is shared
//   {nodes}:…              membership (a handful of nodes, read whole)
//   {webhook}:…            the webhook queue (business/webhook/redis-queue.ts), one slot
//   username:<skeleton>, token:<hash>, item:<id>, presence:node:<id>, channels, claim:<key>,
//   limit:<name>:<key>: one key each
//
// A change over several entities runs one slot at a time: the entity's own key decides
// atomically (a pair's friendship, a channel's members), then the per-user indexes follow. An
// index entry carries the version of the change it mirrors and only a newer one replaces it, so
// indexes written in any order still end as the truth (see heraldIndexSet in ./scripts.ts).
import { conversationKey } from "../ids.js";
import type { UserId } from "../protocol.js";
import type { ConversationRef } from "../store/types.js";

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Bus topic → pub/sub channel. A node's channel has a name of its own, hence a slot of its
   * own, so sharded pub/sub (SPUBLISH) spreads the nodes over the cluster without a tag. */
  channel(topic: string): string {
    return this.prefix + topic;
  }

  // Accounts: the name's key is claimed (SET NX) after the record is written, so a taken name
  // always has its record.
  /** String: the userId owning a username, by its uniqueness key (engine/usernames.ts). */
  username(nameKey: string): string {
    return `${this.prefix}username:${nameKey}`;
  }
  /** String: JSON {username, passwordHash}. */
  user(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:user`;
  }

  // A session and its connect tokens share the session's tag, so logout can later be one step.
  /** String: the session's userId, with the session's TTL. */
  session(sessionId: string): string {
    return `${this.prefix}{s:${sessionId}}`;
  }
  /** Set: hashes of the connect tokens issued for a session (for revokeSession). */
  sessionTokens(sessionId: string): string {
    return `${this.prefix}{s:${sessionId}}:tokens`;
  }
  /** String: a PostgreSQL-stored session's userId, cached (engine/store/session-cache.ts), or
   * the marker that it was revoked. Not the Redis store's session key, so a deployment that moved
   * its store (npm run migrate-store) never reads an old Redis session as a cached one. */
  cachedSession(sessionId: string): string {
    return `${this.prefix}{s:${sessionId}}:cached`;
  }
  /** Set: the ids of a user's sessions (force offline ends them all); may name expired ones. */
  userSessions(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:sessions`;
  }
  /** String: a connect token's grant (JSON), stored under the token's hash. */
  token(tokenHash: string): string {
    return `${this.prefix}token:${tokenHash}`;
  }

  // Presence: the per-user hash is the unit of atomicity (came online / went offline); the
  // node's set is its index for clearNode.
  /** Hash: connId → nodeId. */
  userConnections(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:connections`;
  }
  /** Set: "userId connId" of every connection a node holds. */
  nodeConnections(nodeId: string): string {
    return `${this.prefix}presence:node:${nodeId}`;
  }

  // The social graph: the pair's key is the truth, each user's hash an index of it.
  /** Hash {state: "friends" | "pending" | "none", asker, version, "block:<userId>": 1 while
   * that user blocks the other}, of a pair of users. */
  friendship(a: UserId, b: UserId): string {
    return `${this.prefix}{${conversationKey({ kind: "direct", a, b })}}:friendship`;
  }
  /** Hash: other userId → "<version> <state as seen from userId>" (heraldIndexSet). */
  relations(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:relations`;
  }

  // Channels: the members set is the truth, the user's hash an index of it.
  /** Set: the names of every channel ever joined (listChannels). */
  channelIndex(): string {
    return `${this.prefix}channels`;
  }
  /** Set: the channel's member ids. */
  channelMembers(name: string): string {
    return `${this.prefix}{${conversationKey({ kind: "channel", name })}}:members`;
  }
  /** String: the channel's change counter; the channel exists once this does. */
  channelVersion(name: string): string {
    return `${this.prefix}{${conversationKey({ kind: "channel", name })}}:version`;
  }
  /** Sorted set, all scores 0: the names of public channels, read by lex range (listChannels). */
  publicChannels(): string {
    return `${this.prefix}channels:public`;
  }
  /** String: set once every name of channelIndex is in publicChannels (from before records). */
  publicChannelsReady(): string {
    return `${this.prefix}channels:public:ready`;
  }
  /**
   * A channel's own keys, all under its tag, in the order every channel script takes them
   * (engine/redis/scripts.ts CHANNEL_KEYS): members (set, the truth of membership), version,
   * record (hash: owner, title, visibility, history, created, joins = the join counter),
   * roles (hash userId → "<role> <joinSeq> <joinOrder> <mutedUntil>"), order (sorted set
   * userId → joinOrder), admins (sorted set userId → joinOrder), invites (set), bans (set),
   * cursors, conversation (its state hash, for the last seq) and the mentions of `userId`.
   */
  channelKeys(name: string, userId: UserId): string[] {
    const ref: ConversationRef = { kind: "channel", name };
    return [
      this.channelMembers(name),
      this.channelVersion(name),
      this.channelPart(name, "record"),
      this.channelPart(name, "roles"),
      this.channelPart(name, "order"),
      this.channelPart(name, "admins"),
      this.channelPart(name, "invites"),
      this.channelPart(name, "bans"),
      this.cursors(ref),
      this.conversation(ref),
      this.mentions(ref, userId),
    ];
  }
  /** One of a channel's keys of channelKeys. */
  channelPart(
    name: string,
    part: "record" | "roles" | "order" | "admins" | "invites" | "bans",
  ): string {
    return `${this.prefix}{${conversationKey({ kind: "channel", name })}}:${part}`;
  }
  /** Set: the users a user blocks (an index; the truth is the pair's friendship hash). */
  blocksOf(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:blocks`;
  }
  /** Hash: channel name → "<version> in" | "<version> out" (heraldIndexSet). */
  channelsOf(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:channels`;
  }

  // A conversation's own keys share its tag (a channel's with its members): one script appends
  // an item, counts it, moves the sender's cursor or changes its target.
  /** List: each item's envelope as JSON, without seq and without content; index = seq - 1. */
  messages(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:log`;
  }
  /**
   * Hash, the conversation's state: seq, ts (of the last item), count (of message items);
   * n<seq> → message count up to that item; b<seq> → the body as JSON ({content, replyTo?,
   * mentions?} of a message, {content} of an edit); i<id> → seq of a message, j<id> → seq of
   * another item; e<seq> → "<edit seq> <edit ts>" of its last edit; x<seq> → the seqs of its
   * edits; r<seq> → 1 once recalled (which deletes its b fields and its edits').
   */
  conversation(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:state`;
  }
  /** Sorted set: userId → read cursor (a channel's: its members only). */
  cursors(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:cursors`;
  }
  /** Hash: <seq> → the message's emoji in first-added order, "<seq> <emoji>" → count,
   * "<seq> <emoji> <userId>" → 1 (emoji hold no whitespace). */
  reactions(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:reactions`;
  }
  /** Sorted set: the seqs of messages that mention the user, scored by seq. */
  mentions(ref: ConversationRef, userId: UserId): string {
    return `${this.prefix}{${conversationKey(ref)}}:mentions:${userId}`;
  }
  /** String: the seq of the sender's message with this clientMsgId, with its TTL. */
  clientMsgId(ref: ConversationRef, from: UserId, clientMsgId: string): string {
    return `${this.prefix}{${conversationKey(ref)}}:cmid:${from}:${clientMsgId}`;
  }
  /** String: the conversation key of an item (written before the item, see RedisStore.append). */
  item(id: string): string {
    return `${this.prefix}item:${id}`;
  }
  /** Sorted set: the peers a user has a direct conversation with, scored by its last ts. */
  directsOf(userId: UserId): string {
    return `${this.prefix}{u:${userId}}:directs`;
  }

  // Files: the record and its shares share the file's tag.
  /** String: the file's record (JSON). */
  file(fileId: string): string {
    return `${this.prefix}{f:${fileId}}:file`;
  }
  /** Set: the conversation items that share the file (shareEntry, engine/ids.ts). */
  fileShares(fileId: string): string {
    return `${this.prefix}{f:${fileId}}:shares`;
  }

  // Membership: the node entries and their id set are pruned together.
  /** String: the node's public URL, with the node's TTL. */
  node(nodeId: string): string {
    return `${this.prefix}{nodes}:node:${nodeId}`;
  }
  /** Set: the ids of nodes that registered (some may have expired since). */
  nodeIds(): string {
    return `${this.prefix}{nodes}:ids`;
  }

  // The webhook queue: one tag, so each of its scripts moves an event between its keys at once.
  /**
   * `events`: hash id → "<queuedAt ms> <body>"; `attempts`: hash id → tries so far; `due`:
   * sorted set id → when it is due; `leased`: sorted set id → lease deadline; `done`: sorted set
   * id → when it was finished (remembered a while, so a duplicate report is not queued again).
   */
  webhook(part: "events" | "attempts" | "due" | "leased" | "done"): string {
    return `${this.prefix}{webhook}:${part}`;
  }

  /** The key prefix of a rate limiter's counters (rate-limiter-flexible adds `:<key>`). */
  limit(name: string): string {
    return `${this.prefix}limit:${name}`;
  }

  /** String: a claimed piece of shared work (Bus.claim), with its TTL. */
  claim(key: string): string {
    return `${this.prefix}claim:${key}`;
  }
}
