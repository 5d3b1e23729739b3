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

/** The version of a single command and of events; an envelope of several commands is version 2. */
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

/**
 * Several commands for one node in one PUBLISH (version 2): what a publisher produced within one
 * turn of its event loop. The node decodes the envelope once and runs the commands in order.
 * Nodes keep accepting a single version-1 command, which is what a publisher sends when it has
 * only one.
 */
export interface BatchEnvelope {
  v: 2;
  kind: "batch";
  commands: NodeCommand[];
}

/** Commands an envelope may carry; a publisher with more sends several envelopes. */
export const MAX_BATCH = 256;

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

// ---------------------------------------------------------------------------------------------
// The hot path's check: hand-written, accepting only a command that the zod schema above
// accepts *and* returns unchanged (no unknown key to strip, no v1 message without `kind`). What
// it does not accept goes to zod, which decides; so decoding means exactly what the schema
// says, and test/wire.test.ts checks with fast-check that both agree.

type Check = (value: unknown) => boolean;
type Fields = Record<string, Check>;

const isText =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === "string" && v.length >= min && v.length <= max;
const isInt =
  (min: number): Check =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min;
const isOneOf =
  (...values: readonly unknown[]): Check =>
  (v) =>
    values.includes(v);
const isArrayOf =
  (item: Check, max: number): Check =>
  (v) =>
    Array.isArray(v) && v.length <= max && v.every(item);
const isId = isText(1, 256);
const isTs = isInt(0);
const isContent: Check = (v) => v !== undefined && v !== null;
const isBoolean: Check = (v) => typeof v === "boolean";

/** A plain object with all of `required`, any of `optional`, and no other key. */
function isShape(required: Fields, optional: Fields = {}): Check {
  const mandatory = Object.entries(required);
  const extra = Object.entries(optional);
  return (v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    let keys = mandatory.length;
    for (const [key, check] of mandatory) if (!check(o[key])) return false;
    for (const [key, check] of extra)
      if (Object.hasOwn(o, key)) {
        if (!check(o[key])) return false;
        keys++;
      }
    return Object.keys(o).length === keys;
  };
}

const itemOptional: Fields = { to: isId, channel: isId };
const itemOf = (kind: string, required: Fields, optional: Fields = {}) =>
  isShape(
    { id: isId, seq: isInt(1), kind: isOneOf(kind), from: isId, ts: isTs, ...required },
    { ...itemOptional, ...optional },
  );
const isItem: Record<string, Check> = {
  message: itemOf(
    "message",
    { content: isContent },
    {
      replyTo: isId,
      mentions: isArrayOf(isId, 50),
      attachments: isArrayOf(
        isShape({
          fileId: isId,
          name: isText(1, 255),
          size: isInt(0),
          contentType: isText(1, 255),
        }),
        MAX_ATTACHMENTS,
      ),
      clientMsgId: isId,
    },
  ),
  edit: itemOf("edit", { target: isId, content: isContent }),
  recall: itemOf("recall", { target: isId }),
  reaction: itemOf("reaction", {
    target: isId,
    emoji: isText(1, 64),
    op: isOneOf("add", "remove"),
  }),
};
const isStreamItem: Check = (v) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" && Object.hasOwn(isItem, kind) && isItem[kind]!(v);
};

