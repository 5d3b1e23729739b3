import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  checkContentSize,
  contentSchema,
  parseBody,
  parseParams,
  userIdSchema,
} from "../validation.js";
import type { RouteDeps } from "./types.js";

const broadcastBody = z.object({ content: contentSchema });
const target = z.object({ userId: userIdSchema });

export function adminRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { admin } = services;

  routes.post("/api/broadcast", session, json, async (ctx) => {
    const { content } = parseBody(broadcastBody, ctx.request.body);
    checkContentSize(content);
    ctx.status = 202;
    ctx.body = await admin.broadcast(sessionOf(ctx).userId, content);
  });

  routes.post("/api/users/:userId/disconnect", session, async (ctx) => {
    const { userId } = parseParams(target, ctx.params);
    await admin.disconnect(sessionOf(ctx).userId, userId);
    ctx.status = 204;
  });
}
