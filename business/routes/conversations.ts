import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import { conversationTargetSchema, parseBody, seqSchema } from "../validation.js";
import type { RouteDeps } from "./types.js";

const readBody = conversationTargetSchema({ seq: seqSchema });
const typingBody = conversationTargetSchema({});
const syncBody = z.object({
  cursors: z.array(conversationTargetSchema({ seq: seqSchema })).max(10_000),
  limit: z.number().int().min(1).max(500).default(100),
});

export function conversationRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { reads, typing } = services;

  routes.get("/api/conversations", session, async (ctx) => {
    const conversations = await reads.conversations(sessionOf(ctx).userId);
    const unreadTotal = conversations.reduce((sum, c) => sum + c.unread, 0);
    ctx.body = { conversations, unreadTotal };
  });

  routes.post("/api/read", session, json, async (ctx) => {
    const { seq, ...target } = parseBody(readBody, ctx.request.body);
    ctx.body = await reads.markRead(sessionOf(ctx).userId, target, seq);
  });

  routes.post("/api/typing", session, json, async (ctx) => {
    const target = parseBody(typingBody, ctx.request.body);
    await typing.typing(sessionOf(ctx).userId, target);
    ctx.status = 204;
  });

  routes.post("/api/sync", session, json, async (ctx) => {
    const { cursors, limit } = parseBody(syncBody, ctx.request.body);
    ctx.body = { conversations: await reads.sync(sessionOf(ctx).userId, cursors, limit) };
  });
}
