import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  checkContentSize,
  contentSchema,
  emojiSchema,
  itemIdSchema,
  pageQuerySchema,
  parseBody,
  parseParams,
  parseQuery,
  sendOptionsSchema,
  userIdSchema,
} from "../validation.js";
import type { RouteDeps } from "./types.js";

const sendBody = z.object({
  to: z.union([
    userIdSchema,
    z
      .array(userIdSchema)
      .min(1)
      .max(100)
      .refine((ids) => new Set(ids).size === ids.length, "recipients must be distinct"),
  ]),
  content: contentSchema,
  receipt: z.boolean().optional(),
  ...sendOptionsSchema,
});

const historyQuery = pageQuerySchema.extend({ peer: userIdSchema });
const message = z.object({ id: itemIdSchema });
const editBody = z.object({ content: contentSchema });
const reactionBody = z.object({ emoji: emojiSchema });
const reaction = z.object({ id: itemIdSchema, emoji: emojiSchema });

export function messageRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { messages, changes } = services;

  routes.post("/api/messages", session, json, async (ctx) => {
    const { to, content, receipt, ...options } = parseBody(sendBody, ctx.request.body);
    checkContentSize(content);
    const accepted = await messages.sendDirect(
      sessionOf(ctx).userId,
      typeof to === "string" ? [to] : to,
      content,
      receipt === true,
      options,
    );
    ctx.status = 202;
    // One recipient named as a string gets one answer; an array gets a list, even of one.
    if (typeof to === "string") {
      const { id, seq, ts } = accepted[0]!;
      ctx.body = { id, seq, ts };
    } else ctx.body = { messages: accepted };
  });

  routes.get("/api/messages", session, async (ctx) => {
    const { peer, after, limit } = parseQuery(historyQuery, ctx.query);
    ctx.body = { messages: await messages.history(sessionOf(ctx).userId, peer, after, limit) };
  });

  routes.patch("/api/messages/:id", session, json, async (ctx) => {
    const { id } = parseParams(message, ctx.params);
    const { content } = parseBody(editBody, ctx.request.body);
    checkContentSize(content);
    ctx.status = 202;
    ctx.body = await changes.edit(sessionOf(ctx).userId, id, content);
  });

  routes.delete("/api/messages/:id", session, async (ctx) => {
    const { id } = parseParams(message, ctx.params);
    ctx.status = 202;
    ctx.body = await changes.recall(sessionOf(ctx).userId, id);
  });

  routes.post("/api/messages/:id/reactions", session, json, async (ctx) => {
    const { id } = parseParams(message, ctx.params);
    const { emoji } = parseBody(reactionBody, ctx.request.body);
    answer(ctx, await changes.react(sessionOf(ctx).userId, id, emoji, "add"));
  });

  routes.delete("/api/messages/:id/reactions/:emoji", session, async (ctx) => {
    const { id, emoji } = parseParams(reaction, ctx.params);
    answer(ctx, await changes.react(sessionOf(ctx).userId, id, emoji, "remove"));
  });
}

/** 202 with the stored item's {id, seq, ts}, or 204 when nothing was stored. */
function answer(ctx: { status: number; body: unknown }, stored: object | null): void {
  ctx.status = stored === null ? 204 : 202;
  if (stored !== null) ctx.body = stored;
}
