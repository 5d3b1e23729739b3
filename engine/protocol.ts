// The payloads a client sees on its socket (CONTRACT.md "Socket events"), shared by every role.

export type UserId = string;

/** A stored message as pushed and as returned by history. Exactly one of `to` / `channel`. */
export interface MessagePush {
  id: string;
  seq: number;
  from: UserId;
  to?: UserId;
  channel?: string;
  content: unknown;
  ts: number;
}

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
  message: (push: MessagePush | BroadcastPush, ack: () => void) => void;
  receipt: (push: ReceiptPush, ack: () => void) => void;
  presence: (push: PresencePush, ack: () => void) => void;
  kicked: (push: KickedPush, ack: () => void) => void;
}
