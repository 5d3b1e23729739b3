// The payloads a client sees on its socket (CONTRACT.md "Socket events"), shared by every role.

export type UserId = string;

/** What every item of a conversation stream carries. Exactly one of `to` / `channel`. */
interface ItemBase {
  id: string;
  /** 1, 2, 3 … per conversation, whatever the item's kind (CONTRACT.md "Conversation streams"). */
  seq: number;
  from: UserId;
  to?: UserId;
  channel?: string;
  ts: number;
}

/** A message's reactions as history shows them to one caller (`me`: the caller reacted). */
export interface ReactionCount {
  emoji: string;
  count: number;
  me: boolean;
}

/** Files a message may carry (CONTRACT.md "Files"). */
export const MAX_ATTACHMENTS = 10;

/** A file a message carries. */
export interface Attachment {
  fileId: string;
  name: string;
  size: number;
  contentType: string;
}

/**
 * A message. Pushed as sent; history shows its current state: `content` as last edited with
 * `editedAt`, or `recalled: true` with no content, replyTo, mentions or attachments, plus
 * `reactions`.
 */
export interface MessageItem extends ItemBase {
  kind: "message";
  content?: unknown;
  replyTo?: string;
  mentions?: UserId[];
  attachments?: Attachment[];
  clientMsgId?: string;
  editedAt?: number;
  recalled?: true;
  reactions?: ReactionCount[];
}

/** The new content of message `target` (absent in history once that message is recalled). */
export interface EditItem extends ItemBase {
  kind: "edit";
  target: string;
  content?: unknown;
}

/** Message `target` was withdrawn (its content is deleted from storage). */
export interface RecallItem extends ItemBase {
  kind: "recall";
  target: string;
}

export type ReactionOp = "add" | "remove";

export interface ReactionItem extends ItemBase {
  kind: "reaction";
  target: string;
  emoji: string;
  op: ReactionOp;
}

/** One item of a conversation stream, as pushed (event `message`) and as returned by history. */
export type StreamItem = MessageItem | EditItem | RecallItem | ReactionItem;
export type StreamItemKind = StreamItem["kind"];

/** v1's name for a stored message, kept for the code paths that only handle messages. */
export type MessagePush = MessageItem;

/** An operator broadcast: pushed to connected users only, never stored, no seq. */
export interface BroadcastPush {
  id: string;
  from: UserId;
  broadcast: true;
  content: unknown;
  ts: number;
}

export type ReceiptStatus = "delivered" | "offline" | "failed";

export interface ReceiptPush {
  messageId: string;
  to: UserId;
  status: ReceiptStatus;
  ts: number;
}

export interface PresencePush {
  userId: UserId;
  online: boolean;
  ts: number;
}

export const KICK_REASONS = [
  "force_offline",
  "logout",
  "slow_consumer",
  "rebalance",
  "shutdown",
] as const;
export type KickReason = (typeof KICK_REASONS)[number];

export interface KickedPush {
  reason: KickReason;
}

/**
 * A read cursor moved: to the reader's connections (`peer`: the other user of the DM) and, for a
 * DM, to the peer's as a read receipt (there `peer` is the reader). Exactly one of peer/channel.
 */
export interface ReadPush {
  userId: UserId;
  peer?: UserId;
  channel?: string;
  seq: number;
  ts: number;
}

/** `from` is typing: in the DM with the receiver, or in `channel`. Never stored. */
export interface TypingPush {
  from: UserId;
  channel?: string;
  ts: number;
}

/** The friendship with `userId` as the receiver sees it after a change (as GET /api/friends). */
export type FriendStatus = "pending" | "friends" | "none";

export interface FriendPush {
  userId: UserId;
  username: string;
  status: FriendStatus;
  ts: number;
}

/**
 * A channel's latest counts after someone joined or left (coalesced per channel). To the user
 * concerned by a role or mute change (or who became owner), also their own state: `role`, and
 * `mutedUntil` (ms) while a mute stands — a push with `role` and no `mutedUntil` means unmuted.
 */
export interface ConversationPush {
  channel: string;
  members: number;
  online: number;
  ts: number;
  role?: "owner" | "admin" | "member";
  mutedUntil?: number;
}

/** An owner or admin (`by`) invited the receiver to `channel`. */
export interface InvitedPush {
  channel: string;
  by: UserId;
  ts: number;
}

/** The receiver was removed from `channel` by an owner or admin. */
export interface RemovedPush {
  channel: string;
  reason: "kicked" | "banned";
  ts: number;
}

/** Stable `connect_error` messages for a refused socket. */
export const CONNECT_ERRORS = [
  "token_invalid",
  "token_expired",
  "wrong_node",
  "too_many_connections",
] as const;
export type ConnectErrorCode = (typeof CONNECT_ERRORS)[number];

/** The events an imServer emits, each with an ack callback. */
export interface ServerToClientEvents {
  message: (push: StreamItem | BroadcastPush, ack: () => void) => void;
  receipt: (push: ReceiptPush, ack: () => void) => void;
  presence: (push: PresencePush, ack: () => void) => void;
  kicked: (push: KickedPush, ack: () => void) => void;
  read: (push: ReadPush, ack: () => void) => void;
  typing: (push: TypingPush, ack: () => void) => void;
  friend: (push: FriendPush, ack: () => void) => void;
  conversation: (push: ConversationPush, ack: () => void) => void;
  invited: (push: InvitedPush, ack: () => void) => void;
  removed: (push: RemovedPush, ack: () => void) => void;
}
