// The one place that knows Redis key and channel names. Every name starts with the configured
// prefix. Keys that one Lua script or MULTI touches together share a hash tag ({...}), so they
// land in one slot and the same scripts run unchanged on Redis Cluster.
import { conversationKey } from "../ids.js";
import type { UserId } from "../protocol.js";
import type { ConversationRef } from "../types.js";

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Bus topic → pub/sub channel. A node's channel has a name of its own, hence a slot of its
   * own, so sharded pub/sub (SPUBLISH) spreads the nodes over the cluster without a tag. */
  channel(topic: string): string {
    return this.prefix + topic;
  }

  // Accounts: the username index and the records change together (createUser).
  /** Hash: lower-cased username → userId. */
  usernames(): string {
    return `${this.prefix}{users}:by-name`;
  }
  /** Hash: userId → JSON {username, passwordHash}. */
  users(): string {
    return `${this.prefix}{users}:records`;
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
  /** String: a connect token's grant (JSON), stored under the token's hash. */
  token(tokenHash: string): string {
    return `${this.prefix}token:${tokenHash}`;
  }

  // Presence: the per-user hash is the unit of atomicity (came online / went offline).
  /** Hash: connId → nodeId. */
  userConnections(userId: UserId): string {
    return `${this.prefix}presence:user:${userId}`;
  }
  /** Set: "userId connId" of every connection a node holds. */
  nodeConnections(nodeId: string): string {
    return `${this.prefix}presence:node:${nodeId}`;
  }

  // The social graph: a friendship transition changes both users' hashes at once.
  /** Hash: other userId → "friends" | "outgoing" | "incoming", as seen from `userId`. */
  relations(userId: UserId): string {
    return `${this.prefix}{rel}:${userId}`;
  }

  // Channel membership: the index, a channel's members and a user's channels change together.
  /** Hash: channel name → member count. A channel exists once it is in here. */
  channelIndex(): string {
    return `${this.prefix}{chan}:index`;
  }
  /** Set: the channel's member ids. */
  channelMembers(name: string): string {
    return `${this.prefix}{chan}:members:${name}`;
  }
  /** Set: the names of the channels a user is in. */
  channelsOf(userId: UserId): string {
    return `${this.prefix}{chan}:of:${userId}`;
  }

  // A conversation's own keys share its tag: appendMessage writes both in one script.
  /** List: the messages as JSON without seq; index = seq - 1. */
  messages(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:log`;
  }
  /** Hash: {seq, ts} of the last stored message. */
  lastMessage(ref: ConversationRef): string {
    return `${this.prefix}{${conversationKey(ref)}}:last`;
  }
  /** Sorted set: the peers a user has a direct conversation with, scored by its last ts. */
  directsOf(userId: UserId): string {
    return `${this.prefix}directs:${userId}`;
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

  /** String: a claimed piece of shared work (Bus.claim), with its TTL. */
  claim(key: string): string {
    return `${this.prefix}claim:${key}`;
  }
}
