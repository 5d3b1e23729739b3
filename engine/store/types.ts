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
export type Refusal =
  | "not_found"
  | "recalled"
  | "too_many_reactions"
  | "noop"
  /** With `asMember`: the sender is no member (kicked since the check) or is muted. */
  | "not_member"
  | "muted"
  /** With `asPeer`: either of the pair blocks the other, or (friendsOnly) they are no friends. */
  | "blocked"
  | "not_friends";

export type AppendResult =
  { item: StreamItem; duplicate: boolean } | { refused: Refusal; mutedUntil?: number };

export interface AppendOptions {
  /** Idempotency key of a message, per (conversation, sender), kept at least 24 h. */
  clientMsgId?: string;
  /**
   * A channel message: refused (`not_member` / `muted`, with mutedUntil) unless the sender is
   * a member and not muted at `now`, checked in the same step as the append, so a post racing a
   * kick either lands before it or is refused.
   */
  asMember?: { now: number };
  /**
   * A direct message: refused (`blocked`) while either of the pair blocks the other and, with
   * `friendsOnly`, (`not_friends`) unless they are friends — checked in the same step as the
   * append, so a message racing a block or an unfriending lands before it or is refused.
   */
  asPeer?: { friendsOnly: boolean };
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
  title: string;
  visibility: ChannelVisibility;
}

// Channels with owners (CONTRACT.md "Channels with owners").
export type ChannelVisibility = "public" | "private";
/** `since_join`: a member sees only the items after the seq at which they (last) joined. */
export type ChannelHistory = "all" | "since_join";
export type ChannelRole = "owner" | "admin" | "member";
/** Where a user stands in a channel: a role, or banned, or neither (outsider). */
export type Standing = ChannelRole | "banned" | "outsider";

export interface ChannelRecord {
  name: string;
  /** null: nobody owns it (a channel from before records, or everyone left); the next joiner will. */
  owner: UserId | null;
  title: string;
  visibility: ChannelVisibility;
  history: ChannelHistory;
  /** ms; 0 for a channel from before records. */
  created: number;
}

export interface NewChannel {
  name: string;
  owner: UserId;
  title: string;
  visibility: ChannelVisibility;
  history: ChannelHistory;
  created: number;
}

export interface ChannelMember {
  userId: UserId;
  role: ChannelRole;
  /** The stream's last seq when they (last) joined. */
  joinSeq: number;
  /** Grows with every join: the lowest is the longest-standing; the member pages' cursor. */
  joinOrder: number;
  /** ms until which their posts are refused; 0: not muted. */
  mutedUntil: number;
}

/** One O(1) read: what the send path and the policy need about a user in a channel. */
export interface MemberLookup {
  visibility: ChannelVisibility;
  history: ChannelHistory;
  member: ChannelMember | null;
  banned: boolean;
}

export type JoinResult =
  | { outcome: "joined"; role: ChannelRole }
  | { outcome: "member" }
  | { refused: "banned" | "invite_required" | "channel_full" };

export interface LeaveResult {
  /** false: they were not a member (nothing changed). */
  left: boolean;
  /** Who became owner because the owner left (null: nobody, or the owner did not leave). */
  heir: UserId | null;
}

/**
 * A moderation step; the store applies it only while actor and target still stand where the
 * policy saw them (else `stale`, and the caller judges again), so two admins acting at once
 * never both win on a state that one of them changed.
 */
export type MemberChange =
  | { kind: "invite" }
  | { kind: "kick"; ban: boolean }
  | { kind: "unban" }
  | { kind: "mute"; until: number }
  | { kind: "unmute" }
  | { kind: "role"; role: "admin" | "member" }
  /** The target becomes owner; the actor (the owner) becomes an admin. */
  | { kind: "owner" };

export interface MemberChangeGuard {
  actor: UserId;
  actorStanding: Standing;
  target: UserId;
  targetStanding: Standing;
}

export type MemberChangeResult =
  { outcome: "done"; heir: UserId | null } | { outcome: "noop" } | { outcome: "stale" };

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

  /** Requests friendship, or accepts the other's pending request; atomic. `blocked` (nothing
   * changed) while either blocks the other. */
  requestFriend(from: UserId, to: UserId): Promise<"pending" | "friends" | "blocked">;
  /** Unfriends, cancels or declines; idempotent. */
  removeFriend(a: UserId, b: UserId): Promise<void>;
  friendState(a: UserId, b: UserId): Promise<FriendState>;
  friendLists(userId: UserId): Promise<FriendLists>;

  /**
   * Blocks `blocked` for `blocker` and, in the same step, ends their friendship and any pending
   * request between them; idempotent.
   */
  block(blocker: UserId, blocked: UserId): Promise<void>;
  /** Lifts the block (friendship does not come back); idempotent. */
  unblock(blocker: UserId, blocked: UserId): Promise<void>;
  /** Whether either of the two blocks the other: O(1). */
  blockedBetween(a: UserId, b: UserId): Promise<boolean>;
  /** The users `blocker` blocks, in no order. */
  blocksOf(blocker: UserId): Promise<UserId[]>;

  /** Creates a channel with its creator as owner and only member; null when the name exists. */
  createChannel(channel: NewChannel): Promise<ChannelRecord | null>;
  /** null when there is no such channel. A channel from before records reads as public, all,
   * no owner. */
  channelInfo(name: string): Promise<ChannelRecord | null>;
  /** null when there is no such channel; O(1). */
  member(name: string, userId: UserId): Promise<MemberLookup | null>;
  /**
   * Joins, in one step with its checks: a ban, a private channel's invite (spent by the join),
   * `maxMembers`. An unknown name is created public with the joiner as owner (v1's join), and
   * a channel with no owner gets the joiner as one.
   */
  joinChannel(name: string, userId: UserId, maxMembers?: number): Promise<JoinResult>;
  /** null when the channel does not exist. An owner leaving hands ownership on in the same
   * step: to the longest-standing admin, else member. */
  leaveChannel(name: string, userId: UserId): Promise<LeaveResult | null>;
  /** Applies a moderation step if the guard still holds (MemberChange). */
  changeMember(
    name: string,
    guard: MemberChangeGuard,
    change: MemberChange,
  ): Promise<MemberChangeResult>;
  /** Members in join order after the cursor `after` (a joinOrder; 0: from the start), at most
   * `limit`: O(page). */
  membersPage(name: string, after: number, limit: number): Promise<ChannelMember[]>;
  channelExists(name: string): Promise<boolean>;
  isMember(name: string, userId: UserId): Promise<boolean>;
  channelMembers(name: string): Promise<UserId[]>;
  channelsOf(userId: UserId): Promise<string[]>;
  /**
   * Channels `viewer` may see (public ones and the private ones they are in; no viewer: public
   * only) in name order (compareStrings) after `after` (default: from the start), at most
   * `limit` (default: all).
   */
  listChannels(after?: string, limit?: number, viewer?: UserId): Promise<ChannelSummary[]>;

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
   * user sees them; in `scope` after its `floor` seq, newest by seq, or (null) in every direct
   * conversation of the user and every channel they are in (a since_join one after their join
   * seq): each conversation's newest `limit` by seq, and of those the newest by ts. Who may read
   * `scope` is the caller's to check.
   */
  search?(
    userId: UserId,
    query: string,
    scope: { ref: ConversationRef; floor: number } | null,
    limit: number,
  ): Promise<StreamItem[]>;
}
