import { z } from "zod";
import { sessionOf } from "../session.js";
import { userIdSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { userAnswer } from "./answers.js";
import type { RouteDeps } from "./types.js";

const target = z.object({ userId: userIdSchema });
const tag = "friends";

export function friendRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { friends } = services;

  api.define(
    {
      method: "get",
      path: "/api/friends",
      summary: "Friends (with presence) and pending requests both ways",
      tag,
      responses: {
        200: z.object({
          friends: z.array(userAnswer.extend({ online: z.boolean() })),
          incoming: z.array(userAnswer),
          outgoing: z.array(userAnswer),
        }),
      },
    },
    async (ctx) => {
      ctx.body = await friends.lists(sessionOf(ctx).userId);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/friends/:userId",
      summary: "Request a friendship, or accept one by requesting back",
      tag,
      params: target,
      responses: { 200: z.object({ status: z.enum(["pending", "friends"]) }) },
      errors: ["cannot_target_self", "user_not_found", "blocked"],
    },
    async (ctx, { params: { userId } }) => {
      ctx.body = { status: await friends.request(sessionOf(ctx).userId, userId) };
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/friends/:userId",
      summary: "Unfriend, cancel or decline",
      tag,
      params: target,
      responses: { 204: null },
      errors: ["cannot_target_self"],
    },
    async (ctx, { params: { userId } }) => {
      await friends.remove(sessionOf(ctx).userId, userId);
      ctx.status = 204;
    },
  );
}
