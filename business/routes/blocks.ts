import { z } from "zod";
import { sessionOf } from "../session.js";
import { userIdSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { userAnswer } from "./answers.js";
import type { RouteDeps } from "./types.js";

const target = z.object({ userId: userIdSchema });
const tag = "blocks";
const targetErrors = ["cannot_target_self", "user_not_found"] as const;

export function blockRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { blocks } = services;

  api.define(
    {
      method: "get",
      path: "/api/blocks",
      summary: "The users the caller blocks",
      tag,
      responses: { 200: z.object({ blocked: z.array(userAnswer) }) },
    },
    async (ctx) => {
      ctx.body = { blocked: await blocks.list(sessionOf(ctx).userId) };
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/blocks/:userId",
      summary: "Block a user: ends a friendship or request; refuses their DMs, requests, typing",
      tag,
      params: target,
      responses: { 204: null },
      errors: targetErrors,
    },
    async (ctx, { params: { userId } }) => {
      await blocks.block(sessionOf(ctx).userId, userId);
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/blocks/:userId",
      summary: "Lift a block (a friendship it ended does not come back)",
      tag,
      params: target,
      responses: { 204: null },
      errors: targetErrors,
    },
    async (ctx, { params: { userId } }) => {
      await blocks.unblock(sessionOf(ctx).userId, userId);
      ctx.status = 204;
    },
  );
}
