// The shapes the routes answer with (CONTRACT.md), as zod schemas: the API description shows
// them and test/openapi.test.ts checks every answer of a tour of the API against them.
import { z } from "zod";

export const userAnswer = z.object({ userId: z.string(), username: z.string() });
export const sessionAnswer = userAnswer.extend({ token: z.string() });

export const connectAnswer = z.object({
  url: z.string(),
  path: z.string(),
  token: z.string(),
  nodeId: z.string(),
  expiresIn: z.number().describe("seconds until the token expires"),
});

/** A stored item's place in its conversation: 202 to a send, edit, recall or reaction. */
export const storedAnswer = z.object({ id: z.string(), seq: z.number().int(), ts: z.number() });

const reactionCount = z.object({ emoji: z.string(), count: z.number().int(), me: z.boolean() });

const attachment = z.object({
  fileId: z.string(),
  name: z.string(),
  size: z.number().int(),
  contentType: z.string(),
});

const itemBase = {
  id: z.string(),
  seq: z.number().int(),
  from: z.string(),
  to: z.string().optional(),
  channel: z.string().optional(),
  ts: z.number(),
};

/** One item of a conversation stream, as history and sync show it. */
export const streamItem = z.discriminatedUnion("kind", [
  z.object({
    ...itemBase,
    kind: z.literal("message"),
    content: z.unknown().optional(),
    replyTo: z.string().optional(),
    mentions: z.array(z.string()).optional(),
    clientMsgId: z.string().optional(),
    attachments: z.array(attachment).optional(),
    editedAt: z.number().optional(),
    recalled: z.literal(true).optional(),
    reactions: z.array(reactionCount).optional(),
  }),
  z.object({
    ...itemBase,
    kind: z.literal("edit"),
    target: z.string(),
    content: z.unknown().optional(),
  }),
  z.object({ ...itemBase, kind: z.literal("recall"), target: z.string() }),
  z.object({
    ...itemBase,
    kind: z.literal("reaction"),
    target: z.string(),
    emoji: z.string(),
    op: z.enum(["add", "remove"]),
  }),
]);

export const messagesAnswer = z.object({ messages: z.array(streamItem) });

const counts = {
  lastSeq: z.number().int(),
  lastTs: z.number(),
  readSeq: z.number().int(),
  unread: z.number().int(),
  mentions: z.number().int(),
};

export const conversationView = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("direct"),
    peer: z.string(),
    peerReadSeq: z.number().int(),
    ...counts,
  }),
  z.object({ kind: z.literal("channel"), channel: z.string(), ...counts }),
]);

export const syncedConversation = z.discriminatedUnion("kind", [
  conversationView.options[0].extend({
    items: z.array(streamItem).optional(),
    more: z.boolean().optional(),
  }),
  conversationView.options[1].extend({
    items: z.array(streamItem).optional(),
    more: z.boolean().optional(),
  }),
]);

export const uploadedFile = attachment.extend({ sha256: z.string() });

export const fileAnswer = uploadedFile.extend({
  url: z.string().describe("a signed link to the bytes, no session needed"),
  expiresIn: z.number().int().describe("seconds until the links expire"),
  thumbnailUrl: z.string().optional().describe("images only"),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
});

/** GET /api/files/limits. */
export const fileLimitsAnswer = z.object({
  maxBytes: z.number().int().positive(),
  maxAttachments: z.number().int().positive(),
});
