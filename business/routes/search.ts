import { z } from "zod";
import { sessionOf } from "../session.js";
import { channelNameSchema, queryIntSchema, userIdSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { streamItem } from "./answers.js";
import type { RouteDeps } from "./types.js";

const searchQuery = z
  .object({
    q: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .regex(/^\P{Cc}+$/u, "no control characters"),
    peer: userIdSchema.optional(),
    channel: channelNameSchema.optional(),
    limit: queryIntSchema.pipe(z.number().int().min(1).max(100)).default(20),
  })
  .refine((query) => query.peer === undefined || query.channel === undefined, {
    message: "peer or channel, not both",
  });

export function searchRoutes(api: ApiRouter, { services }: RouteDeps): void {
  api.define(
    {
      method: "get",
      path: "/api/search",
      summary:
        "Messages matching `q` (full-text) in the DM with `peer`, in `channel`, or in all of the caller's conversations; newest first",
      tag: "messages",
      query: searchQuery,
      responses: { 200: z.object({ items: z.array(streamItem) }) },
      errors: [
        "cannot_target_self",
        "user_not_found",
        "channel_not_found",
        "not_member",
        "unsupported",
      ],
    },
    async (ctx, { query: { q, peer, channel, limit } }) => {
      const items = await services.search.search(
        sessionOf(ctx).userId,
        q,
        { peer, channel },
        limit,
      );
      ctx.body = { items };
    },
  );
}
