// The versioned wire format between business and imServer nodes (README "Wire format").
// A business service in any language can push by publishing these JSON envelopes.
import { z } from "zod";
import { KICK_REASONS, MAX_ATTACHMENTS } from "./protocol.js";
import type {
  BroadcastPush,
  ConversationPush,
  FriendPush,
  InvitedPush,
  KickReason,
  PresencePush,
  ReadPush,
  ReceiptPush,
  RemovedPush,
  StreamItem,
  TypingPush,
} from "./protocol.js";

export const WIRE_VERSION = 1;

/** Logical bus topics; the Redis engine prefixes them (engine/redis/keys.ts). */
export const topics = {
  /** Commands for one imServer node: only the users it holds. */
  node: (nodeId: string) => `node:${nodeId}`,
  /** Events from imServer nodes to business (presence changes). */
  events: "events",
  /** Notices that the live node set changed. */
  membership: "membership",
} as const;

/**
 * Push `event` with `data` to every connection of the users in `to` held by this node. Events
 * were added without a new version: a node that does not know one drops it and counts it.
 */
export type PushCommand =
  | {
      v: 1;
      kind: "push";
      event: "message";
      to: string[];
      /** Any stream item; v1 senders omit `kind` (read as "message"). */
      data: StreamItem;
      /** Emit a receipt for `data.to` back to `data.from`; only for a `kind: "message"` item. */
      receipt?: boolean;
      /**
       * Report `offline` / `failed` for these recipients (each also listed in `to`) with an
       * `undelivered` event on the events topic; `delivered` is not reported. Added to v1.
       */
      notify?: string[];
    }
  | { v: 1; kind: "push"; event: "receipt"; to: string[]; data: ReceiptPush }
  | { v: 1; kind: "push"; event: "presence"; to: string[]; data: PresencePush }
  | { v: 1; kind: "push"; event: "read"; to: string[]; data: ReadPush }
  | { v: 1; kind: "push"; event: "typing"; to: string[]; data: TypingPush }
  | { v: 1; kind: "push"; event: "friend"; to: string[]; data: FriendPush }
  | { v: 1; kind: "push"; event: "conversation"; to: string[]; data: ConversationPush }
  | { v: 1; kind: "push"; event: "invited"; to: string[]; data: InvitedPush }
  | { v: 1; kind: "push"; event: "removed"; to: string[]; data: RemovedPush };

/** The events a push command may carry. */
export type PushEvent = PushCommand["event"];

/** Push an operator broadcast to every connection of this node. */
export interface BroadcastCommand {
  v: 1;
  kind: "broadcast";
  data: BroadcastPush;
}

/** Close the user's connections on this node (only those opened with `sessionId`, if given). */
export interface KickCommand {
  v: 1;
  kind: "kick";
  userId: string;
  reason: KickReason;
  sessionId?: string;
}

export type NodeCommand = PushCommand | BroadcastCommand | KickCommand;

/** A node tells business that a user came online (first connection) or went offline (last). */
export interface PresenceEvent {
  v: 1;
  kind: "presence";
  userId: string;
  online: boolean;
  nodeId: string;
  ts: number;
}

/** What an `undelivered` event says about the message (never its content). */
export interface MessageRef {
  id: string;
  seq: number;
  from: string;
  to?: string;
  channel?: string;
  ts: number;
}

/** A node tells business that a `notify` recipient had no connection here, or none acked in time. */
export interface UndeliveredEvent {
  v: 1;
  kind: "undelivered";
  userId: string;
  reason: "offline" | "failed";
  message: MessageRef;
  nodeId: string;
  ts: number;
}

export type NodeEvent = PresenceEvent | UndeliveredEvent;

const id = z.string().min(1).max(256);
const ts = z.number().int().nonnegative();
const content = z.unknown().refine((c) => c !== undefined && c !== null, "content is required");

