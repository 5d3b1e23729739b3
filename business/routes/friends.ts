import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import { parseParams, userIdSchema } from "../validation.js";
import type { RouteDeps } from "./types.js";

const target = z.object({ userId: userIdSchema });

export function friendRoutes(routes: Router, { services, session }: RouteDeps): void {
  const { friends } = services;

  routes.get("/api/friends", session, async (ctx) => {
    ctx.body = await friends.lists(sessionOf(ctx).userId);
  });

  routes.post("/api/friends/:userId", session, async (ctx) => {
    const { userId } = parseParams(target, ctx.params);
    ctx.body = { status: await friends.request(sessionOf(ctx).userId, userId) };
  });

  routes.delete("/api/friends/:userId", session, async (ctx) => {
    const { userId } = parseParams(target, ctx.params);
    await friends.remove(sessionOf(ctx).userId, userId);
    ctx.status = 204;
  });
}