const isPushData: Record<string, Check> = {
  receipt: isShape({
    messageId: isId,
    to: isId,
    status: isOneOf("delivered", "offline", "failed"),
    ts: isTs,
  }),
  presence: isShape({ userId: isId, online: isBoolean, ts: isTs }),
  read: isShape({ userId: isId, seq: isInt(0), ts: isTs }, { peer: isId, channel: isId }),
  typing: isShape({ from: isId, ts: isTs }, { channel: isId }),
  friend: isShape({
    userId: isId,
    username: isText(1, 256),
    status: isOneOf("pending", "friends", "none"),
    ts: isTs,
  }),
  conversation: isShape(
    { channel: isId, members: isInt(0), online: isInt(0), ts: isTs },
    { role: isOneOf("owner", "admin", "member"), mutedUntil: isTs },
  ),
  invited: isShape({ channel: isId, by: isId, ts: isTs }),
  removed: isShape({ channel: isId, reason: isOneOf("kicked", "banned"), ts: isTs }),
};
const pushFields: Fields = {
  v: isOneOf(1),
  kind: isOneOf("push"),
  event: (v) => typeof v === "string",
  to: isArrayOf(isId, 100_000),
};
const isMessagePush = isShape(
  { ...pushFields, data: isStreamItem },
  { receipt: isBoolean, notify: isArrayOf(isId, 1_000) },
);
const isOtherPush = isShape({ ...pushFields, data: () => true });
const isBroadcast = isShape({
  v: isOneOf(1),
  kind: isOneOf("broadcast"),
  data: isShape({ id: isId, from: isId, broadcast: isOneOf(true), content: isContent, ts: isTs }),
});
const isKick = isShape(
  { v: isOneOf(1), kind: isOneOf("kick"), userId: isId, reason: isOneOf(...KICK_REASONS) },
  { sessionId: isId },
);

/** The schema itself, for the test that compares the hot path's check with it. */
export const nodeCommandSchema: z.ZodType<unknown> = nodeCommand;

/** True only for a command the schema accepts and returns as it is (see above). */
export function isPlainCommand(json: unknown): json is NodeCommand {
  if (typeof json !== "object" || json === null) return false;
  const { kind, event, data, receipt } = json as Record<string, unknown>;
  if (kind === "broadcast") return isBroadcast(json);
  if (kind === "kick") return isKick(json);
  if (kind !== "push") return false;
  if (event === "message")
    return isMessagePush(json) && (receipt !== true || (data as StreamItem).kind === "message");
  return (
    typeof event === "string" &&
    Object.hasOwn(isPushData, event) &&
    isOtherPush(json) &&
    isPushData[event]!(data)
  );
}

/** The schema's reading of a command: fast when it is plain, zod's otherwise. */
export function checkCommand(json: unknown): NodeCommand | null {
  if (isPlainCommand(json)) return json;
  const result = nodeCommand.safeParse(json);
  return result.success ? (result.data as NodeCommand) : null;
}

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
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  return checkCommand(json);
}

/** What one PUBLISH on a node's topic carried: its valid commands, and how many were dropped. */
export interface DecodedPayload {
  commands: NodeCommand[];
  /** Invalid commands (an invalid envelope counts as one). */
  dropped: number;
}

function isBatch(json: unknown): json is { v: 2; kind: "batch"; commands: unknown } {
  return (
    typeof json === "object" &&
    json !== null &&
    (json as { v?: unknown }).v === 2 &&
    (json as { kind?: unknown }).kind === "batch"
  );
}

/**
 * A node topic's payload: one version-1 command or a version-2 envelope, parsed once. Each
 * command of an envelope is checked on its own, so one bad command drops only itself; an
 * envelope that is not one (no array, too many commands, other keys) is dropped whole.
 */
export function decodePayload(raw: string): DecodedPayload {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { commands: [], dropped: 1 };
  }
  if (!isBatch(json)) {
    const command = checkCommand(json);
    return command ? { commands: [command], dropped: 0 } : { commands: [], dropped: 1 };
  }
  const items = json.commands;
  if (!Array.isArray(items) || items.length > MAX_BATCH || Object.keys(json).length !== 3)
    return { commands: [], dropped: 1 };
  const commands: NodeCommand[] = [];
  for (const item of items) {
    const command = checkCommand(item);
    if (command) commands.push(command);
  }
  return { commands, dropped: items.length - commands.length };
}

/**
 * The envelope of already encoded commands, by concatenation (nothing is encoded twice); a
 * single command goes as itself, so a lone push stays a version-1 command on the wire.
 */
export function encodeBatch(payloads: readonly string[]): string {
  if (payloads.length === 1) return payloads[0]!;
  return `{"v":2,"kind":"batch","commands":[${payloads.join(",")}]}`;
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
