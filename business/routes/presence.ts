import { z } from "zod";
import { sessionOf } from "../session.js";
import { idListSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import type { RouteDeps } from "./types.js";

const presenceQuery = z.object({ ids: idListSchema(200) });

export function presenceRoutes(api: ApiRouter, { services }: RouteDeps): void {
  api.define(
    {
      method: "get",
      path: "/api/presence",
      summary: "Whether each of ?ids=a,b is online (friends and shared channels only)",
      tag: "presence",
      query: presenceQuery,
      responses: { 200: z.record(z.string(), z.boolean()) },
    },
    async (ctx, { query: { ids } }) => {
      ctx.body = await services.presence.lookup(sessionOf(ctx).userId, ids);
    },
  );
}