const seq = z.number().int().positive();
/** An item of `kind` with its own `fields`, keys in the order items are written. */
function item<K extends string, F extends z.ZodRawShape>(kind: K, fields: F) {
  return z.object({
    id,
    seq,
    kind: z.literal(kind),
    from: id,
    to: id.optional(),
    channel: id.optional(),
    ...fields,
    ts,
  });
}
const streamItem = z.discriminatedUnion("kind", [
  item("message", {
    content,
    replyTo: id.optional(),
    mentions: z.array(id).max(50).optional(),
    attachments: z
      .array(
        z.object({
          fileId: id,
          name: z.string().min(1).max(255),
          size: z.number().int().nonnegative(),
          contentType: z.string().min(1).max(255),
        }),
      )
      .max(MAX_ATTACHMENTS)
      .optional(),
    clientMsgId: id.optional(),
  }),
  item("edit", { target: id, content }),
  item("recall", { target: id }),
  item("reaction", { target: id, emoji: z.string().min(1).max(64), op: z.enum(["add", "remove"]) }),
]);
/** v1 message pushes carry no `kind`: they are messages. */
const itemData = z.preprocess(
  (data) =>
    typeof data === "object" && data !== null && !("kind" in data)
      ? { ...data, kind: "message" }
      : data,
  streamItem,
);
const receiptPush = z.object({
  messageId: id,
  to: id,
  status: z.enum(["delivered", "offline", "failed"]),
  ts,
});
const presencePush = z.object({ userId: id, online: z.boolean(), ts });
const readPush = z.object({
  userId: id,
  peer: id.optional(),
  channel: id.optional(),
  seq: z.number().int().nonnegative(),
  ts,
});
const typingPush = z.object({ from: id, channel: id.optional(), ts });
const friendPush = z.object({
  userId: id,
  username: z.string().min(1).max(256),
  status: z.enum(["pending", "friends", "none"]),
  ts,
});
const count = z.number().int().nonnegative();
const conversationPush = z.object({
  channel: id,
  members: count,
  online: count,
  ts,
  role: z.enum(["owner", "admin", "member"]).optional(),
  mutedUntil: ts.optional(),
});
const invitedPush = z.object({ channel: id, by: id, ts });
const removedPush = z.object({ channel: id, reason: z.enum(["kicked", "banned"]), ts });
const recipients = z.array(id).max(100_000);

/** A push of `event` carrying `data`. */
function push<E extends string, D extends z.ZodType>(event: E, data: D) {
  return z.object({
    v: z.literal(1),
    kind: z.literal("push"),
    event: z.literal(event),
    to: recipients,
    data,
  });
}

// The push shapes share kind "push": zod 4 refuses a repeated discriminator value, so they
// form their own union on "event", nested in the union on "kind".
const pushCommand = z.discriminatedUnion("event", [
  push("message", itemData)
    .extend({ receipt: z.boolean().optional(), notify: z.array(id).max(1_000).optional() })
    .refine(
      (c) => c.receipt !== true || c.data.kind === "message",
      "only a message asks a receipt",
    ),
  push("receipt", receiptPush),
  push("presence", presencePush),
  push("read", readPush),
  push("typing", typingPush),
  push("friend", friendPush),
  push("conversation", conversationPush),
  push("invited", invitedPush),
  push("removed", removedPush),
]);

const nodeCommand = z.discriminatedUnion("kind", [
  pushCommand,
  z.object({
    v: z.literal(1),
    kind: z.literal("broadcast"),
    data: z.object({ id, from: id, broadcast: z.literal(true), content, ts }),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal("kick"),
    userId: id,
    reason: z.enum(KICK_REASONS),
    sessionId: id.optional(),
  }),
]);

const nodeEvent = z.discriminatedUnion("kind", [
  z.object({
    v: z.literal(1),
    kind: z.literal("presence"),
    userId: id,
    online: z.boolean(),
    nodeId: id,
    ts,
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal("undelivered"),
    userId: id,
    reason: z.enum(["offline", "failed"]),
    message: z.object({ id, seq, from: id, to: id.optional(), channel: id.optional(), ts }),
    nodeId: id,
    ts,
  }),
]);

function parse<T>(schema: z.ZodType<T>, raw: string): T | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const result = schema.safeParse(json);
  return result.success ? result.data : null;
}

/** null for anything that is not a valid command of a known version: the caller counts and drops it. */
export function decodeCommand(raw: string): NodeCommand | null {
  // A push's `to` and `data` are checked by shape; "kind" alone picks the branch.
  return parse(nodeCommand, raw) as NodeCommand | null;
}

export function decodeEvent(raw: string): NodeEvent | null {
  return parse(nodeEvent, raw);
}

/** The message as an `undelivered` event names it: everything but its content. */
export function messageRef(message: StreamItem): MessageRef {
  const { id, seq, from, to, channel, ts } = message;
  return {
    id,
    seq,
    from,
    ...(to !== undefined && { to }),
    ...(channel !== undefined && { channel }),
    ts,
  };
}

export function encode(message: NodeCommand | NodeEvent): string {
  return JSON.stringify(message);
}
