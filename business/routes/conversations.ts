import { z } from "zod";
import { sessionOf } from "../session.js";
import { conversationTargetSchema, seqSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { conversationView, syncedConversation } from "./answers.js";
import type { RouteDeps } from "./types.js";

const readBody = conversationTargetSchema({ seq: seqSchema });
const typingBody = conversationTargetSchema({});
const syncBody = z.object({
  cursors: z.array(conversationTargetSchema({ seq: seqSchema })).max(10_000),
  limit: z.number().int().min(1).max(500).default(100),
});
const tag = "conversations";
/** What naming a conversation may fail with. */
const targetErrors = [
  "cannot_target_self",
  "not_friends",
  "blocked",
  "channel_not_found",
  "not_member",
] as const;

export function conversationRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { reads, typing } = services;

  api.define(
    {
      method: "get",
      path: "/api/conversations",
      summary: "The caller's conversations with read state and unread counts",
      tag,
      responses: {
        200: z.object({ conversations: z.array(conversationView), unreadTotal: z.number().int() }),
      },
    },
    async (ctx) => {
      const conversations = await reads.conversations(sessionOf(ctx).userId);
      const unreadTotal = conversations.reduce((sum, c) => sum + c.unread, 0);
      ctx.body = { conversations, unreadTotal };
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/read",
      summary: "Move the caller's read cursor in a conversation",
      tag,
      body: readBody,
      responses: { 200: z.object({ readSeq: z.number().int(), unread: z.number().int() }) },
      errors: targetErrors,
    },
    async (ctx, { body: { seq, ...target } }) => {
      ctx.body = await reads.markRead(sessionOf(ctx).userId, target, seq);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/typing",
      summary: "Tell a conversation the caller is typing",
      tag,
      body: typingBody,
      responses: { 204: null },
      errors: [...targetErrors, "muted"],
    },
    async (ctx, { body: target }) => {
      await typing.typing(sessionOf(ctx).userId, target);
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/sync",
      summary: "What changed in each conversation since the caller's cursors",
      tag,
      body: syncBody,
      responses: { 200: z.object({ conversations: z.array(syncedConversation) }) },
      errors: targetErrors,
    },
    async (ctx, { body: { cursors, limit } }) => {
      ctx.body = { conversations: await reads.sync(sessionOf(ctx).userId, cursors, limit) };
    },
  );
}
