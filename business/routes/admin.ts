import { z } from "zod";
import { sessionOf } from "../session.js";
import { checkContentSize, contentSchema, userIdSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import type { RouteDeps } from "./types.js";

const broadcastBody = z.object({ content: contentSchema });
const target = z.object({ userId: userIdSchema });
const tag = "admin";

export function adminRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { admin } = services;

  api.define(
    {
      method: "post",
      path: "/api/broadcast",
      summary: "Push a message to every connected user (operators only)",
      tag,
      body: broadcastBody,
      responses: { 202: z.object({ id: z.string(), ts: z.number() }) },
      errors: ["forbidden", "quota_exceeded"],
    },
    async (ctx, { body: { content } }) => {
      checkContentSize(content);
      ctx.status = 202;
      ctx.body = await admin.broadcast(sessionOf(ctx).userId, content);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/users/:userId/disconnect",
      summary: "Force a user offline and end their sessions (operators only)",
      tag,
      params: target,
      responses: { 204: null },
      errors: ["forbidden", "user_not_found"],
    },
    async (ctx, { params: { userId } }) => {
      await admin.disconnect(sessionOf(ctx).userId, userId);
      ctx.status = 204;
    },
  );
}
