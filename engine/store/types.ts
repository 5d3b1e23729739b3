// What must last: accounts, sessions, friendships, channels, history. Twins: ./memory.ts, ./redis.ts.
import type {
  EditItem,
  MessageItem,
  ReactionItem,
  RecallItem,
  StreamItem,
  UserId,
} from "../protocol.js";

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

/** A message as the sender gives it; the store adds seq (and clientMsgId from the options). */
export type NewMessage = Omit<
  MessageItem,
  "seq" | "clientMsgId" | "editedAt" | "recalled" | "reactions"
>;
/** An item before the store gives it its seq. */
export type NewItem =
  NewMessage | Omit<EditItem, "seq"> | Omit<RecallItem, "seq"> | Omit<ReactionItem, "seq">;

/**
 * Why an edit, recall or reaction was not appended: its target is no message of this
 * conversation, is recalled, would get a 21st emoji, or the reaction is already (not) there.
 */
export type Refusal = "not_found" | "recalled" | "too_many_reactions" | "noop";

export type AppendResult = { item: StreamItem; duplicate: boolean } | { refused: Refusal };

export interface AppendOptions {
  /** Idempotency key of a message, per (conversation, sender), kept at least 24 h. */
  clientMsgId?: string;
}

export interface ReadResult {
  readSeq: number;
  unread: number;
  /** false when the cursor already was at or past the seq asked for. */
  moved: boolean;
}

export interface ConversationSummary {
  ref: ConversationRef;
  lastSeq: number;
  lastTs: number;
  /** The user's read cursor. */
  readSeq: number;
  /** Message items from others after readSeq. */
  unread: number;
  /** Those of them that mention the user. */
  mentions: number;
  /** Direct conversations: the peer's read cursor. */
  peerReadSeq?: number;
}

export interface Readers {
  count: number;
  userIds: UserId[];
}

export interface ChannelSummary {
  name: string;
  members: number;
}

/** An uploaded file; its bytes are in the file storage (business/files). */
export interface FileRecord {
  fileId: string;
  owner: UserId;
  name: string;
  size: number;
  contentType: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  createdAt: number;
  /** For an image Herald made a thumbnail of: the original's size in pixels, upright. */
  image?: { width: number; height: number };
}

/** A conversation item that carries a file, letting the conversation's participants read it. */
export interface FileShare {
  ref: ConversationRef;
  seq: number;
}

export interface Store {
  /** null when the username is taken: an account with the same usernameKey (../usernames.ts). */
  createUser(username: string, passwordHash: string): Promise<User | null>;
  /** The account whose usernameKey is the name's. */
  userByName(username: string): Promise<UserRecord | null>;
  /** Replaces the password hash (an operator account reset on the server). */
  setPasswordHash(userId: UserId, passwordHash: string): Promise<void>;
  usersById(userIds: readonly UserId[]): Promise<(User | null)[]>;

  /** Stores a session under the token's hash; the raw token is never stored. */
  createSession(userId: UserId, ttlMs: number): Promise<{ token: string; sessionId: string }>;
  sessionByToken(token: string): Promise<Session | null>;
  deleteSession(sessionId: string): Promise<void>;
  /** Deletes every session of the user (force offline); resolves to their ids. */
  deleteSessionsOf(userId: UserId): Promise<string[]>;

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
  /** Channels in name order (compareStrings) after `after` (default: from the start), at most
   * `limit` (default: all). */
  listChannels(after?: string, limit?: number): Promise<ChannelSummary[]>;

  /**
   * One atomic step: gives the item the conversation's next seq (1, 2, 3, ... whatever its
   * kind) and stores it; a message also bumps the message count and moves the sender's read
   * cursor to it. With a clientMsgId already used by this sender here, stores nothing and
   * answers the first item as a duplicate. An edit, recall or reaction also changes its target
   * in the same step, or is refused without being stored.
   */
  append(ref: ConversationRef, item: NewItem, options?: AppendOptions): Promise<AppendResult>;
  /** The item with this id, in its current state (no reactions), and its conversation. */
  itemById(id: string): Promise<{ ref: ConversationRef; item: StreamItem } | null>;
  /**
   * Items with seq > after, in seq order, at most `limit`; messages in their current state,
   * with reactions (`me` for `viewer`).
   */
  history(
    ref: ConversationRef,
    after: number,
    limit: number,
    viewer?: UserId,
  ): Promise<StreamItem[]>;
  /** Moves the user's cursor forward to `seq` (clamped to the last seq); atomic, O(1). */
  markRead(userId: UserId, ref: ConversationRef, seq: number): Promise<ReadResult>;
  /** The user's direct conversations with a stored item and the channels they are in. */
  conversationsOf(userId: UserId): Promise<ConversationSummary[]>;
  /** Members of the channel whose cursor is at or past `seq`; at most `limit` ids. */
  readers(channel: string, seq: number, limit: number): Promise<Readers>;

  createFile(file: FileRecord): Promise<void>;
  fileById(fileId: string): Promise<FileRecord | null>;
  /** Records that the item at `seq` of `ref` carries the file; idempotent. */
  shareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void>;
  /** Takes that back (the item was recalled); idempotent. */
  unshareFile(fileId: string, ref: ConversationRef, seq: number): Promise<void>;
  /** Every item that shares the file, a direct pair's ref with `a` < `b`; in no order. */
  fileShares(fileId: string): Promise<FileShare[]>;

  /**
   * Full-text search (only stores that have it: PostgreSQL): messages matching `query` in their
   * current text, recalled ones never, newest first, at most `limit`, with reactions as the
   * user sees them; in `scope`, or (null) in every direct conversation of the user and every
   * channel they are in. Who may read `scope` is the caller's to check.
   */
  search?(
    userId: UserId,
    query: string,
    scope: ConversationRef | null,
    limit: number,
  ): Promise<StreamItem[]>;
}
