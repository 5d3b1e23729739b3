import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  checkContentSize,
  contentSchema,
  pageQuerySchema,
  parseBody,
  parseQuery,
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
});

const historyQuery = pageQuerySchema.extend({ peer: userIdSchema });

export function messageRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { messages } = services;

  routes.post("/api/messages", session, json, async (ctx) => {
    const body = parseBody(sendBody, ctx.request.body);
    checkContentSize(body.content);
    const to = typeof body.to === "string" ? [body.to] : body.to;
    const accepted = await messages.sendDirect(
      sessionOf(ctx).userId,
      to,
      body.content,
      body.receipt === true,
    );
    ctx.status = 202;
    // One recipient named as a string gets one answer; an array gets a list, even of one.
    if (typeof body.to === "string") {
      const { id, seq, ts } = accepted[0]!;
      ctx.body = { id, seq, ts };
    } else ctx.body = { messages: accepted };
  });

  routes.get("/api/messages", session, async (ctx) => {
    const { peer, after, limit } = parseQuery(historyQuery, ctx.query);
    ctx.body = { messages: await messages.history(sessionOf(ctx).userId, peer, after, limit) };
  });

  routes.get("/api/conversations", session, async (ctx) => {
    ctx.body = { conversations: await messages.conversations(sessionOf(ctx).userId) };
  });
}
